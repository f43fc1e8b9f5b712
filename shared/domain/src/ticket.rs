//! Tickets and the rules for their fields.

use crate::brand::{Metadata, parse_web_url};
use crate::{BrandId, CategoryId, CommentId, CustomerId, Email, TicketId, Timestamp};

macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }, $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<$name, String> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(format!("must be one of {}", $expected)) }
            }
        }
    };
}

word_enum!(
    /// Where a ticket is in its life.
    Status { Open => "open", Pending => "pending", Resolved => "resolved", Closed => "closed" },
    "open, pending, resolved, closed"
);

word_enum!(
    /// How urgent a ticket is (default `normal`).
    Priority { Low => "low", Normal => "normal", Medium => "medium", High => "high", Urgent => "urgent" },
    "low, normal, medium, high, urgent"
);

impl Priority {
    /// 0 (low) to 4 (urgent): the order of the list's `sort=priority`.
    pub fn rank(self) -> u8 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::Medium => 2,
            Priority::High => 3,
            Priority::Urgent => 4,
        }
    }
}

/// Where a ticket came from: a short lower-case word (`api`, `web`, `email`, `portal`,
/// `webhook`, or an integration's own name).
pub fn parse_source(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(raw.to_string())
    } else {
        Err("must be 1-32 lowercase letters, digits, '-' or '_'".into())
    }
}

/// How much of a body the list's `search` looks through.
pub const SEARCHED_BODY_BYTES: usize = 2048;

/// What the list's `search` matches a ticket's own words against: its title and the
/// first [`SEARCHED_BODY_BYTES`] of its body, lower-cased (the customer's email is kept
/// beside it, lower-cased too).
pub fn search_text(title: &str, body: Option<&str>) -> String {
    let body = body.unwrap_or_default();
    let mut end = body.len().min(SEARCHED_BODY_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n{}", title, &body[..end]).to_lowercase()
}

/// The list's `search`: 1–200 characters, no control characters, compared lower-cased.
pub fn parse_search(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.chars().count() > 200 {
        Err("must be 1-200 characters".into())
    } else if raw.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(raw.to_lowercase())
    }
}

/// 1–500 characters after trimming.
pub fn parse_title(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        Err("is required".into())
    } else if s.chars().count() > 500 {
        Err("must be at most 500 characters".into())
    } else if s.chars().any(|c| c.is_control()) {
        Err("must not contain control characters".into())
    } else {
        Ok(s.to_string())
    }
}

/// At most 64 KiB of text: tab, line feed and carriage return are the only control
/// characters. NUL truncates strings in C consumers, BEL rings terminals, and ESC (or the
/// one-byte CSI, U+009B) starts the ANSI sequences that rewrite a terminal an agent reads
/// logs or exports in.
pub fn parse_body(raw: &str) -> Result<String, String> {
    if raw.len() > 64 * 1024 {
        Err("must be at most 64 KiB".into())
    } else if raw.chars().any(is_forbidden_in_text) {
        Err("must not contain control characters other than tab and line breaks".into())
    } else {
        Ok(raw.to_string())
    }
}

/// Control characters (C0, DEL, C1) except tab, line feed and carriage return.
pub fn is_forbidden_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// At most 20 tags of 1–50 characters, duplicates removed.
pub fn parse_tags(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.len() > 20 {
        return Err("must have at most 20 tags".into());
    }
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 50 || t.chars().any(char::is_control) {
            return Err("each tag must be 1-50 characters".into());
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

word_enum!(
    /// Who wrote a comment.
    AuthorType { Agent => "AGENT", System => "SYSTEM", Customer => "CUSTOMER" },
    "AGENT, SYSTEM, CUSTOMER"
);

/// A link on a ticket or comment: `url` (`http`/`https`, at most 2048 characters), with an
/// optional `title` (at most 200) and `type` (at most 50).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: String,
    pub title: Option<String>,
    pub kind: Option<String>,
}

/// At most this many links on a ticket or comment.
pub const MAX_LINKS: usize = 20;

impl Link {
    pub fn parse(url: &str, title: Option<&str>, kind: Option<&str>) -> Result<Link, String> {
        let url = parse_web_url(url, &["http://", "https://"]).map_err(|e| format!("url {e}"))?;
        let short = |raw: Option<&str>, name: &str, max: usize| -> Result<Option<String>, String> {
            match raw {
                None => Ok(None),
                Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
                    format!("{name} must be at most {max} characters, no control characters"),
                ),
                Some(v) => Ok(Some(v.to_string())),
            }
        };
        Ok(Link {
            url,
            title: short(title, "title", 200)?,
            kind: short(kind, "type", 50)?,
        })
    }
}

/// An opaque id from the system a ticket or comment came from: 1–255 characters, no
/// control characters.
pub fn parse_source_id(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.chars().count() > 255 || raw.chars().any(char::is_control) {
        Err("must be 1-255 characters, no control characters".into())
    } else {
        Ok(raw.to_string())
    }
}

/// A comment on a ticket. Internal notes (`metadata.isInternal: true`) never reach the
/// customer portal.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: TicketId,
    pub body: String,
    pub author_type: AuthorType,
    pub author_name: Option<String>,
    /// A `mem_…` (agents, the system) or `cus_…` (customers) id, when known.
    pub author_id: Option<String>,
    /// The top-level comment this one answers (one level only).
    pub parent_id: Option<CommentId>,
    pub links: Vec<Link>,
    pub metadata: Metadata,
    /// Where it was written: `api` by default, `portal` from the customer portal.
    pub source: String,
    pub source_id: Option<String>,
    pub source_data: Option<Metadata>,
    /// Addresses to copy when replies go out by email (kept and echoed until then).
    pub cc: Vec<Email>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Soft delete: gone from lists, the portal and reads; the count drops.
    pub deleted_at: Option<Timestamp>,
}

impl Comment {
    pub fn is_internal(&self) -> bool {
        self.metadata
            .as_map()
            .get("isInternal")
            .and_then(|v| v.as_bool())
            == Some(true)
    }
}

/// 1 byte to 64 KiB, not only whitespace.
pub fn parse_comment_body(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        Err("is required".into())
    } else {
        parse_body(raw)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub brand_id: BrandId,
    pub number: u64,
    /// `DT-1042`: the brand's prefix at creation and the number.
    pub display_number: String,
    pub title: String,
    pub body: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub source: String,
    pub customer_id: Option<CustomerId>,
    /// False when the customer was named by an address nobody proved (an unsigned form
    /// post): the ticket is then kept out of that customer's portal.
    pub customer_verified: bool,
    pub custom_fields: Metadata,
    pub metadata: Metadata,
    pub tags: Vec<String>,
    pub assignee_id: Option<String>,
    /// The customer's address, lower-cased, for the list's `search` (the stream rewrites it
    /// when the customer's email changes, and removes it with the customer); not on the wire.
    pub customer_email: Option<String>,
    /// One of the brand's categories; the stream clears it when the category is deleted.
    pub category_id: Option<CategoryId>,
    /// Who opened it: the session's `mem_…`, the key's `key_…`, the portal customer's
    /// `cus_…`, or what the create said (1–100 characters); `None` for intake and older
    /// tickets.
    pub created_by: Option<String>,
    pub links: Vec<Link>,
    pub source_id: Option<String>,
    pub source_data: Option<Metadata>,
    /// Whether the customer should hear about it by email (imports say no); kept for the
    /// email channel.
    pub notify_customer: bool,
    pub is_spam: bool,
    /// The ticket this one was merged into (it is closed).
    pub merged_into_id: Option<TicketId>,
    pub comment_count: u64,
    pub attachment_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_the_title_and_the_bodys_first_two_kib_lower_cased() {
        assert_eq!(
            search_text("Refund ME", Some("Order #9")),
            "refund me\norder #9"
        );
        assert_eq!(search_text("T", None), "t\n");
        // A multi-byte character across the cut is left out whole, never split.
        let body = format!("{}é tail", "a".repeat(SEARCHED_BODY_BYTES - 1));
        let text = search_text("T", Some(&body));
        assert!(
            text.ends_with('a') && !text.contains("tail"),
            "{}",
            text.len()
        );
        assert_eq!(parse_search("ÉTÉ").unwrap(), "été");
        assert!(parse_search("").is_err());
        assert!(parse_search(&"x".repeat(201)).is_err());
        assert!(parse_search("a\u{0}b").is_err());
    }

    #[test]
    fn links_take_http_and_https_urls_with_a_host_and_short_labels() {
        let ok = Link::parse("HTTP://intranet.test/x?y#z", Some("Order"), Some("order")).unwrap();
        assert_eq!(ok.url, "HTTP://intranet.test/x?y#z");
        assert_eq!(
            (ok.title.as_deref(), ok.kind.as_deref()),
            (Some("Order"), Some("order"))
        );
        assert!(Link::parse("https://x.test", None, None).is_ok());
        for bad in [
            "ftp://x.test",
            "https://",
            "https://:443/",
            "https://u:p@x.test/",
            "https://x.test/a b",
            "javascript:alert(1)",
        ] {
            assert!(Link::parse(bad, None, None).is_err(), "{bad}");
        }
        assert!(Link::parse(&format!("https://x.test/{}", "a".repeat(2040)), None, None).is_err());
        assert!(Link::parse("https://x.test", Some(&"t".repeat(201)), None).is_err());
        assert!(Link::parse("https://x.test", None, Some(&"k".repeat(51))).is_err());
        assert!(Link::parse("https://x.test", Some("a\u{7}b"), None).is_err());
        assert!(parse_source_id("").is_err());
        assert!(parse_source_id(&"s".repeat(256)).is_err());
        assert_eq!(parse_source_id("C01/17.1").unwrap(), "C01/17.1");
    }

    #[test]
    fn statuses_and_priorities_parse_only_known_words() {
        assert_eq!(Status::parse("pending"), Ok(Status::Pending));
        assert!(Status::parse("Open").is_err());
        assert_eq!(
            Priority::parse("urgent").map(Priority::as_str),
            Ok("urgent")
        );
        assert!(Priority::parse("critical").is_err());
    }

    #[test]
    fn field_rules() {
        assert!(parse_title("  ").is_err());
        assert_eq!(parse_title(" Broken login ").unwrap(), "Broken login");
        assert!(parse_source("Web").is_err());
        assert_eq!(parse_source("webhook").unwrap(), "webhook");
        assert_eq!(
            parse_tags(&["a".into(), "a".into(), " b ".into()]).unwrap(),
            ["a", "b"]
        );
        assert!(parse_tags(&vec!["t".to_string(); 21]).is_err());
        assert!(parse_body(&"x".repeat(65 * 1024)).is_err());
        for bad in [
            "a\u{0}b",
            "ring\u{7}",
            "\u{1b}[2J",
            "\u{9b}31m",
            "del\u{7f}",
        ] {
            assert!(parse_body(bad).is_err(), "{bad:?} was accepted");
            assert!(parse_comment_body(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_body("line one\r\n\tindented\nline three").is_ok());
    }
}
