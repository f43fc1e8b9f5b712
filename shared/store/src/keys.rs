//! The table's key formats, in one place.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | organization | `ORG#{org}` | `ORG` |
//! | member | `ORG#{org}` | `MEMBER#{member}` |
//! | account | `ACCOUNT#{email}` | `ACCOUNT` |
//! | membership (account → org) | `ACCOUNT#{email}` | `MEMBERSHIP#{org}` |
//! | API key auth item | `APIKEY#{sha256 hex}` | `APIKEY` |
//! | API key record | `ORG#{org}#{mode}` | `APIKEY#{key}` |
//! | brand | `ORG#{org}#{mode}` | `BRAND#{brand}` |
//! | brand slug claim | `ORG#{org}#{mode}` | `BRANDSLUG#{slug}` |
//! | session | `SESSION#{sha256 hex}` | `SESSION` |
//! | member's session index | `ORG#{org}#MEMBER#{member}` | `SESSION#{sha256 hex}` |
//! | magic link | `MAGICLINK#{sha256 hex}` | `MAGICLINK` |
//! | latest magic link of an address | `ACCOUNT#{email}` | `MAGICLINK` |
//! | customer | `ORG#{org}#{mode}#BRAND#{brand}` | `CUSTOMER#{customer}` |
//! | ticket | `ORG#{org}#{mode}#BRAND#{brand}` | `TICKET#{ticket}` |
//! | comment | `ORG#{org}#{mode}#BRAND#{brand}` | `COMMENT#{ticket}#{comment}` |
//! | attachment | `ORG#{org}#{mode}#BRAND#{brand}` | `ATTACHMENT#{ticket}#{attachment}` |
//! | pending attachment (no ticket yet) | `ORG#{org}#{mode}#BRAND#{brand}` | `PENDINGATTACHMENT#{attachment}` |
//! | intake endpoint (by token) | `INTAKE#{token}` | `INTAKE` |
//! | intake endpoint (listing) | `ORG#{org}#{mode}#BRAND#{brand}` | `INTAKE#{token}` |
//! | brand's inbound address (mail routing) | `BRANDMAIL#{brand}` | `BRANDMAIL` |
//! | quarantined inbound mail | `ORG#{org}#{mode}#BRAND#{brand}` | `QUARANTINE#{ses message id}` |
//! | a message sent to a ticket's customer | `ORG#{org}#{mode}#BRAND#{brand}` | `MAILSENT#{ticket}#{autoresponse or comment}` |
//! | suppressed address | `ORG#{org}` | `SUPPRESSED#{email}` |
//! | portal origin index (CORS preflights) | `PORTALORIGIN#{origin}` | `{org}#{mode}#{brand}` |
//! | ticket, in the customer-tickets index | `gsi1pk` = `ORG#{org}#{mode}#BRAND#{brand}#CUSTOMER#{customer}` | `gsi1sk` = `TICKET#{ticket}` |
//! | unverified ticket (same index, never listed by the portal) | `gsi1pk` = `…#CUSTOMER#{customer}#UNVERIFIED` | `gsi1sk` = `TICKET#{ticket}` |
//! | ticket, in the tickets-by-updated index | `ticketsPk` = `ORG#{org}#{mode}#BRAND#{brand}` | `updatedAt` (number) |
//! | ticket, in the tickets-by-priority index | `ticketsPk` = `ORG#{org}#{mode}#BRAND#{brand}` | `prioritySk` = `{rank}#{ticket}` |
//! | portal magic link | `PORTALLINK#{sha256 hex}` | `PORTALLINK` |
//! | idempotent result | `ORG#{org}#{mode}` | `IDEMPOTENCY#{sha256}` |
//! | customer email claim | `ORG#{org}#{mode}#BRAND#{brand}` | `CUSTOMEREMAIL#{email}` |
//! | custom field definition | `ORG#{org}#{mode}#BRAND#{brand}` | `FIELD#{entity}#{key}` |
//! | a brand's field count per entity | `ORG#{org}#{mode}#BRAND#{brand}` | `FIELDCOUNT#{entity}` |
//! | customer name index | `ORG#{org}#{mode}#BRAND#{brand}` | `CUSTOMERNAME#{lower-cased name}#{customer}` |
//! | rate-limit counter | `RATE#{bucket}#{window secs}#{window start}` | `RATE` |
//! | ticket category | `ORG#{org}#{mode}#BRAND#{brand}` | `CATEGORY#{category}` |
//! | category name claim | `ORG#{org}#{mode}#BRAND#{brand}` | `CATEGORYNAME#{lower-cased name}` |
//! | a brand's category count | `ORG#{org}#{mode}#BRAND#{brand}` | `CATEGORYCOUNT` |
//! | ticket tag | `ORG#{org}#{mode}#BRAND#{brand}` | `TAG#{tag}` |
//! | tag name claim | `ORG#{org}#{mode}#BRAND#{brand}` | `TAGNAME#{lower-cased name}` |
//! | a brand's tag count | `ORG#{org}#{mode}#BRAND#{brand}` | `TAGCOUNT` |
//! | webhook | `ORG#{org}#{mode}#BRAND#{brand}` | `WEBHOOK#{webhook}` |
//! | a brand's webhook count | `ORG#{org}#{mode}#BRAND#{brand}` | `WEBHOOKCOUNT` |
//! | webhook delivery | `ORG#{org}#{mode}#BRAND#{brand}` | `WEBHOOKDELIVERY#{webhook}#{delivery}` |

use dispatch_auth::SecretHash;
use dispatch_domain::field::Entity;
use dispatch_domain::ticket::Priority;
use dispatch_domain::{
    AttachmentId, BrandId, CategoryId, CommentId, CustomerId, DeliveryId, Email, IntakeToken,
    KeyId, MemberId, Mode, OrgId, TagId, TicketId, WebhookId,
};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Epoch seconds after which DynamoDB may delete the item (lazily: code checks expiry itself).
pub const TTL: &str = "ttl";

pub fn org(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// The partition of one tenant in one mode: the root of every tenant data key.
pub fn tenant(org: &OrgId, mode: Mode) -> String {
    format!("ORG#{org}#{mode}")
}

pub const ORG_SK: &str = "ORG";

pub const MEMBER_SK_PREFIX: &str = "MEMBER#";

pub fn member_sk(member: &MemberId) -> String {
    format!("{MEMBER_SK_PREFIX}{member}")
}

pub fn account(email: &Email) -> String {
    format!("ACCOUNT#{email}")
}

pub const ACCOUNT_SK: &str = "ACCOUNT";

pub const MEMBERSHIP_SK_PREFIX: &str = "MEMBERSHIP#";

pub fn membership_sk(org: &OrgId) -> String {
    format!("{MEMBERSHIP_SK_PREFIX}{org}")
}

pub fn session(hash: &SecretHash) -> String {
    format!("SESSION#{}", hash.to_hex())
}

pub const SESSION_SK: &str = "SESSION";

pub fn member_sessions(org: &OrgId, member: &MemberId) -> String {
    format!("ORG#{org}#MEMBER#{member}")
}

pub fn member_session_sk(hash: &SecretHash) -> String {
    format!("SESSION#{}", hash.to_hex())
}

pub fn magic_link(hash: &SecretHash) -> String {
    format!("MAGICLINK#{}", hash.to_hex())
}

pub const MAGIC_LINK_SK: &str = "MAGICLINK";
pub const LATEST_MAGIC_LINK_SK: &str = "MAGICLINK";

/// `bucket` is already free of secrets and personal data (callers hash emails).
pub fn rate_limit(bucket: &str, window_secs: i64, window_start: i64) -> String {
    format!("RATE#{bucket}#{window_secs}#{window_start}")
}

pub const RATE_LIMIT_SK: &str = "RATE";

pub fn api_key_auth(hash: &SecretHash) -> String {
    format!("APIKEY#{}", hash.to_hex())
}

pub const API_KEY_AUTH_SK: &str = "APIKEY";
pub const API_KEY_SK_PREFIX: &str = "APIKEY#";

pub fn api_key_sk(key: &KeyId) -> String {
    format!("{API_KEY_SK_PREFIX}{key}")
}

pub const BRAND_SK_PREFIX: &str = "BRAND#";

/// The partition of one brand's data (customers, later tickets) in one tenant and mode.
pub fn brand_partition(org: &OrgId, mode: Mode, brand: &BrandId) -> String {
    format!("ORG#{org}#{mode}#BRAND#{brand}")
}

pub const CUSTOMER_SK_PREFIX: &str = "CUSTOMER#";

pub fn customer_sk(customer: &CustomerId) -> String {
    format!("{CUSTOMER_SK_PREFIX}{customer}")
}

pub const TICKET_SK_PREFIX: &str = "TICKET#";

pub fn ticket_sk(ticket: &TicketId) -> String {
    format!("{TICKET_SK_PREFIX}{ticket}")
}

/// Comments sort under their ticket, oldest first. (Not under `TICKET#`, which would put
/// them in ticket lists.)
pub fn comment_prefix(ticket: &TicketId) -> String {
    format!("COMMENT#{ticket}#")
}

pub fn comment_sk(ticket: &TicketId, comment: &CommentId) -> String {
    format!("{}{comment}", comment_prefix(ticket))
}

/// Attachments sort under their ticket. (Not under `TICKET#`, which would put them in
/// ticket lists.)
pub fn attachment_prefix(ticket: &TicketId) -> String {
    format!("ATTACHMENT#{ticket}#")
}

pub fn attachment_sk(ticket: &TicketId, attachment: &AttachmentId) -> String {
    format!("{}{attachment}", attachment_prefix(ticket))
}

/// An upload made before its ticket exists (portal), waiting for `attachmentIds`.
pub fn pending_attachment_sk(attachment: &AttachmentId) -> String {
    format!("PENDINGATTACHMENT#{attachment}")
}

/// The token lookup of an intake endpoint (the public form URL's only read).
pub fn intake(token: &IntakeToken) -> String {
    format!("INTAKE#{token}")
}

pub const INTAKE_SK: &str = "INTAKE";
pub const INTAKE_SK_PREFIX: &str = "INTAKE#";

pub fn intake_sk(token: &IntakeToken) -> String {
    format!("{INTAKE_SK_PREFIX}{token}")
}

/// Where mail to a brand's inbound address (`{brand}@{domain}`) goes: the brand's
/// organization and mode, the one thing the address does not say.
pub fn brand_mail(brand: &BrandId) -> String {
    format!("BRANDMAIL#{brand}")
}

pub const BRAND_MAIL_SK: &str = "BRANDMAIL";

/// Inbound mail SES judged spam or a virus, kept for a person to look at, never ticketed.
pub fn quarantine_sk(ses_message_id: &str) -> String {
    format!("QUARANTINE#{ses_message_id}")
}

/// One message about a ticket: `what` is `autoresponse` or the comment's id.
pub fn mail_sent_sk(ticket: &TicketId, what: &str) -> String {
    format!("MAILSENT#{ticket}#{what}")
}

/// An address the organization no longer mails.
pub fn suppressed_sk(email: &Email) -> String {
    format!("SUPPRESSED#{email}")
}

/// Brands that list `origin` among their portal origins.
pub fn portal_origin(origin: &str) -> String {
    format!("PORTALORIGIN#{origin}")
}

/// The customer-tickets index: a customer's tickets, found only through their own key.
pub const CUSTOMER_TICKETS_INDEX: &str = "customer-tickets";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";

pub fn customer_tickets(org: &OrgId, mode: Mode, brand: &BrandId, customer: &CustomerId) -> String {
    format!("{}#CUSTOMER#{customer}", brand_partition(org, mode, brand))
}

/// The two ticket-order indexes share a partition key that only tickets carry: their
/// brand partition, so the indexes hold tickets and nothing else of the brand.
pub const TICKETS_PK: &str = "ticketsPk";
/// Tickets by `updatedAt` (a number: seconds), which every write to a ticket sets.
pub const TICKETS_BY_UPDATED_INDEX: &str = "tickets-by-updated";
pub const UPDATED_AT: &str = "updatedAt";
/// Tickets by priority, then id (newest last): sort key [`priority_sk`].
pub const TICKETS_BY_PRIORITY_INDEX: &str = "tickets-by-priority";
pub const PRIORITY_SK: &str = "prioritySk";

/// `{rank}#{ticket}`: the rank (0 low … 4 urgent) orders, the time-sortable id breaks ties.
pub fn priority_sk(priority: Priority, ticket: &TicketId) -> String {
    format!("{}#{ticket}", priority.rank())
}

/// The ticket id at the end of a [`priority_sk`], if it is one.
pub fn ticket_of_priority_sk(sk: &str) -> Option<TicketId> {
    let (rank, id) = sk.split_once('#')?;
    (rank.len() == 1 && rank.as_bytes()[0].is_ascii_digit())
        .then(|| TicketId::parse(id))
        .flatten()
}

/// Where a ticket whose customer was not verified (an unsigned form post) sits in the same
/// index: the portal reads only [`customer_tickets`], so it never lists it, but deleting
/// the customer still finds it.
pub fn unverified_customer_tickets(
    org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    customer: &CustomerId,
) -> String {
    format!(
        "{}#UNVERIFIED",
        customer_tickets(org, mode, brand, customer)
    )
}

pub fn portal_link(hash: &SecretHash) -> String {
    format!("PORTALLINK#{}", hash.to_hex())
}

pub const PORTAL_LINK_SK: &str = "PORTALLINK";

/// `key_hash` is a SHA-256 of the route and the client's key.
pub fn idempotency_sk(key_hash: &str) -> String {
    format!("IDEMPOTENCY#{key_hash}")
}

pub const CUSTOMER_EMAIL_SK_PREFIX: &str = "CUSTOMEREMAIL#";

pub fn customer_email_sk(email: &Email) -> String {
    format!("{CUSTOMER_EMAIL_SK_PREFIX}{email}")
}

pub const FIELD_SK_PREFIX: &str = "FIELD#";

/// One entity's definitions: `FIELD#{entity}#`.
pub fn field_prefix(entity: Entity) -> String {
    format!("{FIELD_SK_PREFIX}{}#", entity.as_str())
}

pub fn field_sk(entity: Entity, key: &str) -> String {
    format!("{}{key}", field_prefix(entity))
}

pub fn field_count_sk(entity: Entity) -> String {
    format!("FIELDCOUNT#{}", entity.as_str())
}

pub const CUSTOMER_NAME_SK_PREFIX: &str = "CUSTOMERNAME#";

/// How names are compared for order and prefix search: lower-cased (a nameless customer
/// folds to "" and so sorts first).
pub fn fold_name(name: &str) -> String {
    name.to_lowercase()
}

/// The name index item of a customer: sorted by folded name, then by id.
pub fn customer_name_sk(name: Option<&str>, customer: &CustomerId) -> String {
    format!(
        "{CUSTOMER_NAME_SK_PREFIX}{}#{customer}",
        fold_name(name.unwrap_or_default())
    )
}

pub fn brand_sk(brand: &BrandId) -> String {
    format!("{BRAND_SK_PREFIX}{brand}")
}

/// The brand item's attribute counting the tickets created in `month` (`2026-11`), moved
/// by each create's transaction; usage sums it over the brands.
pub fn tickets_in_month(month: &str) -> String {
    format!("ticketsIn#{month}")
}

pub fn brand_slug_sk(slug: &str) -> String {
    format!("BRANDSLUG#{slug}")
}

pub const WEBHOOK_SK_PREFIX: &str = "WEBHOOK#";

/// A webhook, in its brand's partition (`begins_with(sk, "WEBHOOK#")` matches neither the
/// count nor the deliveries).
pub fn webhook_sk(webhook: &WebhookId) -> String {
    format!("{WEBHOOK_SK_PREFIX}{webhook}")
}

/// The brand's count of webhooks, which holds the cap.
pub const WEBHOOK_COUNT_SK: &str = "WEBHOOKCOUNT";

pub const CATEGORY_SK_PREFIX: &str = "CATEGORY#";

pub fn category_sk(category: &CategoryId) -> String {
    format!("{CATEGORY_SK_PREFIX}{category}")
}

/// Claims a (case-folded) category name within the brand.
pub fn category_name_sk(folded_name: &str) -> String {
    format!("CATEGORYNAME#{folded_name}")
}

pub const CATEGORY_COUNT_SK: &str = "CATEGORYCOUNT";

pub const TAG_SK_PREFIX: &str = "TAG#";

pub fn tag_sk(tag: &TagId) -> String {
    format!("{TAG_SK_PREFIX}{tag}")
}

/// Claims a (case-folded) tag name within the brand.
pub fn tag_name_sk(folded_name: &str) -> String {
    format!("TAGNAME#{folded_name}")
}

pub const TAG_COUNT_SK: &str = "TAGCOUNT";

/// A webhook's deliveries; their ids are time-sortable, so a descending Query is newest
/// first.
pub fn delivery_prefix(webhook: &WebhookId) -> String {
    format!("WEBHOOKDELIVERY#{webhook}#")
}

pub fn delivery_sk(webhook: &WebhookId, delivery: &DeliveryId) -> String {
    format!("{}{delivery}", delivery_prefix(webhook))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_start_with_org_and_mode() {
        let o = OrgId::generate(1);
        assert_eq!(tenant(&o, Mode::Test), format!("ORG#{o}#test"));
        assert_ne!(tenant(&o, Mode::Test), tenant(&o, Mode::Live));
    }
}
