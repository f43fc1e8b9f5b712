//! A Lambda Runtime API on loopback.
//!
//! It speaks the protocol the Lambda service speaks to a function (`GET .../invocation/next`,
//! `POST .../invocation/{id}/response` or `/error`), hands a queue of events to one real
//! function process, and records when the process first asked for work (the end of its
//! init) and how long each invocation took between handing over the event and receiving
//! the answer.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// What the function reported for one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    Response(Value),
    Error(String),
}

/// One invocation: the answer and how long the function took to give it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub outcome: Outcome,
    pub latency: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    first_poll: Option<Instant>,
    handed_at: Option<Instant>,
    next_id: u64,
    done: Vec<Invocation>,
}

/// A running emulator with one function process attached.
pub struct Emulator {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    server: tokio::task::JoinHandle<()>,
    child: Child,
    spawned_at: Instant,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    if req.method() == hyper::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let next = {
            let mut s = lock(&state);
            let now = Instant::now();
            s.first_poll.get_or_insert(now);
            changed.notify_waiters();
            let event = s.queue.pop_front();
            if event.is_some() {
                s.handed_at = Some(now);
                s.next_id += 1;
            }
            event.map(|e| (e, s.next_id))
        };
        let Some((event, id)) = next else {
            // The queue is empty: keep the function waiting, as Lambda does between events.
            std::future::pending::<()>().await;
            unreachable!();
        };
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 30_000;
        return Ok(Response::builder()
            .header(
                "Lambda-Runtime-Aws-Request-Id",
                format!("00000000-0000-4000-8000-{id:012}"),
            )
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
            .unwrap_or_default());
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
    if let Some(outcome) = outcome {
        let mut s = lock(&state);
        let latency = s.handed_at.map(|t| t.elapsed()).unwrap_or_default();
        s.done.push(Invocation { outcome, latency });
        changed.notify_waiters();
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

impl Emulator {
    /// Starts the emulator with `events` queued and `binary` attached to it, with the
    /// environment Lambda gives a function plus `env`.
    pub async fn start(
        binary: &Path,
        events: Vec<String>,
        env: &[(String, String)],
    ) -> std::io::Result<Emulator> {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        Emulator::start_command(binary, &[], &name, events, env).await
    }

    /// Like [`Emulator::start`], for a program run with arguments (an interpreter and its
    /// script), named `name` in the Lambda environment.
    pub async fn start_command(
        program: &Path,
        args: &[&str],
        name: &str,
        events: Vec<String>,
        env: &[(String, String)],
    ) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            queue: events.into(),
            ..State::default()
        }));
        let changed = Arc::new(Notify::new());
        let (s, c) = (state.clone(), changed.clone());
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s, c) = (s.clone(), c.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(s.clone(), c.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let spawned_at = Instant::now();
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .kill_on_drop(true)
            .spawn()?;
        Ok(Emulator {
            state,
            changed,
            server,
            child,
            spawned_at,
        })
    }

    /// How long the process took from spawn to its first request for work.
    pub async fn init_duration(&self, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if let Some(t) = lock(&self.state).first_poll {
                return Some(t - self.spawned_at);
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// Waits until `n` invocations have been answered; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<Invocation>> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            {
                let s = lock(&self.state);
                if s.done.len() >= n {
                    return Some(s.done.clone());
                }
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// The function process's id (for reading its memory use).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Ends the function process and the emulator.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

/// Peak resident memory (VmHWM) of a process, in KiB, from /proc.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
