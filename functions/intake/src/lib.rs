//! Ticket intake by webhook (spec §4.7).
//!
//! - `GET` / `POST /v1/brands/{brandId}/intake` → [`list`] / [`create`]: a brand's intake
//!   endpoints (owners, admins and keys that reach the brand)
//! - `DELETE /v1/brands/{brandId}/intake/{id}` → [`disable`]
//! - `POST /v1/forms/{token}` → [`submit`]: public; the token names the endpoint, an
//!   optional HMAC signature proves the sender
//! - [`submission`]: turn a JSON, urlencoded or multipart body into fields and files, and
//!   map those fields onto a ticket.

pub mod submission;

use dispatch_auth::intake_signature::{self, SignatureError};
use dispatch_auth::{Principal, SecretHash};
use dispatch_domain::attachment::{self, Attachment, AttachmentStatus};
use dispatch_domain::brand::{Brand, Metadata};
use dispatch_domain::customer::CustomerName;
use dispatch_domain::intake::{self as rules, IntakeEndpoint};
use dispatch_domain::ticket::{Priority, Status, parse_body, parse_title};
use dispatch_domain::{AttachmentId, Email, FieldErrors, IntakeToken, TicketId};
use dispatch_files::Files;
use dispatch_http::ErrorCode;
use dispatch_http::rate_limit::{self, Limit};
use dispatch_http::{
    ApiError, Context, Reply, authenticate, client_ip, html, idempotency, json, no_content,
    parse_json, path_id, reachable_brand,
};
use dispatch_store::{
    BrandStore, CredentialStore, CustomerStore, IdempotencyStore, IntakeStore, RateLimitStore,
    SessionStore, StoreError, TicketStore,
};
use dispatch_usecases::tickets::{NewTicket, TicketCustomer, open_ticket};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use submission::{SubmissionError, map_fields, validate_field_mapping};

/// The public form function's dependencies.
pub struct Intake<S, F> {
    pub ctx: Context<S>,
    pub files: F,
}

/// An endpoint as the API shows it. The signing secret appears only in the create answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointView {
    id: String,
    token: String,
    name: String,
    brand_id: String,
    url_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
    signed: bool,
    field_mapping: BTreeMap<String, String>,
    success_url: Option<String>,
    enabled: bool,
    created_at: String,
}

impl EndpointView {
    fn new(e: &IntakeEndpoint, reveal_secret: bool) -> EndpointView {
        EndpointView {
            id: e.token.to_string(),
            token: e.token.to_string(),
            name: e.name.clone(),
            brand_id: e.brand_id.to_string(),
            url_path: format!("/v1/forms/{}", e.token),
            signing_secret: e.signing_secret.clone().filter(|_| reveal_secret),
            signed: e.signing_secret.is_some(),
            field_mapping: e.field_mapping.clone(),
            success_url: e.success_url.clone(),
            enabled: e.enabled,
            created_at: e.created_at.to_rfc3339(),
        }
    }
}

/// Managing intake is managing the brand: owners, admins, and keys that reach it.
async fn managed_brand<S: BrandStore>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Result<Brand, ApiError> {
    let brand = reachable_brand(&ctx.store, principal, req).await?;
    if principal.can_manage_brand(&brand.id) {
        Ok(brand)
    } else {
        Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Managing intake endpoints needs an owner or admin credential.",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    /// `true` generates a signing secret; posts must then be signed.
    require_signature: Option<bool>,
    field_mapping: Option<BTreeMap<String, String>>,
    success_url: Option<String>,
}

/// `POST /v1/brands/{brandId}/intake`: 201 with the endpoint (and its signing secret,
/// this once).
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + IntakeStore + IdempotencyStore,
{
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let brand = managed_brand(ctx, &principal, &req).await?;
    idempotency::once(ctx, &principal, &req, || {
        create_once(ctx, &principal, brand, &req)
    })
    .await
}

async fn create_once<S: BrandStore + IntakeStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: Brand,
    req: &Request,
) -> Reply {
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let name = errors.check(
        "name",
        rules::parse_name(input.name.as_deref().unwrap_or("Intake")),
    );
    let field_mapping = input.field_mapping.unwrap_or_default();
    if let Err(message) = validate_field_mapping(&field_mapping) {
        errors.add("fieldMapping", message);
    }
    let success_url = input
        .success_url
        .as_deref()
        .map(|u| errors.check("successUrl", rules::parse_success_url(u)));
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let endpoint = IntakeEndpoint {
        token: IntakeToken::generate(ctx.clock.now_millis()),
        org_id: principal.org_id.clone(),
        mode: principal.mode,
        brand_id: brand.id,
        name,
        signing_secret: input
            .require_signature
            .unwrap_or(false)
            .then(intake_signature::new_signing_secret),
        field_mapping,
        success_url: success_url.flatten(),
        enabled: true,
        created_at: ctx.clock.now(),
    };
    ctx.store.create_intake(&endpoint).await?;
    json(StatusCode::CREATED, &EndpointView::new(&endpoint, true))
}

/// `GET /v1/brands/{brandId}/intake`: a bare array, oldest first (secrets never shown).
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + IntakeStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = managed_brand(ctx, &principal, &req).await?;
    let endpoints = ctx
        .store
        .intakes(&principal.org_id, principal.mode, &brand.id)
        .await?;
    let views: Vec<EndpointView> = endpoints
        .iter()
        .map(|e| EndpointView::new(e, false))
        .collect();
    json(StatusCode::OK, &views)
}

/// `DELETE /v1/brands/{brandId}/intake/{id}`: disables the endpoint; its URL answers 404
/// from then on. Disabling twice is fine.
pub async fn disable<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + IntakeStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = managed_brand(ctx, &principal, &req).await?;
    let token = path_id(&req, "id", IntakeToken::parse)?;
    match ctx
        .store
        .disable_intake(&principal.org_id, principal.mode, &brand.id, &token)
        .await
    {
        Ok(()) => no_content(),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// A browser posting an HTML form (it asks for HTML), rather than a program.
fn from_browser(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Where a browser goes after a post: the endpoint's success URL, else a small page.
fn browser_answer(endpoint: &IntakeEndpoint) -> Reply {
    match endpoint
        .success_url
        .as_deref()
        .and_then(|u| HeaderValue::from_str(u).ok())
    {
        Some(location) => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(header::LOCATION, location);
            Ok(response)
        }
        None => html(
            StatusCode::OK,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Thank you</title></head>\
             <body><h1>Thank you</h1><p>Your message was received.</p></body></html>"
                .into(),
        ),
    }
}

fn submission_error(e: SubmissionError) -> ApiError {
    match e {
        SubmissionError::UnsupportedMediaType => ApiError::UnsupportedMediaType(
            "Send the form as application/json, application/x-www-form-urlencoded or \
             multipart/form-data.",
        ),
        other => ApiError::BadRequest {
            code: ErrorCode::InvalidBody,
            message: other.to_string(),
        },
    }
}

/// Unsigned posts, per source address and endpoint: 10 a minute, 100 an hour. A person
/// filling a form posts a few times at most; more is a script, and a script should sign.
pub const ADDRESS_LIMITS: [(i64, u64); 2] = [(60, 10), (3600, 100)];
/// Every post to one endpoint, signed or not: 600 a minute, above the 200-post bursts that
/// webhook-driven intake sends, and a ceiling on what one leaked form URL can cost.
pub const ENDPOINT_LIMITS: [(i64, u64); 1] = [(60, 600)];

/// `POST /v1/forms/{token}`: one submission → one ticket (`source` `web` for browser
/// forms, `webhook` otherwise). Signed endpoints check `X-Dispatch-Signature` over the raw
/// body before anything is parsed; deliveries with the same `X-Idempotency-Key` or
/// `X-Webhook-Id` create one ticket, and so do deliveries with the same signature (a
/// captured delivery replayed, whatever unsigned headers it carries); a filled honeypot
/// (`_gotcha`) is answered like a success and dropped. Rate limits (429 with `Retry-After`)
/// apply per endpoint and, for unsigned endpoints, per source address.
pub async fn submit<S, F>(deps: &Intake<S, F>, req: Request) -> Reply
where
    S: BrandStore + CustomerStore + TicketStore + IntakeStore + IdempotencyStore + RateLimitStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let token = path_id(&req, "token", IntakeToken::parse)?;
    let endpoint = ctx
        .store
        .intake_by_token(&token)
        .await?
        .filter(|e| e.enabled)
        .ok_or(ApiError::NotFound)?;
    if let Some(secret) = &endpoint.signing_secret {
        intake_signature::verify(
            secret.as_bytes(),
            req.body().as_ref(),
            header_str(&req, "x-dispatch-signature"),
            header_str(&req, "x-dispatch-timestamp"),
            ctx.clock.now().unix(),
        )
        .map_err(|e| ApiError::Unauthorized {
            code: match e {
                SignatureError::Stale => ErrorCode::SignatureExpired,
                _ => ErrorCode::InvalidSignature,
            },
            message: match e {
                SignatureError::Missing => "X-Dispatch-Signature header is required.",
                SignatureError::Malformed => {
                    "X-Dispatch-Signature must be sha256=<hex HMAC-SHA256>."
                }
                SignatureError::Mismatch => "X-Dispatch-Signature does not match the body.",
                SignatureError::Stale => "X-Dispatch-Timestamp is more than 5 minutes off.",
            },
        })?;
    } else {
        // An unsigned endpoint reads no signature, but one sent malformed is refused like
        // any other malformed input (a sender that means to sign learns it does not).
        let form = |name: &str, ok: fn(&str) -> bool, message: &str| match req.headers().get(name) {
            Some(v) if !v.to_str().is_ok_and(ok) => Err(ApiError::validation(name, message)),
            _ => Ok(()),
        };
        form(
            "X-Dispatch-Signature",
            intake_signature::signature_well_formed,
            "must be sha256=<hex HMAC-SHA256>",
        )?;
        form(
            "X-Dispatch-Timestamp",
            intake_signature::timestamp_well_formed,
            "must be unix seconds",
        )?;
    }
    enforce_limits(ctx, &endpoint, &req).await?;
    let key = req
        .headers()
        .get(idempotency::HEADER)
        .or_else(|| req.headers().get("x-webhook-id"));
    // The signature is the one part of a signed delivery an attacker cannot change: it
    // names the delivery. A replay (same body, timestamp and signature) gets the first
    // answer; changing the unsigned idempotency headers does not make it new.
    let signature = endpoint
        .signing_secret
        .as_ref()
        .and_then(|_| req.headers().get("x-dispatch-signature"))
        .cloned();
    idempotency::once_per_key(
        ctx,
        &endpoint.org_id,
        endpoint.mode,
        "signature",
        &req,
        signature.as_ref(),
        || {
            idempotency::once_per_key(ctx, &endpoint.org_id, endpoint.mode, "", &req, key, || {
                submit_once(deps, &endpoint, &req)
            })
        },
    )
    .await
}

/// [`ENDPOINT_LIMITS`] for every post; [`ADDRESS_LIMITS`] for unsigned endpoints (a valid
/// signature already proves the sender, whose bursts should not be cut per address).
async fn enforce_limits<S: RateLimitStore>(
    ctx: &Context<S>,
    endpoint: &IntakeEndpoint,
    req: &Request,
) -> Result<(), ApiError> {
    // Buckets hold hashes: the table stores neither the form's token nor who posted.
    let endpoint_hash = SecretHash::of(endpoint.token.as_str()).to_hex();
    let mut limits = Limit::each(&format!("in-ep#{endpoint_hash}"), &ENDPOINT_LIMITS);
    if endpoint.signing_secret.is_none() {
        let ip = client_ip(req).unwrap_or_else(|| "unknown".into());
        let address = SecretHash::of(&format!("{endpoint_hash}\n{ip}")).to_hex();
        limits.extend(Limit::each(&format!("in-ip#{address}"), &ADDRESS_LIMITS));
    }
    rate_limit::enforce(&ctx.store, &limits, ctx.clock.now()).await
}

async fn submit_once<S, F>(deps: &Intake<S, F>, endpoint: &IntakeEndpoint, req: &Request) -> Reply
where
    S: BrandStore + CustomerStore + TicketStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let browser = from_browser(req);
    let submission = submission::parse(
        header_str(req, header::CONTENT_TYPE.as_str()),
        req.body().as_ref(),
    )
    .await
    .map_err(submission_error)?;
    let mapped = map_fields(&submission, &endpoint.field_mapping);
    if mapped.honeypot_tripped {
        tracing::info!(intake = %endpoint.token, "honeypot filled; submission dropped");
        return if browser {
            browser_answer(endpoint)
        } else {
            json(StatusCode::ACCEPTED, &json!({"received": true}))
        };
    }
    let (org, mode) = (&endpoint.org_id, endpoint.mode);
    let brand = ctx
        .store
        .brand(org, mode, &endpoint.brand_id)
        .await?
        .ok_or(ApiError::NotFound)?;

    let mut errors = FieldErrors::new();
    // A form without a subject still makes a ticket: its title is the message's start.
    let title_source = mapped
        .title
        .clone()
        .or_else(|| {
            mapped
                .body
                .as_deref()
                // The message's first line, cut to 80 characters (titles are one line).
                .and_then(|b| b.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|line| {
                    line.chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .take(80)
                        .collect::<String>()
                })
                .filter(|t| !t.is_empty())
        })
        .unwrap_or_else(|| format!("New submission: {}", endpoint.name));
    let title = errors.check("title", parse_title(&title_source));
    let body = mapped
        .body
        .as_deref()
        .and_then(|b| errors.check("body", parse_body(b)));
    let email = mapped.email.as_deref().and_then(|e| {
        errors.check(
            "email",
            Email::parse(e).ok_or_else(|| "must be an email address".to_string()),
        )
    });
    let name = mapped
        .name
        .as_deref()
        .and_then(|n| errors.check("name", CustomerName::parse(n)));
    let priority = errors.check(
        "priority",
        mapped
            .priority
            .as_deref()
            .map_or(Ok(Priority::Normal), |p| {
                Priority::parse(&p.trim().to_ascii_lowercase())
            }),
    );
    let custom_fields = errors.check(
        "customFields",
        Metadata::parse(serde_json::Value::Object(mapped.custom_fields)),
    );
    let ticket_id = TicketId::generate(ctx.clock.now_millis());
    let now = ctx.clock.now();
    let mut files = Vec::new();
    for (i, file) in submission.files.into_iter().enumerate() {
        let field = format!("files[{i}]");
        let content_type = errors.check(&field, attachment::parse_content_type(&file.content_type));
        let filename = errors.check(&field, attachment::parse_filename(&file.filename));
        if file.bytes.is_empty() {
            errors.add(&field, "is empty");
        }
        if let (Some(content_type), Some(filename)) = (content_type, filename) {
            match attachment::check_extension(&filename, &content_type) {
                Ok(()) => files.push((filename, content_type, file.bytes)),
                Err(message) => errors.add(&field, message),
            }
        }
    }
    let (Some(title), Some(priority), Some(custom_fields)) = (title, priority, custom_fields)
    else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    // Files go to S3 first; the ticket and their records are then written in one
    // transaction. A failure in between leaves only unreferenced objects, never a ticket
    // that points at missing bytes.
    let mut attachments = Vec::new();
    for (filename, content_type, bytes) in files {
        let id = AttachmentId::generate(ctx.clock.now_millis());
        let object_key = attachment::object_key(org, mode, &brand.id, Some(&ticket_id), &id);
        let size = bytes.len() as u64;
        deps.files
            .put(&object_key, &content_type, bytes)
            .await
            .map_err(|e| ApiError::dependency(e.is_unavailable(), e))?;
        attachments.push(Attachment {
            id,
            brand_id: brand.id.clone(),
            ticket_id: Some(ticket_id.clone()),
            customer_id: None,
            filename,
            content_type,
            size,
            status: AttachmentStatus::Uploaded,
            object_key,
            uploaded_by: Some(endpoint.name.clone()),
            created_at: now,
            updated_at: now,
        });
    }
    let new = NewTicket {
        id: ticket_id,
        title,
        body,
        status: Status::Open,
        priority,
        source: if browser { "web" } else { "webhook" }.into(),
        // A signed delivery comes from the brand's own systems, which vouch for the
        // address; anyone can type an address into an unsigned form.
        customer: match email {
            Some(e) if endpoint.signing_secret.is_some() => TicketCustomer::ByEmail(e, name),
            Some(e) => TicketCustomer::Claimed(e, name),
            None => TicketCustomer::None,
        },
        custom_fields,
        metadata: Metadata::default(),
        tags: Vec::new(),
        assignee_id: None,
        category_id: None,
        created_by: None,
        links: Vec::new(),
        source_id: None,
        source_data: None,
        // The customer wrote in themselves: they hear back.
        notify_customer: true,
        attachments,
        claimed_pending: Vec::new(),
    };
    let (ticket, _) = open_ticket(ctx, org, mode, brand, new).await?;
    if browser {
        return browser_answer(endpoint);
    }
    json(
        StatusCode::CREATED,
        &json!({
            "ticketId": ticket.id.as_str(),
            "ticketNumber": ticket.number,
            "displayNumber": ticket.display_number,
        }),
    )
}
