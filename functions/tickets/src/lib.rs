//! Tickets of a brand.
//!
//! - `GET /v1/brands/{brandId}/tickets` → [`list`] (filters, `order`, cursor pagination)
//! - `POST /v1/brands/{brandId}/tickets` → [`create`]
//! - `GET /v1/brands/{brandId}/tickets/{ticketId}` → [`get`]
//! - `PATCH /v1/brands/{brandId}/tickets/{ticketId}` → [`update`]
//! - `DELETE /v1/brands/{brandId}/tickets/{ticketId}` → [`delete`] (soft delete)
//! - `GET` / `POST /v1/brands/{brandId}/tickets/{ticketId}/comments` → [`list_comments`] / [`create_comment`]

mod comments;
mod view;

pub use comments::{create_comment, list_comments};

use dispatch_auth::Principal;
use dispatch_domain::attachment::{Attachment, AttachmentStatus, MAX_ATTACHMENTS_PER_CREATE};
use dispatch_domain::brand::Brand;
use dispatch_domain::brand::Metadata;
use dispatch_domain::customer::{Customer, CustomerName};
use dispatch_domain::ticket::{
    Priority, Status, Ticket, parse_body, parse_source, parse_tags, parse_title,
};
use dispatch_domain::{
    AttachmentId, BrandId, CustomerId, Email, FieldErrors, MemberId, Mode, OrgId, TicketId,
    Timestamp,
};
use dispatch_http::pagination::{page_request, page_response};
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, no_content, parse_json, query_param,
    reachable_brand, ticket_path,
};
use dispatch_store::{
    AttachmentStore, BrandStore, CredentialStore, CustomerStore, IdempotencyStore, MemberStatus,
    MemberStore, SessionStore, StoreError, TicketFilter, TicketPatch, TicketStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use view::TicketView;

/// How many times a create retries when a concurrent create took its number.
const NUMBER_ATTEMPTS: usize = 25;

/// The (brand, ticket) of the path when the ticket is live and its brand exists (one
/// round trip); 404 otherwise. Writes check first so a deleted brand's tickets stay gone.
pub(crate) async fn live_ticket<S: TicketStore>(
    ctx: &Context<S>,
    principal: &Principal,
    req: &Request,
) -> Result<(BrandId, TicketId), ApiError> {
    let (brand, id) = ticket_path(principal, req)?;
    ctx.store
        .ticket(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((brand, id))
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
    ) = (
        title,
        status,
        priority,
        source,
        custom_fields,
        metadata,
        tags,
    )
    else {
        return Err(ApiError::Internal("validated fields missing".into()));
    };
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
        tags,
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
                    code: "attachment_taken",
                    message: "An attachment was attached to another ticket meanwhile.".into(),
                });
            }
            Err(e) => return Err(e),
        };
    json(
        StatusCode::CREATED,
        &TicketView::new(&ticket, customer.as_ref()),
    )
}

/// The pending uploads named by `ids` (field `attachmentIds`), ready to be recorded under
/// `ticket`: each must be a confirmed, unexpired pending upload of the brand owned by
/// `owner` (a portal customer, or `None` for uploads made with an API key or session).
/// Problems are added to `errors`; the claim itself happens in the ticket's transaction.
pub async fn claim_pending_uploads<S: AttachmentStore>(
    ctx: &Context<S>,
    (org, mode, brand): (&OrgId, Mode, &BrandId),
    ids: &[String],
    owner: Option<&CustomerId>,
    ticket: &TicketId,
    now: Timestamp,
    errors: &mut FieldErrors,
) -> Result<Vec<Attachment>, ApiError> {
    if ids.len() > MAX_ATTACHMENTS_PER_CREATE {
        errors.add(
            "attachmentIds",
            format!("at most {MAX_ATTACHMENTS_PER_CREATE} attachments"),
        );
    }
    let mut attachments: Vec<Attachment> = Vec::new();
    for (i, raw) in ids.iter().enumerate().take(MAX_ATTACHMENTS_PER_CREATE) {
        let field = format!("attachmentIds[{i}]");
        let pending = match AttachmentId::parse(raw) {
            Some(id) => {
                ctx.store
                    .attachment(org, mode, brand, None, &id, now)
                    .await?
            }
            None => None,
        };
        match pending.filter(|a| a.customer_id.as_ref() == owner) {
            Some(a) if a.status == AttachmentStatus::Uploaded => {
                if attachments.iter().any(|x| x.id == a.id) {
                    errors.add(field, "is listed twice");
                } else {
                    attachments.push(Attachment {
                        ticket_id: Some(ticket.clone()),
                        updated_at: now,
                        ..a
                    });
                }
            }
            Some(_) => errors.add(field, "has not been uploaded and confirmed yet"),
            None => errors.add(field, "is not a pending upload of yours"),
        }
    }
    Ok(attachments)
}

/// Whose ticket it is.
pub enum TicketCustomer {
    None,
    /// Found or created in the brand by email (API, intake).
    ByEmail(Email, Option<CustomerName>),
    /// Already known (a portal token names its customer): no lookup.
    Known(CustomerId),
    /// Found or created by an address nobody proved (an unsigned form post): the ticket
    /// is marked unverified and kept out of that customer's portal.
    Claimed(Email, Option<CustomerName>),
}

/// A validated ticket to open.
pub struct NewTicket {
    /// Chosen up front, so files can be stored under it before the ticket is written.
    pub id: TicketId,
    pub title: String,
    pub body: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub source: String,
    pub customer: TicketCustomer,
    pub custom_fields: Metadata,
    pub metadata: Metadata,
    pub tags: Vec<String>,
    /// Uploaded files recorded with the ticket.
    pub attachments: Vec<Attachment>,
    /// Pending uploads (among `attachments`) whose waiting records the create removes.
    pub claimed_pending: Vec<AttachmentId>,
}

/// Opens a ticket in `brand`: finds or creates its customer, takes the brand's next
/// number in the ticket's own transaction (retrying when a concurrent create took it),
/// and records `attachments` with it. Shared by the API and intake.
pub async fn open_ticket<S>(
    ctx: &Context<S>,
    org: &OrgId,
    mode: Mode,
    mut brand: Brand,
    new: NewTicket,
) -> Result<(Ticket, Option<Customer>), ApiError>
where
    S: BrandStore + CustomerStore + TicketStore,
{
    let now = ctx.clock.now();
    let customer_verified = !matches!(new.customer, TicketCustomer::Claimed(..));
    let (customer, customer_id) = match new.customer {
        TicketCustomer::ByEmail(email, name) | TicketCustomer::Claimed(email, name) => {
            let c = find_or_create_customer(ctx, org, mode, &brand.id, email, name, now).await?;
            let id = c.id.clone();
            (Some(c), Some(id))
        }
        TicketCustomer::Known(id) => (None, Some(id)),
        TicketCustomer::None => (None, None),
    };
    for _ in 0..NUMBER_ATTEMPTS {
        let ticket = Ticket {
            id: new.id.clone(),
            brand_id: brand.id.clone(),
            number: brand.next_ticket_number,
            display_number: format!(
                "{}-{}",
                brand.ticket_prefix.as_str(),
                brand.next_ticket_number
            ),
            title: new.title.clone(),
            body: new.body.clone(),
            status: new.status,
            priority: new.priority,
            source: new.source.clone(),
            customer_id: customer_id.clone(),
            customer_verified,
            custom_fields: new.custom_fields.clone(),
            metadata: new.metadata.clone(),
            tags: new.tags.clone(),
            assignee_id: None,
            comment_count: 0,
            attachment_count: new.attachments.len() as u64,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        match ctx
            .store
            .create_ticket(
                org,
                mode,
                &brand,
                &ticket,
                &new.attachments,
                &new.claimed_pending,
            )
            .await
        {
            Ok(()) => return Ok((ticket, customer)),
            // Another create took this number or is taking it (or the brand is gone): read
            // the brand again.
            Err(StoreError::Conflict(_) | StoreError::Contended) => {
                brand = ctx
                    .store
                    .brand(org, mode, &brand.id)
                    .await?
                    .ok_or(ApiError::NotFound)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict {
        code: "busy",
        message: "Too many tickets are being created at once for this brand. Retry.".into(),
    })
}

/// The brand's customer with `email`, created (with `name`) when there is none; a
/// concurrent create of the same address yields the one that won.
pub async fn find_or_create_customer<S: CustomerStore>(
    ctx: &Context<S>,
    org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    email: Email,
    name: Option<CustomerName>,
    now: Timestamp,
) -> Result<Customer, ApiError> {
    if let Some(existing) = ctx
        .store
        .customer_by_email(org, mode, brand, &email)
        .await?
    {
        return Ok(existing);
    }
    let customer = Customer {
        id: CustomerId::generate(ctx.clock.now_millis()),
        brand_id: brand.clone(),
        email: email.clone(),
        name,
        metadata: Metadata::default(),
        created_at: now,
        updated_at: now,
    };
    match ctx.store.create_customer(org, mode, &customer).await {
        Ok(()) => Ok(customer),
        // Created concurrently by another request: use that one.
        Err(StoreError::Conflict(_)) => ctx
            .store
            .customer_by_email(org, mode, brand, &email)
            .await?
            .ok_or_else(|| ApiError::Internal("customer claim without customer".into())),
        Err(e) => Err(e.into()),
    }
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
    body: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    custom_fields: Option<Value>,
    metadata: Option<Value>,
    tags: Option<Vec<String>>,
    assignee_id: Option<String>,
}

/// `PATCH /v1/brands/{brandId}/tickets/{ticketId}`. An `assigneeId` must name an active
/// member of the caller's organization.
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore + MemberStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, id) = live_ticket(ctx, &principal, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let mut patch = TicketPatch {
        title: input
            .title
            .and_then(|v| errors.check("title", parse_title(&v))),
        body: input
            .body
            .and_then(|v| errors.check("body", parse_body(&v))),
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
    };
    let assignee = input.assignee_id.and_then(|v| {
        errors.check(
            "assigneeId",
            MemberId::parse(&v).ok_or_else(|| "must be a member id".to_string()),
        )
    });
    if let Some(member) = assignee {
        let active = ctx
            .store
            .member(&principal.org_id, &member)
            .await?
            .is_some_and(|m| m.status == MemberStatus::Active);
        if active {
            patch.assignee_id = Some(member.to_string());
        } else {
            errors.add(
                "assigneeId",
                "must be an active member of this organization",
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
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
        Ok(ticket) => json(StatusCode::OK, &TicketView::new(&ticket, None)),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/tickets/{ticketId}`: a soft delete; the ticket then
/// answers 404 and leaves every list.
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, id) = live_ticket(ctx, &principal, &req).await?;
    match ctx
        .store
        .delete_ticket(
            &principal.org_id,
            principal.mode,
            &brand,
            &id,
            ctx.clock.now(),
        )
        .await
    {
        Ok(()) => no_content(),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Reads the list filters from the query string.
fn filter(req: &Request) -> Result<TicketFilter, ApiError> {
    let mut errors = FieldErrors::new();
    let time = |raw: String| {
        Timestamp::parse(&raw).ok_or_else(|| "must be an ISO-8601 timestamp".to_string())
    };
    let f = TicketFilter {
        status: query_param(req, "status").and_then(|v| errors.check("status", parse_status(&v))),
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
    S: CredentialStore + SessionStore + BrandStore + CustomerStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let mut filter = filter(&req)?;
    if let Some(raw) = query_param(&req, "customerEmail") {
        let email = Email::parse(&raw)
            .ok_or_else(|| ApiError::validation("customerEmail", "must be an email address"))?;
        match ctx
            .store
            .customer_by_email(&principal.org_id, principal.mode, &brand.id, &email)
            .await?
        {
            Some(c) => filter.customer_id = Some(c.id),
            // No such customer: no tickets, but still a well-formed empty page.
            None => return page_response(Vec::<TicketView>::new(), None, ctx.cursor_key()?, ""),
        }
    }
    let key = ctx.cursor_key()?;
    // The cursor is bound to the tenant, mode, brand and the exact filters and order.
    let scope = format!(
        "tickets:{}:{}:{}:{:?}",
        principal.org_id, principal.mode, brand.id, filter
    );
    let page = page_request(&req, key, &scope)?;
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
