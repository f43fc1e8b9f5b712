//! Small helpers for DynamoDB transactions.

use crate::StoreError;
use crate::item::Item;
use crate::item::{n, s};
use crate::keys;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Unwraps an SDK builder result.
pub(crate) fn build<T>(r: Result<T, BuildError>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Backend(e.to_string()))
}

/// A `Put` of a new item (fails if the key exists).
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)");
    Ok(TransactWriteItem::builder()
        .put(build(put.build())?)
        .build())
}

/// True when a single-item write failed its condition (the one "expected" failure).
pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// Sends a conditional `UpdateItem`: true when it wrote, false when its condition failed
/// (the item went or changed meanwhile, which the fan-out passes skip).
pub(crate) async fn update_if(
    request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> Result<bool, StoreError> {
    written(request.send().await)
}

/// A conditional single-item write's outcome: true when it wrote, false when its condition
/// failed (the one "expected" failure), an error otherwise.
pub(crate) fn written<T, E>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<bool, StoreError>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(StoreError::backend(e)),
    }
}

/// An unconditional `Delete` of (`pk`, `sk`) inside a transaction.
pub(crate) fn delete(
    table: &str,
    pk: String,
    sk: impl Into<String>,
) -> Result<TransactWriteItem, StoreError> {
    let d = Delete::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk));
    Ok(TransactWriteItem::builder()
        .delete(build(d.build())?)
        .build())
}

/// A `Delete` of (`pk`, `sk`) inside a transaction, on the condition that the item is there:
/// a delete racing another fails the whole transaction (`NotFound` through [`classify`]).
pub(crate) fn delete_existing(
    table: &str,
    pk: String,
    sk: impl Into<String>,
) -> Result<TransactWriteItem, StoreError> {
    let d = Delete::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .condition_expression("attribute_exists(pk)");
    Ok(TransactWriteItem::builder()
        .delete(build(d.build())?)
        .build())
}

/// Maps a failed transaction: a conflict with a concurrent transaction is `Contended`;
/// a failed condition on one of `unique` (indexes of uniqueness
/// claims) is `Conflict(what)`; any other failed condition means the item is gone
/// (`NotFound`); anything else is a backend error.
pub(crate) fn classify(
    err: SdkError<TransactWriteItemsError, HttpResponse>,
    unique: &[usize],
    what: &'static str,
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let failed: Vec<usize> = e
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect();
        if e.cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("TransactionConflict"))
        {
            return StoreError::Contended;
        }
        // Nothing was written: an item's partition shed load.
        if e.cancellation_reasons().iter().any(|r| {
            matches!(
                r.code(),
                Some("ThrottlingError" | "ProvisionedThroughputExceeded")
            )
        }) {
            return StoreError::Unavailable("transaction throttled".into());
        }
        if unique.iter().any(|i| failed.contains(i)) {
            return StoreError::Conflict(what);
        }
        if !failed.is_empty() {
            return StoreError::NotFound;
        }
    }
    StoreError::backend(err)
}

/// An unconditional `Put` inside a transaction (an index item whose key is derived).
pub(crate) fn put(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder().table_name(table).set_item(Some(item));
    Ok(TransactWriteItem::builder()
        .put(build(put.build())?)
        .build())
}

/// The index of the first item of a cancelled transaction whose condition failed, if the
/// transaction failed that way.
pub(crate) fn failed_at(err: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<usize> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => None,
    }
}

fn update(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .update(build(update.build())?)
        .build())
}

/// Adds one to the `count` of (`pk`, `sk`) while it is below `max` (a cap such as "at most
/// 100 categories a brand"); the first one creates the item.
pub(crate) fn count_up(
    table: &str,
    pk: String,
    sk: impl Into<String>,
    max: u64,
) -> Result<TransactWriteItem, StoreError> {
    update(
        Update::builder()
            .table_name(table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("SET #count = if_not_exists(#count, :zero) + :one")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max)),
    )
}

/// Takes `by` from the `count` of (`pk`, `sk`) (the cap's other half).
pub(crate) fn count_down(
    table: &str,
    pk: String,
    sk: impl Into<String>,
    by: u64,
) -> Result<TransactWriteItem, StoreError> {
    update(
        Update::builder()
            .table_name(table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .update_expression("ADD #count :minus")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus", n(-(by as i64))),
    )
}

/// A check that (`pk`, `sk`) exists, failing the transaction otherwise.
pub(crate) fn exists(
    table: &str,
    pk: String,
    sk: impl Into<String>,
) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .condition_expression("attribute_exists(pk)");
    Ok(TransactWriteItem::builder()
        .condition_check(build(check.build())?)
        .build())
}

/// Adds `delta` to the `ticketCount` of an existing category item (the ticket write it is
/// part of fails if the category is gone; a count never goes below zero).
pub(crate) fn category_tickets(
    table: &str,
    pk: String,
    sk: impl Into<String>,
    delta: i64,
) -> Result<TransactWriteItem, StoreError> {
    let mut u = Update::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
        .update_expression("ADD ticketCount :delta")
        .expression_attribute_values(":delta", n(delta));
    u = if delta < 0 {
        u.condition_expression("attribute_exists(pk) AND ticketCount >= :least")
            .expression_attribute_values(":least", n(-delta))
    } else {
        u.condition_expression("attribute_exists(pk)")
    };
    update(u)
}

/// A brand's item whose number per brand is capped: what [`create_counted`] writes.
///
/// [`create_counted`]: crate::DynamoStore::create_counted
pub(crate) struct CountedCreate<'a> {
    pub org: &'a dispatch_domain::OrgId,
    pub mode: dispatch_domain::Mode,
    pub brand: &'a dispatch_domain::BrandId,
    pub item: Item,
    /// A uniqueness claim (a name) written with the item, if it has one.
    pub claim: Option<Item>,
    pub count_sk: String,
    pub max: u64,
    /// What a taken claim (or, without one, an existing item) is a `Conflict` of.
    pub what: &'static str,
}

impl crate::DynamoStore {
    /// One transaction: Put the item (new) [+ Put its claim (new)] + the brand's count up,
    /// under `max` + a check that the brand is still there (an item never outlives its
    /// brand's purge). A taken claim is `Conflict(what)`, a full count `Conflict("limit")`.
    pub(crate) async fn create_counted(&self, c: CountedCreate<'_>) -> Result<(), StoreError> {
        let partition = keys::brand_partition(c.org, c.mode, c.brand);
        let mut writes = vec![put_new(&self.table, c.item)?];
        let unique = if let Some(claim) = c.claim {
            writes.push(put_new(&self.table, claim)?);
            1
        } else {
            0
        };
        let count_at = writes.len();
        writes.push(count_up(&self.table, partition, c.count_sk, c.max)?);
        writes.push(exists(
            &self.table,
            keys::tenant(c.org, c.mode),
            keys::brand_sk(c.brand),
        )?);
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match failed_at(&e) {
                Some(i) if i == unique => StoreError::Conflict(c.what),
                Some(i) if i == count_at => StoreError::Conflict("limit"),
                _ => classify(e, &[], ""),
            }),
        }
    }

    /// Sets `sortOrder` to each item's position in `ordered` (`sk`, the `version` read),
    /// bumping each version (and `updatedAt`, when given), all or none: one transaction
    /// of at most 100 updates, each conditional on the version read.
    pub(crate) async fn reorder(
        &self,
        partition: &str,
        ordered: &[(String, u64)],
        now: Option<dispatch_domain::Timestamp>,
    ) -> Result<(), StoreError> {
        let mut writes = Vec::with_capacity(ordered.len());
        for (position, (sk, version)) in ordered.iter().enumerate() {
            let mut u = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(sk.as_str()))
                .condition_expression("attribute_exists(pk) AND #version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":order", n(position))
                .expression_attribute_values(":next", n(version + 1))
                .expression_attribute_values(":version", n(*version));
            u = match now {
                Some(now) => u
                    .update_expression("SET sortOrder = :order, updatedAt = :now, #version = :next")
                    .expression_attribute_values(":now", crate::item::ts(now)),
                None => u.update_expression("SET sortOrder = :order, #version = :next"),
            };
            writes.push(update(u)?);
        }
        if writes.is_empty() {
            return Ok(());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| classify(e, &[], ""))?;
        Ok(())
    }
}
