//! The short grants of routes.toml (`dynamodb:GetItem`, `s3:PutObject`, …) as IAM policy
//! statements in template.yaml: each action on the one resource it makes sense on.

/// What a grant applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Table,
    /// A global secondary index of the table.
    Index(String),
    Bucket,
    /// The bucket's objects.
    Objects,
    /// Sending from `SenderAddress` through any identity of the account (the SES sandbox
    /// checks recipients' identities too).
    SenderIdentities,
    /// A secret, by logical id.
    Secret(String),
    /// The KMS key that seals webhook secrets.
    WebhookKey,
    /// Actions that take no resource (`secretsmanager:BatchGetSecretValue`).
    Any,
}

const TABLE_ACTIONS: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
    "ConditionCheckItem",
];
const OBJECT_ACTIONS: &[&str] = &["GetObject", "PutObject", "DeleteObject"];

/// `dynamodb:Query@customer-tickets` → (`dynamodb:Query`, the index). No `Scan`: every
/// access is a key lookup or a Query.
pub fn statement_for(grant: &str) -> Result<(String, Resource), String> {
    let (action, on) = match grant.split_once('@') {
        Some((a, i)) => (a, Some(i)),
        None => (grant, None),
    };
    let (service, name) = action
        .split_once(':')
        .ok_or_else(|| format!("{grant}: a grant is service:Action"))?;
    let resource = match (service, name, on) {
        ("dynamodb", "Query", Some(index)) if !index.is_empty() => {
            Resource::Index(index.to_string())
        }
        ("dynamodb", n, None) if TABLE_ACTIONS.contains(&n) => Resource::Table,
        ("s3", "ListBucket", None) => Resource::Bucket,
        ("s3", n, None) if OBJECT_ACTIONS.contains(&n) => Resource::Objects,
        ("ses", "SendEmail", None) => Resource::SenderIdentities,
        // Encrypt for the functions that take a secret; Decrypt only for the one that signs.
        ("kms", "Encrypt" | "Decrypt", None) => Resource::WebhookKey,
        _ => return Err(format!("{grant}: not a grant this project uses")),
    };
    Ok((action.to_string(), resource))
}

/// The statements for a function's grants and secrets, grouped by resource.
pub fn statements(grants: &[String], secrets: &[&str]) -> Vec<(Vec<String>, Vec<Resource>)> {
    let mut by_resource: Vec<(Resource, Vec<String>)> = Vec::new();
    let mut add = |resource: Resource, action: String| match by_resource
        .iter_mut()
        .find(|(r, _)| *r == resource)
    {
        Some((_, actions)) if !actions.contains(&action) => actions.push(action),
        Some(_) => {}
        None => by_resource.push((resource, vec![action])),
    };
    for grant in grants {
        if let Ok((action, resource)) = statement_for(grant) {
            add(resource, action);
        }
    }
    if secrets.len() > 1 {
        // One BatchGetSecretValue at init; it also needs GetSecretValue on each secret.
        add(Resource::Any, "secretsmanager:BatchGetSecretValue".into());
    }
    let mut out: Vec<(Vec<String>, Vec<Resource>)> = Vec::new();
    for (resource, actions) in by_resource {
        out.push((actions, vec![resource]));
    }
    if !secrets.is_empty() {
        out.push((
            vec!["secretsmanager:GetSecretValue".into()],
            secrets
                .iter()
                .map(|s| Resource::Secret(s.to_string()))
                .collect(),
        ));
    }
    out
}

impl Resource {
    /// The resource as template.yaml writes it.
    pub fn yaml(&self) -> String {
        match self {
            Resource::Table => "!GetAtt Table.Arn".into(),
            Resource::Index(i) => format!("!Sub \"${{Table.Arn}}/index/{i}\""),
            Resource::Bucket => "!GetAtt AttachmentsBucket.Arn".into(),
            Resource::Objects => "!Sub \"${AttachmentsBucket.Arn}/*\"".into(),
            Resource::SenderIdentities => {
                "!Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*\""
                    .into()
            }
            Resource::Secret(id) => format!("!Ref {id}"),
            Resource::WebhookKey => "!GetAtt WebhookSecretsKey.Arn".into(),
            Resource::Any => "\"*\"".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_lands_on_its_resource() {
        assert_eq!(
            statement_for("dynamodb:GetItem").unwrap().1,
            Resource::Table
        );
        assert_eq!(
            statement_for("dynamodb:Query@customer-tickets").unwrap().1,
            Resource::Index("customer-tickets".into())
        );
        assert_eq!(statement_for("s3:ListBucket").unwrap().1, Resource::Bucket);
        assert_eq!(statement_for("s3:GetObject").unwrap().1, Resource::Objects);
        assert!(statement_for("dynamodb:Scan").is_err());
        assert!(statement_for("dynamodb:GetItem@customer-tickets").is_err());
        assert!(statement_for("s3:*").is_err());
        assert_eq!(
            statement_for("kms:Encrypt").unwrap().1,
            Resource::WebhookKey
        );
        assert!(statement_for("kms:GenerateDataKey").is_err());
    }

    #[test]
    fn grants_are_grouped_by_resource_and_secrets_read_in_one_call() {
        let grants: Vec<String> = ["dynamodb:GetItem", "s3:GetObject", "dynamodb:Query"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let st = statements(&grants, &["PortalKeyA", "PortalKeyB"]);
        assert_eq!(st[0].0, ["dynamodb:GetItem", "dynamodb:Query"]);
        assert_eq!(st[1].0, ["s3:GetObject"]);
        assert_eq!(
            st[2],
            (
                vec!["secretsmanager:BatchGetSecretValue".to_string()],
                vec![Resource::Any]
            )
        );
        assert_eq!(st[3].1.len(), 2);
        let one = statements(&[], &["CursorSecret"]);
        assert_eq!(one.len(), 1, "one secret: a plain GetSecretValue");
    }
}
