//! Tickets of a brand.
//!
//! - `GET /v1/brands/{brandId}/tickets` → [`list`] (filters, `order`, cursor pagination)
//! - `POST /v1/brands/{brandId}/tickets` → [`create`]
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}` → [`get`]
//! - `PATCH /v1/brands/{brandId}/tickets/{ticketId}` → [`update`]
//! - `DELETE /v1/brands/{brandId}/tickets/{ticketId}` → [`delete`] (soft delete)
//! - `GET` / `POST /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`list_comments`] / [`create_comment`]; `GET` / `PATCH` / `DELETE …/comments/{commentId}` → [`get_comment`] / [`update_comment`] / [`delete_comment`]

mod bulk;
mod comments;
mod tags;
mod view;

pub use bulk::{bulk, merge};
pub use comments::{create_comment, delete_comment, get_comment, list_comments, update_comment};

use comments::{LinkInput, parse_links};
use dispatch_auth::{Actor, Principal};
use dispatch_domain::brand::{Brand, Metadata, parse_line};
use dispatch_domain::customer::CustomerName;
use dispatch_domain::ticket::{
    Priority, Status, Ticket, parse_body, parse_search, parse_source, parse_source_id, parse_tags,
    parse_title, search_text,
};
use dispatch_domain::{
    BrandId, CategoryId, CustomerId, Email, FieldErrors, MemberId, TagId, TicketId, Timestamp,
};
use dispatch_http::ErrorCode;
use dispatch_http::pagination::{page_request, page_response};
use dispatch_http::request::nullable;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, no_content, parse_json, query_param,
    reachable_brand, ticket_path,
};
use dispatch_store::{
    AttachmentStore, BrandStore, CategoryMove, CategoryStore, CredentialStore, CustomerStore,
    IdempotencyStore, MemberStatus, MemberStore, SessionStore, StoreError, TagStore, TicketFilter,
    TicketPatch, TicketSort, TicketStore,
};
use dispatch_usecases::tickets::{NewTicket, TicketCustomer, claim_pending_uploads, open_ticket};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use view::TicketView;

/// The (brand, ticket) of the path when the ticket is live and its brand exists (one
/// round trip); 404 otherwise. Writes check first so a deleted brand's tickets stay gone.
pub(crate) async fn live_ticket<S: TicketStore>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Result<(BrandId, TicketId), ApiError> {
    let ticket = read_live_ticket(ctx, principal, req).await?;
    Ok((ticket.brand_id, ticket.id))
}

/// The live ticket of the path, as [`live_ticket`] finds it.
pub(crate) async fn read_live_ticket<S: TicketStore>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Result<Ticket, ApiError> {
    let (brand, id) = ticket_path(principal, req)?;
    ctx.store
        .ticket(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

fn parse_status(raw: &str) -> Result<Status, String> {
    Status::parse(raw)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    title: Option<String>,
    body: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    customer_email: Option<String>,
    customer_name: Option<String>,
    custom_fields: Option<Value>,
    metadata: Option<Value>,
    source: Option<String>,
    tags: Option<Vec<String>>,
    attachment_ids: Option<Vec<String>>,
    assignee_id: Option<String>,
    category_id: Option<String>,
    created_by: Option<String>,
    links: Option<Vec<LinkInput>>,
    source_id: Option<String>,
    source_data: Option<Value>,
    notify_customer: Option<bool>,
}

/// The `mem_…` id of an active member of the caller's organization, or a field error.
pub(crate) async fn active_member<S: MemberStore>(
    ctx: &Context<S>,
    principal: &Principal,
    raw: &str,
    errors: &mut FieldErrors,
) -> Result<Option<String>, ApiError> {
    let Some(member) = MemberId::parse(raw) else {
        errors.add("assigneeId", "must be a member id");
        return Ok(None);
    };
    let active = ctx
        .store
        .member(&principal.org_id, &member)
        .await?
        .is_some_and(|m| m.status == MemberStatus::Active);
    if active {
        Ok(Some(member.to_string()))
    } else {
        errors.add(
            "assigneeId",
            "must be an active member of this organization",
        );
        Ok(None)
    }
}

/// The id of one of the brand's categories, or a field error (`categoryId`).
pub(crate) async fn brand_category<S: CategoryStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: &BrandId,
    raw: &str,
    errors: &mut FieldErrors,
) -> Result<Option<CategoryId>, ApiError> {
    let found = match CategoryId::parse(raw) {
        Some(id) => ctx
            .store
            .category(&principal.org_id, principal.mode, brand, &id)
            .await?
            .map(|c| c.id),
        None => None,
    };
    if found.is_none() {
        errors.add("categoryId", "is not a category of this brand");
    }
    Ok(found)
}

/// Who opened a ticket when the create does not say: the session's member, or the key.
fn default_created_by(principal: &Principal) -> String {
    match &principal.actor {
        Actor::Session { member_id, .. } => member_id.to_string(),
        Actor::ApiKey(key) => key.to_string(),
    }
}

/// `POST /v1/brands/{brandId}/tickets`.
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore
        + SessionStore
        + BrandStore
        + CustomerStore
        + TicketStore
        + AttachmentStore
        + MemberStore
        + CategoryStore
        + TagStore
        + IdempotencyStore,
{
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    idempotency::once(ctx, &principal, &req, || {
        create_once(ctx, &principal, brand, &req)
    })
    .await
}

async fn create_once<S>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: Brand,
    req: &Request,
) -> Reply
where
    S: BrandStore
        + CustomerStore
        + TicketStore
        + AttachmentStore
        + MemberStore
        + CategoryStore
        + TagStore,
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
        .map(|b| errors.check("body", parse_body(b)));
    let status = errors.check(
        "status",
        input
            .status
            .as_deref()
            .map_or(Ok(Status::Open), parse_status),
    );
    let priority = errors.check(
        "priority",
        input
            .priority
            .as_deref()
            .map_or(Ok(Priority::Normal), Priority::parse),
    );
    let source = errors.check(
        "source",
        parse_source(input.source.as_deref().unwrap_or("api")),
    );
    let email = input.customer_email.as_deref().map(|e| {
        errors.check(
            "customerEmail",
            Email::parse(e).ok_or_else(|| "must be an email address".to_string()),
        )
    });
    let name = input
        .customer_name
        .as_deref()
        .map(|n| errors.check("customerName", CustomerName::parse(n)));
    let custom_fields = errors.check(
        "customFields",
        input
            .custom_fields
            .map_or(Ok(Metadata::default()), Metadata::parse),
    );
    let metadata = errors.check(
        "metadata",
        input
            .metadata
            .map_or(Ok(Metadata::default()), Metadata::parse),
    );
    let tags = errors.check(
        "tags",
        parse_tags(input.tags.as_deref().unwrap_or_default()),
    );
    let assignee_id = match input.assignee_id.as_deref() {
        None => Some(None),
        Some(raw) => active_member(ctx, principal, raw, &mut errors)
            .await?
            .map(Some),
    };
    let category_id = match input.category_id.as_deref() {
        None => Some(None),
        Some(raw) => brand_category(ctx, principal, &brand.id, raw, &mut errors)
            .await?
            .map(Some),
    };
    let created_by = match input.created_by.as_deref() {
        None => Some(default_created_by(principal)),
        Some(raw) => errors.check("createdBy", parse_line(raw, 100)),
    };
    let links = errors.check("links", parse_links(input.links.unwrap_or_default()));
    let source_id = match input.source_id.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("sourceId", parse_source_id(raw)).map(Some),
    };
    let source_data = match input.source_data {
        None => Some(None),
        Some(v) => errors.check("sourceData", Metadata::parse(v)).map(Some),
    };
    let ticket_id = TicketId::generate(ctx.clock.now_millis());
    let attachments = claim_pending_uploads(
        ctx,
        (&principal.org_id, principal.mode, &brand.id),
        input.attachment_ids.as_deref().unwrap_or_default(),
        None,
        &ticket_id,
        ctx.clock.now(),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let (
        Some(title),
        Some(status),
        Some(priority),
        Some(source),
        Some(custom_fields),
        Some(metadata),
        Some(tags),
        Some(assignee_id),
        Some(category_id),
        Some(created_by),
        Some(links),
        Some(source_id),
        Some(source_data),
    ) = (
        title,
        status,
        priority,
        source,
        custom_fields,
        metadata,
        tags,
        assignee_id,
        category_id,
        created_by,
        links,
        source_id,
        source_data,
    )
    else {
        return Err(ApiError::Internal("validated fields missing".into()));
    };
    let tags = tags::spell_tags(ctx, principal, &brand.id, tags).await?;
    let brand_id = brand.id.clone();
    let new = NewTicket {
        id: ticket_id,
        title,
        body: body.flatten(),
        status,
        priority,
        source,
        customer: match email.flatten() {
            Some(e) => TicketCustomer::ByEmail(e, name.flatten()),
            None => TicketCustomer::None,
        },
        custom_fields,
        metadata,
        tags: tags.names,
        assignee_id,
        category_id,
        created_by: Some(created_by),
        links,
        source_id,
        source_data,
        // Default off: an import must not email anyone.
        notify_customer: input.notify_customer.unwrap_or(false),
        claimed_pending: attachments.iter().map(|a| a.id.clone()).collect(),
        attachments,
    };
    let claimed = !new.claimed_pending.is_empty();
    let (ticket, customer) =
        match open_ticket(ctx, &principal.org_id, principal.mode, brand, new).await {
            Ok(created) => created,
            // A pending upload was attached elsewhere meanwhile.
            Err(ApiError::NotFound) if claimed => {
                return Err(ApiError::Conflict {
                    code: ErrorCode::AttachmentTaken,
                    message: "An attachment was attached to another ticket meanwhile.".into(),
                });
            }
            Err(e) => return Err(e),
        };
    tags::create_new_tags(ctx, principal, &brand_id, &tags.new).await;
    json(
        StatusCode::CREATED,
        &TicketView::new(&ticket, customer.as_ref()),
    )
}

/// `GET /v1/brands/{brandId}/tickets/{ticketId}`: two reads (credential, ticket).
pub async fn get<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, id) = ticket_path(&principal, &req)?;
    let ticket = ctx
        .store
        .ticket(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    json(StatusCode::OK, &TicketView::new(&ticket, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateInput {
    title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    body: Option<Option<String>>,
    status: Option<String>,
    priority: Option<String>,
    custom_fields: Option<Value>,
    metadata: Option<Value>,
    tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    links: Option<Option<Vec<LinkInput>>>,
    is_spam: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    category_id: Option<Option<String>>,
}

/// `PATCH /v1/brands/{brandId}/tickets/{ticketId}`. An `assigneeId` must name an active
/// member of the caller's organization, a `categoryId` one of the brand's categories
/// (`null` uncategorizes).
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + MemberStore + CategoryStore + TagStore,
{
    let principal = authenticate(ctx, &req).await?;
    let current = read_live_ticket(ctx, &principal, &req).await?;
    let (brand, id) = (current.brand_id.clone(), current.id.clone());
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let mut patch = TicketPatch {
        title: input
            .title
            .and_then(|v| errors.check("title", parse_title(&v))),
        body: match input.body {
            None => None,
            Some(None) => Some(None),
            Some(Some(v)) => errors.check("body", parse_body(&v)).map(Some),
        },
        status: input
            .status
            .and_then(|v| errors.check("status", parse_status(&v))),
        priority: input
            .priority
            .and_then(|v| errors.check("priority", Priority::parse(&v))),
        custom_fields: input
            .custom_fields
            .and_then(|v| errors.check("customFields", Metadata::parse(v))),
        metadata: input
            .metadata
            .and_then(|v| errors.check("metadata", Metadata::parse(v))),
        tags: input
            .tags
            .and_then(|v| errors.check("tags", parse_tags(&v))),
        assignee_id: None,
        links: match input.links {
            None => None,
            Some(raw) => errors.check("links", parse_links(raw.unwrap_or_default())),
        },
        is_spam: input.is_spam,
        category: None,
        search_text: None,
    };
    // The searched words follow the title and body (the store writes them with the patch).
    if patch.title.is_some() || patch.body.is_some() {
        let title = patch.title.as_deref().unwrap_or(&current.title);
        let body = match &patch.body {
            Some(body) => body.as_deref(),
            None => current.body.as_deref(),
        };
        patch.search_text = Some(search_text(title, body));
    }
    patch.category = match input.category_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => brand_category(ctx, &principal, &brand, &raw, &mut errors)
            .await?
            .map(Some),
    }
    .map(|to| CategoryMove {
        from: current.category_id.clone(),
        to,
    });
    patch.assignee_id = match input.assignee_id {
        None => None,
        // `null` unassigns.
        Some(None) => Some(None),
        Some(Some(raw)) => active_member(ctx, &principal, &raw, &mut errors)
            .await?
            .map(Some),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let mut new_tags = Vec::new();
    if let Some(names) = patch.tags.take() {
        let spelt = tags::spell_tags(ctx, &principal, &brand, names).await?;
        patch.tags = Some(spelt.names);
        new_tags = spelt.new;
    }
    match ctx
        .store
        .update_ticket(
            &principal.org_id,
            principal.mode,
            &brand,
            &id,
            &patch,
            ctx.clock.now(),
        )
        .await
    {
        Ok(ticket) => {
            tags::create_new_tags(ctx, &principal, &brand, &new_tags).await;
            json(StatusCode::OK, &TicketView::new(&ticket, None))
        }
        Err(e) => Err(ticket_write_error(e)),
    }
}

/// A failed write to one ticket, as the caller sees it.
pub(crate) fn ticket_write_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::NotFound,
        StoreError::Conflict("category") => {
            ApiError::validation("categoryId", "is not a category of this brand")
        }
        StoreError::Contended => ApiError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: "The ticket changed while this request ran. Read it again.".into(),
        },
        e => e.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SpamInput {
    is_spam: Option<bool>,
}

/// `POST /v1/brands/{brandId}/tickets/{ticketId}/spam` `{isSpam}`: marks the ticket as spam
/// or not (as `PATCH {isSpam}` does). Spam is hidden from the ticket list unless asked for.
pub async fn spam<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, id) = live_ticket(ctx, &principal, &req).await?;
    let input: SpamInput = parse_json(&req)?;
    let Some(is_spam) = input.is_spam else {
        return Err(ApiError::validation("isSpam", "is required: true or false"));
    };
    let patch = TicketPatch {
        is_spam: Some(is_spam),
        ..TicketPatch::default()
    };
    match ctx
        .store
        .update_ticket(
            &principal.org_id,
            principal.mode,
            &brand,
            &id,
            &patch,
            ctx.clock.now(),
        )
        .await
    {
        Ok(ticket) => json(StatusCode::OK, &TicketView::new(&ticket, None)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/tickets/{ticketId}`: a soft delete; the ticket then
/// answers 404 and leaves every list. 200 with the ticket and its `deletedAt` (the SDK
/// returns it), or 204 for `Prefer: return=minimal`.
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let ticket = read_live_ticket(ctx, &principal, &req).await?;
    let now = ctx.clock.now();
    match ctx
        .store
        .delete_ticket(
            &principal.org_id,
            principal.mode,
            &ticket.brand_id,
            &ticket.id,
            ticket.category_id.as_ref(),
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(e) => return Err(ticket_write_error(e)),
    }
    if prefers_minimal(&req) {
        return no_content();
    }
    let deleted = Ticket {
        deleted_at: Some(now),
        updated_at: now,
        ..ticket
    };
    json(StatusCode::OK, &TicketView::new(&deleted, None))
}

/// `Prefer: return=minimal` (RFC 7240): the caller wants no body.
fn prefers_minimal(req: &Request) -> bool {
    req.headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
}

/// A `true`/`false` query parameter.
fn flag_param(req: &Request, name: &str, errors: &mut FieldErrors) -> Option<bool> {
    match query_param(req, name).as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.add(name, "must be true or false");
            None
        }
    }
}

/// `status`: statuses joined by commas, `active` standing for open and pending.
fn parse_statuses(raw: &str) -> Result<Vec<Status>, String> {
    let mut out: Vec<Status> = Vec::new();
    for part in raw.split(',') {
        let some = if part == "active" {
            vec![Status::Open, Status::Pending]
        } else {
            vec![Status::parse(part).map_err(|_| {
                "must be open, pending, resolved, closed or active, joined by commas".to_string()
            })?]
        };
        for status in some {
            if !out.contains(&status) {
                out.push(status);
            }
        }
    }
    Ok(out)
}

/// Reads the list filters from the query string.
fn filter(req: &Request) -> Result<TicketFilter, ApiError> {
    let mut errors = FieldErrors::new();
    let time = |raw: String| {
        Timestamp::parse(&raw).ok_or_else(|| "must be an ISO-8601 timestamp".to_string())
    };
    let f = TicketFilter {
        status: query_param(req, "status")
            .and_then(|v| errors.check("status", parse_statuses(&v)))
            .unwrap_or_default(),
        assignee_id: query_param(req, "assigneeId").and_then(|v| {
            errors.check(
                "assigneeId",
                MemberId::parse(&v)
                    .map(|m| m.to_string())
                    .ok_or_else(|| "must be a member id".to_string()),
            )
        }),
        created_by: query_param(req, "createdBy")
            .and_then(|v| errors.check("createdBy", parse_line(&v, 100))),
        has_attachments: flag_param(req, "hasAttachments", &mut errors),
        search: query_param(req, "search").and_then(|v| errors.check("search", parse_search(&v))),
        // Read by `list`, which turns the ids into names.
        tags_any: Vec::new(),
        priority: query_param(req, "priority")
            .and_then(|v| errors.check("priority", Priority::parse(&v))),
        customer_id: query_param(req, "customerId").and_then(|v| {
            errors.check(
                "customerId",
                CustomerId::parse(&v).ok_or_else(|| "must be a customer id".to_string()),
            )
        }),
        source: query_param(req, "source").and_then(|v| errors.check("source", parse_source(&v))),
        created_after: query_param(req, "createdAfter")
            .and_then(|v| errors.check("createdAfter", time(v))),
        created_before: query_param(req, "createdBefore")
            .and_then(|v| errors.check("createdBefore", time(v))),
        newest_first: match query_param(req, "order").as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                errors.add("order", "must be asc or desc");
                true
            }
        },
        category_id: query_param(req, "categoryId").and_then(|v| {
            errors.check(
                "categoryId",
                CategoryId::parse(&v).ok_or_else(|| "must be a category id".to_string()),
            )
        }),
        is_spam: flag_param(req, "isSpam", &mut errors),
        sort: query_param(req, "sort")
            .and_then(|v| errors.check("sort", TicketSort::parse(&v)))
            .unwrap_or_default(),
    };
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(ApiError::Validation(errors.into_vec()))
    }
}

/// `GET /v1/brands/{brandId}/tickets`: newest first unless `order=asc`.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore + TicketStore + TagStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let mut filter = filter(&req)?;
    // `tagIds`: tickets naming any of these tags (names are what tickets keep).
    let mut no_such_tag = false;
    if let Some(raw) = query_param(&req, "tagIds") {
        let ids: Option<Vec<TagId>> = raw.split(',').map(TagId::parse).collect();
        let ids = ids
            .filter(|ids| (1..=10).contains(&ids.len()))
            .ok_or_else(|| {
                ApiError::validation("tagIds", "must be 1-10 tag ids joined by commas")
            })?;
        let tags = ctx
            .store
            .tags_by_id(&principal.org_id, principal.mode, &brand.id, &ids)
            .await?;
        filter.tags_any = tags.into_iter().map(|t| t.name).collect();
        filter.tags_any.sort();
        no_such_tag = filter.tags_any.is_empty();
    }
    // An address no customer has lists nothing, but the page's parameters are still
    // checked (a malformed `limit` or `cursor` is 400 whatever the filter finds).
    let mut no_such_customer = false;
    if let Some(raw) = query_param(&req, "customerEmail") {
        let email = Email::parse(&raw)
            .ok_or_else(|| ApiError::validation("customerEmail", "must be an email address"))?;
        match ctx
            .store
            .customer_by_email(&principal.org_id, principal.mode, &brand.id, &email)
            .await?
        {
            Some(c) => filter.customer_id = Some(c.id),
            None => no_such_customer = true,
        }
    }
    let key = ctx.cursor_key()?;
    // The cursor is bound to the tenant, mode, brand and the exact filters and order.
    let scope = format!(
        "tickets:{}:{}:{}:{:?}:{no_such_customer}:{no_such_tag}",
        principal.org_id, principal.mode, brand.id, filter
    );
    let page = page_request(&req, key, &scope)?;
    if no_such_customer || no_such_tag {
        return page_response(Vec::<TicketView>::new(), None, key, &scope);
    }
    let result = ctx
        .store
        .list_tickets(
            &principal.org_id,
            principal.mode,
            &brand.id,
            &filter,
            page.after.as_deref(),
            page.limit,
        )
        .await?;
    let views: Vec<TicketView> = result
        .items
        .iter()
        .map(|t| TicketView::new(t, None))
        .collect();
    page_response(views, result.next, key, &scope)
}
