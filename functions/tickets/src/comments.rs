//! Comments on a ticket (admin side).
//!
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`list_comments`] (a bare array, oldest first)
//! - `POST /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`create_comment`]
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}` → [`get_comment`]
//! - `PATCH /v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}` → [`update_comment`]
//! - `DELETE /v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}` → [`delete_comment`]

use crate::read_live_ticket;
use dispatch_auth::{Actor, Principal};
use dispatch_domain::brand::Metadata;
use dispatch_domain::ticket::{
    AuthorType, Comment, Link, MAX_LINKS, Status, Ticket, parse_comment_body, parse_source,
    parse_source_id,
};
use dispatch_domain::{CommentId, CustomerId, Email, FieldErrors, MemberId};
use dispatch_http::request::nullable;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, parse_json, path_id, ticket_path,
};
use dispatch_store::{
    CommentPatch, CommentStore, CredentialStore, IdempotencyStore, SessionStore, StoreError,
    TicketStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkView {
    url: String,
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl From<&Link> for LinkView {
    fn from(l: &Link) -> LinkView {
        LinkView {
            url: l.url.clone(),
            title: l.title.clone(),
            kind: l.kind.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentView {
    id: String,
    ticket_id: String,
    body: String,
    author_type: &'static str,
    author_name: Option<String>,
    author_id: Option<String>,
    parent_id: Option<String>,
    links: Vec<LinkView>,
    metadata: Value,
    is_internal: bool,
    source: String,
    source_id: Option<String>,
    source_data: Option<Value>,
    cc: Vec<String>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

impl From<&Comment> for CommentView {
    fn from(c: &Comment) -> CommentView {
        CommentView {
            id: c.id.to_string(),
            ticket_id: c.ticket_id.to_string(),
            body: c.body.clone(),
            author_type: c.author_type.as_str(),
            author_name: c.author_name.clone(),
            author_id: c.author_id.clone(),
            parent_id: c.parent_id.as_ref().map(ToString::to_string),
            links: c.links.iter().map(LinkView::from).collect(),
            metadata: c.metadata.to_value(),
            is_internal: c.is_internal(),
            source: c.source.clone(),
            source_id: c.source_id.clone(),
            source_data: c.source_data.as_ref().map(Metadata::to_value),
            cc: c.cc.iter().map(ToString::to_string).collect(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
            deleted_at: c.deleted_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A link as a body sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkInput {
    url: Option<String>,
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// At most [`MAX_LINKS`] links, each checked (the first problem is reported).
pub(crate) fn parse_links(raw: Vec<LinkInput>) -> Result<Vec<Link>, String> {
    if raw.len() > MAX_LINKS {
        return Err(format!("must have at most {MAX_LINKS} links"));
    }
    raw.iter()
        .enumerate()
        .map(|(i, l)| {
            Link::parse(
                l.url.as_deref().unwrap_or_default(),
                l.title.as_deref(),
                l.kind.as_deref(),
            )
            .map_err(|e| format!("link {i}: {e}"))
        })
        .collect()
}

/// At most 20 addresses, each an email.
fn parse_cc(raw: &[String]) -> Result<Vec<Email>, String> {
    if raw.len() > 20 {
        return Err("must have at most 20 addresses".into());
    }
    raw.iter()
        .map(|e| Email::parse(e).ok_or_else(|| format!("{e:?} is not an email address")))
        .collect()
}

/// A customer's words are never an internal note.
fn check_visibility(errors: &mut FieldErrors, author: AuthorType, metadata: &Metadata) {
    let internal = metadata.as_map().get("isInternal").and_then(Value::as_bool) == Some(true);
    if author == AuthorType::Customer && internal {
        errors.add(
            "metadata",
            "a CUSTOMER comment cannot be internal (isInternal)",
        );
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    body: Option<String>,
    author_type: Option<String>,
    author_name: Option<String>,
    author_id: Option<String>,
    parent_id: Option<String>,
    links: Option<Vec<LinkInput>>,
    metadata: Option<Value>,
    source: Option<String>,
    source_id: Option<String>,
    source_data: Option<Value>,
    set_status: Option<String>,
    connection_id: Option<String>,
    cc: Option<Vec<String>>,
}

/// `POST …/comments`: an agent, system or (relayed) customer comment; `metadata.isInternal:
/// true` makes an agent's or the system's an internal note. The ticket's `commentCount`
/// (and, with `setStatus`, its status) moves in the same transaction.
pub async fn create_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore + IdempotencyStore,
{
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let ticket = read_live_ticket(ctx, &principal, &req).await?;
    idempotency::once(ctx, &principal, &req, || {
        create_comment_once(ctx, &principal, &ticket, &req)
    })
    .await
}

/// Who wrote it: the `authorId` sent (a `mem_` id for agents and the system, a `cus_` id
/// for customers), else the session's member, or for a customer the ticket's own.
fn author_id(
    errors: &mut FieldErrors,
    author: AuthorType,
    raw: Option<&str>,
    principal: &Principal,
    ticket: &Ticket,
) -> Option<String> {
    match (author, raw) {
        (AuthorType::Customer, Some(id)) => match CustomerId::parse(id) {
            Some(id) => Some(id.to_string()),
            None => {
                errors.add("authorId", "must be a cus_ id for a CUSTOMER comment");
                None
            }
        },
        (_, Some(id)) => match MemberId::parse(id) {
            Some(id) => Some(id.to_string()),
            None => {
                errors.add(
                    "authorId",
                    "must be a mem_ id for an AGENT or SYSTEM comment",
                );
                None
            }
        },
        (AuthorType::Customer, None) => ticket.customer_id.as_ref().map(ToString::to_string),
        (_, None) => match &principal.actor {
            Actor::Session { member_id, .. } => Some(member_id.to_string()),
            Actor::ApiKey(_) => None,
        },
    }
}

async fn create_comment_once<S>(
    ctx: &Context<S>,
    principal: &Principal,
    ticket: &Ticket,
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
    let author_type = errors.check(
        "authorType",
        input
            .author_type
            .as_deref()
            .map_or(Ok(AuthorType::Agent), AuthorType::parse),
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
    let author_id = author_type.and_then(|a| {
        author_id(
            &mut errors,
            a,
            input.author_id.as_deref(),
            principal,
            ticket,
        )
    });
    let parent_id = match input.parent_id.as_deref() {
        None => Some(None),
        Some(raw) => match CommentId::parse(raw) {
            Some(id) => Some(Some(id)),
            None => {
                errors.add("parentId", "is not a top-level comment of this ticket");
                None
            }
        },
    };
    let links = errors.check("links", parse_links(input.links.unwrap_or_default()));
    let metadata = errors.check(
        "metadata",
        input
            .metadata
            .map_or(Ok(Metadata::default()), Metadata::parse),
    );
    let source = errors.check(
        "source",
        parse_source(input.source.as_deref().unwrap_or("api")),
    );
    let source_id = match input.source_id.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("sourceId", parse_source_id(raw)).map(Some),
    };
    let source_data = match input.source_data {
        None => Some(None),
        Some(v) => errors.check("sourceData", Metadata::parse(v)).map(Some),
    };
    let set_status = match input.set_status.as_deref() {
        None => Some(None),
        Some(raw @ ("open" | "pending" | "resolved")) => Status::parse(raw).ok().map(Some),
        Some(_) => {
            errors.add("setStatus", "must be one of open, pending, resolved");
            None
        }
    };
    // No integrations exist to send through.
    if input.connection_id.is_some() {
        errors.add("connectionId", "is not a known connection");
    }
    let cc = errors.check("cc", parse_cc(&input.cc.unwrap_or_default()));
    if let (Some(author), Some(metadata)) = (author_type, &metadata) {
        check_visibility(&mut errors, author, metadata);
    }
    let (
        Some(body),
        Some(author_type),
        Some(parent_id),
        Some(links),
        Some(metadata),
        Some(source),
        Some(source_id),
        Some(source_data),
        Some(set_status),
        Some(cc),
    ) = (
        body,
        author_type,
        parent_id,
        links,
        metadata,
        source,
        source_id,
        source_data,
        set_status,
        cc,
    )
    else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let now = ctx.clock.now();
    let comment = Comment {
        id: CommentId::generate(ctx.clock.now_millis()),
        ticket_id: ticket.id.clone(),
        body,
        author_type,
        author_name,
        author_id,
        parent_id,
        links,
        metadata,
        source,
        source_id,
        source_data,
        cc,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    match ctx
        .store
        .add_comment(
            &principal.org_id,
            principal.mode,
            &ticket.brand_id,
            &comment,
            set_status,
            &[],
        )
        .await
    {
        Ok(()) => json(StatusCode::CREATED, &CommentView::from(&comment)),
        Err(StoreError::Conflict(_)) => Err(ApiError::validation(
            "parentId",
            "is not a top-level comment of this ticket",
        )),
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

/// The live comment of the path on the live ticket of the path: 404 for anything else.
async fn path_comment<S>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<(Principal, Ticket, Comment), ApiError>
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let principal = authenticate(ctx, req).await?;
    let ticket = read_live_ticket(ctx, &principal, req).await?;
    let id = path_id(req, "commentId", CommentId::parse)?;
    let comment = ctx
        .store
        .comment(
            &principal.org_id,
            principal.mode,
            &ticket.brand_id,
            &ticket.id,
            &id,
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((principal, ticket, comment))
}

/// `GET …/comments/{commentId}`: one comment of a live ticket, internal notes included (the
/// admin side). Three reads: the credential, the ticket with its brand, the comment.
pub async fn get_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let (_, _, comment) = path_comment(ctx, &req).await?;
    json(StatusCode::OK, &CommentView::from(&comment))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateInput {
    #[serde(default, deserialize_with = "nullable")]
    body: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    links: Option<Option<Vec<LinkInput>>>,
    #[serde(default, deserialize_with = "nullable")]
    metadata: Option<Option<Value>>,
}

/// `PATCH …/comments/{commentId}` `{body?, links?, metadata?}`: changes only the fields
/// sent (`null` clears `links` and `metadata`; a body cannot be cleared). Nothing to change
/// writes nothing.
pub async fn update_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let (principal, ticket, comment) = path_comment(ctx, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let body = match input.body {
        None => None,
        Some(None) => {
            errors.add("body", "cannot be cleared");
            None
        }
        Some(Some(raw)) => errors.check("body", parse_comment_body(&raw)),
    };
    let links = match input.links {
        None => None,
        Some(raw) => errors.check("links", parse_links(raw.unwrap_or_default())),
    };
    let metadata = match input.metadata {
        None => None,
        Some(None) => Some(Metadata::default()),
        Some(Some(v)) => errors.check("metadata", Metadata::parse(v)),
    };
    if let Some(m) = &metadata {
        check_visibility(&mut errors, comment.author_type, m);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let patch = CommentPatch {
        body: body.filter(|b| *b != comment.body),
        links: links.filter(|l| *l != comment.links),
        metadata: metadata.filter(|m| *m != comment.metadata),
    };
    if patch == CommentPatch::default() {
        return json(StatusCode::OK, &CommentView::from(&comment));
    }
    let now = ctx.clock.now();
    match ctx
        .store
        .update_comment(
            &principal.org_id,
            principal.mode,
            &ticket.brand_id,
            &comment,
            &patch,
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let updated = Comment {
        body: patch.body.unwrap_or(comment.body),
        links: patch.links.unwrap_or(comment.links),
        metadata: patch.metadata.unwrap_or(comment.metadata),
        updated_at: now,
        ..comment
    };
    json(StatusCode::OK, &CommentView::from(&updated))
}

/// `DELETE …/comments/{commentId}` → 200 the comment with `deletedAt`. Soft: it leaves the
/// lists and the portal, and the ticket's `commentCount` drops by one in the same
/// transaction.
pub async fn delete_comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + CommentStore,
{
    let (principal, ticket, comment) = path_comment(ctx, &req).await?;
    let now = ctx.clock.now();
    match ctx
        .store
        .delete_comment(
            &principal.org_id,
            principal.mode,
            &ticket.brand_id,
            &comment,
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound | StoreError::Contended) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let deleted = Comment {
        deleted_at: Some(now),
        updated_at: now,
        ..comment
    };
    json(StatusCode::OK, &CommentView::from(&deleted))
}
