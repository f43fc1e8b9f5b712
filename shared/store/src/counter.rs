//! Counts DynamoDB requests per operation, via an SDK interceptor.
//!
//! Tests and the benchmark attach it to the client to prove the request budget (API-key
//! authentication: one read, no writes). It is not used in production.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
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

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // DynamoDB's JSON protocol names the operation in X-Amz-Target:
        // "DynamoDB_20120810.GetItem".
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_string();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(target);
        }
        Ok(())
    }
}
