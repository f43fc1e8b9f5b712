//! Inbound mail: a raw RFC 5322 message (as SES stores it) read into what a ticket needs,
//! and the rules that keep automated mail from opening tickets or getting answers.
//!
//! Pure functions, no AWS: the email channel's function reads the message from S3 and
//! SES's verdicts from the receipt event, then decides with these. MIME, transfer
//! encodings, charsets (UTF-8, ISO-8859-x, Shift_JIS, ISO-2022-JP, ...) and encoded words
//! are `mail-parser`'s; what this crate adds is the product's reading of them.

use dispatch_domain::{Email, TicketId};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};

/// A message as the email channel uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// The `From` address (normalized), whoever it claims to be: SES's verdicts decide
    /// whether it is believed.
    pub from: Email,
    pub from_name: Option<String>,
    /// `To` and `Cc` addresses, lower-cased: where the brand's address is looked for.
    pub recipients: Vec<String>,
    /// Decoded; empty when absent.
    pub subject: String,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To`, then `References`, without angle brackets, each once: what a reply
    /// threads by.
    pub references: Vec<String>,
    /// The whole text: the text part, or the HTML part turned into text; `\n` line ends.
    pub text: String,
    pub attachments: Vec<InboundAttachment>,
    /// Why this is automated mail (an auto-reply, a bounce, a list), if it is.
    pub automated: Option<Automated>,
}

/// A file of a message: an attachment, or an inline part such as an embedded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    pub filename: String,
    /// `type/subtype`, lower-cased.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Shown inside the message (`Content-Disposition: inline`, or referenced by a
    /// `Content-ID`) rather than attached.
    pub inline: bool,
}

/// Mail no person wrote to us: it never opens a ticket and never gets an autoresponse,
/// so two automatic responders cannot answer each other forever (RFC 3834).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automated {
    /// `Auto-Submitted` other than `no` (auto-replies, auto-generated notices).
    AutoSubmitted(String),
    /// `Precedence: bulk | junk | list | auto_reply`.
    Precedence(String),
    /// `List-Id` or `List-Unsubscribe`: a mailing list.
    MailingList,
    /// A delivery report (`multipart/report`), or mail from the null sender
    /// (`Return-Path: <>`) or a mailer daemon.
    Bounce,
    /// `X-Autoreply`, `X-Autorespond` (responders that predate RFC 3834).
    AutoReplyHeader,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    /// Not a message a parser can read (no headers).
    NotAMessage,
    /// No `From` address that is an email address.
    NoSender,
}

impl std::fmt::Display for InboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InboundError::NotAMessage => "not a mail message",
            InboundError::NoSender => "no sender address",
        })
    }
}

impl std::error::Error for InboundError {}

/// Reads a raw message.
pub fn parse(raw: &[u8]) -> Result<InboundMail, InboundError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(InboundError::NotAMessage)?;
    let sender = message.from().and_then(Address::first);
    let from = sender
        .and_then(|a| a.address())
        .and_then(Email::parse)
        .ok_or(InboundError::NoSender)?;
    let from_name = sender
        .and_then(|a| a.name())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let mut recipients = Vec::new();
    for address in message.all_to().chain(message.all_cc()) {
        for addr in address.iter() {
            if let Some(a) = addr.address() {
                recipients.push(a.trim().to_lowercase());
            }
        }
    }
    let mut references = Vec::new();
    for id in ids(message.in_reply_to())
        .into_iter()
        .chain(ids(message.references()))
    {
        if !references.contains(&id) {
            references.push(id);
        }
    }
    Ok(InboundMail {
        automated: automated(&message),
        from,
        from_name,
        recipients,
        subject: message.subject().unwrap_or_default().trim().to_string(),
        message_id: message.message_id().map(str::to_string),
        references,
        // Line ends as `\n`, whatever the message used (SMTP's are `\r\n`; a bare `\r`,
        // which RFC 5322 forbids, ends a line too).
        text: message
            .body_text(0)
            .map(|t| {
                t.replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default(),
        attachments: attachments(&message),
    })
}

/// The message ids of an `In-Reply-To` or `References` header.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn attachments(message: &Message<'_>) -> Vec<InboundAttachment> {
    message
        .attachments()
        // A forwarded message (`message/rfc822`) is kept as a file too, whole.
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let inline = part.content_disposition().is_some_and(|d| d.is_inline())
                || part.content_id().is_some();
            InboundAttachment {
                filename: part
                    .attachment_name()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .unwrap_or("attachment")
                    .to_string(),
                content_type,
                bytes: part.contents().to_vec(),
                inline,
            }
        })
        .collect()
}

fn automated(message: &Message<'_>) -> Option<Automated> {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(value) = header("Auto-Submitted")
        && value.split(';').next().map(str::trim) != Some("no")
    {
        return Some(Automated::AutoSubmitted(value));
    }
    if message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    }) {
        return Some(Automated::Bounce);
    }
    if header("Return-Path").is_some_and(|v| v == "<>") {
        return Some(Automated::Bounce);
    }
    let from_local = message
        .from()
        .and_then(Address::first)
        .and_then(|a| a.address())
        .and_then(|a| a.split('@').next())
        .map(str::to_ascii_lowercase);
    if from_local.is_some_and(|l| l == "mailer-daemon" || l == "postmaster") {
        return Some(Automated::Bounce);
    }
    if let Some(value) = header("Precedence")
        && ["bulk", "junk", "list", "auto_reply"].contains(&value.as_str())
    {
        return Some(Automated::Precedence(value));
    }
    if header("List-Id").is_some() || header("List-Unsubscribe").is_some() {
        return Some(Automated::MailingList);
    }
    if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() {
        return Some(Automated::AutoReplyHeader);
    }
    None
}

/// The part of a reply its writer wrote: the text above the quoted history (`On … wrote:`,
/// Outlook's `-----Original Message-----` or `From:` block, `>` lines) and above the
/// signature (a `-- ` line). The whole text when that would leave nothing.
pub fn trim_reply(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let bare = line.trim();
        let quote_header = bare.starts_with("On ") && bare.ends_with("wrote:")
            // The attribution wrapped onto two lines by the client.
            || (bare.starts_with("On ")
                && lines.get(i + 1).is_some_and(|next| next.trim().ends_with("wrote:")));
        let outlook = bare.starts_with("-----Original Message-----")
            || bare.starts_with("________________________________")
            || (bare.starts_with("From:")
                && lines[i + 1..]
                    .iter()
                    .take(4)
                    .any(|l| l.trim_start().starts_with("Sent:")));
        let signature = *line == "-- " || bare == "--";
        if quote_header || outlook || signature || bare.starts_with('>') {
            break;
        }
        kept.push(line);
    }
    let trimmed = kept.join("\n").trim().to_string();
    if trimmed.is_empty() {
        text.trim().to_string()
    } else {
        trimmed
    }
}

/// The ticket a reply continues, by the message ids we sent: ours are
/// `{ticket}.{comment or "ticket"}@{domain}`, so any reference of that shape on our own
/// domain names the ticket. A reference to someone else's message names none.
pub fn threaded_ticket(references: &[String], our_domain: &str) -> Option<TicketId> {
    references.iter().find_map(|id| {
        let (local, domain) = id.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(our_domain) {
            return None;
        }
        let (ticket, _) = local.split_once('.')?;
        TicketId::parse(ticket)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> InboundMail {
        let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        parse(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn a_plain_message_gives_sender_recipient_subject_and_text() {
        let m = fixture("plain.eml");
        assert_eq!(m.from.as_str(), "jane@example.com");
        assert_eq!(m.from_name.as_deref(), Some("Jane Doe"));
        assert_eq!(
            m.recipients,
            ["br_01jq3v5x7b9d2f4h6k8m0n2p4r@support.dispatch.test"]
        );
        assert_eq!(m.subject, "Cannot log in");
        assert_eq!(m.message_id.as_deref(), Some("CAF1234567@mail.example.com"));
        assert!(m.references.is_empty());
        assert!(m.text.starts_with("Hi,\n\nThe reset link"), "{:?}", m.text);
        assert!(m.attachments.is_empty());
        assert_eq!(m.automated, None);
    }

    #[test]
    fn an_html_only_message_becomes_text_without_its_markup_or_scripts() {
        let m = fixture("html-only.eml");
        assert_eq!(m.subject, "Invoice €120 is wrong");
        assert_eq!(m.from_name.as_deref(), Some("Bob Smith"));
        assert!(m.text.contains("agreed on €100"), "{:?}", m.text);
        assert!(!m.text.contains('<'), "{:?}", m.text);
        assert!(!m.text.contains("alert(1)"), "{:?}", m.text);
    }

    #[test]
    fn attachments_and_inline_images_come_out_decoded_and_marked() {
        let m = fixture("multipart-attachments.eml");
        assert_eq!(
            m.text,
            "The export fails, see the screenshot and the report."
        );
        assert_eq!(
            m.recipients,
            [
                "br_01jq3v5x7b9d2f4h6k8m0n2p4r@support.dispatch.test",
                "manager@example.net"
            ]
        );
        let files: Vec<(&str, &str, bool)> = m
            .attachments
            .iter()
            .map(|a| (a.filename.as_str(), a.content_type.as_str(), a.inline))
            .collect();
        assert_eq!(
            files,
            [
                ("shot.png", "image/png", true),
                ("report.pdf", "application/pdf", false)
            ]
        );
        assert!(m.attachments[1].bytes.starts_with(b"%PDF-1.4"));
        assert!(m.attachments[0].bytes.starts_with(b"\x89PNG"));
    }

    #[test]
    fn a_reply_names_what_it_answers_and_trims_to_what_was_written() {
        let m = fixture("reply.eml");
        assert_eq!(
            m.references,
            [
                "tkt_01jq3v5x7b9d2f4h6k8m0n2p4s.cmt_01jq3v5x7b9d2f4h6k8m0n2p4t@support.dispatch.test",
                "CAF1234567@mail.example.com",
            ]
        );
        assert_eq!(trim_reply(&m.text), "That worked, thank you!");
        assert_eq!(
            threaded_ticket(&m.references, "support.dispatch.test").map(|t| t.to_string()),
            Some("tkt_01jq3v5x7b9d2f4h6k8m0n2p4s".to_string())
        );
        // Someone else's domain, or no id of ours: no thread.
        assert_eq!(threaded_ticket(&m.references, "other.test"), None);
        assert_eq!(
            threaded_ticket(&["CAF1234567@mail.example.com".into()], "dispatch.test"),
            None
        );
    }

    #[test]
    fn automated_mail_is_recognized_for_what_it_is() {
        assert_eq!(
            fixture("auto-reply.eml").automated,
            Some(Automated::AutoSubmitted("auto-replied".into()))
        );
        // A bounce says Auto-Submitted too; the report is what it is.
        assert!(matches!(
            fixture("bounce.eml").automated,
            Some(Automated::AutoSubmitted(_) | Automated::Bounce)
        ));
        assert_eq!(
            fixture("mailing-list.eml").automated,
            Some(Automated::Precedence("bulk".into()))
        );
        for person in ["plain.eml", "reply.eml", "failed-dkim.eml", "latin1.eml"] {
            assert_eq!(fixture(person).automated, None, "{person}");
        }
    }

    #[test]
    fn each_automated_signal_counts_on_its_own() {
        let with = |headers: &str| {
            let raw = format!(
                "From: x@example.com\r\nTo: y@example.com\r\nSubject: s\r\n{headers}\r\n\r\nbody\r\n"
            );
            parse(raw.as_bytes()).unwrap().automated
        };
        assert_eq!(with("Auto-Submitted: no"), None);
        assert_eq!(with("Precedence: first-class"), None);
        assert_eq!(
            with("List-Id: <a.example.com>"),
            Some(Automated::MailingList)
        );
        assert_eq!(
            with("List-Unsubscribe: <mailto:u@example.com>"),
            Some(Automated::MailingList)
        );
        assert_eq!(with("Return-Path: <>"), Some(Automated::Bounce));
        assert_eq!(with("X-Autoreply: yes"), Some(Automated::AutoReplyHeader));
        assert_eq!(
            with("Content-Type: multipart/report; report-type=delivery-status; boundary=b"),
            Some(Automated::Bounce)
        );
        let daemon = parse(b"From: MAILER-DAEMON@example.com\r\nSubject: s\r\n\r\nx\r\n");
        assert_eq!(daemon.unwrap().automated, Some(Automated::Bounce));
    }

    #[test]
    fn other_charsets_and_encoded_words_are_decoded() {
        let m = fixture("latin1.eml");
        assert_eq!(m.subject, "Facture erronée");
        assert_eq!(m.from_name.as_deref(), Some("Renée Dupré"));
        assert!(m.text.contains("février est erronée"), "{:?}", m.text);
        let m = fixture("shift-jis.eml");
        assert_eq!(m.subject, "請求書について");
        assert_eq!(m.text, "請求書が間違っています。");
    }

    #[test]
    fn what_is_not_a_message_or_has_no_sender_is_refused() {
        assert_eq!(parse(b""), Err(InboundError::NotAMessage));
        assert_eq!(
            parse(b"To: y@example.com\r\nSubject: s\r\n\r\nbody\r\n"),
            Err(InboundError::NoSender)
        );
        assert_eq!(
            parse(b"From: not an address\r\nSubject: s\r\n\r\nbody\r\n"),
            Err(InboundError::NoSender)
        );
    }

    #[test]
    fn trimming_keeps_what_was_written_above_quotes_and_signatures() {
        assert_eq!(
            trim_reply("Yes.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold"),
            "Yes."
        );
        assert_eq!(
            trim_reply("Fine\r\nFrom: Support <s@x.test>\r\nSent: Monday\r\nTo: me\r\n\r\nold"),
            "Fine"
        );
        assert_eq!(
            trim_reply(
                "Ok\n\nOn Tue, Dec 1, 2026 at 11:45 AM Acme Support\n<s@x.test> wrote:\n> old"
            ),
            "Ok"
        );
        assert_eq!(trim_reply("Thanks\n> quoted\nmore"), "Thanks");
        // Only a quote: nothing of the writer's to keep, so the whole text is kept.
        assert_eq!(trim_reply("> only a quote"), "> only a quote");
        // A line that merely starts with "On" is the writer's.
        assert_eq!(
            trim_reply("On second thought, cancel it."),
            "On second thought, cancel it."
        );
    }
}
