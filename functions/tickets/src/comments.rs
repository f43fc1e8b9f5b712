//! Comments on a ticket (admin side).
//!
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`list_comments`] (a bare array, oldest first)
//! - `POST /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`create_comment`]
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}` → [`get_comment`]

use crate::live_ticket;
use dispatch_auth::Principal;
use dispatch_domain::brand::Metadata;
use dispatch_domain::ticket::{AuthorType, Comment, parse_comment_body};
use dispatch_domain::{BrandId, CommentId, FieldErrors, TicketId};
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, parse_json, path_id, ticket_path,
};
use dispatch_store::{
    CommentStore, CredentialStore, IdempotencyStore, SessionStore, StoreError, TicketStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    id: String,
    ticket_id: String,
    body: String,
    author_type: &'static str,
    author_name: Option<String>,
    metadata: Value,
    is_internal: bool,
    source: &'static str,
    created_at: String,
    updated_at: String,
}

impl From<&Comment> for CommentView {
    fn from(c: &Comment) -> CommentView {
        CommentView {
            id: c.id.to_string(),
            ticket_id: c.ticket_id.to_string(),
            body: c.body.clone(),
            author_type: c.author_type.as_str(),
            author_name: c.author_name.clone(),
            metadata: c.metadata.to_value(),
            is_internal: c.is_internal(),
            source: "api",
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.created_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    body: Option<String>,
    author_type: Option<String>,
    author_name: Option<String>,
    metadata: Option<Value>,
}

/// `POST …/comments`: an agent or system comment; `metadata.isInternal: true` makes it an
/// internal note. The ticket's `commentCount` moves in the same transaction.
pub async fn create_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore + IdempotencyStore,
{
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let (brand, ticket) = live_ticket(ctx, &principal, &req).await?;
    idempotency::once(ctx, &principal, &req, || {
        create_comment_once(ctx, &principal, brand, ticket, &req)
    })
    .await
}

async fn create_comment_once<S>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: BrandId,
    ticket: TicketId,
    req: &Request,
) -> Reply
where
    S: TicketStore + CommentStore,
{
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let body = errors.check(
        "body",
        parse_comment_body(input.body.as_deref().unwrap_or_default()),
    );
    // Admin credentials write as agents or the system; customers write through the portal.
    let author_type = errors.check(
        "authorType",
        match input.author_type.as_deref() {
            None | Some("AGENT") => Ok(AuthorType::Agent),
            Some("SYSTEM") => Ok(AuthorType::System),
            Some(_) => Err("must be AGENT or SYSTEM".to_string()),
        },
    );
    let author_name = match input.author_name.as_deref().map(str::trim) {
        Some(n) if n.chars().count() > 200 || n.chars().any(char::is_control) => {
            errors.add(
                "authorName",
                "must be at most 200 characters, no control characters",
            );
            None
        }
        other => other.filter(|n| !n.is_empty()).map(str::to_string),
    };
    let metadata = errors.check(
        "metadata",
        input
            .metadata
            .map_or(Ok(Metadata::default()), Metadata::parse),
    );
    let (Some(body), Some(author_type), Some(metadata)) = (body, author_type, metadata) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let comment = Comment {
        id: CommentId::generate(ctx.clock.now_millis()),
        ticket_id: ticket,
        body,
        author_type,
        author_name,
        metadata,
        created_at: ctx.clock.now(),
    };
    match ctx
        .store
        .add_comment(&principal.org_id, principal.mode, &brand, &comment)
        .await
    {
        Ok(()) => json(StatusCode::CREATED, &CommentView::from(&comment)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `GET …/comments`: every comment, internal notes included (this is the admin side).
pub async fn list_comments<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, ticket) = ticket_path(&principal, &req)?;
    // The ticket must exist (and not be deleted) for its comments to.
    ctx.store
        .ticket(&principal.org_id, principal.mode, &brand, &ticket)
        .await?
        .ok_or(ApiError::NotFound)?;
    let comments = ctx
        .store
        .comments(&principal.org_id, principal.mode, &brand, &ticket)
        .await?;
    let views: Vec<CommentView> = comments.iter().map(CommentView::from).collect();
    json(StatusCode::OK, &views)
}

/// `GET …/comments/{commentId}`: one comment of a live ticket, internal notes included (the
/// admin side). Three reads: the credential, the ticket with its brand, the comment.
pub async fn get_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, ticket) = live_ticket(ctx, &principal, &req).await?;
    let id = path_id(&req, "commentId", CommentId::parse)?;
    let comment = ctx
        .store
        .comment(&principal.org_id, principal.mode, &brand, &ticket, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    json(StatusCode::OK, &CommentView::from(&comment))
}
