//! Stored results of idempotent creates (`X-Idempotency-Key`), kept 24 hours.

use crate::item::{Item, Reader, n, s, ts};
use crate::{DynamoStore, IdempotencyStore, StoreError, keys, tx};
use dispatch_domain::{Mode, OrgId, Timestamp};

/// How long a key and its result are kept.
pub const IDEMPOTENCY_TTL_SECS: i64 = 24 * 3600;

/// How long a claim may stay pending. A request ends within seconds (the functions answer
/// by their deadline and Lambda stops them at 10 s), so a claim still pending after this
/// belongs to a request that died without releasing it (a timeout, a crash): the key is
/// free again instead of answering "in progress" for a day.
pub const IDEMPOTENCY_LEASE_SECS: i64 = 30;

/// What a key already holds when a request claims it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: this request runs and records its result.
    New,
    /// A request with this key is still running.
    InProgress,
    /// A finished request with this key and the same request: replay its answer.
    Done(StoredAnswer),
    /// The key was used for a different request.
    Mismatch,
}

/// The answer kept for a replay: status, body, and the headers that give the body its
/// meaning (an HTML page is not JSON; a redirect needs its target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
    pub location: Option<String>,
}

impl IdempotencyStore for DynamoStore {
    async fn claim_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
        request_hash: &str,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        let expires = now.plus_seconds(IDEMPOTENCY_TTL_SECS);
        let item: Item = [
            (keys::PK.into(), s(keys::tenant(org, mode))),
            (keys::SK.into(), s(keys::idempotency_sk(key_hash))),
            ("type".into(), s("idempotency")),
            ("requestHash".into(), s(request_hash)),
            ("state".into(), s("pending")),
            (
                "leaseUntil".into(),
                ts(now.plus_seconds(IDEMPOTENCY_LEASE_SECS)),
            ),
            ("expiresAt".into(), ts(expires)),
            (keys::TTL.into(), ts(expires)),
        ]
        .into();
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // A key past its 24 hours is free again, even before TTL removes it, and so is
            // a claim whose request died before finishing.
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAt <= :now \
                 OR (#state = :pending AND leaseUntil <= :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now.unix()))
            .expression_attribute_values(":pending", s("pending"))
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::New),
            Err(e) if tx::condition_failed(&e) => {}
            Err(e) => return Err(StoreError::backend(e)),
        }
        let Some(existing) = self
            .get(keys::tenant(org, mode), keys::idempotency_sk(key_hash))
            .await?
        else {
            // Removed between the two calls: treat as in progress; the client retries.
            return Ok(Claim::InProgress);
        };
        let r = Reader(&existing);
        if r.string("requestHash")? != request_hash {
            return Ok(Claim::Mismatch);
        }
        if r.string("state")? != "done" {
            return Ok(Claim::InProgress);
        }
        let status =
            u16::try_from(r.u64("status")?).map_err(|_| StoreError::Corrupt("status".into()))?;
        Ok(Claim::Done(StoredAnswer {
            status,
            body: r.string("body")?,
            content_type: r.opt_string("contentType")?,
            location: r.opt_string("location")?,
        }))
    }

    async fn complete_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        let mut set = "SET #state = :done, #status = :status, #body = :body".to_string();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(org, mode)))
            .key(keys::SK, s(keys::idempotency_sk(key_hash)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#body", "body")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(answer.status))
            .expression_attribute_values(":body", s(&answer.body));
        if let Some(kind) = &answer.content_type {
            set.push_str(", contentType = :type");
            request = request.expression_attribute_values(":type", s(kind));
        }
        if let Some(location) = &answer.location {
            set.push_str(", #location = :location");
            request = request
                .expression_attribute_names("#location", "location")
                .expression_attribute_values(":location", s(location));
        }
        request
            .update_expression(set)
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn release_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(org, mode)))
            .key(keys::SK, s(keys::idempotency_sk(key_hash)))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
