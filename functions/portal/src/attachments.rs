//! A customer's uploads: on their own tickets, or pending (before the ticket exists, then
//! attached by `attachmentIds`). Same presigned S3 flow as the admin side.

use crate::Portal;
use crate::tickets::own_ticket;
use dispatch_auth::portal_token::PortalClaims;
use dispatch_domain::attachment::Attachment;
use dispatch_domain::{AttachmentId, TicketId};
use dispatch_files::Files;
use dispatch_http::portal::portal;
use dispatch_http::{ApiError, Reply, json, path_id};
use dispatch_store::{AttachmentStore, TicketStore};
use dispatch_usecases::uploads::{
    Declared, Owner, confirm_answer, declare_upload, parse_declaration, with_download,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;

async fn declare<S, F>(
    deps: &Portal<S, F>,
    claims: &PortalClaims,
    req: &Request,
    ticket: Option<TicketId>,
) -> Reply
where
    S: AttachmentStore,
    F: Files,
{
    let declared = Declared {
        // The customer, never what the browser claims.
        uploaded_by: Some(claims.email.clone()),
        ..parse_declaration(req)?
    };
    let owner = Owner {
        org: &claims.org,
        mode: claims.mode,
        brand: claims.brand.clone(),
        ticket,
        customer: Some(claims.cus.clone()),
    };
    declare_upload(&deps.ctx, &deps.files, owner, declared).await
}

/// `POST /v1/portal/tickets/{ticketId}/attachments`.
pub async fn create<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    portal(&deps.ctx, req, |claims, req| async move {
        let ticket = own_ticket(&deps.ctx, &claims, &req).await?;
        declare(deps, &claims, &req, Some(ticket.id)).await
    })
    .await
}

/// `POST /v1/portal/tickets/attachments/pending`: an upload before the ticket exists;
/// it waits up to a day for `attachmentIds` on the customer's ticket create.
pub async fn create_pending<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: AttachmentStore,
    F: Files,
{
    portal(&deps.ctx, req, |claims, req| async move {
        declare(deps, &claims, &req, None).await
    })
    .await
}

/// The customer's attachment named by the path: on their ticket, or (`ticket: None`)
/// among their own pending uploads.
async fn own_attachment<S: TicketStore + AttachmentStore, F>(
    deps: &Portal<S, F>,
    claims: &PortalClaims,
    req: &Request,
    on_ticket: bool,
) -> Result<Attachment, ApiError> {
    let ctx = &deps.ctx;
    let ticket = if on_ticket {
        Some(own_ticket(ctx, claims, req).await?.id)
    } else {
        None
    };
    let id = path_id(req, "attachmentId", AttachmentId::parse)?;
    ctx.store
        .attachment(
            &claims.org,
            claims.mode,
            &claims.brand,
            ticket.as_ref(),
            &id,
            ctx.clock.now(),
        )
        .await?
        .filter(|a| ticket.is_some() || a.customer_id.as_ref() == Some(&claims.cus))
        .ok_or(ApiError::NotFound)
}

async fn confirm_own<S, F>(deps: &Portal<S, F>, req: Request, on_ticket: bool) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    portal(&deps.ctx, req, |claims, req| async move {
        let record = own_attachment(deps, &claims, &req, on_ticket).await?;
        confirm_answer(&deps.ctx, &deps.files, &claims.org, claims.mode, record).await
    })
    .await
}

/// `POST /v1/portal/tickets/{ticketId}/attachments/{attachmentId}/confirm`.
pub async fn confirm<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    confirm_own(deps, req, true).await
}

/// `POST /v1/portal/tickets/attachments/pending/{attachmentId}/confirm`.
pub async fn confirm_pending<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    confirm_own(deps, req, false).await
}

/// `GET /v1/portal/tickets/{ticketId}/attachments`: a bare array, with downloads.
pub async fn list<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    portal(&deps.ctx, req, |claims, req| async move {
        let ticket = own_ticket(&deps.ctx, &claims, &req).await?;
        let now = deps.ctx.clock.now();
        let mut views = Vec::new();
        for a in deps
            .ctx
            .store
            .attachments(&claims.org, claims.mode, &claims.brand, &ticket.id)
            .await?
        {
            views.push(with_download(&deps.files, &a, now).await?);
        }
        json(StatusCode::OK, &views)
    })
    .await
}

/// `GET /v1/portal/tickets/{ticketId}/attachments/{attachmentId}`.
pub async fn get<S, F>(deps: &Portal<S, F>, req: Request) -> Reply
where
    S: TicketStore + AttachmentStore,
    F: Files,
{
    portal(&deps.ctx, req, |claims, req| async move {
        let record = own_attachment(deps, &claims, &req, true).await?;
        json(
            StatusCode::OK,
            &with_download(&deps.files, &record, deps.ctx.clock.now()).await?,
        )
    })
    .await
}
