//! A minimal Lambda Runtime API: hands one event to a real function binary and captures
//! what it answers, over the same HTTP protocol the Lambda service speaks.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;

/// What the function reported for the invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(String),
}

struct State {
    event: Option<String>,
    done: Option<oneshot::Sender<Outcome>>,
}

const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let event = state.lock().unwrap().event.take();
        let Some(event) = event else {
            // One event per process: later polls wait until the test ends the process.
            std::future::pending::<()>().await;
            unreachable!();
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        return Ok(Response::builder()
            .header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:local",
            )
            .header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-00000000-000000000000000000000000;Sampled=0",
            )
            .body(Full::new(Bytes::from(event)))
            .unwrap());
    }
    let body = req.into_body().collect().await?.to_bytes();
    let outcome = if path.ends_with("/response") {
        Some(Outcome::Response(
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ))
    } else if path.ends_with("/error") {
        Some(Outcome::Error(String::from_utf8_lossy(&body).to_string()))
    } else {
        None
    };
    if let Some(outcome) = outcome
        && let Some(done) = state.lock().unwrap().done.take()
    {
        let _ = done.send(outcome);
    }
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(Full::new(Bytes::new()))
        .unwrap())
}

/// Starts `binary` as Lambda would (on `table`), gives it `event`, and returns its answer.
pub async fn invoke(binary: &Path, event: String, table: &str) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel();
    let state = Arc::new(Mutex::new(State {
        event: Some(event),
        done: Some(tx),
    }));
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(state.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let name = binary.file_name().unwrap().to_string_lossy().to_string();
    let mut child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("TABLE_NAME", table)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (scripts/test builds the binaries first)",
                binary.display()
            )
        });
    let outcome = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .unwrap_or_else(|_| panic!("{name} did not answer within 30 s"))
        .unwrap();
    let _ = child.kill().await;
    server.abort();
    outcome
}
