//! Opening a ticket, shared by the API, the portal and intake: its customer found or
//! created by email, its number taken in its own transaction, pending uploads claimed.

use dispatch_domain::attachment::{Attachment, AttachmentStatus, MAX_ATTACHMENTS_PER_CREATE};
use dispatch_domain::brand::{Brand, Metadata};
use dispatch_domain::customer::{Customer, CustomerName};
use dispatch_domain::ticket::{Link, Priority, Status, Ticket};
use dispatch_domain::{
    AttachmentId, BrandId, CategoryId, CustomerId, Email, FieldErrors, Mode, OrgId, TicketId,
    Timestamp,
};
use dispatch_http::{ApiError, Context, ErrorCode};
use dispatch_store::{AttachmentStore, BrandStore, CustomerStore, StoreError, TicketStore};

/// How many times a create retries when a concurrent create took its number.
const NUMBER_ATTEMPTS: usize = 25;

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
    /// Already known (a portal token names its customer and its address): no lookup.
    Known(CustomerId, Option<Email>),
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
    /// An active member of the organization, checked by the caller.
    pub assignee_id: Option<String>,
    /// One of the brand's categories, checked by the caller (and again by the write).
    pub category_id: Option<CategoryId>,
    pub created_by: Option<String>,
    pub links: Vec<Link>,
    pub source_id: Option<String>,
    pub source_data: Option<Metadata>,
    pub notify_customer: bool,
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
    let customer_email = match &new.customer {
        TicketCustomer::ByEmail(email, _) | TicketCustomer::Claimed(email, _) => {
            Some(email.to_string())
        }
        TicketCustomer::Known(_, email) => email.as_ref().map(ToString::to_string),
        TicketCustomer::None => None,
    };
    let (customer, customer_id) = match new.customer {
        TicketCustomer::ByEmail(email, name) | TicketCustomer::Claimed(email, name) => {
            let c = find_or_create_customer(ctx, org, mode, &brand.id, email, name, now).await?;
            let id = c.id.clone();
            (Some(c), Some(id))
        }
        TicketCustomer::Known(id, _) => (None, Some(id)),
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
            assignee_id: new.assignee_id.clone(),
            customer_email: customer_email.clone(),
            category_id: new.category_id.clone(),
            created_by: new.created_by.clone(),
            links: new.links.clone(),
            source_id: new.source_id.clone(),
            source_data: new.source_data.clone(),
            notify_customer: new.notify_customer,
            is_spam: false,
            merged_into_id: None,
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
            // Deleted since the caller checked it.
            Err(StoreError::Conflict("category")) => {
                return Err(ApiError::validation(
                    "categoryId",
                    "is not a category of this brand",
                ));
            }
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
        code: ErrorCode::Busy,
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
        avatar_url: None,
        company_id: None,
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
