//! Counts DynamoDB operations, via an SDK interceptor.
//!
//! Tests and the benchmark attach it to the client to prove the request budget (API-key
//! authentication: one read, no writes). It counts each operation once, before the SDK's
//! retry loop, so a transient retry (the local emulator answers some concurrent
//! transactions with a 500) does not read as an extra request. It is not used in production.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::sync::{Arc, Mutex};

/// Records the operation name (`GetItem`, `TransactWriteItems`, …) of every request sent.
#[derive(Debug, Clone, Default)]
pub struct OperationCounter {
    seen: Arc<Mutex<Vec<String>>>,
}

impl OperationCounter {
    pub fn new() -> OperationCounter {
        OperationCounter::default()
    }

    /// Everything recorded since the last call, which clears the record.
    pub fn take(&self) -> Vec<String> {
        match self.seen.lock() {
            Ok(mut seen) => std::mem::take(&mut *seen),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// Operations that change data.
pub fn is_write(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem"
    )
}

impl Intercept for OperationCounter {
    fn name(&self) -> &'static str {
        "OperationCounter"
    }

    // Serialization happens once per operation, after the operation's metadata is in the
    // config bag and before the retry loop.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(operation);
        }
        Ok(())
    }
}
