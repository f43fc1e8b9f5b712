//! What each function does in AWS, recorded while the suite runs, so that
//! `scripts/iam_check.py` can hold it against the function's policy in template.yaml.
//!
//! Calls made by a handler in this process run inside [`as_function`], which names the
//! function; an SDK interceptor on every client of the harness writes one line per
//! operation (service, operation, and what decides the IAM resource: the index a Query
//! reads, the kinds of a transaction's items) to `DISPATCH_IAM_LOG`. The real binaries
//! the suite starts are recorded by the emulator itself (scripts/moto_serial.py, by the
//! `AWS_SDK_UA_APP_ID` the suite gives each one). Without `DISPATCH_IAM_LOG` (a suite run
//! by hand) nothing is written.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::{Value, json};
use std::future::Future;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

tokio::task_local! {
    static FUNCTION: String;
}

/// Runs `work` as `function`: the AWS calls it makes are that function's.
pub async fn as_function<F: Future>(function: &str, work: F) -> F::Output {
    FUNCTION.scope(function.to_string(), work).await
}

fn log() -> Option<&'static Mutex<std::fs::File>> {
    static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let path = std::env::var("DISPATCH_IAM_LOG").ok()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("DISPATCH_IAM_LOG={path}: {e}"));
        Some(Mutex::new(file))
    })
    .as_ref()
}

/// The interceptor: one record per operation a function sends or presigns.
#[derive(Debug, Clone, Default)]
pub struct IamRecorder;

impl Intercept for IamRecorder {
    fn name(&self) -> &'static str {
        "IamRecorder"
    }

    // After serialization: once per operation (before retries), presigned ones included.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(function) = FUNCTION.try_with(Clone::clone) else {
            return Ok(()); // setup and inspection by the test itself
        };
        let Some(log) = log() else {
            return Ok(());
        };
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let body: Value = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let record = json!({
            "function": function,
            "service": meta.service().to_ascii_lowercase(),
            "operation": meta.name(),
            "index": body["IndexName"],
            "queue": body["QueueUrl"],
            "items": body["TransactItems"].as_array().map(|items| {
                items.iter().filter_map(|i| i.as_object()?.keys().next().cloned()).collect::<Vec<_>>()
            }),
            "secrets": body["SecretIdList"].as_array().cloned().or_else(|| {
                body["SecretId"].as_str().map(|s| vec![json!(s)])
            }),
        });
        if let Ok(mut file) = log.lock() {
            let _ = writeln!(file, "{record}");
        }
        Ok(())
    }
}
