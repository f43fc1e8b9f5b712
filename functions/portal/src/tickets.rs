//! A customer's own tickets and comments. Every read is keyed by the token's organization,
//! mode and brand, and a ticket answers only when its customer is the token's customer.

use dispatch_auth::portal_token::PortalClaims;
use dispatch_domain::attachment::AttachmentStatus;
use dispatch_domain::brand::Metadata;
use dispatch_domain::ticket::{
    AuthorType, Comment, Priority, Status, Ticket, parse_body, parse_comment_body, parse_title,
};
use dispatch_domain::{CommentId, Email, FieldErrors, TicketId};
use dispatch_http::ErrorCode;
use dispatch_http::pagination::{page_request, ticket_page_response};
use dispatch_http::portal::portal;
use dispatch_http::{
    ApiError, Context, Reply, idempotency, json, parse_json, path_id, query_param,
};
use dispatch_store::{
    AttachmentStore, BrandStore, CommentStore, CustomerStore, CustomerTicketQuery,
    IdempotencyStore, Page, StoreError, TicketStore,
};
use dispatch_usecases::tickets::{NewTicket, TicketCustomer, claim_pending_uploads, open_ticket};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A ticket as its customer sees it: no internal fields (assignee, metadata, tags).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PortalTicket {
    id: String,
    /// The formatted number (`"DT-1042"`), the one a customer quotes.
    ticket_number: String,
    title: String,
    status: &'static str,
    priority: &'static str,
    comment_count: u64,
    attachment_count: u64,
    created_at: String,
    updated_at: String,
}

impl From<&Ticket> for PortalTicket {
    fn from(t: &Ticket) -> PortalTicket {
        PortalTicket {
            id: t.id.to_string(),
            ticket_number: t.display_number.clone(),
            title: t.title.clone(),
            status: t.status.as_str(),
            priority: t.priority.as_str(),
            comment_count: t.comment_count,
            attachment_count: t.attachment_count,
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortalComment {
    id: String,
    body: String,
    /// `CUSTOMER` or `STAFF` (the SDK's union); who among the staff is `staff_type`.
    author_type: &'static str,
    /// `AGENT` or `SYSTEM` for staff comments, `null` for the customer's.
    staff_type: Option<&'static str>,
    author_name: Option<String>,
    created_at: String,
}

impl From<&Comment> for PortalComment {
    fn from(c: &Comment) -> PortalComment {
        let (author_type, staff_type) = match c.author_type {
            AuthorType::Customer => ("CUSTOMER", None),
            staff => ("STAFF", Some(staff.as_str())),
        };
        PortalComment {
            id: c.id.to_string(),
            body: c.body.clone(),
            author_type,
            staff_type,
            author_name: c.author_name.clone(),
            created_at: c.created_at.to_rfc3339(),
        }
    }
}

/// The token's customer's ticket named by `ticketId`; 404 for any other (another
/// customer's, brand's, organization's or mode's, deleted, or malformed).
pub(crate) async fn own_ticket<S: TicketStore>(
    ctx: &Context<S>,
    claims: &PortalClaims,
    req: &Request,
) -> Result<Ticket, ApiError> {
    let id = path_id(req, "ticketId", TicketId::parse)?;
    ctx.store
        .ticket(&claims.org, claims.mode, &claims.brand, &id)
        .await?
        // An unverified ticket only claims to be theirs (an unsigned form post).
        .filter(|t| t.customer_id.as_ref() == Some(&claims.cus) && t.customer_verified)
        .ok_or(ApiError::NotFound)
}

/// `GET /v1/portal/tickets`: the customer's tickets, newest first, as both `data` (the
/// SDK) and `tickets` (the product page).
pub async fn list<S: TicketStore + BrandStore>(ctx: &Context<S>, req: Request) -> Reply {
    portal(ctx, req, |claims, req| async move {
        let status = query_param(&req, "status")
            .map(|s| Status::parse(&s).map_err(|m| ApiError::validation("status", m)))
            .transpose()?;
        let by_update = match query_param(&req, "sort").as_deref() {
            None | Some("createdAt") => false,
            Some("updatedAt") => true,
            Some(_) => {
                return Err(ApiError::validation(
                    "sort",
                    "must be createdAt or updatedAt",
                ));
            }
        };
        let newest_first = match query_param(&req, "order").as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(ApiError::validation("order", "must be desc or asc")),
        };
        let query = CustomerTicketQuery {
            customer: claims.cus.clone(),
            status,
            newest_first,
        };
        let key = ctx.cursor_key()?;
        let scope = format!(
            "portal-tickets:{}:{}:{}:{}:{:?}:{by_update}",
            claims.org, claims.mode, claims.brand, claims.cus, query
        );
        let page = page_request(&req, key, &scope)?;
        let (org, mode, brand) = (&claims.org, claims.mode, &claims.brand);
        // The brand is read alongside (same latency): a deleted brand lists nothing.
        let (brand, result) = if by_update {
            let (brand, all) = tokio::join!(
                ctx.store.brand(org, mode, brand),
                ctx.store
                    .all_customer_tickets(org, mode, brand, &query, MAX_SORTED_IN_MEMORY),
            );
            let all = all?.ok_or_else(|| ApiError::BadRequest {
                code: ErrorCode::TooManyToSort,
                message: "More than 1,000 tickets match: sort by createdAt, or filter by status."
                    .into(),
            })?;
            (
                brand,
                Ok(by_update_page(
                    all,
                    newest_first,
                    page.after.as_deref(),
                    page.limit,
                )),
            )
        } else {
            tokio::join!(
                ctx.store.brand(org, mode, brand),
                ctx.store.list_customer_tickets(
                    org,
                    mode,
                    brand,
                    &query,
                    page.after.as_deref(),
                    page.limit,
                )
            )
        };
        brand?.ok_or(ApiError::NotFound)?;
        let result = result?;
        let views: Vec<PortalTicket> = result.items.iter().map(PortalTicket::from).collect();
        ticket_page_response(views, result.next, key, &scope)
    })
    .await
}

/// The most tickets `sort=updatedAt` orders (in memory: the index keeps creation order).
const MAX_SORTED_IN_MEMORY: usize = 1000;

/// Where a ticket sits in the `updatedAt` order (ties broken by id), as a cursor carries it.
fn update_position(t: &Ticket) -> String {
    format!("{:020}#{}", t.updated_at.unix(), t.id)
}

/// One page of `all` in `updatedAt` order, after the position `after`.
fn by_update_page(
    mut all: Vec<Ticket>,
    newest_first: bool,
    after: Option<&str>,
    limit: usize,
) -> Page<Ticket> {
    all.sort_by_cached_key(update_position);
    if newest_first {
        all.reverse();
    }
    let rest: Vec<Ticket> = all
        .into_iter()
        .filter(|t| match after {
            None => true,
            Some(a) if newest_first => update_position(t).as_str() < a,
            Some(a) => update_position(t).as_str() > a,
        })
        .collect();
    let next = (rest.len() > limit).then(|| update_position(&rest[limit - 1]));
    Page {
        items: rest.into_iter().take(limit).collect(),
        next,
    }
}

/// `GET /v1/portal/tickets/{ticketId}`: the ticket with its body, brand name, public
/// comments (internal notes never) and attachments.
pub async fn get<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: TicketStore + CommentStore + BrandStore + AttachmentStore,
{
    portal(ctx, req, |claims, req| async move {
        let ticket = own_ticket(ctx, &claims, &req).await?;
        let (org, mode, brand_id) = (&claims.org, claims.mode, &claims.brand);
        let (brand, comments, attachments) = tokio::join!(
            ctx.store.brand(org, mode, brand_id),
            ctx.store.comments(org, mode, brand_id, &ticket.id),
            ctx.store.attachments(org, mode, brand_id, &ticket.id),
        );
        let brand = brand?.ok_or(ApiError::NotFound)?;
        let comments: Vec<PortalComment> = comments?
            .iter()
            .filter(|c| !c.is_internal())
            .map(PortalComment::from)
            .collect();
        let attachments: Vec<Value> = attachments?
            .iter()
            .filter(|a| a.status == AttachmentStatus::Uploaded)
            .map(|a| {
                json!({"id": a.id.as_str(), "filename": a.filename, "contentType": a.content_type, "size": a.size})
            })
            .collect();
        let mut view = serde_json::to_value(PortalTicket::from(&ticket))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        view["body"] = json!(ticket.body);
        view["brand"] = json!({"name": brand.name.as_str()});
        view["comments"] = json!(comments);
        view["attachments"] = json!(attachments);
        json(StatusCode::OK, &view)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    title: Option<String>,
    body: Option<String>,
    attachment_ids: Option<Vec<String>>,
}

/// `POST /v1/portal/tickets`: a ticket from the customer (`source: "portal"`), with any
/// of their own confirmed pending uploads attached in the same transaction.
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: BrandStore + CustomerStore + TicketStore + AttachmentStore + IdempotencyStore,
{
    portal(ctx, req, |claims, req| async move {
        let key = req.headers().get(idempotency::HEADER);
        let caller = claims.cus.to_string();
        idempotency::once_per_key(ctx, &claims.org, claims.mode, &caller, &req, key, || {
            create_once(ctx, &claims, &req)
        })
        .await
    })
    .await
}

async fn create_once<S>(ctx: &Context<S>, claims: &PortalClaims, req: &Request) -> Reply
where
    S: BrandStore + CustomerStore + TicketStore + AttachmentStore,
{
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let title = errors.check(
        "title",
        parse_title(input.title.as_deref().unwrap_or_default()),
    );
    let body = input
        .body
        .as_deref()
        .and_then(|b| errors.check("body", parse_body(b)));
    let now = ctx.clock.now();
    let ticket_id = TicketId::generate(ctx.clock.now_millis());
    let attachments = claim_pending_uploads(
        ctx,
        (&claims.org, claims.mode, &claims.brand),
        input.attachment_ids.as_deref().unwrap_or_default(),
        Some(&claims.cus),
        &ticket_id,
        now,
        &mut errors,
    )
    .await?;
    let Some(title) = title.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let brand = ctx
        .store
        .brand(&claims.org, claims.mode, &claims.brand)
        .await?
        .ok_or(ApiError::NotFound)?;
    let new = NewTicket {
        id: ticket_id,
        title,
        body,
        status: Status::Open,
        priority: Priority::Normal,
        source: "portal".into(),
        // The token names the customer: no lookup by email.
        customer: TicketCustomer::Known(claims.cus.clone(), Email::parse(&claims.email)),
        custom_fields: Metadata::default(),
        metadata: Metadata::default(),
        tags: Vec::new(),
        assignee_id: None,
        category_id: None,
        created_by: Some(claims.cus.to_string()),
        links: Vec::new(),
        source_id: None,
        source_data: None,
        // The customer wrote in themselves: they hear back.
        notify_customer: true,
        claimed_pending: attachments.iter().map(|a| a.id.clone()).collect(),
        attachments,
    };
    let claimed = !new.claimed_pending.is_empty();
    match open_ticket(ctx, &claims.org, claims.mode, brand, new).await {
        Ok((ticket, _)) => json(StatusCode::CREATED, &PortalTicket::from(&ticket)),
        // A pending upload was attached elsewhere meanwhile.
        Err(ApiError::NotFound) if claimed => Err(ApiError::Conflict {
            code: ErrorCode::AttachmentTaken,
            message: "An attachment was attached to another ticket meanwhile.".into(),
        }),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentInput {
    body: Option<String>,
}

/// `POST /v1/portal/tickets/{ticketId}/comments`: a customer comment on their own ticket.
pub async fn comment<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: TicketStore + CommentStore + IdempotencyStore,
{
    portal(ctx, req, |claims, req| async move {
        // Ownership first: a replayed answer is only ever the customer's own.
        let ticket = own_ticket(ctx, &claims, &req).await?;
        let key = req.headers().get(idempotency::HEADER);
        let caller = claims.cus.to_string();
        idempotency::once_per_key(
            ctx,
            &claims.org,
            claims.mode,
            &caller,
            &req,
            key,
            || async {
                let input: CommentInput = parse_json(&req)?;
                let body = parse_comment_body(input.body.as_deref().unwrap_or_default())
                    .map_err(|m| ApiError::validation("body", m))?;
                let now = ctx.clock.now();
                let comment = Comment {
                    id: CommentId::generate(ctx.clock.now_millis()),
                    ticket_id: ticket.id,
                    body,
                    author_type: AuthorType::Customer,
                    author_name: Some(claims.name.clone().unwrap_or_else(|| claims.email.clone())),
                    author_id: Some(claims.cus.to_string()),
                    parent_id: None,
                    links: Vec::new(),
                    metadata: Metadata::default(),
                    source: "portal".into(),
                    source_id: None,
                    source_data: None,
                    cc: Vec::new(),
                    created_at: now,
                    updated_at: now,
                    deleted_at: None,
                };
                match ctx
                    .store
                    .add_comment(&claims.org, claims.mode, &claims.brand, &comment, None, &[])
                    .await
                {
                    Ok(()) => json(StatusCode::CREATED, &PortalComment::from(&comment)),
                    Err(StoreError::NotFound) => Err(ApiError::NotFound),
                    Err(e) => Err(e.into()),
                }
            },
        )
        .await
    })
    .await
}
