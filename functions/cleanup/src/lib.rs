//! Cleanup after a brand is deleted, driven by the table's stream (not an HTTP route).
//!
//! `DELETE /v1/brands/{brandId}?confirm=true` removes the brand item in one transaction;
//! from that moment every read of its tickets, customers and files answers 404 (reads
//! check the brand in the same round trip). This function receives the brand's `REMOVE`
//! stream record and deletes what is left: every item of the brand's partition (and each
//! intake endpoint's token lookup), then every object under the brand's S3 prefix. It is
//! idempotent, so a retried batch is harmless.
//!
//! It also deletes the S3 object of a pending upload whose record DynamoDB's TTL removed
//! (never claimed by a ticket within a day).

use dispatch_domain::{BrandId, Mode, OrgId};
use dispatch_files::Files;
use dispatch_store::BrandPurge;
use serde_json::{Value, json};

/// The cleanup function's dependencies.
pub struct Cleanup<S, F> {
    pub store: S,
    pub files: F,
}

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("storage: {0}")]
    Store(#[from] dispatch_store::StoreError),
    #[error("files: {0}")]
    Files(#[from] dispatch_files::FilesError),
}

/// A deleted brand named by a stream record's old image, if the record is one.
fn removed_brand(record: &Value) -> Option<(OrgId, Mode, BrandId)> {
    if record["eventName"] != "REMOVE" {
        return None;
    }
    let image = &record["dynamodb"]["OldImage"];
    if image["type"]["S"] != "brand" {
        return None;
    }
    let pk = image["pk"]["S"].as_str()?;
    let org = OrgId::parse(image["orgId"]["S"].as_str()?)?;
    let mode = Mode::parse(pk.rsplit('#').next()?)?;
    // The partition must be the one this org and mode would have (no foreign keys).
    (pk == format!("ORG#{org}#{mode}")).then_some(())?;
    let brand = BrandId::parse(image["id"]["S"].as_str()?)?;
    Some((org, mode, brand))
}

/// The object of a pending upload that expired unclaimed: removed by DynamoDB's TTL (not
/// by a ticket create claiming it, which keeps the object), with a key under the pending
/// prefix of the partition the record lived in.
fn expired_pending_upload(record: &Value) -> Option<String> {
    let by_ttl = record["userIdentity"]["type"] == "Service"
        && record["userIdentity"]["principalId"] == "dynamodb.amazonaws.com";
    let image = &record["dynamodb"]["OldImage"];
    if record["eventName"] != "REMOVE" || !by_ttl || image["type"]["S"] != "attachment" {
        return None;
    }
    if !image["ticketId"].is_null() {
        return None;
    }
    // pk = ORG#{org}#{mode}#BRAND#{brand} → key must start {org}/{mode}/{brand}/pending/
    let pk = image["pk"]["S"].as_str()?;
    let mut parts = pk.split('#');
    let (Some("ORG"), Some(org), Some(mode), Some("BRAND"), Some(brand), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let key = image["objectKey"]["S"].as_str()?;
    key.starts_with(&format!("{org}/{mode}/{brand}/pending/"))
        .then(|| key.to_string())
}

/// Handles one batch of stream records. Records other than brand removals are ignored
/// (the template's filter already drops them in AWS).
pub async fn on_stream<S, F>(deps: &Cleanup<S, F>, event: Value) -> Result<Value, CleanupError>
where
    S: BrandPurge,
    F: Files,
{
    let mut purged = Vec::new();
    let mut expired = Vec::new();
    for record in event["Records"].as_array().into_iter().flatten() {
        if let Some(key) = expired_pending_upload(record) {
            deps.files.delete(&key).await?;
            expired.push(json!(key));
            continue;
        }
        let Some((org, mode, brand)) = removed_brand(record) else {
            continue;
        };
        let items = deps.store.purge_brand(&org, mode, &brand).await?;
        let files = deps
            .files
            .delete_prefix(&format!("{org}/{mode}/{brand}/"))
            .await?;
        tracing::info!(brand = %brand, items, files, "purged a deleted brand");
        purged.push(json!({"brandId": brand.as_str(), "items": items, "files": files}));
    }
    Ok(json!({ "purged": purged, "expiredUploads": expired }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(by_ttl: bool, ticket: Option<&str>, key: &str) -> Value {
        let mut image = json!({
            "pk": {"S": "ORG#org_1#test#BRAND#br_1"}, "type": {"S": "attachment"},
            "objectKey": {"S": key}
        });
        if let Some(t) = ticket {
            image["ticketId"] = json!({"S": t});
        }
        let identity = if by_ttl {
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        } else {
            Value::Null
        };
        json!({"eventName": "REMOVE", "userIdentity": identity, "dynamodb": {"OldImage": image}})
    }

    #[test]
    fn only_ttl_expired_pending_uploads_lose_their_object() {
        let key = "org_1/test/br_1/pending/att_1";
        assert_eq!(
            expired_pending_upload(&pending(true, None, key)).as_deref(),
            Some(key)
        );
        // Claimed by a ticket create (a user delete): the ticket now uses the object.
        assert!(expired_pending_upload(&pending(false, None, key)).is_none());
        assert!(expired_pending_upload(&pending(true, Some("tkt_1"), key)).is_none());
        // A key outside the record's own pending prefix is never touched.
        assert!(
            expired_pending_upload(&pending(true, None, "org_2/test/br_1/pending/x")).is_none()
        );
    }

    fn record(event: &str, kind: &str, pk: &str, org: &str, id: &str) -> Value {
        json!({"eventName": event, "dynamodb": {"OldImage": {
            "pk": {"S": pk}, "type": {"S": kind}, "orgId": {"S": org}, "id": {"S": id}
        }}})
    }

    #[test]
    fn only_brand_removals_with_consistent_keys_are_taken() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let pk = format!("ORG#{org}#test");
        let got = removed_brand(&record(
            "REMOVE",
            "brand",
            &pk,
            org.as_str(),
            brand.as_str(),
        ));
        assert_eq!(got, Some((org.clone(), Mode::Test, brand.clone())));
        assert!(
            removed_brand(&record(
                "MODIFY",
                "brand",
                &pk,
                org.as_str(),
                brand.as_str()
            ))
            .is_none()
        );
        assert!(
            removed_brand(&record(
                "REMOVE",
                "ticket",
                &pk,
                org.as_str(),
                brand.as_str()
            ))
            .is_none()
        );
        let other = OrgId::generate(2);
        assert!(
            removed_brand(&record(
                "REMOVE",
                "brand",
                &pk,
                other.as_str(),
                brand.as_str()
            ))
            .is_none()
        );
        assert!(removed_brand(&record("REMOVE", "brand", &pk, org.as_str(), "br_nope")).is_none());
    }
}
