//! Brands (workspaces) of the credential's organization and mode.
//!
//! - `GET /v1/brands` → [`list`] (a bare array, as the SDK expects)
//! - `POST /v1/brands` → [`create`]
//! - `GET /v1/brands/{brandId}` → [`get`]
//! - `PATCH /v1/brands/{brandId}` → [`update`]
//! - `DELETE /v1/brands/{brandId}` → [`delete`] (a preview unless `?confirm=true`)
//! - `GET` / `PUT /v1/brands/{brandId}/schema` → [`get_schema`] / [`put_schema`]
//!
//! A brand outside the credential's organization, mode or brand scope is 404: the caller
//! cannot tell it from one that does not exist.

pub mod categories;
pub mod fields;
pub mod tags;
mod view;

use dispatch_auth::Principal;
use dispatch_domain::brand::{
    Brand, BrandName, BrandProfile, DEFAULT_TICKET_NUMBER_START, Metadata, Slug, TicketPrefix,
    parse_autoresponse_body, parse_https_url, parse_line, parse_portal_origins,
    parse_ticket_number_start,
};
use dispatch_domain::{BrandId, Email, FieldErrors};
use dispatch_http::ErrorCode;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, no_content, parse_json, query_param,
    reachable_brand,
};
use dispatch_store::{
    BrandPatch, BrandStore, CredentialStore, IdempotencyStore, ProfilePatch, SessionStore,
    StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use view::{BrandView, DeletePreview};

/// `GET /v1/brands`: every brand the credential reaches, oldest first.
pub async fn list<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    let brands = ctx
        .store
        .list_brands(&principal.org_id, principal.mode)
        .await?;
    let views: Vec<BrandView> = brands
        .iter()
        .filter(|b| principal.can_access_brand(&b.id))
        .map(|b| BrandView::new(b, ctx.auth.inbound_domain.is_some()))
        .collect();
    json(StatusCode::OK, &views)
}

/// The body of a create or a PATCH: one struct, so each field is declared once (serde's
/// `flatten` cannot be combined with `deny_unknown_fields`). Only a create reads
/// `ticketNumberStart`; a PATCH refuses it like an unknown field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BrandInput {
    name: Option<String>,
    slug: Option<String>,
    ticket_prefix: Option<String>,
    ticket_number_start: Option<i64>,
    metadata: Option<Value>,
    ticket_schema: Option<Value>,
    portal_origins: Option<Vec<String>>,
    url: Option<String>,
    icon_url: Option<String>,
    from_name: Option<String>,
    from_email: Option<String>,
    autoresponse_enabled: Option<bool>,
    autoresponse_subject: Option<String>,
    autoresponse_body: Option<String>,
}

/// The profile fields of a create or PATCH body: absent or `null` leaves a field, `""`
/// clears it, anything else must pass its rule (problems go to `errors`).
fn profile_patch(errors: &mut FieldErrors, input: &mut BrandInput) -> ProfilePatch {
    let mut text = |field: &str,
                    raw: Option<String>,
                    parse: &dyn Fn(&str) -> Result<String, String>|
     -> Option<Option<String>> {
        match raw {
            None => None,
            Some(r) if r.is_empty() => Some(None),
            Some(r) => errors.check(field, parse(&r)).map(Some),
        }
    };
    let url = text("url", input.url.take(), &parse_https_url);
    let icon_url = text("iconUrl", input.icon_url.take(), &parse_https_url);
    let from_name = text("fromName", input.from_name.take(), &|r| parse_line(r, 100));
    let autoresponse_subject = text(
        "autoresponseSubject",
        input.autoresponse_subject.take(),
        &|r| parse_line(r, 200),
    );
    let autoresponse_body = text(
        "autoresponseBody",
        input.autoresponse_body.take(),
        &parse_autoresponse_body,
    );
    let from_email = match input.from_email.take() {
        None => None,
        Some(r) if r.is_empty() => Some(None),
        Some(r) => errors
            .check(
                "fromEmail",
                Email::parse(&r).ok_or_else(|| "must be an email address".to_string()),
            )
            .map(Some),
    };
    ProfilePatch {
        url,
        icon_url,
        from_name,
        from_email,
        autoresponse_enabled: input.autoresponse_enabled,
        autoresponse_subject,
        autoresponse_body,
    }
}

fn slug_taken() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::SlugTaken,
        message: "Another brand of this organization already uses that slug.".into(),
    }
}

/// `POST /v1/brands` (with `X-Idempotency-Key`, a retry creates nothing).
pub async fn create<S: CredentialStore + SessionStore + BrandStore + IdempotencyStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    if !principal.can_create_brands() {
        return Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Creating brands needs an owner or admin credential that reaches every brand.",
        });
    }
    idempotency::once(ctx, &principal, &req, || create_once(ctx, &principal, &req)).await
}

async fn create_once<S: BrandStore>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Reply {
    let mut input: BrandInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let profile = profile_patch(&mut errors, &mut input).apply(BrandProfile::default());
    let name = errors.check(
        "name",
        BrandName::parse(input.name.as_deref().unwrap_or_default()),
    );
    let slug = match input.slug.as_deref() {
        Some(raw) => errors.check("slug", Slug::parse(raw)),
        None => name.as_ref().map(Slug::from_name),
    };
    let ticket_prefix = match input.ticket_prefix.as_deref() {
        Some(raw) => errors.check("ticketPrefix", TicketPrefix::parse(raw)),
        None => Some(TicketPrefix::default_prefix()),
    };
    let start = match input.ticket_number_start {
        Some(n) => errors.check("ticketNumberStart", parse_ticket_number_start(n)),
        None => Some(DEFAULT_TICKET_NUMBER_START),
    };
    let metadata = match input.metadata {
        Some(v) => errors.check("metadata", Metadata::parse(v)),
        None => Some(Metadata::default()),
    };
    let ticket_schema = input
        .ticket_schema
        .map(|v| errors.check("ticketSchema", Metadata::parse(v)));
    let portal_origins = errors.check(
        "portalOrigins",
        parse_portal_origins(input.portal_origins.as_deref().unwrap_or_default()),
    );
    let (
        Some(name),
        Some(slug),
        Some(ticket_prefix),
        Some(start),
        Some(metadata),
        Some(portal_origins),
    ) = (name, slug, ticket_prefix, start, metadata, portal_origins)
    else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }

    let now = ctx.clock.now();
    let brand = Brand {
        id: BrandId::generate(ctx.clock.now_millis()),
        org_id: principal.org_id.clone(),
        name,
        slug,
        ticket_prefix,
        next_ticket_number: start,
        ticket_count: 0,
        portal_origins,
        metadata,
        ticket_schema: ticket_schema.flatten(),
        profile,
        created_at: now,
        updated_at: now,
    };
    match ctx.store.create_brand(principal.mode, &brand).await {
        Ok(()) => json(
            StatusCode::CREATED,
            &BrandView::new(&brand, ctx.auth.inbound_domain.is_some()),
        ),
        Err(StoreError::Conflict(_)) => Err(slug_taken()),
        Err(e) => Err(e.into()),
    }
}

/// After a conditional write on `brand` failed: 409 if it still exists (someone changed it
/// concurrently; the client should read it again), 404 if it is gone.
async fn changed_or_gone<S: BrandStore>(
    store: &S,
    principal: &Principal,
    brand: &Brand,
) -> ApiError {
    match store
        .brand(&principal.org_id, principal.mode, &brand.id)
        .await
    {
        Ok(Some(_)) => ApiError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: "The brand changed while this request ran. Read it again and retry.".into(),
        },
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

/// The credential and the brand of the path, when it may change the brand's settings
/// (owners and admins reaching it): 404 for a brand it cannot reach, 403 for one it can
/// only read.
pub(crate) async fn managed_brand<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<(Principal, Brand), ApiError> {
    let principal = authenticate(ctx, req).await?;
    let brand = reachable_brand(&ctx.store, &principal, req).await?;
    if !principal.can_manage_brand(&brand.id) {
        return Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Changing a brand needs an owner or admin credential.",
        });
    }
    Ok((principal, brand))
}

/// The items of `current` in the order `wanted` names them (by `name`): every one exactly
/// once, or a 400 at `field` saying what is wrong (`what`: "a category of this brand";
/// `all`: "every category of the brand").
pub(crate) fn in_requested_order<T: Clone>(
    current: &[T],
    wanted: &[String],
    name: impl Fn(&T) -> &str,
    (field, what, all): (&str, &str, &str),
) -> Result<Vec<T>, ApiError> {
    let mut ordered: Vec<T> = Vec::with_capacity(wanted.len());
    for id in wanted {
        match current.iter().find(|c| name(c) == id) {
            Some(_) if ordered.iter().any(|o| name(o) == id) => {
                return Err(ApiError::validation(field, format!("lists {id:?} twice")));
            }
            Some(c) => ordered.push(c.clone()),
            None => {
                return Err(ApiError::validation(field, format!("{id:?} is not {what}")));
            }
        }
    }
    if ordered.len() != current.len() {
        return Err(ApiError::validation(
            field,
            format!("must list {all} exactly once"),
        ));
    }
    Ok(ordered)
}

/// Writes `patch` on `brand` (as just read) and gives the brand as it is after it, without
/// another read.
async fn write_patch<S: BrandStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: Brand,
    patch: BrandPatch,
) -> Result<Brand, ApiError> {
    let now = ctx.clock.now();
    match ctx
        .store
        .update_brand(principal.mode, &brand, &patch, now)
        .await
    {
        Ok(()) => Ok(apply(brand, patch, now)),
        Err(StoreError::Conflict(_)) => Err(slug_taken()),
        // Deleted or renamed between our read and our write.
        Err(StoreError::NotFound) => Err(changed_or_gone(&ctx.store, principal, &brand).await),
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/brands/{brandId}`.
pub async fn get<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    json(
        StatusCode::OK,
        &BrandView::new(&brand, ctx.auth.inbound_domain.is_some()),
    )
}

/// `PATCH /v1/brands/{brandId}`: changes only the fields sent.
pub async fn update<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let (principal, brand) = managed_brand(ctx, &req).await?;
    let mut input: BrandInput = parse_json(&req)?;

    let mut errors = FieldErrors::new();
    if input.ticket_number_start.is_some() {
        // Numbers already given out would repeat: the start is fixed at creation.
        errors.add("ticketNumberStart", "is not a known field");
    }
    let profile = profile_patch(&mut errors, &mut input);
    let patch = BrandPatch {
        name: input
            .name
            .and_then(|v| errors.check("name", BrandName::parse(&v))),
        slug: input
            .slug
            .and_then(|v| errors.check("slug", Slug::parse(&v))),
        ticket_prefix: input
            .ticket_prefix
            .and_then(|v| errors.check("ticketPrefix", TicketPrefix::parse(&v))),
        metadata: input
            .metadata
            .and_then(|v| errors.check("metadata", Metadata::parse(v))),
        ticket_schema: input
            .ticket_schema
            .and_then(|v| errors.check("ticketSchema", Metadata::parse(v))),
        portal_origins: input
            .portal_origins
            .and_then(|v| errors.check("portalOrigins", parse_portal_origins(&v))),
        profile,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }

    // Nothing to change: answer with the brand as it is, without a write.
    if patch == BrandPatch::default() {
        return json(
            StatusCode::OK,
            &BrandView::new(&brand, ctx.auth.inbound_domain.is_some()),
        );
    }
    let updated = write_patch(ctx, &principal, brand, patch).await?;
    json(
        StatusCode::OK,
        &BrandView::new(&updated, ctx.auth.inbound_domain.is_some()),
    )
}

/// `GET /v1/brands/{brandId}/schema`: the brand's ticket schema, `{}` when unset. Stored for
/// the dashboard's forms, never enforced on tickets.
pub async fn get_schema<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let schema = brand.ticket_schema.unwrap_or_default();
    json(StatusCode::OK, &schema.to_value())
}

/// `PUT /v1/brands/{brandId}/schema`: the body is the schema itself (a JSON object with the
/// metadata limits); 200 with it. The same as `ticketSchema` on the brand's PATCH.
pub async fn put_schema<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let (principal, brand) = managed_brand(ctx, &req).await?;
    // The body is the schema: none at all is a client mistake, not an empty schema.
    if req.body().iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest {
            code: ErrorCode::InvalidJson,
            message: "The body is the schema: send a JSON object ({} to clear it).".into(),
        });
    }
    let body: Value = parse_json(&req)?;
    let schema = Metadata::parse(body).map_err(|m| ApiError::validation("schema", &m))?;
    if brand.ticket_schema.as_ref() == Some(&schema) {
        return json(StatusCode::OK, &schema.to_value());
    }
    let patch = BrandPatch {
        ticket_schema: Some(schema.clone()),
        ..BrandPatch::default()
    };
    write_patch(ctx, &principal, brand, patch).await?;
    json(StatusCode::OK, &schema.to_value())
}

/// The brand as it is after `patch`, without another read.
fn apply(mut brand: Brand, patch: BrandPatch, now: dispatch_domain::Timestamp) -> Brand {
    if let Some(v) = patch.name {
        brand.name = v;
    }
    if let Some(v) = patch.slug {
        brand.slug = v;
    }
    if let Some(v) = patch.ticket_prefix {
        brand.ticket_prefix = v;
    }
    if let Some(v) = patch.metadata {
        brand.metadata = v;
    }
    if let Some(v) = patch.ticket_schema {
        brand.ticket_schema = Some(v);
    }
    if let Some(v) = patch.portal_origins {
        brand.portal_origins = v;
    }
    brand.profile = patch.profile.apply(brand.profile);
    brand.updated_at = now;
    brand
}

/// `DELETE /v1/brands/{brandId}`: without `?confirm=true`, a preview of what would go;
/// with it, the brand is deleted (204).
pub async fn delete<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let (principal, brand) = managed_brand(ctx, &req).await?;
    match query_param(&req, "confirm").as_deref() {
        Some("true") => match ctx.store.delete_brand(principal.mode, &brand).await {
            Ok(()) => no_content(),
            // Already gone is success (a retried DELETE); renamed meanwhile is a conflict.
            Err(StoreError::NotFound) => {
                match changed_or_gone(&ctx.store, &principal, &brand).await {
                    ApiError::NotFound => no_content(),
                    conflict => Err(conflict),
                }
            }
            Err(e) => Err(e.into()),
        },
        Some("false") | None => {
            let contents = ctx
                .store
                .brand_contents(&principal.org_id, principal.mode, &brand.id)
                .await?;
            json(StatusCode::OK, &DeletePreview::of(&brand, contents))
        }
        Some(_) => Err(ApiError::validation("confirm", "must be true or false")),
    }
}
