//! `email-outbound`: the table's stream → mail to customers. Two things are sent, both in
//! live mode only (test mode is for building integrations, and its mail would reach real
//! people), both only to a customer whose address was proved (mail failing DMARC, unsigned
//! form posts: never answered, so a forged address gets no mail), never to a suppressed
//! address:
//!
//! - a new ticket with `notifyCustomer` gets the brand's autoresponse, when the brand has
//!   it on: once per ticket, at most [`AUTORESPONSE_LIMITS`] per address, marked
//!   `Auto-Submitted: auto-replied` so other responders do not answer it (RFC 3834);
//! - an agent's comment that is not internal, on a ticket with `notifyCustomer`, goes to
//!   the customer (and the comment's `cc`).
//!
//! Each message is claimed before it is sent (`MAILSENT#{ticket}#{what}`), so a retried
//! batch sends nothing twice; SES's message id is kept on the claim.

use dispatch_domain::brand::Brand;
use dispatch_domain::customer::Customer;
use dispatch_domain::ticket::{AuthorType, Comment, Ticket};
use dispatch_domain::{BrandId, Clock, Email, Mode, OrgId};
use dispatch_http::rate_limit::{self, Limit};
use dispatch_mail::{CustomerMail, MailError, Mailer};
use dispatch_store::stream::{self, Operation, StreamEvent, StreamRecord};
use dispatch_store::{
    BrandStore, CustomerStore, MailStore, RateLimitStore, SentMail, StoreError, TicketStore,
};
use serde::Serialize;
use std::sync::Arc;

use crate::Retry;

/// Autoresponses per address and brand: (window in seconds, messages).
pub const AUTORESPONSE_LIMITS: &[(i64, u64)] = &[(3600, 5)];

const DEFAULT_AUTORESPONSE_SUBJECT: &str = "We received your request [{{ticketNumber}}]";
const DEFAULT_AUTORESPONSE_BODY: &str = "Hello {{customerName}},\n\nWe received your request \
     \"{{title}}\" and will get back to you soon. Your ticket is {{ticketNumber}}.\n\nReply to \
     this message to add to it.";

/// What the function works with.
pub struct Outbound<S, M> {
    pub store: S,
    pub mailer: M,
    pub clock: Arc<dyn Clock>,
    /// The deployment's inbound domain: replies go to the ticket's own address on it.
    pub inbound_domain: Option<String>,
}

/// What became of one record that could mean mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "outcome"
)]
pub enum Outcome {
    /// `what`: `autoresponse` or the comment's id.
    Sent {
        ticket: String,
        what: String,
        ses_message_id: String,
    },
    Skipped {
        ticket: String,
        what: String,
        why: Skip,
    },
}

/// Why nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Skip {
    TestMode,
    /// The ticket does not ask for it (`notifyCustomer: false`), or the brand has no
    /// autoresponse.
    NotAsked,
    /// No customer, or one named by an address nobody proved.
    NoProvedCustomer,
    Suppressed,
    RateLimited,
    /// Sent already (a retried batch), or being sent.
    AlreadySent,
    /// The ticket or the brand is gone.
    Gone,
}

/// What a record asks for.
enum Job {
    Autoresponse(Ticket),
    Reply(Comment),
}

fn job(record: &StreamRecord) -> Result<Option<(OrgId, Mode, BrandId, Job)>, StoreError> {
    if stream::operation(record) != Some(Operation::Insert) {
        return Ok(None);
    }
    let new = stream::new_item(record);
    let Some((org, mode, brand)) = stream::brand_of(&new) else {
        return Ok(None);
    };
    let job = match stream::kind(&new) {
        Some("ticket") => Job::Autoresponse(stream::ticket(&new)?),
        Some("comment") => {
            let comment = stream::comment(&new)?;
            if comment.author_type != AuthorType::Agent || comment.is_internal() {
                return Ok(None);
            }
            Job::Reply(comment)
        }
        _ => return Ok(None),
    };
    Ok(Some((org, mode, brand, job)))
}

/// Handles a batch of the table's stream. An error fails the batch (Lambda retries it;
/// what was sent is not sent again).
pub async fn on_stream<S, M>(
    deps: &Outbound<S, M>,
    event: StreamEvent,
) -> Result<Vec<Outcome>, Retry>
where
    S: BrandStore + CustomerStore + TicketStore + MailStore + RateLimitStore,
    M: Mailer,
{
    let mut outcomes = Vec::new();
    for record in &event.records {
        let Some((org, mode, brand, job)) = job(record)? else {
            continue;
        };
        let outcome = match job {
            Job::Autoresponse(ticket) => autoresponse(deps, &org, mode, &brand, ticket).await?,
            Job::Reply(comment) => reply(deps, &org, mode, &brand, comment).await?,
        };
        tracing::info!(outcome = ?outcome, "customer mail");
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The ticket's customer, when mail may go to them: a proved address, not suppressed.
async fn proved_customer<S>(
    deps: &Outbound<S, impl Mailer>,
    org: &OrgId,
    mode: Mode,
    ticket: &Ticket,
) -> Result<Result<Customer, Skip>, Retry>
where
    S: CustomerStore + MailStore,
{
    if mode != Mode::Live {
        return Ok(Err(Skip::TestMode));
    }
    if !ticket.notify_customer {
        return Ok(Err(Skip::NotAsked));
    }
    let Some(id) = ticket
        .customer_id
        .as_ref()
        .filter(|_| ticket.customer_verified)
    else {
        return Ok(Err(Skip::NoProvedCustomer));
    };
    let Some(customer) = deps.store.customer(org, mode, &ticket.brand_id, id).await? else {
        return Ok(Err(Skip::NoProvedCustomer));
    };
    if deps.store.suppressed(org, &customer.email).await?.is_some() {
        return Ok(Err(Skip::Suppressed));
    }
    Ok(Ok(customer))
}

async fn autoresponse<S, M>(
    deps: &Outbound<S, M>,
    org: &OrgId,
    mode: Mode,
    brand_id: &BrandId,
    ticket: Ticket,
) -> Result<Outcome, Retry>
where
    S: BrandStore + CustomerStore + MailStore + RateLimitStore,
    M: Mailer,
{
    let what = "autoresponse".to_string();
    let skipped = |why| Outcome::Skipped {
        ticket: ticket.id.to_string(),
        what: what.clone(),
        why,
    };
    let customer = match proved_customer(deps, org, mode, &ticket).await? {
        Ok(c) => c,
        Err(why) => return Ok(skipped(why)),
    };
    let Some(brand) = deps.store.brand(org, mode, brand_id).await? else {
        return Ok(skipped(Skip::Gone));
    };
    if !brand.profile.autoresponse_enabled {
        return Ok(skipped(Skip::NotAsked));
    }
    let address =
        dispatch_auth::SecretHash::of(&format!("{brand_id}\n{}", customer.email)).to_hex();
    match rate_limit::enforce(
        &deps.store,
        &Limit::each(&format!("mail-auto#{address}"), AUTORESPONSE_LIMITS),
        deps.clock.now(),
    )
    .await
    {
        Ok(()) => {}
        Err(dispatch_http::ApiError::RateLimited { .. }) => return Ok(skipped(Skip::RateLimited)),
        Err(e) => return Err(e.into()),
    }
    let fill = |template: &str| fill_template(template, &ticket, &customer);
    let subject = fill(
        brand
            .profile
            .autoresponse_subject
            .as_deref()
            .unwrap_or(DEFAULT_AUTORESPONSE_SUBJECT),
    );
    let text = fill(
        brand
            .profile
            .autoresponse_body
            .as_deref()
            .unwrap_or(DEFAULT_AUTORESPONSE_BODY),
    );
    let mut mail = message(deps, org, mode, &brand, &ticket, &customer, subject, text);
    mail.headers
        .push(("Auto-Submitted".into(), "auto-replied".into()));
    send(deps, org, mode, &ticket, what, mail).await
}

async fn reply<S, M>(
    deps: &Outbound<S, M>,
    org: &OrgId,
    mode: Mode,
    brand_id: &BrandId,
    comment: Comment,
) -> Result<Outcome, Retry>
where
    S: BrandStore + CustomerStore + TicketStore + MailStore,
    M: Mailer,
{
    let what = comment.id.to_string();
    let skipped = |why| Outcome::Skipped {
        ticket: comment.ticket_id.to_string(),
        what: what.clone(),
        why,
    };
    let Some(ticket) = deps
        .store
        .ticket(org, mode, brand_id, &comment.ticket_id)
        .await?
        .filter(|t| t.deleted_at.is_none())
    else {
        return Ok(skipped(Skip::Gone));
    };
    let customer = match proved_customer(deps, org, mode, &ticket).await? {
        Ok(c) => c,
        Err(why) => return Ok(skipped(why)),
    };
    let Some(brand) = deps.store.brand(org, mode, brand_id).await? else {
        return Ok(skipped(Skip::Gone));
    };
    let subject = format!("Re: {} [{}]", ticket.title, ticket.display_number);
    let mut mail = message(
        deps,
        org,
        mode,
        &brand,
        &ticket,
        &customer,
        subject,
        comment.body.clone(),
    );
    for cc in &comment.cc {
        if *cc != customer.email && deps.store.suppressed(org, cc).await?.is_none() {
            mail.cc.push(cc.clone());
        }
    }
    send(deps, org, mode, &ticket, what, mail).await
}

/// `{{ticketNumber}}` (the display number, `ACME-42`), `{{title}}`, `{{customerName}}`
/// (the customer's name, else "there").
pub fn fill_template(template: &str, ticket: &Ticket, customer: &Customer) -> String {
    let name = customer.name.as_ref().map_or("there", |n| n.as_str());
    template
        .replace("{{ticketNumber}}", &ticket.display_number)
        .replace("{{title}}", &ticket.title)
        .replace("{{customerName}}", name)
}

/// A message about `ticket` to its customer: from the brand's name, replies routed back to
/// the ticket, threaded by our reference to it.
#[allow(clippy::too_many_arguments)]
fn message<S, M>(
    deps: &Outbound<S, M>,
    org: &OrgId,
    mode: Mode,
    brand: &Brand,
    ticket: &Ticket,
    customer: &Customer,
    subject: String,
    text: String,
) -> CustomerMail {
    let domain = deps.inbound_domain.as_deref();
    let reply_to = reply_to(&brand.id, ticket, brand.profile.from_email.as_ref(), domain);
    let headers = threading_headers(ticket, domain);
    let subject: String = subject
        .chars()
        .filter(|c| !c.is_control())
        .take(400)
        .collect();
    CustomerMail {
        to: customer.email.clone(),
        cc: Vec::new(),
        from_name: brand
            .profile
            .from_name
            .clone()
            .unwrap_or_else(|| brand.name.as_str().to_string()),
        reply_to,
        subject,
        html: html_of(&text),
        text,
        headers,
        tags: vec![
            ("org".to_string(), org.to_string()),
            ("mode".to_string(), mode.as_str().to_string()),
        ],
    }
}

/// Where a customer's answer goes: the ticket's own address when the deployment receives
/// mail, else the brand's `fromEmail`.
fn reply_to(
    brand: &BrandId,
    ticket: &Ticket,
    from_email: Option<&Email>,
    inbound_domain: Option<&str>,
) -> Option<String> {
    match inbound_domain {
        Some(domain) => Some(format!("{brand}+{}@{domain}", ticket.id)),
        None => from_email.map(ToString::to_string),
    }
}

/// `References` (the customer's first message, for a ticket from mail, then our reference
/// to the ticket) and `In-Reply-To` (the first of them): what mail clients thread by, and
/// what SES leaves as given.
fn threading_headers(ticket: &Ticket, inbound_domain: Option<&str>) -> Vec<(String, String)> {
    let mut references = Vec::new();
    if let Some(first) = ticket
        .source_id
        .as_deref()
        .filter(|_| ticket.source == "email")
    {
        references.push(format!("<{first}>"));
    }
    if let Some(domain) = inbound_domain {
        references.push(format!("<{}.ticket@{domain}>", ticket.id));
    }
    let mut headers = Vec::new();
    if let Some(first) = references.first().cloned() {
        headers.push(("References".to_string(), references.join(" ")));
        headers.push(("In-Reply-To".to_string(), first));
    }
    headers
}

/// The text as HTML: escaped, paragraphs and line breaks kept.
fn html_of(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let paragraphs: Vec<String> = escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect();
    paragraphs.join("\n")
}

async fn send<S, M>(
    deps: &Outbound<S, M>,
    org: &OrgId,
    mode: Mode,
    ticket: &Ticket,
    what: String,
    mail: CustomerMail,
) -> Result<Outcome, Retry>
where
    S: MailStore,
    M: Mailer,
{
    let sent = SentMail {
        brand_id: ticket.brand_id.clone(),
        ticket_id: ticket.id.clone(),
        what: what.clone(),
        to: mail.to.clone(),
        at: deps.clock.now(),
    };
    if !deps.store.claim_send(org, mode, &sent).await? {
        return Ok(Outcome::Skipped {
            ticket: ticket.id.to_string(),
            what,
            why: Skip::AlreadySent,
        });
    }
    match deps.mailer.send_to_customer(&mail).await {
        Ok(id) => {
            deps.store.mark_sent(org, mode, &sent, &id).await?;
            Ok(Outcome::Sent {
                ticket: ticket.id.to_string(),
                what,
                ses_message_id: id,
            })
        }
        Err(e) => {
            // Given back, so the retried batch sends it.
            deps.store.release_send(org, mode, &sent).await?;
            Err(Retry(match e {
                MailError::Unavailable(m) | MailError::Send(m) | MailError::Config(m) => m,
            }))
        }
    }
}

/// The address a mail event names, if it is an email address.
pub fn email_of(raw: &str) -> Option<Email> {
    let raw = raw.trim();
    let address = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(start), Some(end)) if start < end => &raw[start + 1..end],
        _ => raw,
    };
    Email::parse(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(source: &str, source_id: Option<&str>) -> Ticket {
        let now = dispatch_domain::Timestamp::from_unix(1_795_893_974);
        Ticket {
            id: dispatch_domain::TicketId::parse("tkt_01jq3v5x7b9d2f4h6k8m0n2p4s").unwrap(),
            brand_id: BrandId::parse("br_01jq3v5x7b9d2f4h6k8m0n2p4r").unwrap(),
            number: 1001,
            display_number: "DT-1001".into(),
            title: "Printer on fire".into(),
            body: None,
            status: dispatch_domain::ticket::Status::Open,
            priority: dispatch_domain::ticket::Priority::Normal,
            source: source.into(),
            customer_id: None,
            customer_verified: true,
            custom_fields: Default::default(),
            metadata: Default::default(),
            tags: Vec::new(),
            assignee_id: None,
            customer_email: None,
            category_id: None,
            created_by: None,
            links: Vec::new(),
            source_id: source_id.map(str::to_string),
            source_data: None,
            notify_customer: true,
            is_spam: false,
            merged_into_id: None,
            comment_count: 0,
            attachment_count: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    #[test]
    fn replies_thread_by_references_and_come_back_to_the_ticket() {
        let domain = Some("support.dispatch.test");
        let from_mail = ticket("email", Some("CAF1@mail.example.com"));
        assert_eq!(
            threading_headers(&from_mail, domain),
            vec![
                (
                    "References".to_string(),
                    "<CAF1@mail.example.com> <tkt_01jq3v5x7b9d2f4h6k8m0n2p4s.ticket@support.dispatch.test>"
                        .to_string()
                ),
                ("In-Reply-To".to_string(), "<CAF1@mail.example.com>".to_string()),
            ]
        );
        // A ticket from the API: its sourceId is the caller's, never a Message-ID.
        let from_api = ticket("api", Some("crm-42"));
        assert_eq!(
            threading_headers(&from_api, domain)[0].1,
            "<tkt_01jq3v5x7b9d2f4h6k8m0n2p4s.ticket@support.dispatch.test>"
        );
        assert!(threading_headers(&from_api, None).is_empty());
        let help = Email::parse("help@acme.example").unwrap();
        let brand = &from_api.brand_id;
        assert_eq!(
            reply_to(brand, &from_api, Some(&help), domain).as_deref(),
            Some(
                "br_01jq3v5x7b9d2f4h6k8m0n2p4r+tkt_01jq3v5x7b9d2f4h6k8m0n2p4s@support.dispatch.test"
            )
        );
        assert_eq!(
            reply_to(brand, &from_api, Some(&help), None).as_deref(),
            Some("help@acme.example")
        );
        assert_eq!(reply_to(brand, &from_api, None, None), None);
    }

    #[test]
    fn outcomes_read_as_the_api_writes_json() {
        let sent = Outcome::Sent {
            ticket: "tkt_x".into(),
            what: "autoresponse".into(),
            ses_message_id: "0100".into(),
        };
        assert_eq!(
            serde_json::to_value(&sent).unwrap(),
            serde_json::json!({"outcome": "sent", "ticket": "tkt_x", "what": "autoresponse", "sesMessageId": "0100"})
        );
    }

    #[test]
    fn html_is_escaped_and_keeps_paragraphs() {
        assert_eq!(
            html_of("Hi <b>&\n\"you\"\n\nBye"),
            "<p>Hi &lt;b&gt;&amp;<br>&quot;you&quot;</p>\n<p>Bye</p>"
        );
    }

    #[test]
    fn event_addresses_are_read_with_or_without_a_name() {
        assert_eq!(
            email_of("Jane <jane@example.com>").map(|e| e.to_string()),
            Some("jane@example.com".into())
        );
        assert_eq!(
            email_of(" jane@example.com ").map(|e| e.to_string()),
            Some("jane@example.com".into())
        );
        assert_eq!(email_of("nobody"), None);
    }
}
