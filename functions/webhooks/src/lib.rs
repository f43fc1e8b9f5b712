//! Outbound webhooks: where a brand's ticket events are delivered (docs/api.md, Webhooks).
//!
//! - `POST` / `GET /v1/brands/{brandId}/webhooks` → [`create`] / [`list`]
//! - `GET` / `PATCH` / `DELETE /v1/brands/{brandId}/webhooks/{webhookId}` → [`get`] /
//!   [`update`] / [`delete`]
//! - `GET /v1/brands/{brandId}/webhooks/{webhookId}/deliveries` → [`deliveries`]
//!
//! Any credential that reaches the brand reads; owners, admins and API keys that reach it
//! write. A webhook's secret is sealed with KMS before it is stored (`dispatch_kms`) and no
//! route returns it, but for the one a create generates, in that create's answer.

pub mod deliver;
pub mod events;
pub mod http;

use dispatch_auth::Principal;
use dispatch_domain::brand::Brand;
use dispatch_domain::webhook::{
    self as rules, Host, LocalAllowance, Webhook, WebhookDelivery, WebhookUrl,
};
use dispatch_domain::{FieldErrors, Mode, WebhookId};
use dispatch_http::ErrorCode;
use dispatch_http::idempotency::{self, ReplayBody};
use dispatch_http::{
    ApiError, ConfigError, Context, Reply, authenticate, json, no_content, parse_json, path_id,
    reachable_brand,
};
use dispatch_kms::{SealContext, Secrets};
use dispatch_store::{
    BrandStore, CredentialStore, IdempotencyStore, SessionStore, StoreError, WebhookChange,
    WebhookStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

/// How long a webhook URL's host may take to resolve when it is set.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// The webhook functions' dependencies: the context, the KMS key that seals secrets (create
/// and update only), and whether `http://localhost` is allowed in test mode
/// (`WEBHOOK_ALLOW_LOCAL=true`, which only `scripts/dev` and the suite set).
pub struct Webhooks<S> {
    pub ctx: Context<S>,
    pub secrets: Option<Secrets>,
    pub local: LocalAllowance,
}

impl<S> Webhooks<S> {
    /// The production wiring for a function that reads or deletes (no KMS client).
    pub fn reader(ctx: Context<S>) -> Result<Webhooks<S>, ConfigError> {
        Ok(Webhooks {
            ctx,
            secrets: None,
            local: local_allowance_from_env()?,
        })
    }

    fn secrets(&self) -> Result<&Secrets, ApiError> {
        self.secrets
            .as_ref()
            .ok_or_else(|| ApiError::Internal("this function has no KMS key".into()))
    }
}

/// `WEBHOOK_ALLOW_LOCAL=true` or `false` (unset: false); the template never sets it (the
/// suite checks).
pub fn local_allowance_from_env() -> Result<LocalAllowance, ConfigError> {
    let var = dispatch_http::config::env_var("WEBHOOK_ALLOW_LOCAL");
    Ok(LocalAllowance(dispatch_http::config::parse_flag(
        "WEBHOOK_ALLOW_LOCAL",
        var.as_deref(),
        false,
    )?))
}

/// A webhook as the API shows it: never its secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookView {
    id: String,
    brand_id: String,
    url: String,
    events: Vec<&'static str>,
    enabled: bool,
    failure_count: u32,
    last_triggered: Option<String>,
    last_failure: Option<String>,
    created_at: String,
    updated_at: String,
    /// Only in the answer to a create that generated the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    fn new(w: &Webhook) -> WebhookView {
        WebhookView {
            id: w.id.to_string(),
            brand_id: w.brand_id.to_string(),
            url: w.url.as_str().to_string(),
            events: w.events.iter().map(|e| e.as_str()).collect(),
            enabled: w.enabled,
            failure_count: w.failure_count,
            last_triggered: w.last_triggered.map(|t| t.to_rfc3339()),
            last_failure: w.last_failure.map(|t| t.to_rfc3339()),
            created_at: w.created_at.to_rfc3339(),
            updated_at: w.updated_at.to_rfc3339(),
            secret: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryView {
    id: String,
    webhook_id: String,
    event: &'static str,
    payload: Value,
    status: &'static str,
    attempts: u32,
    last_attempt: Option<String>,
    response_code: Option<u16>,
    response_body: Option<String>,
    error: Option<String>,
    next_attempt_at: Option<String>,
    created_at: String,
}

impl DeliveryView {
    fn new(d: &WebhookDelivery) -> DeliveryView {
        DeliveryView {
            id: d.id.to_string(),
            webhook_id: d.webhook_id.to_string(),
            event: d.event.as_str(),
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
            status: d.status.as_str(),
            attempts: d.attempts,
            last_attempt: d.last_attempt.map(|t| t.to_rfc3339()),
            response_code: d.response_code,
            response_body: d.response_body.clone(),
            error: d.error.clone(),
            next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
            created_at: d.created_at.to_rfc3339(),
        }
    }
}

/// Writing webhooks is managing the brand: owners, admins, and keys that reach it.
fn require_manager(principal: &Principal, brand: &Brand) -> Result<(), ApiError> {
    if principal.can_manage_brand(&brand.id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Managing webhooks needs an owner or admin credential.",
        })
    }
}

fn seal_context<'a>(
    principal: &'a Principal,
    brand: &'a Brand,
    id: &'a WebhookId,
) -> SealContext<'a> {
    SealContext {
        org: &principal.org_id,
        mode: principal.mode,
        brand: &brand.id,
        webhook: id,
    }
}

fn kms_error(e: dispatch_kms::KmsError) -> ApiError {
    ApiError::dependency(e.is_unavailable(), e)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInput {
    url: Option<String>,
    secret: Option<String>,
    events: Option<Vec<String>>,
}

/// `POST /v1/brands/{brandId}/webhooks`: 201 with the webhook; with the secret too, this
/// once, when the request did not choose one.
pub async fn create<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore + IdempotencyStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    require_manager(&principal, &brand)?;
    idempotency::once(ctx, &principal, &req, || {
        create_once(deps, &principal, brand, &req)
    })
    .await
}

async fn create_once<S: WebhookStore>(
    deps: &Webhooks<S>,
    principal: &Principal,
    brand: Brand,
    req: &Request,
) -> Reply {
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let url = match input.url.as_deref() {
        Some(raw) => errors.check("url", WebhookUrl::parse(raw)),
        None => {
            errors.add("url", "is required");
            None
        }
    };
    let events = match input.events.as_deref() {
        Some(raw) => errors.check("events", rules::parse_events(raw)),
        None => {
            errors.add("events", "is required");
            None
        }
    };
    let chosen = input
        .secret
        .as_deref()
        .map(|s| errors.check("secret", rules::parse_secret(s)));
    let (Some(url), Some(events)) = (url, events) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    check_reachable(&url, principal.mode, deps.local).await?;
    let (secret, generated) = match chosen.flatten() {
        Some(secret) => (secret, false),
        None => (rules::new_secret(), true),
    };
    let now = deps.ctx.clock.now();
    let webhook = Webhook {
        id: WebhookId::generate(deps.ctx.clock.now_millis()),
        org_id: principal.org_id.clone(),
        mode: principal.mode,
        brand_id: brand.id.clone(),
        url,
        events,
        enabled: true,
        failure_count: 0,
        last_triggered: None,
        last_failure: None,
        created_at: now,
        updated_at: now,
    };
    let sealed = deps
        .secrets()?
        .seal(&secret, &seal_context(principal, &brand, &webhook.id))
        .await
        .map_err(kms_error)?;
    match deps.ctx.store.create_webhook(&webhook, &sealed).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict {
                code: ErrorCode::WebhookLimitReached,
                message: format!(
                    "A brand has at most {} webhooks. Delete one first.",
                    rules::MAX_WEBHOOKS_PER_BRAND
                ),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let view = WebhookView::new(&webhook);
    if !generated {
        return json(StatusCode::CREATED, &view);
    }
    // The generated secret is in this answer only: a replay of the create shows the
    // webhook without it (a client that lost it sets a new one with PATCH).
    let stored = serde_json::to_string(&view).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = json(
        StatusCode::CREATED,
        &WebhookView {
            secret: Some(secret),
            ..view
        },
    )?;
    response.extensions_mut().insert(ReplayBody(stored + "\n"));
    Ok(response)
}

/// Refuses a URL a delivery must not reach: plain http in live mode, and any host that is
/// or resolves to a non-public address (every address it resolves to is checked), unless it
/// is the local receiver `scripts/dev` allows in test mode. The delivery checks again, and
/// connects to the address it checked.
async fn check_reachable(
    url: &WebhookUrl,
    mode: Mode,
    local: LocalAllowance,
) -> Result<(), ApiError> {
    let refuse = |message: String| ApiError::validation("url", &message);
    if rules::check_target(url, mode, local).map_err(refuse)? {
        return Ok(());
    }
    let Host::Name(name) = url.host() else {
        return Ok(()); // an IP literal, checked above
    };
    let addresses = resolve(name, url.port()).await.map_err(refuse)?;
    for ip in addresses {
        rules::check_address(ip).map_err(refuse)?;
    }
    Ok(())
}

/// Every address `name` resolves to; an error when it resolves to none.
pub async fn resolve(name: &str, port: u16) -> Result<Vec<IpAddr>, String> {
    let lookup = tokio::net::lookup_host((name, port));
    let addresses: Vec<IpAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
        Ok(Err(_)) | Err(_) => Vec::new(),
    };
    if addresses.is_empty() {
        Err(format!("names a host that does not resolve: {name}"))
    } else {
        Ok(addresses)
    }
}

/// `GET /v1/brands/{brandId}/webhooks`: a bare array (at most 10), oldest first.
pub async fn list<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let webhooks = ctx
        .store
        .webhooks(&principal.org_id, principal.mode, &brand.id)
        .await?;
    let views: Vec<WebhookView> = webhooks.iter().map(WebhookView::new).collect();
    json(StatusCode::OK, &views)
}

/// The webhook the path names, in the caller's tenant, mode and brand (else 404).
async fn found<S>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: &Brand,
    req: &Request,
) -> Result<Webhook, ApiError>
where
    S: WebhookStore,
{
    let id = path_id(req, "webhookId", WebhookId::parse)?;
    ctx.store
        .webhook(&principal.org_id, principal.mode, &brand.id, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /v1/brands/{brandId}/webhooks/{webhookId}`.
pub async fn get<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let webhook = found(ctx, &principal, &brand, &req).await?;
    json(StatusCode::OK, &WebhookView::new(&webhook))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateInput {
    url: Option<String>,
    secret: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// `PATCH /v1/brands/{brandId}/webhooks/{webhookId}`: `url`, `secret`, `events`, `enabled`
/// (absent or `null` leaves a field as it is). `enabled: true` resumes deliveries and zeroes
/// `failureCount`.
pub async fn update<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    require_manager(&principal, &brand)?;
    let id = path_id(&req, "webhookId", WebhookId::parse)?;
    // 404 before the body is read, as for the other PATCH routes.
    let current = found(ctx, &principal, &brand, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let url = input
        .url
        .as_deref()
        .map(|u| errors.check("url", WebhookUrl::parse(u)));
    let events = input
        .events
        .as_deref()
        .map(|e| errors.check("events", rules::parse_events(e)));
    let secret = input
        .secret
        .as_deref()
        .map(|s| errors.check("secret", rules::parse_secret(s)));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let (url, events, secret) = (url.flatten(), events.flatten(), secret.flatten());
    if url.is_none() && events.is_none() && secret.is_none() && input.enabled.is_none() {
        return json(StatusCode::OK, &WebhookView::new(&current));
    }
    if let Some(url) = &url {
        check_reachable(url, principal.mode, deps.local).await?;
    }
    let sealed_secret = match &secret {
        Some(secret) => Some(
            deps.secrets()?
                .seal(secret, &seal_context(&principal, &brand, &id))
                .await
                .map_err(kms_error)?,
        ),
        None => None,
    };
    let change = WebhookChange {
        url,
        events,
        enabled: input.enabled,
        sealed_secret,
        updated_at: ctx.clock.now(),
    };
    match ctx
        .store
        .update_webhook(&principal.org_id, principal.mode, &brand.id, &id, &change)
        .await
    {
        Ok(webhook) => json(StatusCode::OK, &WebhookView::new(&webhook)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/webhooks/{webhookId}`: 204; its deliveries stop.
pub async fn delete<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    require_manager(&principal, &brand)?;
    let id = path_id(&req, "webhookId", WebhookId::parse)?;
    // Gone meanwhile: 404, as the store's `NotFound` always is.
    ctx.store
        .delete_webhook(&principal.org_id, principal.mode, &brand.id, &id)
        .await?;
    no_content()
}

/// `GET /v1/brands/{brandId}/webhooks/{webhookId}/deliveries?limit=`: a bare array, newest
/// first, `limit` 1–100 (default 20); records are kept 30 days.
pub async fn deliveries<S>(deps: &Webhooks<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + WebhookStore,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let limit = dispatch_http::pagination::parse_limit(&req)?;
    let webhook = found(ctx, &principal, &brand, &req).await?;
    let deliveries = ctx
        .store
        .deliveries(
            &principal.org_id,
            principal.mode,
            &brand.id,
            &webhook.id,
            limit,
        )
        .await?;
    let views: Vec<DeliveryView> = deliveries.iter().map(DeliveryView::new).collect();
    json(StatusCode::OK, &views)
}
