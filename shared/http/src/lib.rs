//! HTTP plumbing every function shares: one error type, one JSON response helper, one body
//! parser, one path-parameter extractor, one `authenticate`, and the entry point that turns
//! a handler into a Lambda function.

pub mod auth;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod error;
pub mod idempotency;
pub mod pagination;
pub mod portal;
pub mod rate_limit;
pub mod request;
pub mod response;
pub mod route;
mod route_table;
pub mod scope;

use dispatch_auth::cursor::CursorKey;
use dispatch_auth::portal_token::PortalKeys;
use dispatch_domain::{Clock, SystemClock};
use lambda_http::{Body, Request, Response, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

pub use auth::{SessionAuth, authenticate, authenticate_session};
pub use config::{AuthConfig, ConfigError};
pub use error::{ApiError, ErrorCode};
pub use request::{client_ip, parse_json, path_id, query_param, request_id};
pub use response::{html, json, no_content};
pub use route::{Endpoint, Route};
pub use scope::{brand_path, reachable_brand, ticket_path};

/// What a handler returns: a response, or an error that becomes the JSON error body.
pub type Reply = Result<Response<Body>, ApiError>;

/// A function's dependencies, built once at init and shared by every invocation.
pub struct Context<S> {
    pub store: S,
    pub clock: Arc<dyn Clock>,
    pub auth: AuthConfig,
    /// Signs pagination cursors (`CURSOR_SECRET`); only list functions are given one.
    pub cursors: Option<CursorKey>,
    /// Signs and verifies portal tokens (`PORTAL_SIGNING_KEYS`); only portal functions
    /// are given them.
    pub portal_keys: Option<PortalKeys>,
}

impl<S> Context<S> {
    /// The production wiring: the system clock and configuration from the environment.
    /// Signing keys come from Secrets Manager (`dispatch_secrets`), through [`Context::with_keys`].
    pub fn from_env(store: S) -> Result<Context<S>, ConfigError> {
        Ok(Context {
            store,
            clock: Arc::new(SystemClock),
            auth: AuthConfig::from_env()?,
            cursors: None,
            portal_keys: None,
        })
    }

    /// The signing keys this function was given (read at init).
    pub fn with_keys(
        mut self,
        cursors: Option<CursorKey>,
        portal: Option<PortalKeys>,
    ) -> Context<S> {
        self.cursors = cursors;
        self.portal_keys = portal;
        self
    }

    pub fn new(store: S, clock: Arc<dyn Clock>, auth: AuthConfig) -> Context<S> {
        Context {
            store,
            clock,
            auth,
            cursors: None,
            portal_keys: None,
        }
    }

    pub fn with_portal_keys(mut self, keys: PortalKeys) -> Context<S> {
        self.portal_keys = Some(keys);
        self
    }

    /// The portal signing keys, or a 500 for a function deployed without them.
    pub fn portal_keys(&self) -> Result<&PortalKeys, ApiError> {
        self.portal_keys.as_ref().ok_or_else(|| {
            ApiError::Internal("no portal signing keys (PORTAL_KEY_A_ARN, PORTAL_KEY_B_ARN)".into())
        })
    }

    pub fn with_cursors(mut self, key: CursorKey) -> Context<S> {
        self.cursors = Some(key);
        self
    }

    /// The cursor key, or a 500 for a function deployed without `CURSOR_SECRET`.
    pub fn cursor_key(&self) -> Result<&CursorKey, ApiError> {
        self.cursors
            .as_ref()
            .ok_or_else(|| ApiError::Internal("no cursor signing key (CURSOR_SECRET_ARN)".into()))
    }
}

/// Runs one request through a handler: errors become JSON, every response carries
/// `X-Request-Id`, and one log line records the route, status and duration (never
/// headers, bodies or query strings, which may carry secrets).
/// How long a handler may take before the request answers 503 (see
/// [`dispatch_aws::REQUEST_DEADLINE`]); an [`Endpoint`] carries the one it runs with.
pub use dispatch_aws::REQUEST_DEADLINE;

pub async fn dispatch<F, Fut>(req: Request, endpoint: &Endpoint, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Reply>,
{
    let started = Instant::now();
    let req = request::without_stage(req);
    let id = request_id(&req);
    let route = request::route_key(&req);
    let path = req.uri().path().to_string();
    let origin = cors::request_origin(&req).map(str::to_string);
    // The body limit holds for every route, before authentication or any lookup.
    let result = if req.body().len() > request::MAX_BODY_BYTES {
        Err(ApiError::PayloadTooLarge)
    } else if let Err(unknown) = endpoint.route.check_query(&req) {
        Err(unknown)
    } else {
        // Work left behind by the deadline is whatever single AWS calls had completed:
        // each is atomic (writes that belong together are one transaction), and an
        // idempotency claim left pending expires after its short lease.
        tokio::time::timeout(endpoint.deadline, handler(req))
            .await
            .unwrap_or_else(|_| Err(ApiError::Unavailable("request deadline".into())))
    };
    let mut response = match result {
        Ok(response) => response,
        Err(err) => err.into_response(&id),
    };
    cors::apply_dashboard(
        &mut response,
        &path,
        origin.as_deref(),
        &endpoint.dashboard_origins,
    );
    response::finish(&mut response, &id);
    tracing::info!(
        request_id = %id,
        route = %route,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// The Lambda entry point: serves `handler` forever as `function`'s route (a binary
/// passes `env!("CARGO_BIN_NAME")`). An unknown function or malformed configuration
/// fails the init.
pub async fn serve<F, Fut>(function: &str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Reply> + Send,
{
    let endpoint = Endpoint::new(function, &AuthConfig::from_env()?)?;
    let (endpoint, handler) = (&endpoint, &handler);
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(dispatch(req, endpoint, handler).await)
    }))
    .await
}

/// Logging for every function: JSON or text as the Lambda log format says.
pub fn init_tracing() {
    lambda_http::tracing::init_default_subscriber();
}
