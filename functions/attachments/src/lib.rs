//! Attachments of a ticket (admin side). The bytes go straight between the client and S3.
//!
//! - `POST /v1/brands/{brandId}/tickets/{ticketId}/attachments` → [`create`]: a `PENDING`
//!   record and a presigned PUT that signs the declared size and type
//! - `POST …/attachments/{attachmentId}/confirm` → [`confirm`]: `UPLOADED` once S3 holds an
//!   object of exactly that size and type (`HeadObject`)
//! - `GET …/attachments` → [`list`], `GET …/attachments/{attachmentId}` → [`get`]: records,
//!   with a short-lived presigned download for uploaded files
//! - `POST /v1/brands/{brandId}/attachments` → [`create_pending`] and
//!   `POST /v1/brands/{brandId}/attachments/{attachmentId}/confirm` → [`confirm_pending`]: an
//!   upload before its ticket exists, attached by `attachmentIds` on the ticket create
//! - `DELETE …/attachments/{attachmentId}` → [`delete`]: the record (and the ticket's count,
//!   if it was uploaded) in one transaction, then the object

use dispatch_auth::Principal;
use dispatch_domain::attachment::Attachment;
use dispatch_domain::{AttachmentId, BrandId, TicketId};
use dispatch_files::Files;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, no_content, path_id,
    reachable_brand, ticket_path,
};
use dispatch_store::{
    AttachmentStore, BrandStore, CredentialStore, IdempotencyStore, SessionStore, TicketStore,
};
use dispatch_usecases::uploads::{
    Owner, confirm_answer, declare_upload, parse_declaration, with_download,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;

/// The attachment functions' dependencies.
pub struct Attachments<S, F> {
    pub ctx: Context<S>,
    pub files: F,
}

/// `POST …/tickets/{ticketId}/attachments`: 201 with a presigned upload. Idempotent on
/// `X-Idempotency-Key` like every create.
pub async fn create<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + AttachmentStore + IdempotencyStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let (brand, ticket) = ticket_path(&principal, &req)?;
    idempotency::once(ctx, &principal, &req, || {
        declare(deps, &principal, &req, brand, Some(ticket))
    })
    .await
}

/// `POST /v1/brands/{brandId}/attachments`: a pending upload (no ticket yet), kept a day
/// for `attachmentIds` on `POST …/tickets`.
pub async fn create_pending<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + AttachmentStore + IdempotencyStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    idempotency::once(ctx, &principal, &req, || {
        declare(deps, &principal, &req, brand.id, None)
    })
    .await
}

/// `POST /v1/brands/{brandId}/attachments/{attachmentId}/confirm`.
pub async fn confirm_pending<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + AttachmentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let id = path_id(&req, "attachmentId", AttachmentId::parse)?;
    let now = ctx.clock.now();
    // Only the brand's own pending uploads (a portal customer's belong to the customer).
    let record = ctx
        .store
        .attachment(&principal.org_id, principal.mode, &brand.id, None, &id, now)
        .await?
        .filter(|a| a.customer_id.is_none())
        .ok_or(ApiError::NotFound)?;
    confirm_answer(ctx, &deps.files, &principal.org_id, principal.mode, record).await
}

async fn declare<S, F>(
    deps: &Attachments<S, F>,
    principal: &Principal,
    req: &Request,
    brand: BrandId,
    ticket: Option<TicketId>,
) -> Reply
where
    S: AttachmentStore,
    F: Files,
{
    let declared = parse_declaration(req)?;
    let owner = Owner {
        org: &principal.org_id,
        mode: principal.mode,
        brand,
        ticket,
        customer: None,
    };
    declare_upload(&deps.ctx, &deps.files, owner, declared).await
}

/// The attachment named by the path, on a live ticket the principal can reach.
async fn path_attachment<S>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Result<Attachment, ApiError>
where
    S: TicketStore + AttachmentStore,
{
    let (brand, ticket) = ticket_path(principal, req)?;
    let id = path_id(req, "attachmentId", AttachmentId::parse)?;
    let (org, mode) = (&principal.org_id, principal.mode);
    // A deleted ticket's attachments go with it.
    ctx.store
        .ticket(org, mode, &brand, &ticket)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.store
        .attachment(org, mode, &brand, Some(&ticket), &id, ctx.clock.now())
        .await?
        .ok_or(ApiError::NotFound)
}

/// `POST …/attachments/{attachmentId}/confirm`.
pub async fn confirm<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + AttachmentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let record = path_attachment(ctx, &principal, &req).await?;
    confirm_answer(ctx, &deps.files, &principal.org_id, principal.mode, record).await
}

/// `GET …/attachments/{attachmentId}`: the record with a download URL valid for
/// [`dispatch_domain::attachment::DOWNLOAD_TTL_SECS`], issued only after the ticket and attachment were found under the
/// caller's tenant, mode and brand.
pub async fn get<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + AttachmentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let record = path_attachment(ctx, &principal, &req).await?;
    json(
        StatusCode::OK,
        &with_download(&deps.files, &record, ctx.clock.now()).await?,
    )
}

/// `GET …/attachments`: a bare array, oldest first (a ticket has few attachments).
pub async fn list<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + AttachmentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let (brand, ticket) = ticket_path(&principal, &req)?;
    let (org, mode) = (&principal.org_id, principal.mode);
    ctx.store
        .ticket(org, mode, &brand, &ticket)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = ctx.clock.now();
    let mut views = Vec::new();
    for a in ctx.store.attachments(org, mode, &brand, &ticket).await? {
        views.push(with_download(&deps.files, &a, now).await?);
    }
    json(StatusCode::OK, &views)
}

/// `DELETE …/attachments/{attachmentId}`: 204. The record goes first, with the ticket's
/// `attachmentCount` when the file was uploaded (one transaction), then the object. An
/// object whose delete fails after the record is gone is unreachable (nothing names it)
/// and is removed with the brand's prefix; it is logged, and the answer is still 204.
pub async fn delete<S, F>(deps: &Attachments<S, F>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + AttachmentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    let record = path_attachment(ctx, &principal, &req).await?;
    ctx.store
        .delete_attachment(&principal.org_id, principal.mode, &record, ctx.clock.now())
        .await?;
    if let Err(e) = deps.files.delete(&record.object_key).await {
        tracing::warn!(attachment = %record.id, error = %e, "object left after its record was deleted");
    }
    no_content()
}
