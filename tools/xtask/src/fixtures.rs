//! Filling an event's `{{PLACEHOLDERS}}` with real objects of a running stack: the e2e
//! suite does it against its in-process app, `cargo xtask invoke` against `scripts/dev`.
//! Only what the event names is made (a fresh organization each time, so rate limits and
//! single-use tokens of one event never touch another).

use serde_json::{Value, json};
use std::future::Future;

/// A fresh organization: its owner, an org-wide test-mode key and a brand.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org_id: String,
    pub owner_email: String,
    pub key: String,
    pub brand_id: String,
}

/// What filling needs from a stack.
pub trait Stack {
    /// Sends a request to the API: (status, JSON body or null).
    fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> impl Future<Output = (u16, Value)>;

    /// A new organization owned by `owner_email`, bootstrapped the way an operator does.
    fn tenant(&self, owner_email: &str) -> impl Future<Output = Tenant>;

    /// The sign-in token (`ml_…`) of the newest email to `email`.
    fn magic_link_token(&self, email: &str) -> impl Future<Output = Option<String>>;

    /// `PUT`s `bytes` to a presigned upload URL with its headers: the status.
    fn upload(
        &self,
        url: &str,
        headers: &[(String, String)],
        bytes: &[u8],
    ) -> impl Future<Output = u16>;

    /// An address nobody has used.
    fn unique_email(&self, who: &str) -> String;
}

/// The placeholders an event may hold (documented in events/README.md).
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("API_KEY", "an org-wide API key"),
    ("BRAND_ID", "a brand of that key's organization and mode"),
    (
        "KEY_ID",
        "a second API key of that organization (the one scope/revoke act on)",
    ),
    (
        "EMAIL",
        "the email address of a member who has not asked for a sign-in link yet",
    ),
    (
        "SESSION_TOKEN",
        "a dashboard session (`sess_…`) of the owner, sent as a Bearer token",
    ),
    (
        "MAGIC_LINK_TOKEN",
        "an unused sign-in link token (`ml_…`) for the owner",
    ),
    (
        "ORG_ID",
        "a second organization of the owner, not the one the session is in (for switching)",
    ),
    (
        "MEMBER_ID",
        "another member of the organization (the one update/remove act on)",
    ),
    ("CUSTOMER_ID", "a customer of the brand"),
    (
        "FIELD_KEY",
        "the key of a ticket field defined on the brand",
    ),
    ("CATEGORY_ID", "a ticket category of the brand"),
    ("TAG_ID", "a tag of the brand"),
    (
        "SECOND_TAG_ID",
        "another tag of the brand (a merge's source)",
    ),
    ("TICKET_ID", "a ticket of the brand"),
    (
        "SECOND_TICKET_ID",
        "another ticket of the brand (a merge's source)",
    ),
    ("COMMENT_ID", "a comment on that ticket"),
    (
        "ATTACHMENT_ID",
        "an attachment of that ticket whose bytes were uploaded but not yet confirmed",
    ),
    (
        "INTAKE_TOKEN",
        "an enabled, unsigned intake endpoint of the brand (`ft_…`)",
    ),
    (
        "WEBHOOK_ID",
        "a webhook of the brand (`wh_…`), to a public address",
    ),
    (
        "BRAND_PENDING_ATTACHMENT_ID",
        "a pending upload of the brand (made with the API key), uploaded but not confirmed",
    ),
    (
        "PORTAL_TOKEN",
        "a portal token (`pt_…`) for a customer of the brand",
    ),
    ("PORTAL_TICKET_ID", "a ticket of that customer"),
    (
        "PORTAL_ATTACHMENT_ID",
        "an attachment of that ticket, uploaded by the customer but not yet confirmed",
    ),
    (
        "PENDING_ATTACHMENT_ID",
        "that customer's pending upload (no ticket yet), uploaded but not confirmed",
    ),
    (
        "PORTAL_LINK_TOKEN",
        "an unused portal sign-in link token (`pml_…`)",
    ),
    (
        "PORTAL_ORIGIN",
        "an origin the brand lists in its `portalOrigins`",
    ),
];

/// The placeholders `event` names, in the order of [`PLACEHOLDERS`].
pub fn placeholders_in(event: &str) -> Vec<&'static str> {
    PLACEHOLDERS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| event.contains(&format!("{{{{{name}}}}}")))
        .collect()
}

fn ok(what: &str, (status, body): (u16, Value), expected: u16) -> Result<Value, String> {
    if status == expected {
        Ok(body)
    } else {
        Err(format!("{what}: {status} {body}"))
    }
}

fn text(body: &Value, field: &str) -> Result<String, String> {
    body[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no {field} in {body}"))
}

/// Rewrites a `$default`-stage event as API Gateway sends it from the named `stage`: the
/// stage goes in front of `rawPath` and `requestContext.http.path`, and into
/// `requestContext.stage`. Route key and path parameters stay as they are.
pub fn on_stage(event: &mut Value, stage: &str) {
    let prefix = |path: &Value| json!(format!("/{stage}{}", path.as_str().unwrap_or_default()));
    event["rawPath"] = prefix(&event["rawPath"]);
    let context = &mut event["requestContext"];
    context["http"]["path"] = prefix(&context["http"]["path"]);
    context["stage"] = json!(stage);
}

/// Fills every placeholder of `event` with objects made on `stack` for it alone.
pub async fn fill(stack: &impl Stack, event: &str) -> Result<String, String> {
    let names = placeholders_in(event);
    let mut values: Vec<(&str, String)> = Vec::new();
    if names.is_empty() {
        return Ok(event.to_string());
    }
    let tenant = stack.tenant(&stack.unique_email("owner")).await;
    let brand = format!("/v1/brands/{}", tenant.brand_id);
    let key = Some(tenant.key.as_str());
    let needs = |n: &str| names.contains(&n);
    values.push(("API_KEY", tenant.key.clone()));
    values.push(("BRAND_ID", tenant.brand_id.clone()));

    if needs("KEY_ID") {
        let created = ok(
            "second key",
            stack
                .call(
                    "POST",
                    "/v1/accounts/me/api-keys",
                    key,
                    Some(json!({"name": "second"})),
                )
                .await,
            201,
        )?;
        values.push(("KEY_ID", text(&created, "id")?));
    }
    let other_org = if needs("ORG_ID") {
        Some(stack.tenant(&tenant.owner_email).await)
    } else {
        None
    };
    let session = if needs("SESSION_TOKEN") || needs("MEMBER_ID") || needs("EMAIL") {
        let token = sign_in_link(stack, &tenant.owner_email).await?;
        let verified = ok(
            "sign-in",
            stack
                .call(
                    "POST",
                    "/v1/auth/verify",
                    None,
                    Some(json!({"token": token, "delivery": "bearer"})),
                )
                .await,
            200,
        )?;
        let session = verified["session"]["token"]
            .as_str()
            .ok_or("no session token")?
            .to_string();
        values.push(("SESSION_TOKEN", session.clone()));
        Some(session)
    } else {
        None
    };
    if let (Some(other), Some(session)) = (&other_org, &session) {
        // Sign-in lands in one of the owner's two organizations: switch to the other.
        let current = ok(
            "session",
            stack
                .call("GET", "/v1/auth/session", Some(session), None)
                .await,
            200,
        )?;
        let target = if current["organization"]["id"] == other.org_id.as_str() {
            tenant.org_id.clone()
        } else {
            other.org_id.clone()
        };
        values.push(("ORG_ID", target));
    }
    if needs("MEMBER_ID") || needs("EMAIL") {
        let session = session.as_deref().ok_or("no session")?;
        let invitee = stack.unique_email("invitee");
        let invited = ok(
            "invite",
            stack
                .call(
                    "POST",
                    "/v1/auth/members/invite",
                    Some(session),
                    Some(json!({"email": invitee, "role": "agent"})),
                )
                .await,
            201,
        )?;
        values.push(("MEMBER_ID", text(&invited, "id")?));
        values.push(("EMAIL", invitee));
    }
    if needs("MAGIC_LINK_TOKEN") {
        values.push((
            "MAGIC_LINK_TOKEN",
            sign_in_link(stack, &tenant.owner_email).await?,
        ));
    }
    if needs("CUSTOMER_ID") {
        let email = stack.unique_email("customer");
        let customer = ok(
            "customer",
            stack
                .call(
                    "POST",
                    &format!("{brand}/customers"),
                    key,
                    Some(json!({"email": email})),
                )
                .await,
            201,
        )?;
        values.push(("CUSTOMER_ID", text(&customer, "id")?));
    }
    if needs("FIELD_KEY") {
        let field = ok(
            "field",
            stack
                .call(
                    "POST",
                    &format!("{brand}/fields/ticket"),
                    key,
                    Some(json!({"key": "orderId", "label": "Order", "type": "text"})),
                )
                .await,
            201,
        )?;
        values.push(("FIELD_KEY", text(&field, "key")?));
    }
    if needs("CATEGORY_ID") {
        let category = ok(
            "category",
            stack
                .call(
                    "POST",
                    &format!("{brand}/categories"),
                    key,
                    Some(json!({"name": "Billing"})),
                )
                .await,
            201,
        )?;
        values.push(("CATEGORY_ID", text(&category, "id")?));
    }
    if needs("TAG_ID") || needs("SECOND_TAG_ID") {
        for (placeholder, name) in [("TAG_ID", "vip"), ("SECOND_TAG_ID", "gold")] {
            let tag = ok(
                "tag",
                stack
                    .call(
                        "POST",
                        &format!("{brand}/tags"),
                        key,
                        Some(json!({"name": name})),
                    )
                    .await,
                201,
            )?;
            values.push((placeholder, text(&tag, "id")?));
        }
    }
    if needs("TICKET_ID") || needs("ATTACHMENT_ID") || needs("COMMENT_ID") {
        let ticket = ok(
            "ticket",
            stack
                .call(
                    "POST",
                    &format!("{brand}/tickets"),
                    key,
                    Some(json!({"title": "Prepared"})),
                )
                .await,
            201,
        )?;
        let ticket_id = text(&ticket, "id")?;
        if needs("ATTACHMENT_ID") {
            let path = format!("{brand}/tickets/{ticket_id}/attachments");
            values.push(("ATTACHMENT_ID", uploaded(stack, &path, &tenant.key).await?));
        }
        if needs("COMMENT_ID") {
            let comment = ok(
                "comment",
                stack
                    .call(
                        "POST",
                        &format!("{brand}/tickets/{ticket_id}/comments"),
                        key,
                        Some(json!({"body": "Prepared"})),
                    )
                    .await,
                201,
            )?;
            values.push(("COMMENT_ID", text(&comment, "id")?));
        }
        values.push(("TICKET_ID", ticket_id));
    }
    if needs("SECOND_TICKET_ID") {
        let ticket = ok(
            "second ticket",
            stack
                .call(
                    "POST",
                    &format!("{brand}/tickets"),
                    key,
                    Some(json!({"title": "Prepared, too"})),
                )
                .await,
            201,
        )?;
        values.push(("SECOND_TICKET_ID", text(&ticket, "id")?));
    }
    if needs("INTAKE_TOKEN") {
        let intake = ok(
            "intake endpoint",
            stack
                .call(
                    "POST",
                    &format!("{brand}/intake"),
                    key,
                    Some(json!({"name": "Contact form"})),
                )
                .await,
            201,
        )?;
        values.push(("INTAKE_TOKEN", text(&intake, "token")?));
    }
    if needs("WEBHOOK_ID") {
        let webhook = ok(
            "webhook",
            stack
                .call(
                    "POST",
                    &format!("{brand}/webhooks"),
                    key,
                    Some(json!({
                        "url": "https://203.0.113.10/hooks/dispatch",
                        "events": ["ticket.created"],
                        "secret": "fixture-secret-0123456789",
                    })),
                )
                .await,
            201,
        )?;
        values.push(("WEBHOOK_ID", text(&webhook, "id")?));
    }
    if needs("BRAND_PENDING_ATTACHMENT_ID") {
        let path = format!("{brand}/attachments");
        values.push((
            "BRAND_PENDING_ATTACHMENT_ID",
            uploaded(stack, &path, &tenant.key).await?,
        ));
    }
    if needs("PORTAL_ORIGIN") {
        let origin = format!(
            "https://{}.example.com",
            stack
                .unique_email("portal")
                .split('@')
                .next()
                .unwrap_or("portal")
        );
        ok(
            "portal origin",
            stack
                .call(
                    "PATCH",
                    &brand,
                    key,
                    Some(json!({"portalOrigins": [origin]})),
                )
                .await,
            200,
        )?;
        values.push(("PORTAL_ORIGIN", origin));
    }
    let portal = [
        "PORTAL_TOKEN",
        "PORTAL_TICKET_ID",
        "PORTAL_ATTACHMENT_ID",
        "PENDING_ATTACHMENT_ID",
        "PORTAL_LINK_TOKEN",
    ];
    if portal.iter().any(|p| needs(p)) {
        let email = stack.unique_email("portal");
        let minted = ok(
            "portal token",
            stack
                .call(
                    "POST",
                    &format!("{brand}/portal/token"),
                    key,
                    Some(json!({"email": email})),
                )
                .await,
            201,
        )?;
        let token = text(&minted, "token")?;
        if needs("PORTAL_TICKET_ID") || needs("PORTAL_ATTACHMENT_ID") {
            let ticket = ok(
                "portal ticket",
                stack
                    .call(
                        "POST",
                        "/v1/portal/tickets",
                        Some(&token),
                        Some(json!({"title": "Prepared"})),
                    )
                    .await,
                201,
            )?;
            let ticket_id = text(&ticket, "id")?;
            if needs("PORTAL_ATTACHMENT_ID") {
                let path = format!("/v1/portal/tickets/{ticket_id}/attachments");
                values.push((
                    "PORTAL_ATTACHMENT_ID",
                    uploaded(stack, &path, &token).await?,
                ));
            }
            values.push(("PORTAL_TICKET_ID", ticket_id));
        }
        if needs("PENDING_ATTACHMENT_ID") {
            let path = "/v1/portal/tickets/attachments/pending";
            values.push((
                "PENDING_ATTACHMENT_ID",
                uploaded(stack, path, &token).await?,
            ));
        }
        if needs("PORTAL_LINK_TOKEN") {
            let link = ok(
                "portal sign-in link",
                stack
                    .call(
                        "POST",
                        &format!("{brand}/portal/magic-link"),
                        key,
                        Some(json!({"email": email, "portalUrl": "http://localhost:3000/support"})),
                    )
                    .await,
                202,
            )?;
            let token = text(&link, "testModeLink")?
                .split("token=")
                .nth(1)
                .ok_or("no token in the test-mode link")?
                .to_string();
            values.push(("PORTAL_LINK_TOKEN", token));
        }
        values.push(("PORTAL_TOKEN", token));
    }
    let mut filled = event.to_string();
    for (name, value) in values {
        filled = filled.replace(&format!("{{{{{name}}}}}"), &value);
    }
    match placeholders_in(&filled).first() {
        Some(left) => Err(format!("{{{{{left}}}}} was not filled")),
        None => Ok(filled),
    }
}

async fn sign_in_link(stack: &impl Stack, email: &str) -> Result<String, String> {
    ok(
        "sign-in link",
        stack
            .call(
                "POST",
                "/v1/auth/magic-link",
                None,
                Some(json!({"email": email})),
            )
            .await,
        202,
    )?;
    stack
        .magic_link_token(email)
        .await
        .ok_or_else(|| format!("no sign-in email to {email}"))
}

/// Declares a two-byte upload at `path` and uploads it (not confirmed): its id.
async fn uploaded(stack: &impl Stack, path: &str, bearer: &str) -> Result<String, String> {
    let declared = ok(
        "upload",
        stack
            .call(
                "POST",
                path,
                Some(bearer),
                Some(json!({"filename": "a.txt", "contentType": "text/plain", "size": 2})),
            )
            .await,
        201,
    )?;
    let headers: Vec<(String, String)> = declared["uploadHeaders"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let status = stack
        .upload(&text(&declared, "uploadUrl")?, &headers, b"ok")
        .await;
    if status != 200 {
        return Err(format!("the upload to S3 answered {status}"));
    }
    text(&declared, "attachmentId")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_by_name() {
        let event = r#"{"rawPath": "/v1/brands/{{BRAND_ID}}/tickets/{{TICKET_ID}}", "h": "Bearer {{API_KEY}}"}"#;
        assert_eq!(placeholders_in(event), ["API_KEY", "BRAND_ID", "TICKET_ID"]);
        assert!(placeholders_in("{{PORTAL_TICKET_ID}}") == ["PORTAL_TICKET_ID"]);
    }
}
