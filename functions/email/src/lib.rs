//! Email as a ticket channel, inbound. SES receives mail for the deployment's inbound
//! domain, stores the raw message in the bucket (`inbound/{SES message id}`) and invokes
//! this function with its verdicts (SPF, DKIM, DMARC, spam, virus). For each brand the
//! message is addressed to (`{brand}@{domain}`, or `{brand}+{ticket}@{domain}`, the reply
//! address of one ticket), it is quarantined, ignored, or becomes a ticket or a comment:
//!
//! - spam or a virus: quarantined (a record for a person, never a ticket);
//! - automated (auto-replies, bounces, lists) or from our own addresses: ignored, so no
//!   mail loop can start;
//! - over the sender's or the brand's rate limit: ignored;
//! - a reply (its ticket named by the reply address or by our reference in `References`)
//!   from that ticket's customer, passing DMARC: a `CUSTOMER` comment on the ticket;
//! - anything else: a new ticket, its sender the customer. Mail that fails DMARC still
//!   makes a ticket, but unverified: kept out of that customer's portal, never threaded.
//!
//! Ids derive from SES's message id, so a retried invocation makes nothing twice.

pub mod feedback;
pub mod outbound;

use aws_lambda_events::event::ses::{SimpleEmailRecord, SimpleEmailVerdict};
use dispatch_auth::SecretHash;
use dispatch_domain::attachment::{self, Attachment, AttachmentStatus, MAX_ATTACHMENTS_PER_CREATE};
use dispatch_domain::brand::{Brand, Metadata};
use dispatch_domain::customer::CustomerName;
use dispatch_domain::ticket::{
    AuthorType, Comment, Priority, Status, Ticket, is_forbidden_in_text,
};
use dispatch_domain::{AttachmentId, BrandId, CommentId, Mode, OrgId, TicketId, Timestamp};
use dispatch_files::{Files, FilesError};
use dispatch_http::config::{ConfigError, env_var, parse_domain};
use dispatch_http::rate_limit::{self, Limit};
use dispatch_http::{ApiError, Context};
use dispatch_inbound::{InboundAttachment, InboundMail, threaded_ticket, trim_reply};
use dispatch_store::{
    BrandStore, CommentStore, CustomerStore, MailStore, QuarantinedMail, RateLimitStore,
    StoreError, TicketStore,
};
use dispatch_usecases::tickets::{NewTicket, TicketCustomer, open_ticket};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where the receipt rule's S3 action puts each message (`{prefix}{SES message id}`).
pub const INBOUND_PREFIX: &str = "inbound/";
/// SES receives messages of up to 40 MB; nothing larger can be there.
pub const MAX_MESSAGE_BYTES: u64 = 40 * 1024 * 1024;
/// The untrimmed text kept beside a trimmed body (in `sourceData.originalText`), in
/// characters; the raw message stays in the bucket for its lifecycle's 30 days.
pub const MAX_ORIGINAL_CHARS: usize = 8 * 1024;
/// Bodies are cut here (the API's limit for a body is 64 KiB).
const MAX_BODY_BYTES: usize = 60 * 1024;
const MAX_TITLE_CHARS: usize = 200;

/// Per sender and brand: (window in seconds, messages).
pub const SENDER_LIMITS: &[(i64, u64)] = &[(3600, 20), (86_400, 100)];
/// Per brand, every sender together.
pub const BRAND_LIMITS: &[(i64, u64)] = &[(3600, 500)];

/// What the function is configured with, read once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The inbound domain (`INBOUND_DOMAIN`), lower-cased: brands' addresses are on it.
    pub domain: String,
    /// Addresses we send from (`SENDER_ADDRESS`), lower-cased: mail from them is ours
    /// coming back, never a customer.
    pub own_addresses: Vec<String>,
}

impl MailConfig {
    pub fn from_env() -> Result<MailConfig, ConfigError> {
        MailConfig::from_vars(env_var)
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<MailConfig, ConfigError> {
        let domain = var("INBOUND_DOMAIN")
            .ok_or_else(|| ConfigError("INBOUND_DOMAIN is not set".into()))
            .and_then(|d| parse_domain("INBOUND_DOMAIN", &d))?;
        let own_addresses = var("SENDER_ADDRESS")
            .map(|a| vec![a.trim().to_ascii_lowercase()])
            .unwrap_or_default();
        Ok(MailConfig {
            domain,
            own_addresses,
        })
    }
}

/// What the function works with.
pub struct Inbound<S, F> {
    pub ctx: Context<S>,
    pub files: F,
    pub config: MailConfig,
}

/// What became of a message, per brand it was addressed to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    Opened {
        brand: BrandId,
        ticket: TicketId,
        verified: bool,
    },
    Continued {
        brand: BrandId,
        ticket: TicketId,
        comment: CommentId,
    },
    Quarantined {
        brand: BrandId,
        reason: &'static str,
    },
    Ignored {
        why: Ignored,
    },
}

/// Why a message made nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Ignored {
    /// No recipient is a brand address on our domain.
    NotForUs,
    /// The address names no brand (never had one, or it was deleted).
    UnknownBrand,
    /// An auto-reply, a bounce, a list message.
    Automated,
    /// From one of our own sending addresses.
    OwnMail,
    RateLimited,
    /// Not a mail message, or no sender address.
    Unreadable,
    /// A retried invocation: made already.
    AlreadyDone,
}

/// A failure worth retrying (the invocation fails; SES's asynchronous invoke retries it).
#[derive(Debug)]
pub struct Retry(pub String);

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Retry {}

impl From<ApiError> for Retry {
    fn from(e: ApiError) -> Retry {
        Retry(format!("{e:?}"))
    }
}

impl From<StoreError> for Retry {
    fn from(e: StoreError) -> Retry {
        Retry(e.to_string())
    }
}

impl From<FilesError> for Retry {
    fn from(e: FilesError) -> Retry {
        Retry(e.to_string())
    }
}

/// SES's judgement of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    /// `PROCESSING_FAILED`, `DISABLED` or absent: nothing was proved either way.
    Unknown,
}

impl Verdict {
    fn of(v: &SimpleEmailVerdict) -> Verdict {
        match v.status.as_deref() {
            Some("PASS") => Verdict::Pass,
            Some("FAIL") => Verdict::Fail,
            Some("GRAY") => Verdict::Gray,
            _ => Verdict::Unknown,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Gray => "GRAY",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// The receipt's verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub spf: Verdict,
    pub dkim: Verdict,
    pub dmarc: Verdict,
    pub spam: Verdict,
    pub virus: Verdict,
}

impl Verdicts {
    pub fn of(record: &SimpleEmailRecord) -> Verdicts {
        let r = &record.ses.receipt;
        Verdicts {
            spf: Verdict::of(&r.spf_verdict),
            dkim: Verdict::of(&r.dkim_verdict),
            dmarc: Verdict::of(&r.dmarc_verdict),
            spam: Verdict::of(&r.spam_verdict),
            virus: Verdict::of(&r.virus_verdict),
        }
    }

    /// The `From` domain vouched for the message: DMARC passed, which takes SPF or DKIM
    /// passing *for that domain*. SPF or DKIM passing alone can be for any domain (an
    /// attacker's own), so neither proves who the `From` is.
    pub fn sender_verified(&self) -> bool {
        self.dmarc == Verdict::Pass
    }

    /// Why the message is quarantined, if it is.
    pub fn quarantine_reason(&self) -> Option<&'static str> {
        if self.virus == Verdict::Fail {
            Some("virus")
        } else if self.spam == Verdict::Fail {
            Some("spam")
        } else {
            None
        }
    }

    fn to_json(self) -> Value {
        json!({
            "spf": self.spf.as_str(),
            "dkim": self.dkim.as_str(),
            "dmarc": self.dmarc.as_str(),
        })
    }
}

/// A recipient that is one of our addresses: `{brand}@{domain}`, or `{brand}+{ticket}@{domain}`
/// (the reply address of one ticket). Addresses are compared without case (mail systems
/// may change it; our ids are lower-case).
pub fn brand_address(recipient: &str, domain: &str) -> Option<(BrandId, Option<TicketId>)> {
    let recipient = recipient.trim().to_ascii_lowercase();
    let (local, at) = recipient.rsplit_once('@')?;
    if at != domain {
        return None;
    }
    match local.split_once('+') {
        Some((brand, ticket)) => Some((BrandId::parse(brand)?, TicketId::parse(ticket))),
        None => Some((BrandId::parse(local)?, None)),
    }
}

/// Handles one SES receipt record: reads the message once and applies it to every brand
/// it is addressed to.
pub async fn receive<S, F>(
    deps: &Inbound<S, F>,
    record: &SimpleEmailRecord,
) -> Result<Vec<Outcome>, Retry>
where
    S: BrandStore + CustomerStore + TicketStore + CommentStore + MailStore + RateLimitStore,
    F: Files,
{
    let mut addressed: Vec<(BrandId, Option<TicketId>)> = Vec::new();
    for r in &record.ses.receipt.recipients {
        if let Some((brand, ticket)) = brand_address(r, &deps.config.domain)
            && !addressed.iter().any(|(b, _)| *b == brand)
        {
            addressed.push((brand, ticket));
        }
    }
    if addressed.is_empty() {
        return Ok(vec![Outcome::Ignored {
            why: Ignored::NotForUs,
        }]);
    }
    let Some(ses_id) =
        record.ses.mail.message_id.clone().filter(|id| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    else {
        tracing::warn!("a receipt without a usable SES message id");
        return Ok(vec![Outcome::Ignored {
            why: Ignored::Unreadable,
        }]);
    };
    let key = format!("{INBOUND_PREFIX}{ses_id}");
    let raw = match deps.files.get(&key, MAX_MESSAGE_BYTES).await {
        Ok(Some(raw)) => raw,
        Ok(None) => {
            // The rule's S3 action runs before this one: a missing object is a deployment
            // fault worth a retry and an alarm, not a silent drop.
            return Err(Retry(format!("{key} is not in the bucket")));
        }
        Err(FilesError::TooLarge(size)) => {
            tracing::warn!(ses_id, size, "message larger than SES receives; ignored");
            return Ok(vec![Outcome::Ignored {
                why: Ignored::Unreadable,
            }]);
        }
        Err(e) => return Err(e.into()),
    };
    let mail = match dispatch_inbound::parse(&raw) {
        Ok(mail) => mail,
        Err(e) => {
            tracing::info!(ses_id, error = %e, "unreadable message ignored");
            return Ok(vec![Outcome::Ignored {
                why: Ignored::Unreadable,
            }]);
        }
    };
    let received = Received {
        ses_id: &ses_id,
        at_millis: record.ses.receipt.timestamp.timestamp_millis(),
        verdicts: Verdicts::of(record),
        mail: &mail,
    };
    let mut outcomes = Vec::new();
    for (brand, ticket) in addressed {
        let outcome = for_brand(deps, &received, &brand, ticket).await?;
        tracing::info!(ses_id, brand = %brand, outcome = ?outcome, "inbound mail");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One message, read.
struct Received<'a> {
    ses_id: &'a str,
    at_millis: i64,
    verdicts: Verdicts,
    mail: &'a InboundMail,
}

impl Received<'_> {
    /// 80 bits naming (message, brand, what): the same inputs always give the same ids.
    fn bits(&self, brand: &BrandId, what: &str) -> [u8; 10] {
        let mut hash = Sha256::new();
        for part in [self.ses_id, brand.as_str(), what] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let mut out = [0u8; 10];
        out.copy_from_slice(&digest[..10]);
        out
    }

    fn source_data(&self, original: Option<&str>, skipped: &[Value]) -> Option<Metadata> {
        let mut data = json!({
            "from": self.mail.from.as_str(),
            "subject": self.mail.subject.chars().take(MAX_TITLE_CHARS * 2).collect::<String>(),
            "sesMessageId": self.ses_id,
            "senderVerified": self.verdicts.sender_verified(),
            "authentication": self.verdicts.to_json(),
        });
        if let Some(original) = original {
            let kept: String = original.chars().take(MAX_ORIGINAL_CHARS).collect();
            data["originalTruncated"] = json!(kept.len() < original.len());
            data["originalText"] = json!(kept);
        }
        if !skipped.is_empty() {
            data["skippedAttachments"] = json!(skipped);
        }
        Metadata::parse(data).ok()
    }
}

async fn for_brand<S, F>(
    deps: &Inbound<S, F>,
    received: &Received<'_>,
    brand_id: &BrandId,
    reply_to: Option<TicketId>,
) -> Result<Outcome, Retry>
where
    S: BrandStore + CustomerStore + TicketStore + CommentStore + MailStore + RateLimitStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let Some((org, mode)) = ctx.store.mail_route(brand_id).await? else {
        return Ok(Outcome::Ignored {
            why: Ignored::UnknownBrand,
        });
    };
    let Some(brand) = ctx.store.brand(&org, mode, brand_id).await? else {
        return Ok(Outcome::Ignored {
            why: Ignored::UnknownBrand,
        });
    };
    let mail = received.mail;
    if let Some(reason) = received.verdicts.quarantine_reason() {
        ctx.store
            .quarantine(
                &org,
                mode,
                &QuarantinedMail {
                    brand_id: brand.id.clone(),
                    ses_message_id: received.ses_id.to_string(),
                    from: mail.from.to_string(),
                    subject: clean_line(&mail.subject, MAX_TITLE_CHARS),
                    reason: reason.to_string(),
                    received_at: Timestamp::from_unix(received.at_millis / 1000),
                },
            )
            .await?;
        return Ok(Outcome::Quarantined {
            brand: brand.id,
            reason,
        });
    }
    if mail.automated.is_some() {
        return Ok(Outcome::Ignored {
            why: Ignored::Automated,
        });
    }
    let from = mail.from.as_str().to_ascii_lowercase();
    let ours = deps.config.own_addresses.contains(&from)
        || from
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain == deps.config.domain);
    if ours {
        return Ok(Outcome::Ignored {
            why: Ignored::OwnMail,
        });
    }
    match within_limits(ctx, &brand.id, &from).await {
        Ok(()) => {}
        Err(ApiError::RateLimited { .. }) => {
            return Ok(Outcome::Ignored {
                why: Ignored::RateLimited,
            });
        }
        Err(e) => return Err(e.into()),
    }
    let verified = received.verdicts.sender_verified();
    // A reply threads only when its sender is proved and is the ticket's customer: a
    // leaked reply address or a forged `From` opens a ticket of its own instead.
    if verified
        && let Some(id) =
            reply_to.or_else(|| threaded_ticket(&mail.references, &deps.config.domain))
        && let Some(ticket) = live_ticket(ctx, &org, mode, &brand.id, id).await?
        && ticket
            .customer_email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&from))
    {
        return continue_ticket(deps, received, &org, mode, &brand, ticket).await;
    }
    open(deps, received, &org, mode, brand, verified).await
}

/// Sender and brand limits, counted per message: a flood from one address (or a loop with
/// a responder that does not say it is one) stops making tickets.
async fn within_limits<S: RateLimitStore>(
    ctx: &Context<S>,
    brand: &BrandId,
    from: &str,
) -> Result<(), ApiError> {
    // Buckets hold hashes: the table keeps no sender address in them.
    let sender = SecretHash::of(&format!("{brand}\n{from}")).to_hex();
    let mut limits = Limit::each(&format!("mail-from#{sender}"), SENDER_LIMITS);
    limits.extend(Limit::each(&format!("mail-brand#{brand}"), BRAND_LIMITS));
    rate_limit::enforce(&ctx.store, &limits, ctx.clock.now()).await
}

/// The ticket a reply names, following a merge once; `None` when it is gone.
async fn live_ticket<S: TicketStore>(
    ctx: &Context<S>,
    org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    id: TicketId,
) -> Result<Option<Ticket>, Retry> {
    let Some(ticket) = ctx.store.ticket(org, mode, brand, &id).await? else {
        return Ok(None);
    };
    let ticket = match &ticket.merged_into_id {
        Some(into) => match ctx.store.ticket(org, mode, brand, into).await? {
            Some(t) => t,
            None => return Ok(None),
        },
        None => ticket,
    };
    Ok(Some(ticket).filter(|t| t.deleted_at.is_none()))
}

async fn continue_ticket<S, F>(
    deps: &Inbound<S, F>,
    received: &Received<'_>,
    org: &OrgId,
    mode: Mode,
    brand: &Brand,
    ticket: Ticket,
) -> Result<Outcome, Retry>
where
    S: TicketStore + CommentStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let id = CommentId::derived(received.at_millis, received.bits(&brand.id, "comment"));
    if ctx
        .store
        .comment(org, mode, &brand.id, &ticket.id, &id)
        .await?
        .is_some()
    {
        return Ok(Outcome::Ignored {
            why: Ignored::AlreadyDone,
        });
    }
    let mail = received.mail;
    let (body, original) = body_of(&mail.text);
    let (files, skipped) = store_files(deps, received, (org, mode, &brand.id), &ticket.id).await?;
    let now = ctx.clock.now();
    let comment = Comment {
        id: id.clone(),
        ticket_id: ticket.id.clone(),
        body: body.unwrap_or_else(|| "(no message text)".into()),
        author_type: AuthorType::Customer,
        author_name: Some(
            mail.from_name
                .as_deref()
                .map(|n| clean_line(n, 100))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| mail.from.to_string()),
        ),
        author_id: ticket.customer_id.as_ref().map(ToString::to_string),
        parent_id: None,
        links: Vec::new(),
        metadata: Metadata::default(),
        source: "email".into(),
        source_id: mail.message_id.as_deref().map(|m| clean_line(m, 500)),
        source_data: received.source_data(original.as_deref(), &skipped),
        cc: Vec::new(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    // The customer wrote back: the ticket needs an agent again.
    let reopen = (ticket.status != Status::Open).then_some(Status::Open);
    match ctx
        .store
        .add_comment(org, mode, &brand.id, &comment, reopen, &files)
        .await
    {
        Ok(()) => Ok(Outcome::Continued {
            brand: brand.id.clone(),
            ticket: ticket.id,
            comment: id,
        }),
        // Deleted between the read and the write: nothing to continue.
        Err(StoreError::NotFound) => Ok(Outcome::Ignored {
            why: Ignored::UnknownBrand,
        }),
        Err(e) => Err(e.into()),
    }
}

async fn open<S, F>(
    deps: &Inbound<S, F>,
    received: &Received<'_>,
    org: &OrgId,
    mode: Mode,
    brand: Brand,
    verified: bool,
) -> Result<Outcome, Retry>
where
    S: BrandStore + CustomerStore + TicketStore,
    F: Files,
{
    let ctx = &deps.ctx;
    let id = TicketId::derived(received.at_millis, received.bits(&brand.id, "ticket"));
    if ctx.store.ticket(org, mode, &brand.id, &id).await?.is_some() {
        return Ok(Outcome::Ignored {
            why: Ignored::AlreadyDone,
        });
    }
    let mail = received.mail;
    let (body, original) = body_of(&mail.text);
    let title = Some(clean_line(&mail.subject, MAX_TITLE_CHARS))
        .filter(|t| !t.is_empty())
        .or_else(|| {
            body.as_deref()
                .and_then(|b| b.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|l| clean_line(l, 80))
        })
        .unwrap_or_else(|| "(no subject)".into());
    let (attachments, skipped) = store_files(deps, received, (org, mode, &brand.id), &id).await?;
    let name = mail
        .from_name
        .as_deref()
        .and_then(|n| CustomerName::parse(&clean_line(n, 100)).ok());
    let brand_id = brand.id.clone();
    let new = NewTicket {
        id,
        title,
        body,
        status: Status::Open,
        priority: Priority::Normal,
        source: "email".into(),
        // A forged `From` must not become that customer's ticket.
        customer: if verified {
            TicketCustomer::ByEmail(mail.from.clone(), name)
        } else {
            TicketCustomer::Claimed(mail.from.clone(), name)
        },
        custom_fields: Metadata::default(),
        metadata: Metadata::default(),
        tags: Vec::new(),
        assignee_id: None,
        category_id: None,
        created_by: None,
        links: Vec::new(),
        source_id: mail.message_id.as_deref().map(|m| clean_line(m, 500)),
        source_data: received.source_data(original.as_deref(), &skipped),
        // They wrote in themselves: they hear back.
        notify_customer: true,
        attachments,
        claimed_pending: Vec::new(),
    };
    let (ticket, _) = open_ticket(ctx, org, mode, brand, new).await?;
    Ok(Outcome::Opened {
        brand: brand_id,
        ticket: ticket.id,
        verified,
    })
}

/// The text a ticket or comment shows (quoted history and signature trimmed, at most
/// [`MAX_BODY_BYTES`]) and, when trimming removed something, the whole text.
fn body_of(text: &str) -> (Option<String>, Option<String>) {
    let text = clean_text(text);
    let trimmed = trim_reply(&text);
    let body = cut(&trimmed, MAX_BODY_BYTES);
    let original = (trimmed.len() < text.len()).then_some(text);
    (Some(body).filter(|b| !b.trim().is_empty()), original)
}

/// Text without the control characters bodies refuse (tabs and line breaks stay).
fn clean_text(text: &str) -> String {
    text.chars().filter(|&c| !is_forbidden_in_text(c)).collect()
}

/// One line of at most `max` characters: control characters become spaces.
fn clean_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    line.trim().to_string()
}

/// At most `max` bytes, cut at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Stores the message's files that the upload rules allow under the ticket; the others are
/// listed (name and why) for `sourceData.skippedAttachments`. Mail cannot be answered with
/// a 400, so a refused file is left out, not the message.
async fn store_files<S, F: Files>(
    deps: &Inbound<S, F>,
    received: &Received<'_>,
    (org, mode, brand): (&OrgId, Mode, &BrandId),
    ticket: &TicketId,
) -> Result<(Vec<Attachment>, Vec<Value>), Retry> {
    let now = deps.ctx.clock.now();
    let mut stored = Vec::new();
    let mut skipped = Vec::new();
    for (i, file) in received.mail.attachments.iter().enumerate() {
        let InboundAttachment {
            filename,
            content_type,
            bytes,
            ..
        } = file;
        let checked = allowed(filename, content_type, bytes.len() as u64);
        let (filename, content_type) = match checked {
            Ok(ok) if stored.len() < MAX_ATTACHMENTS_PER_CREATE => ok,
            Ok(_) => {
                skipped.push(json!({"filename": clean_line(filename, 255), "reason": format!("more than {MAX_ATTACHMENTS_PER_CREATE} files")}));
                continue;
            }
            Err(reason) => {
                skipped.push(json!({"filename": clean_line(filename, 255), "reason": reason}));
                continue;
            }
        };
        let id = AttachmentId::derived(
            received.at_millis,
            received.bits(brand, &format!("attachment {i}")),
        );
        let object_key = attachment::object_key(org, mode, brand, Some(ticket), &id);
        deps.files
            .put(&object_key, &content_type, bytes.clone())
            .await?;
        stored.push(Attachment {
            id,
            brand_id: brand.clone(),
            ticket_id: Some(ticket.clone()),
            customer_id: None,
            filename,
            content_type,
            size: bytes.len() as u64,
            status: AttachmentStatus::Uploaded,
            object_key,
            uploaded_by: Some(received.mail.from.to_string()),
            created_at: now,
            updated_at: now,
        });
    }
    Ok((stored, skipped))
}

/// The upload rules (type allow-list, name, extension matching the type, size).
fn allowed(filename: &str, content_type: &str, size: u64) -> Result<(String, String), String> {
    let content_type = attachment::parse_content_type(content_type)?;
    let filename = attachment::parse_filename(filename)?;
    attachment::check_extension(&filename, &content_type)?;
    attachment::parse_size(size)?;
    Ok((filename, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_addresses_are_read_without_case_and_only_on_our_domain() {
        let brand = BrandId::parse("br_01jq3v5x7b9d2f4h6k8m0n2p4r").unwrap();
        let ticket = TicketId::parse("tkt_01jq3v5x7b9d2f4h6k8m0n2p4s").unwrap();
        let domain = "support.dispatch.test";
        assert_eq!(
            brand_address(
                "BR_01JQ3V5X7B9D2F4H6K8M0N2P4R@Support.Dispatch.Test",
                domain
            ),
            Some((brand.clone(), None))
        );
        assert_eq!(
            brand_address(
                "br_01jq3v5x7b9d2f4h6k8m0n2p4r+tkt_01jq3v5x7b9d2f4h6k8m0n2p4s@support.dispatch.test",
                domain
            ),
            Some((brand.clone(), Some(ticket)))
        );
        // A tag that is not a ticket is still the brand's address.
        assert_eq!(
            brand_address(
                "br_01jq3v5x7b9d2f4h6k8m0n2p4r+sales@support.dispatch.test",
                domain
            ),
            Some((brand, None))
        );
        for other in [
            "br_01jq3v5x7b9d2f4h6k8m0n2p4r@dispatch.test",
            "br_01jq3v5x7b9d2f4h6k8m0n2p4r@evil.support.dispatch.test",
            "support@support.dispatch.test",
            "not an address",
        ] {
            assert_eq!(brand_address(other, domain), None, "{other}");
        }
    }

    #[test]
    fn only_dmarc_proves_the_sender_and_only_failures_quarantine() {
        let v = |dmarc, spam, virus| Verdicts {
            spf: Verdict::Pass,
            dkim: Verdict::Pass,
            dmarc,
            spam,
            virus,
        };
        assert!(v(Verdict::Pass, Verdict::Pass, Verdict::Pass).sender_verified());
        // SPF and DKIM passing for some domain, no DMARC policy: not proved.
        assert!(!v(Verdict::Gray, Verdict::Pass, Verdict::Pass).sender_verified());
        assert!(!v(Verdict::Fail, Verdict::Pass, Verdict::Pass).sender_verified());
        assert_eq!(
            v(Verdict::Pass, Verdict::Fail, Verdict::Pass).quarantine_reason(),
            Some("spam")
        );
        assert_eq!(
            v(Verdict::Pass, Verdict::Fail, Verdict::Fail).quarantine_reason(),
            Some("virus")
        );
        assert_eq!(
            v(Verdict::Pass, Verdict::Unknown, Verdict::Gray).quarantine_reason(),
            None
        );
    }

    #[test]
    fn bodies_are_trimmed_cut_and_cleaned_and_the_original_kept_when_it_differs() {
        let (body, original) = body_of("Thanks!\n\nOn Tue, Dec 1, 2026 Acme wrote:\n> old");
        assert_eq!(body.as_deref(), Some("Thanks!"));
        assert!(original.unwrap().contains("> old"));
        let (body, original) = body_of("Just this\u{7}.");
        assert_eq!(body.as_deref(), Some("Just this."));
        assert_eq!(original, None);
        let long = "é".repeat(MAX_BODY_BYTES);
        let (body, _) = body_of(&long);
        assert!(body.unwrap().len() <= MAX_BODY_BYTES);
        assert_eq!(body_of("   ").0, None);
    }

    #[test]
    fn the_config_needs_a_domain_name() {
        let vars = |domain: &'static str| {
            move |name: &str| match name {
                "INBOUND_DOMAIN" => Some(domain.to_string()),
                "SENDER_ADDRESS" => Some("Support@Dispatch.test".to_string()),
                _ => None,
            }
        };
        let config = MailConfig::from_vars(vars("Support.Dispatch.Test")).unwrap();
        assert_eq!(config.domain, "support.dispatch.test");
        assert_eq!(config.own_addresses, ["support@dispatch.test"]);
        for bad in ["localhost", "a..b", "exa mple.com", "@x.com"] {
            assert!(MailConfig::from_vars(vars(bad)).is_err(), "{bad}");
        }
        assert!(MailConfig::from_vars(|_| None).is_err());
    }
}
