//! Which DynamoDB calls the SDK may retry on its own.
//!
//! The standard retry mode retries throttling, 5xx and transient network errors. When
//! DynamoDB *answered* (throttled, 5xx), nothing was applied and any call is safe to send
//! again. When no answer came (a timeout, a reset connection) the write may have been
//! applied, and sending a conditional write again would meet its own effect and fail its
//! condition: a create that worked would be reported as a conflict, a used link as
//! invalid. So the conditional single-item writes send themselves with
//! [`answer_or_nothing`]: retried on an answer that says nothing happened, never without
//! one (the caller gets 503, and the client retries the whole request, with its
//! idempotency key). Reads are always safe; `TransactWriteItems` carries a client request
//! token, which makes the SDK's retry idempotent for ten minutes; the unconditional writes
//! (counters, timestamps) may repeat their own effect.

use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction};

/// The per-operation configuration of a conditional single-item write.
pub fn answer_or_nothing() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default().retry_classifier(NoRetryWithoutAnswer)
}

/// Forbids a retry when the attempt got no answer at all.
#[derive(Debug, Clone, Copy)]
pub struct NoRetryWithoutAnswer;

impl ClassifyRetry for NoRetryWithoutAnswer {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(_)) if ctx.response().is_none() => RetryAction::RetryForbidden,
            // An answer: it says what happened, and the standard classifiers decide.
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "NoRetryWithoutAnswer"
    }
}
