//! How every function talks to AWS.
//!
//! One SDK configuration: timeouts sized so that a request answers well inside the
//! function's 10-second limit even when a dependency hangs (the SDK's defaults have no
//! attempt or operation timeout at all, so a hung connection waits until Lambda kills the
//! function, billed in full), and the standard retry mode with a short backoff. And one
//! rule for which failures are the dependency's transient trouble (throttling, 5xx,
//! timeouts, refused connections): those become 503 with `Retry-After`, never 500.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// Establishing a connection (in-region endpoints answer in milliseconds).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt, from sending the request to the last byte of the answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// All attempts of one operation together, backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// Attempts per operation (the first and two retries), for what is safe to retry.
pub const MAX_ATTEMPTS: u32 = 3;

/// The timeouts every client gets.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The standard retry mode (throttling, 5xx and transient network errors; exponential
/// backoff with jitter), kept short: a request has seconds, not minutes.
pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(500))
}

/// Only the local stack sets this (scripts/lib.sh; the template never does): the local
/// emulator answers one request at a time and copies a table on every transaction, so
/// under a whole test suite's load a call can wait seconds in its queue, and it does not
/// honour DynamoDB's client request tokens, so a transaction resent after a timeout fails
/// on its own first write where DynamoDB would answer success.
pub const LOCAL_ATTEMPT_TIMEOUT_VAR: &str = "DISPATCH_AWS_ATTEMPT_TIMEOUT_SECS";

/// [`timeouts`], or for the local stack the attempt timeout [`LOCAL_ATTEMPT_TIMEOUT_VAR`]
/// names (the operation timeout then covers all attempts of that length). A malformed
/// value fails the init rather than quietly using another.
pub fn timeouts_from_env() -> Result<TimeoutConfig, String> {
    match std::env::var(LOCAL_ATTEMPT_TIMEOUT_VAR) {
        Err(_) => Ok(timeouts()),
        Ok(raw) => {
            let secs: u64 = raw
                .parse()
                .ok()
                .filter(|s| (1..=300).contains(s))
                .ok_or_else(|| format!("{LOCAL_ATTEMPT_TIMEOUT_VAR} must be 1-300 seconds"))?;
            Ok(TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(Duration::from_secs(secs))
                .operation_timeout(Duration::from_secs(secs * u64::from(MAX_ATTEMPTS) + 1))
                .build())
        }
    }
}

/// How long a request may take before it answers 503: every AWS call has its own
/// timeouts, but a handler makes several in a row, and Lambda ends the function at 10 s
/// (template.yaml) with a bare 503 from API Gateway, billed in full.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(8);

/// [`REQUEST_DEADLINE`], or for the local stack four attempts of the length
/// [`LOCAL_ATTEMPT_TIMEOUT_VAR`] names: the deadline is there to answer before Lambda's
/// timeout, and the emulator's queue under a whole suite's load would otherwise turn into
/// 503s that a deployed stack never sees (no Lambda timeout applies locally either).
pub fn request_deadline_from_env() -> Result<Duration, String> {
    let timeouts = timeouts_from_env()?;
    Ok(match std::env::var(LOCAL_ATTEMPT_TIMEOUT_VAR) {
        Err(_) => REQUEST_DEADLINE,
        Ok(_) => timeouts
            .operation_attempt_timeout()
            .map_or(REQUEST_DEADLINE, |attempt| {
                (attempt * 4).max(REQUEST_DEADLINE)
            }),
    })
}

/// The standard AWS environment (region, credentials, `AWS_ENDPOINT_URL` for the local
/// emulator) with [`timeouts_from_env`] and [`retries`]. Panics (failing the function's
/// init) when the local timeout variable is malformed.
pub async fn load() -> SdkConfig {
    let timeouts = timeouts_from_env().unwrap_or_else(|e| panic!("{e}")); // ok-unwrap: init only
    load_with(timeouts).await
}

/// The standard AWS environment with these `timeouts` and [`retries`].
pub async fn load_with(timeouts: TimeoutConfig) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries())
        .load()
        .await
}

/// Error codes AWS services use when they shed load.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "LimitExceededException",
];

/// True when a call failed because the dependency could not serve it right now
/// (throttled, a 5xx, a timeout, no connection) rather than because of what was asked:
/// the client may retry the whole request later.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ResponseError(e) => {
            let status = e.raw().status();
            status.is_server_error() || status.as_u16() == 429
        }
        SdkError::ServiceError(e) => {
            let status = e.raw().status();
            status.is_server_error()
                || status.as_u16() == 429
                || e.err()
                    .code()
                    .is_some_and(|code| THROTTLING_CODES.contains(&code))
        }
        _ => false,
    }
}
