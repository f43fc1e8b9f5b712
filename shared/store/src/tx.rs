//! Small helpers for DynamoDB transactions.

use crate::StoreError;
use crate::item::Item;
use crate::item::s;
use crate::keys;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
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
