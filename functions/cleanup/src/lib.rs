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
//! (never claimed by a ticket within a day), and detaches a deleted customer's tickets
//! (`DELETE …/customers/{id}` removes the customer; its tickets keep their history but no
//! longer name it, so its portal view ends), writes a customer's new address on its tickets
//! (what the ticket list's `search` reads), and uncategorizes a deleted category's tickets.

pub mod backfill;

use dispatch_domain::Timestamp;
use dispatch_domain::attachment;
use dispatch_files::Files;
use dispatch_store::stream::{
    StreamEvent, changed_customer_email, changed_tag, committed_at_millis, expired_pending_upload,
    removed_brand, removed_category, removed_customer,
};
use dispatch_store::{BrandPurge, CategoryCleanup, CustomerCleanup, TagCleanup};
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

/// Handles one batch of stream records. Records other than brand, customer and category
/// removals, customer email changes and expired uploads are ignored (the template's filter already drops them in AWS).
pub async fn on_stream<S, F>(
    deps: &Cleanup<S, F>,
    event: StreamEvent,
) -> Result<Value, CleanupError>
where
    S: BrandPurge + CustomerCleanup + CategoryCleanup + TagCleanup,
    F: Files,
{
    let mut purged = Vec::new();
    let mut expired = Vec::new();
    let mut detached = Vec::new();
    let mut uncategorized = Vec::new();
    let mut readdressed = Vec::new();
    let mut retagged = Vec::new();
    for record in &event.records {
        if let Some((org, mode, brand, from, to)) = changed_tag(record) {
            let at = Timestamp::from_unix(committed_at_millis(record) / 1000);
            let tickets = deps
                .store
                .rewrite_ticket_tags(&org, mode, &brand, &from, to.as_deref(), at)
                .await?;
            tracing::info!(tickets, "rewrote a tag's name on its tickets");
            retagged.push(json!({"from": from, "to": to, "tickets": tickets}));
            continue;
        }
        if let Some((org, mode, brand, customer, email)) = changed_customer_email(record) {
            let tickets = deps
                .store
                .rewrite_customer_email(&org, mode, &brand, &customer, &email)
                .await?;
            tracing::info!(customer = %customer, tickets, "rewrote a customer's address on its tickets");
            readdressed.push(json!({"customerId": customer.as_str(), "tickets": tickets}));
            continue;
        }
        if let Some((org, mode, brand, category)) = removed_category(record) {
            let at = Timestamp::from_unix(committed_at_millis(record) / 1000);
            let tickets = deps
                .store
                .uncategorize_tickets(&org, mode, &brand, &category, at)
                .await?;
            tracing::info!(category = %category, tickets, "uncategorized a deleted category's tickets");
            uncategorized.push(json!({"categoryId": category.as_str(), "tickets": tickets}));
            continue;
        }
        if let Some((org, mode, brand, customer)) = removed_customer(record) {
            // The delete's own time: a retried batch writes the same `updatedAt`.
            let at = Timestamp::from_unix(committed_at_millis(record) / 1000);
            let tickets = deps
                .store
                .detach_customer_tickets(&org, mode, &brand, &customer, at)
                .await?;
            tracing::info!(customer = %customer, tickets, "detached a deleted customer's tickets");
            detached.push(json!({"customerId": customer.as_str(), "tickets": tickets}));
            continue;
        }
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
            .delete_prefix(&attachment::brand_prefix(&org, mode, &brand))
            .await?;
        tracing::info!(brand = %brand, items, files, "purged a deleted brand");
        purged.push(json!({"brandId": brand.as_str(), "items": items, "files": files}));
    }
    Ok(json!({
        "purged": purged,
        "expiredUploads": expired,
        "detached": detached,
        "uncategorized": uncategorized,
        "readdressed": readdressed,
        "retagged": retagged,
    }))
}
