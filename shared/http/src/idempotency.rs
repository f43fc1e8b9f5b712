//! `X-Idempotency-Key` on creates: a retry with the same key and the same body within 24
//! hours gets the first answer and creates nothing; the same key with a different body is
//! 409. Stored in DynamoDB, so it survives Lambda restarts and holds across instances.

use crate::ErrorCode;
use crate::{ApiError, Context, Reply};
use dispatch_auth::{Principal, SecretHash};
use dispatch_domain::{Mode, OrgId};
use dispatch_store::{Claim, IdempotencyStore, StoredAnswer};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use std::future::Future;

pub const HEADER: &str = "x-idempotency-key";

/// A response extension: the body a replay answers with instead of the one sent, for an
/// answer that carries a secret that must not be stored (a generated webhook secret is
/// shown once; a replay shows the webhook without it).
#[derive(Debug, Clone)]
pub struct ReplayBody(pub String);

/// Runs `work` at most once per idempotency key (when the request carries one). Only
/// successful answers are stored: after a 4xx or 5xx the key is free again, so the client
/// can fix the request and retry with the same key.
///
/// Keys belong to their caller (the API key, or the member behind a session): another
/// credential of the same organization that sends the same key and body runs its own
/// request instead of receiving the first caller's answer. Callers authorize *before*
/// calling this, so a stored answer is only replayed to someone who may create it now.
pub async fn once<S, F, Fut>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
    work: F,
) -> Reply
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Reply>,
{
    let key = req.headers().get(HEADER);
    let caller = principal.caller_id();
    once_per_key(
        ctx,
        &principal.org_id,
        principal.mode,
        &caller,
        req,
        key,
        work,
    )
    .await
}

/// [`once`] for callers without a principal (intake, the portal), with the key taken from
/// wherever that caller's clients send it; results are stored under `org` and `mode`, and
/// keys are separate per `caller` (a portal customer's keys never meet another's).
#[allow(clippy::too_many_arguments)]
pub async fn once_per_key<S, F, Fut>(
    ctx: &Context<S>,
    org: &OrgId,
    mode: Mode,
    caller: &str,
    req: &Request,
    key: Option<&HeaderValue>,
    work: F,
) -> Reply
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Reply>,
{
    let Some(raw) = key else {
        return work().await;
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::validation(
                "X-Idempotency-Key",
                "must be 1-255 printable ASCII characters",
            )
        })?;
    let scoped = if caller.is_empty() {
        format!("{} {}\n{key}", req.method(), req.uri().path())
    } else {
        format!("{caller}\n{} {}\n{key}", req.method(), req.uri().path())
    };
    let key_hash = SecretHash::of(&scoped).to_hex();
    let request_hash = SecretHash::of(&String::from_utf8_lossy(req.body().as_ref())).to_hex();
    match ctx
        .store
        .claim_idempotency(org, mode, &key_hash, &request_hash, ctx.clock.now())
        .await?
    {
        Claim::New => {}
        Claim::Done(answer) => return Ok(replay(answer)),
        Claim::InProgress => {
            return Err(ApiError::Conflict {
                code: ErrorCode::IdempotencyInProgress,
                message:
                    "A request with this idempotency key is still being processed. Retry shortly."
                        .into(),
            });
        }
        Claim::Mismatch => {
            return Err(ApiError::Conflict {
                code: ErrorCode::IdempotencyKeyReused,
                message: "This idempotency key was used with a different request.".into(),
            });
        }
    }
    let result = work().await;
    match &result {
        // Successes and redirects (a browser form's 303 to its success page) are kept:
        // both mean the work was done.
        Ok(response) if response.status().is_success() || response.status().is_redirection() => {
            let header = |name: header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let body = match response.extensions().get::<ReplayBody>() {
                Some(ReplayBody(body)) => body.clone(),
                None => String::from_utf8_lossy(response.body().as_ref()).to_string(),
            };
            let answer = StoredAnswer {
                status: response.status().as_u16(),
                body,
                content_type: header(header::CONTENT_TYPE),
                location: header(header::LOCATION),
            };
            ctx.store
                .complete_idempotency(org, mode, &key_hash, &answer)
                .await?;
        }
        _ => {
            if let Err(err) = ctx.store.release_idempotency(org, mode, &key_hash).await {
                tracing::warn!(error = %err, "could not release an idempotency key");
            }
        }
    }
    result
}

fn replay(answer: StoredAnswer) -> Response<Body> {
    let body = if answer.body.is_empty() {
        Body::Empty
    } else {
        Body::from(answer.body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::LOCATION, answer.location),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    response
}
