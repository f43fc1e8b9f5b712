//! Cross-origin answers, decided by the API itself (not API Gateway), because the portal's
//! allowed origins are per brand:
//!
//! - dashboard routes allow exactly `DASHBOARD_ORIGINS`, with credentials (the cookie);
//! - portal routes (`/v1/portal/…`) allow exactly the origins in the caller's portal token
//!   (the brand's `portalOrigins` when it was minted), without credentials;
//! - preflights are answered by the `cors-preflight` function;
//! - any other origin gets no `Access-Control-Allow-Origin`, so the browser blocks the
//!   call. An origin is never reflected unless it is on a list.

use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};

/// Paths whose CORS answer is decided per request by the portal token.
pub const PORTAL_PREFIX: &str = "/v1/portal/";

/// Headers a browser script may send.
pub const PORTAL_ALLOW_HEADERS: &str = "authorization, content-type, x-idempotency-key";
pub const DASHBOARD_ALLOW_HEADERS: &str =
    "authorization, content-type, x-idempotency-key, dispatch-mode";

/// The request's `Origin`, if it sent one.
pub fn request_origin(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
}

/// Lets `origin` read this response (and vary caches on `Origin`).
pub fn allow_origin(response: &mut Response<Body>, origin: &str, credentials: bool) {
    let Ok(value) = HeaderValue::from_str(origin) else {
        return;
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, \
             x-ratelimit-reset, idempotent-replayed",
        ),
    );
    if credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// For dashboard routes: the dashboard's origins may read answers, with the cookie.
/// Portal and intake answers are left alone (the portal sets its own).
pub(crate) fn apply_dashboard(
    response: &mut Response<Body>,
    path: &str,
    origin: Option<&str>,
    dashboard_origins: &[String],
) {
    if path.starts_with(PORTAL_PREFIX)
        || path.starts_with("/v1/forms/")
        || response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        return;
    }
    if let Some(origin) = origin.filter(|o| dashboard_origins.iter().any(|d| d == o)) {
        allow_origin(response, origin, true);
    }
}

/// A preflight answer: 204, allowing `origin` (when given) the methods and headers.
pub fn preflight(
    origin: Option<&str>,
    methods: &str,
    headers: &str,
    credentials: bool,
) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = lambda_http::http::StatusCode::NO_CONTENT;
    if let Some(origin) = origin {
        allow_origin(&mut response, origin, credentials);
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods_static(methods)),
        );
        if let Ok(v) = HeaderValue::from_str(headers) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    } else {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn methods_static(methods: &str) -> &'static str {
    match methods {
        "portal" => "GET, POST, OPTIONS",
        _ => "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    }
}
