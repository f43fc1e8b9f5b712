//! Storage for Dispatch: ports (traits sized to what handlers need) and their DynamoDB
//! adapter. This is the only crate that knows the table's key layout; see
//! `docs/data-model.md` for the access patterns.
//!
//! Every tenant item's partition key starts with the organization and the mode
//! (`ORG#{org}#{mode}`), so a query built from a principal can only reach that tenant's
//! data in that mode.

mod api_keys;
mod attachments;
mod backfill;
mod brands;
mod categories;
pub mod counter;
mod customers;
mod fields;
mod idempotency;
mod intake;
mod item;
pub mod keys;
mod mail;
mod members;
mod ops;
mod orgs;
mod portal_links;
mod purge;
mod rate_limits;
pub mod retry;
mod sessions;
#[cfg(feature = "stream")]
pub mod stream;
mod tags;
mod tickets;
mod tx;
mod webhooks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use dispatch_auth::{ApiKeyGrant, Role, SecretHash, SessionGrant};
use dispatch_domain::attachment::Attachment;
use dispatch_domain::brand::Brand;
use dispatch_domain::category::Category;
use dispatch_domain::customer::Customer;
use dispatch_domain::field::{Entity, FieldDefinition};
use dispatch_domain::intake::IntakeEndpoint;
use dispatch_domain::tag::Tag;
use dispatch_domain::ticket::{Comment, Status, Ticket};
use dispatch_domain::webhook::{Webhook, WebhookDelivery, WebhookEvent, WebhookUrl};
use dispatch_domain::{
    AttachmentId, BrandId, CategoryId, CommentId, CustomerId, Email, IntakeToken, KeyId, MemberId,
    Mode, OrgId, TagId, TicketId, Timestamp, WebhookId,
};
use std::future::Future;

pub use api_keys::{ApiKeyRecord, ScopeChange};
pub use backfill::BackfillPage;
pub use brands::{BrandPatch, ProfilePatch};
pub use idempotency::{Claim, IDEMPOTENCY_LEASE_SECS, IDEMPOTENCY_TTL_SECS, StoredAnswer};
pub use mail::{QUARANTINE_TTL_SECS, QuarantinedMail, SEND_CLAIM_SECS, SentMail, SentMailRecord};
pub use members::{Account, Member, MemberStatus, Membership};
pub use orgs::{NewOrganization, Organization};
pub use tickets::{CategoryMove, CommentPatch, TicketFilter, TicketPatch, TicketSort};

/// What a brand holds besides tickets, by its counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrandContents {
    pub webhooks: u64,
    pub categories: u64,
    pub tags: u64,
}

/// Typed configuration, read once at init from the environment the template sets.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub table_name: String,
}

impl StoreConfig {
    pub fn from_env() -> Result<StoreConfig, StoreError> {
        let table_name = std::env::var("TABLE_NAME")
            .map_err(|_| StoreError::Config("TABLE_NAME is not set".into()))?;
        Ok(StoreConfig { table_name })
    }
}

/// What can go wrong in storage. Handlers map the first variants to 4xx answers; the
/// rest are our faults (5xx).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness condition failed (e.g. a brand slug already in use).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The item a conditional write expected is gone (deleted concurrently).
    #[error("not found")]
    NotFound,
    /// A concurrent transaction touched the same items (DynamoDB's `TransactionConflict`):
    /// nothing was written; the request may be retried.
    #[error("contended")]
    Contended,
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("DynamoDB: {0}")]
    Backend(String),
    /// DynamoDB could not serve the call right now (throttled, a 5xx, a timeout, no
    /// connection); whatever the call was, it did not take effect or was a read. The
    /// client may retry the request later.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    fn backend<E>(err: SdkError<E, HttpResponse>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        if dispatch_aws::is_transient(&err) {
            StoreError::Unavailable(DisplayErrorContext(err).to_string())
        } else {
            StoreError::Backend(DisplayErrorContext(err).to_string())
        }
    }
}

/// The DynamoDB adapter. Cheap to clone; build it once at init.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Builds the client from the standard AWS environment (`AWS_REGION`, credentials,
    /// and `AWS_ENDPOINT_URL` when pointing at a local emulator) and `TABLE_NAME`.
    pub async fn from_env() -> Result<DynamoStore, StoreError> {
        let config = StoreConfig::from_env()?;
        let sdk = dispatch_aws::load().await;
        Ok(DynamoStore::new(
            Client::from_conf(DynamoStore::client_config(&sdk).build()),
            config.table_name,
        ))
    }

    /// The client configuration every DynamoDB client here starts from: `sdk` (see
    /// `dispatch_aws::load`). Conditional single-item writes add [`retry::answer_or_nothing`].
    pub fn client_config(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
        aws_sdk_dynamodb::config::Builder::from(sdk)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

type StoreResult<T> = Result<T, StoreError>;

/// Looking up credentials: the hot path of every authenticated request.
pub trait CredentialStore: Send + Sync {
    /// One strongly consistent GetItem by the secret's hash.
    fn api_key_grant(
        &self,
        hash: &SecretHash,
    ) -> impl Future<Output = StoreResult<Option<ApiKeyGrant>>> + Send;

    /// Records use of a key, at most once per interval (conditional, so concurrent
    /// requests write once). Best effort: callers ignore failures.
    fn touch_api_key(
        &self,
        hash: &SecretHash,
        grant: &ApiKeyGrant,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Dashboard sessions and the magic links that create them.
pub trait SessionStore: Send + Sync {
    /// One strongly consistent GetItem by the token's hash.
    fn session_grant(
        &self,
        hash: &SecretHash,
    ) -> impl Future<Output = StoreResult<Option<SessionGrant>>> + Send;
    /// Pushes the idle clock forward (callers do it at most every few minutes).
    fn refresh_session(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Fails with `NotFound` when the membership is gone or its role changed meanwhile.
    fn create_session(
        &self,
        hash: &SecretHash,
        grant: &SessionGrant,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_session(
        &self,
        hash: &SecretHash,
        grant: &SessionGrant,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_member_sessions(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_member_sessions_role(
        &self,
        org: &OrgId,
        member: &MemberId,
        role: Role,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Stores a new link for `email` and invalidates the previous one.
    fn issue_magic_link(
        &self,
        email: &Email,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The address of an unexpired link, without using it up (one consistent read; expiry
    /// checked in code). `None` when it is unknown, used or expired.
    fn magic_link_email(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Email>>> + Send;
    /// Deletes an unexpired link in one conditional operation; `None` when it was unknown,
    /// used or expired.
    fn consume_magic_link(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Email>>> + Send;
}

/// Accounts, members and memberships.
pub trait MemberStore: Send + Sync {
    fn account(&self, email: &Email) -> impl Future<Output = StoreResult<Option<Account>>> + Send;
    fn memberships(
        &self,
        email: &Email,
    ) -> impl Future<Output = StoreResult<Vec<Membership>>> + Send;
    fn members(&self, org: &OrgId) -> impl Future<Output = StoreResult<Vec<Member>>> + Send;
    fn member(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> impl Future<Output = StoreResult<Option<Member>>> + Send;
    /// Fails with `Conflict("member")` when the email is already a member of the org.
    fn add_member(
        &self,
        member: &Member,
        org_name: &str,
        new_account: Option<&Account>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn activate_member(&self, member: &Member) -> impl Future<Output = StoreResult<()>> + Send;
    fn change_member_role(
        &self,
        member: &Member,
        role: Role,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_member(&self, member: &Member) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One page of a list, and the sort key to continue after when more exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A brand's customers.
pub trait CustomerStore: Send + Sync {
    fn customer(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &CustomerId,
    ) -> impl Future<Output = StoreResult<Option<Customer>>> + Send;
    fn customer_by_email(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        email: &Email,
    ) -> impl Future<Output = StoreResult<Option<Customer>>> + Send;
    /// Fails with `Conflict("email")` when the brand already has a customer with that email.
    fn create_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        customer: &Customer,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// In `sort` order (ascending unless `descending`); `after` is a sort key from a
    /// previous page's `next` in the same order. By creation: one Query of the customers;
    /// by name or email: one Query of the name index or the email claims, then one
    /// BatchGetItem.
    fn list_customers(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        order: CustomerOrder,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Customer>>> + Send;
    /// Up to `limit` customers whose email or name starts with `prefix`, ignoring case;
    /// email matches first. Two Queries and one BatchGetItem, whatever the brand's size.
    fn search_customers(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        prefix: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Customer>>> + Send;
    /// Replaces `before` with `after` (same id) in one transaction that moves the email
    /// claim and the name index item when they change. `Conflict("email")` when another
    /// customer has the new email; `NotFound` when the customer is gone or its email or
    /// name changed since `before` was read.
    fn update_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Customer,
        after: &Customer,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes the customer, its email claim and its name item in one transaction
    /// (`NotFound` as for updates). Its tickets are detached afterwards, by the stream.
    fn delete_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        customer: &Customer,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Which of a customer's tickets to list, and in which direction of creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerTicketQuery {
    pub customer: CustomerId,
    pub status: Option<Status>,
    pub newest_first: bool,
}

/// A merge: the target, the sources, and per source the note it gets and the note the
/// target gets (in the order of `sources`).
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    pub target: TicketId,
    pub sources: Vec<TicketId>,
    pub notes: Vec<(Comment, Comment)>,
    pub at: Timestamp,
}

/// What a customer list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    #[default]
    CreatedAt,
    Name,
    Email,
}

/// A customer list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerOrder {
    pub sort: CustomerSort,
    pub descending: bool,
}

/// Tickets of a brand.
pub trait TicketStore: Send + Sync {
    /// Writes `ticket` with number `ticket.number`, which must be the brand's
    /// `nextTicketNumber` as read in `brand`; `Conflict("number")` when another create took
    /// it first (read the brand again and retry). `attachments` (already uploaded, at most
    /// ten) are written in the same transaction, and the pending records named by
    /// `claimed_pending` are removed in it (`NotFound` when one is gone or not uploaded).
    fn create_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &Brand,
        ticket: &Ticket,
        attachments: &[Attachment],
        claimed_pending: &[AttachmentId],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A customer's live tickets in one brand, by creation (newest first unless
    /// `query.newest_first` is false), from the customer-tickets index (keyed by
    /// organization, mode, brand and customer; eventually consistent).
    fn list_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        query: &CustomerTicketQuery,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Ticket>>> + Send;
    /// All of them (as above, in creation order), or `None` when there are more than
    /// `max`: for orders the index does not keep.
    fn all_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        query: &CustomerTicketQuery,
        max: usize,
    ) -> impl Future<Output = StoreResult<Option<Vec<Ticket>>>> + Send;
    /// The live tickets among `ids` (one BatchGetItem per 100; unknown and deleted ones
    /// are left out), in no particular order.
    fn tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ids: &[TicketId],
    ) -> impl Future<Output = StoreResult<Vec<Ticket>>> + Send;
    /// Merges the plan's sources into its target in one transaction: each source is
    /// closed, gets `mergedIntoId` and its note; the target gets one note per source. Every
    /// ticket must still be live and unmerged (`NotFound` otherwise: nothing is written).
    fn merge_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        plan: &MergePlan,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `None` for unknown and soft-deleted tickets, and for every ticket of a deleted brand.
    fn ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
    ) -> impl Future<Output = StoreResult<Option<Ticket>>> + Send;
    /// `NotFound` for unknown and soft-deleted tickets. A patch that moves the ticket to
    /// another category is one transaction with both categories' counts (`Conflict
    /// ("category")` when the new one is gone, `Contended` when the ticket's category is no
    /// longer `from`) and a consistent read of the result.
    fn update_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
        patch: &TicketPatch,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Ticket>> + Send;
    /// Soft-deletes a live ticket (`NotFound` otherwise). `category` is its category as
    /// read: that category's `ticketCount` drops in the same transaction (`Contended` when
    /// the ticket moved to another meanwhile).
    fn delete_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
        category: Option<&CategoryId>,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn list_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        filter: &TicketFilter,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Ticket>>> + Send;
}

/// Comments on tickets.
pub trait CommentStore: Send + Sync {
    /// Writes the comment and bumps the ticket's `commentCount` (and sets its status to
    /// `set_status`) in one transaction, with `files` (uploaded attachments of the ticket
    /// that came with the comment: mail) and the ticket's `attachmentCount`; `NotFound`
    /// when the ticket is unknown or deleted, `Conflict("parent")` when `parent_id` is not
    /// a live top-level comment of the ticket.
    fn add_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        set_status: Option<Status>,
        files: &[Attachment],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Oldest first, deleted ones left out.
    fn comments(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
    ) -> impl Future<Output = StoreResult<Vec<Comment>>> + Send;
    /// One comment of the ticket (`None` when unknown or deleted).
    fn comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
        id: &CommentId,
    ) -> impl Future<Output = StoreResult<Option<Comment>>> + Send;
    /// Sets the patch's fields and `updatedAt`; `NotFound` when the comment is gone or
    /// deleted.
    fn update_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        patch: &CommentPatch,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Soft-deletes the comment and takes one off the ticket's `commentCount`, in one
    /// transaction; `NotFound` when the comment or its ticket is gone or deleted.
    fn delete_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Attachment records (the bytes are in S3).
pub trait AttachmentStore: Send + Sync {
    /// Writes a new `PENDING` attachment; for a ticket's attachment only while the ticket
    /// is live (`NotFound` otherwise).
    fn create_attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// One attachment of a ticket, or (with `ticket: None`) one pending upload of the
    /// brand; `None` when unknown or, for a pending upload, expired.
    fn attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: Option<&TicketId>,
        id: &AttachmentId,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<Attachment>>> + Send;
    /// A ticket's attachments, oldest first.
    fn attachments(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
    ) -> impl Future<Output = StoreResult<Vec<Attachment>>> + Send;
    /// `PENDING` → `UPLOADED`, and the ticket's `attachmentCount` with it in one
    /// transaction; `NotFound` when it is no longer pending or the ticket is gone.
    fn mark_uploaded(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Removes a ticket's attachment record as it was read and, when it was `UPLOADED`,
    /// lowers the ticket's `attachmentCount` in the same transaction (only on a live
    /// ticket). `Conflict` when its status changed meanwhile (a confirm won), `NotFound`
    /// when it or the ticket is gone.
    fn delete_attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Intake endpoints.
pub trait IntakeStore: Send + Sync {
    /// Writes both copies (token lookup, brand listing) in one transaction.
    fn create_intake(
        &self,
        endpoint: &IntakeEndpoint,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The endpoint a public form URL names (enabled or not).
    fn intake_by_token(
        &self,
        token: &IntakeToken,
    ) -> impl Future<Output = StoreResult<Option<IntakeEndpoint>>> + Send;
    /// A brand's endpoints, oldest first.
    fn intakes(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Vec<IntakeEndpoint>>> + Send;
    /// Disables both copies; `NotFound` unless the endpoint is this tenant's, mode's and
    /// brand's.
    fn disable_intake(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        token: &IntakeToken,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a `PATCH` of a webhook changes; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookChange {
    pub url: Option<WebhookUrl>,
    pub events: Option<Vec<WebhookEvent>>,
    /// `Some(true)` also zeroes `failureCount`.
    pub enabled: Option<bool>,
    /// The new secret, sealed (`dispatch_kms`).
    pub sealed_secret: Option<Vec<u8>>,
    pub updated_at: Timestamp,
}

pub trait WebhookStore: Send + Sync {
    /// Writes the webhook with its sealed secret and counts it against the brand's cap, in one
    /// transaction; `Conflict("webhook_limit")` when the brand has the maximum already.
    fn create_webhook(
        &self,
        webhook: &Webhook,
        sealed_secret: &[u8],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A brand's webhooks, oldest first.
    fn webhooks(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Vec<Webhook>>> + Send;
    fn webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> impl Future<Output = StoreResult<Option<Webhook>>> + Send;
    /// Applies `change` and returns the webhook as stored; `NotFound` unless it exists in
    /// this tenant, mode and brand.
    fn update_webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        change: &WebhookChange,
    ) -> impl Future<Output = StoreResult<Webhook>> + Send;
    /// Deletes the webhook and uncounts it in one transaction; `NotFound` unless it exists.
    fn delete_webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A webhook's latest `limit` deliveries, newest first.
    fn deliveries(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        webhook: &WebhookId,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<WebhookDelivery>>> + Send;
    /// Writes a new delivery's record unless one with its id exists: `false` when it did
    /// (a retried stream batch).
    fn create_delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        delivery: &WebhookDelivery,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        webhook: &WebhookId,
        id: &dispatch_domain::DeliveryId,
    ) -> impl Future<Output = StoreResult<Option<WebhookDelivery>>> + Send;
    /// The webhook with its sealed secret, in one read (only the delivery function wants
    /// the secret).
    fn webhook_with_secret(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> impl Future<Output = StoreResult<Option<(Webhook, Vec<u8>)>>> + Send;
    /// Counts an attempt's outcome on the webhook: a success zeroes `failureCount`, a
    /// failure adds one and sets `lastFailure`; both set `lastTriggered`. Returns the
    /// webhook as it now is; `NotFound` when it is gone.
    fn count_attempt(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        success: bool,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Webhook>> + Send;
    /// Takes one of the webhook's delivery slots until `until` (at most
    /// [`dispatch_domain::webhook::MAX_IN_FLIGHT`] tries run at once per webhook; a slot
    /// whose holder never gave it back frees itself at its expiry). `None` when all are
    /// taken, or the webhook is gone.
    fn acquire_delivery_slot(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        now: Timestamp,
        until: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<u8>>> + Send;
    /// Gives a slot back, if it is still the one taken until `until`.
    fn release_delivery_slot(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        slot: u8,
        until: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes a delivery's record as it now stands (kept 30 days).
    fn put_delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        delivery: &WebhookDelivery,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A portal sign-in link's facts (the token itself is only hashed).
#[derive(Debug, Clone, PartialEq)]
pub struct PortalLink {
    pub org_id: OrgId,
    pub mode: Mode,
    pub brand_id: BrandId,
    pub customer_id: CustomerId,
    pub email: Email,
    pub name: Option<String>,
    pub expires_at: Timestamp,
}

/// Single-use portal sign-in links.
pub trait PortalLinkStore: Send + Sync {
    fn create_portal_link(
        &self,
        hash: &SecretHash,
        link: &PortalLink,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes and returns the link when it exists and has not expired (one conditional
    /// delete: a link works once).
    fn consume_portal_link(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Option<PortalLink>>> + Send;
}

/// Removing a deleted brand's data.
pub trait BrandPurge: Send + Sync {
    /// Deletes every item of the brand's partition (customers, tickets, comments,
    /// attachments, intake endpoints with their token lookups, pending uploads);
    /// idempotent. Returns how many deletes it sent.
    fn purge_brand(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

/// A brand's custom field definitions.
pub trait FieldStore: Send + Sync {
    /// One entity's (or, with `None`, every entity's) definitions, in `sortOrder` then key.
    fn fields(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Option<Entity>,
    ) -> impl Future<Output = StoreResult<Vec<FieldDefinition>>> + Send;
    /// One definition, while its brand exists.
    fn field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Entity,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<FieldDefinition>>> + Send;
    /// `Conflict("field")` when the key is taken, `Conflict("limit")` past the cap,
    /// `NotFound` when the brand is gone.
    fn create_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        field: &FieldDefinition,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes `after` if the stored definition still has `after.version`; `NotFound`
    /// otherwise.
    fn update_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        after: &FieldDefinition,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Entity,
        key: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets each definition's `sortOrder` to its position, all or none (each as read).
    fn reorder_fields(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        fields: &[FieldDefinition],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A brand's ticket categories.
pub trait CategoryStore: Send + Sync {
    /// All of them (at most 100), in `sortOrder` then name.
    fn categories(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Vec<Category>>> + Send;
    /// One category, while its brand exists.
    fn category(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &CategoryId,
    ) -> impl Future<Output = StoreResult<Option<Category>>> + Send;
    /// `Conflict("category")` when the name is taken (ignoring case), `Conflict("limit")`
    /// past the cap, `NotFound` when the brand is gone.
    fn create_category(
        &self,
        org: &OrgId,
        mode: Mode,
        category: &Category,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes `after`'s own fields if the category is still as `before` was read
    /// (`NotFound` otherwise); `Conflict("category")` when a new name is taken.
    fn update_category(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Category,
        after: &Category,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `NotFound` when it is already gone. Its tickets are uncategorized by the stream.
    fn delete_category(
        &self,
        org: &OrgId,
        mode: Mode,
        category: &Category,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Sets each category's `sortOrder` to its position, all or none (each as read).
    fn reorder_categories(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ordered: &[Category],
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A brand's ticket tags.
pub trait TagStore: Send + Sync {
    /// All of them (at most 500), by name ignoring case.
    fn tags(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Vec<Tag>>> + Send;
    /// One tag, while its brand exists.
    fn tag(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TagId,
    ) -> impl Future<Output = StoreResult<Option<Tag>>> + Send;
    /// The tags among `ids` that exist (one BatchGetItem per 100), in no order.
    fn tags_by_id(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ids: &[TagId],
    ) -> impl Future<Output = StoreResult<Vec<Tag>>> + Send;
    /// For each of `names` that a tag holds (ignoring case): its case-folded form → the
    /// tag's spelling (one BatchGetItem of the name claims).
    fn tag_spellings(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        names: &[String],
    ) -> impl Future<Output = StoreResult<std::collections::HashMap<String, String>>> + Send;
    /// `Conflict("tag")` when the name is taken (ignoring case), `Conflict("limit")` past
    /// the cap, `NotFound` when the brand is gone.
    fn create_tag(
        &self,
        org: &OrgId,
        mode: Mode,
        tag: &Tag,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Writes `after` if the tag is still as `before` was read (`NotFound` otherwise);
    /// `Conflict("tag")` when a new name is taken.
    fn update_tag(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Tag,
        after: &Tag,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the tags (of one brand), each as read; with `merged_into`, each is first
    /// marked with the name its tickets' names become. The stream rewrites the tickets.
    fn delete_tags(
        &self,
        org: &OrgId,
        mode: Mode,
        tags: &[Tag],
        merged_into: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What the stream does after a tag is renamed, merged or deleted.
pub trait TagCleanup: Send + Sync {
    /// On every ticket of the brand naming `from`: the name becomes `to`, or goes
    /// (`updatedAt` = `now`); idempotent. Returns how many tickets it changed.
    fn rewrite_ticket_tags(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        from: &str,
        to: Option<&str>,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

/// What the stream does after a category is deleted.
pub trait CategoryCleanup: Send + Sync {
    /// Removes `categoryId` from every ticket still naming the category (`updatedAt` =
    /// `now`); idempotent. Returns how many tickets it changed.
    fn uncategorize_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        category: &CategoryId,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

/// What the stream does after a customer is deleted.
pub trait CustomerCleanup: Send + Sync {
    /// Detaches every ticket still naming the customer (`customerId` and its index keys
    /// removed, `updatedAt` = `now`), verified or not; idempotent, and a ticket deleted
    /// meanwhile is left alone. Returns how many tickets it changed.
    fn detach_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
    /// Writes the customer's new address on every ticket still naming it (what the list's
    /// `search` reads); idempotent. Returns how many tickets it changed.
    fn rewrite_customer_email(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        customer: &CustomerId,
        email: &str,
    ) -> impl Future<Output = StoreResult<usize>> + Send;
}

/// Results of idempotent creates, per tenant and mode.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key_hash` for a request with `request_hash`, or says what it already holds.
    fn claim_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
        request_hash: &str,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<Claim>> + Send;
    /// Records the answer of the request that claimed the key.
    fn complete_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
        answer: &StoredAnswer,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Frees the key (the request failed on our side; a retry may run it again).
    fn release_idempotency(
        &self,
        org: &OrgId,
        mode: Mode,
        key_hash: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The email channel's own records: where a brand's inbound address goes, and mail kept
/// out of tickets.
pub trait MailStore: Send + Sync {
    /// The organization and mode of the brand an inbound address names; `None` for an
    /// address no brand has (or had: the route goes with the brand).
    fn mail_route(
        &self,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Option<(OrgId, Mode)>>> + Send;
    /// Keeps a record of mail SES judged spam or a virus (the message itself stays in the
    /// bucket until its lifecycle rule removes it). Writing it twice keeps one.
    fn quarantine(
        &self,
        org: &OrgId,
        mode: Mode,
        mail: &QuarantinedMail,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A brand's quarantined mail, newest first.
    fn quarantined(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Vec<QuarantinedMail>>> + Send;
    /// Takes the right to send one message about a ticket (`what`: `autoresponse`, or a
    /// comment id): `false` when it was sent, or is being sent by another invocation that
    /// claimed it less than [`SEND_CLAIM_SECS`] ago.
    fn claim_send(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records SES's message id on a claimed send.
    fn mark_sent(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
        ses_message_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Gives a claim back (the send failed; a retry may take it).
    fn release_send(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// A sent message's record, `None` when nothing was sent (or claimed).
    fn sent_mail(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
        what: &str,
    ) -> impl Future<Output = StoreResult<Option<SentMailRecord>>> + Send;
    /// Why the organization no longer mails `email` (a hard bounce, a complaint), if so.
    fn suppressed(
        &self,
        org: &OrgId,
        email: &Email,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Puts `email` on the organization's suppression list (again: keeps the first).
    fn suppress(
        &self,
        org: &OrgId,
        email: &Email,
        reason: &str,
        at: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Counters for rate limits.
pub trait RateLimitStore: Send + Sync {
    /// Counts one hit in the current fixed window of `window_secs` and returns the total.
    fn count_hit(
        &self,
        bucket: &str,
        window_secs: i64,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Organizations, their owners and their first keys.
pub trait OrgStore: Send + Sync {
    fn organization(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = StoreResult<Option<Organization>>> + Send;
    fn create_organization(
        &self,
        new: &NewOrganization,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// API key management within one organization and mode.
pub trait ApiKeyStore: Send + Sync {
    fn list_api_keys(
        &self,
        org: &OrgId,
        mode: Mode,
    ) -> impl Future<Output = StoreResult<Vec<ApiKeyRecord>>> + Send;
    fn api_key(
        &self,
        org: &OrgId,
        mode: Mode,
        key: &KeyId,
    ) -> impl Future<Output = StoreResult<Option<ApiKeyRecord>>> + Send;
    /// Writes the listing record and the authorization item in one transaction.
    fn create_api_key(
        &self,
        org: &OrgId,
        record: &ApiKeyRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn update_api_key_scope(
        &self,
        org: &OrgId,
        record: &ApiKeyRecord,
        change: &ScopeChange,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks the record revoked and deletes the authorization item, atomically.
    fn revoke_api_key(
        &self,
        org: &OrgId,
        record: &ApiKeyRecord,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Brands within one organization and mode.
/// An organization's usage in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Brands that exist now.
    pub brands: u64,
    /// Tickets ever created in them (deleted ones included: it counts creations).
    pub tickets_total: u64,
    /// Tickets created in them in the month asked about.
    pub tickets_in_month: u64,
}

pub trait BrandStore: Send + Sync {
    /// How many webhooks, categories and tags the brand holds (its caps' counters, one
    /// BatchGetItem): what a delete would remove besides its tickets.
    fn brand_contents(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<BrandContents>> + Send;
    /// Counts over the existing brands of `org` in `mode`, from their items (one Query):
    /// each ticket create's transaction moves its brand's counters.
    fn usage(
        &self,
        org: &OrgId,
        mode: Mode,
        month: &str,
    ) -> impl Future<Output = StoreResult<Usage>> + Send;
    fn list_brands(
        &self,
        org: &OrgId,
        mode: Mode,
    ) -> impl Future<Output = StoreResult<Vec<Brand>>> + Send;
    fn brand(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> impl Future<Output = StoreResult<Option<Brand>>> + Send;
    /// Which of `brands` exist (strongly consistent).
    fn existing_brands(
        &self,
        org: &OrgId,
        mode: Mode,
        brands: &[BrandId],
    ) -> impl Future<Output = StoreResult<Vec<BrandId>>> + Send;
    /// Fails with `Conflict("slug")` when the slug is taken in this org and mode.
    fn create_brand(
        &self,
        mode: Mode,
        brand: &Brand,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn update_brand(
        &self,
        mode: Mode,
        current: &Brand,
        patch: &BrandPatch,
        now: Timestamp,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Whether any brand, in any organization and mode, lists `origin` among its portal
    /// origins (for CORS preflights, which carry no credential). One Query.
    fn origin_allowed(&self, origin: &str) -> impl Future<Output = StoreResult<bool>> + Send;
    fn delete_brand(
        &self,
        mode: Mode,
        brand: &Brand,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
