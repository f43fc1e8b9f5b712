//! `GET /v1/health`: public liveness check. Touches no AWS service, so it answers even when
//! a dependency is down (and costs nothing but the invocation).

use dispatch_http::{Reply, json};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

pub async fn health(_req: Request) -> Reply {
    json(
        StatusCode::OK,
        &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    )
}
