//! Brands (workspaces) and the rules for their fields.

use crate::{BrandId, Email, OrgId, Timestamp};
use serde_json::{Map, Value};

/// A brand as the domain sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Brand {
    pub id: BrandId,
    pub org_id: OrgId,
    pub name: BrandName,
    pub slug: Slug,
    pub ticket_prefix: TicketPrefix,
    pub next_ticket_number: u64,
    pub ticket_count: u64,
    pub portal_origins: Vec<PortalOrigin>,
    pub metadata: Metadata,
    pub ticket_schema: Option<Metadata>,
    pub profile: BrandProfile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a brand presents itself, and its email settings, which shape the mail its customers
/// get (`From`'s display name, `Reply-To` without an inbound domain, the autoresponse).
/// Sign-in mail goes from the deployment's verified sender under its own name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrandProfile {
    pub url: Option<String>,
    pub icon_url: Option<String>,
    pub from_name: Option<String>,
    /// Sent as `Reply-To`; `From` stays the deployment's verified sender (no spoofing).
    pub from_email: Option<Email>,
    pub autoresponse_enabled: bool,
    pub autoresponse_subject: Option<String>,
    /// May hold `{{ticketNumber}}`, `{{title}}` and `{{customerName}}`.
    pub autoresponse_body: Option<String>,
}

/// An `https` URL of at most 2048 characters with a host and no credentials. It is only
/// stored and shown, never fetched.
pub fn parse_https_url(raw: &str) -> Result<String, String> {
    parse_web_url(raw, &["https://"])
}

/// A URL of one of `schemes` (each ending in `://`, compared ignoring case) with a host,
/// no credentials, no whitespace or control characters, at most 2048 characters. Shown or
/// linked to, never fetched (the webhook target has rules of its own for fetching).
pub fn parse_web_url(raw: &str, schemes: &[&str]) -> Result<String, String> {
    let rest = schemes
        .iter()
        .find_map(|scheme| {
            raw.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| &raw[scheme.len()..])
        })
        .ok_or_else(|| format!("must be an {} URL", schemes.join(" or ")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if raw.chars().count() > 2048 {
        Err("must be at most 2048 characters".into())
    } else if authority.is_empty() || authority.starts_with(':') {
        Err("must name a host".into())
    } else if authority.contains('@') {
        Err("must not carry credentials".into())
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("must not contain whitespace or control characters".into())
    } else {
        Ok(raw.to_string())
    }
}

/// One line of 1–`max` characters after trimming, no control characters.
pub fn parse_line(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        Err("must not be blank".into())
    } else if s.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else if s.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(s.to_string())
    }
}

/// An autoresponse body: not blank, at most 10,240 characters (10 KiB of ASCII; counted in
/// characters so the limit reads the same in every client's string length); tab, line feed
/// and carriage return are the only control characters allowed.
pub fn parse_autoresponse_body(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        Err("must not be blank".into())
    } else if raw.chars().count() > 10 * 1024 {
        Err("must be at most 10240 characters".into())
    } else if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Err("must not contain control characters other than tab and line breaks".into())
    } else {
        Ok(raw.to_string())
    }
}

/// 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandName(String);

impl BrandName {
    pub fn parse(raw: &str) -> Result<BrandName, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(BrandName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// URL-safe brand handle: `a-z`, `0-9` and single inner hyphens, 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Slug, String> {
        let s = raw.trim();
        let valid = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if valid {
            Ok(Slug(s.to_string()))
        } else {
            Err("must be 1-64 lowercase letters, digits and single hyphens".into())
        }
    }

    /// Derives a slug from a name: "Acme Support!" → "acme-support". Names with no
    /// ASCII letters or digits fall back to "brand".
    pub fn from_name(name: &BrandName) -> Slug {
        let mut out = String::new();
        for c in name.as_str().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
            if out.len() >= 64 {
                break;
            }
        }
        let trimmed = out.trim_matches('-');
        if trimmed.is_empty() {
            Slug("brand".into())
        } else {
            Slug(trimmed.to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Ticket display prefix: 1–10 characters `A-Z`/`0-9` ("DT" → "DT-1042").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPrefix(String);

impl TicketPrefix {
    pub fn default_prefix() -> TicketPrefix {
        TicketPrefix("DT".into())
    }

    pub fn parse(raw: &str) -> Result<TicketPrefix, String> {
        let s = raw.trim();
        let valid = !s.is_empty()
            && s.len() <= 10
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if valid {
            Ok(TicketPrefix(s.to_string()))
        } else {
            Err("must be 1-10 uppercase letters or digits".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// First ticket number of a brand: 1 to 1,000,000,000 (default 1001).
pub fn parse_ticket_number_start(n: i64) -> Result<u64, String> {
    if (1..=1_000_000_000).contains(&n) {
        Ok(n as u64)
    } else {
        Err("must be between 1 and 1000000000".into())
    }
}

pub const DEFAULT_TICKET_NUMBER_START: u64 = 1001;

/// A browser origin allowed to call the portal API: `https://host[:port]`, or
/// `http://localhost[:port]` / `http://127.0.0.1[:port]` for development. No path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalOrigin(String);

impl PortalOrigin {
    pub fn parse(raw: &str) -> Result<PortalOrigin, String> {
        let s = raw.trim().to_ascii_lowercase();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| "must be an origin like https://app.example.com".to_string())?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !host.starts_with('.')
            && !host.ends_with('.');
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        let local = host == "localhost" || host == "127.0.0.1";
        let scheme_ok = scheme == "https" || (scheme == "http" && local);
        if host_ok && port_ok && scheme_ok {
            Ok(PortalOrigin(s))
        } else {
            Err("must be an https origin (http only for localhost) with no path".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses the list form of `portalOrigins` (at most 20, duplicates removed).
pub fn parse_portal_origins(raw: &[String]) -> Result<Vec<PortalOrigin>, String> {
    if raw.len() > 20 {
        return Err("must have at most 20 origins".into());
    }
    let mut out: Vec<PortalOrigin> = Vec::with_capacity(raw.len());
    for r in raw {
        let origin = PortalOrigin::parse(r).map_err(|e| format!("{r:?} {e}"))?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

/// Free-form key/value data the API stores and returns untouched: a JSON object with at
/// most 50 keys of at most 40 characters, at most 16 KiB serialized.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    pub fn parse(value: Value) -> Result<Metadata, String> {
        let Value::Object(map) = value else {
            return Err("must be an object".into());
        };
        if map.len() > 50 {
            return Err("must have at most 50 keys".into());
        }
        if map.keys().any(|k| k.is_empty() || k.chars().count() > 40) {
            return Err("keys must be 1-40 characters".into());
        }
        if Value::Object(map.clone()).to_string().len() > 16 * 1024 {
            return Err("must be at most 16 KiB".into());
        }
        Ok(Metadata(map))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slug_is_derived_from_name() {
        let name = BrandName::parse("  Acme Support!! 2 ").unwrap();
        assert_eq!(Slug::from_name(&name).as_str(), "acme-support-2");
        let symbols = BrandName::parse("★★★").unwrap();
        assert_eq!(Slug::from_name(&symbols).as_str(), "brand");
    }

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("acme-2").is_ok());
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac--me",
            "ac me",
            &"a".repeat(65),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn brand_name_rules() {
        assert!(BrandName::parse("   ").is_err());
        assert!(BrandName::parse(&"x".repeat(101)).is_err());
        assert!(BrandName::parse("a\u{0}b").is_err());
        assert_eq!(BrandName::parse(" Acme ").unwrap().as_str(), "Acme");
    }

    #[test]
    fn ticket_prefix_rules() {
        assert!(TicketPrefix::parse("ACME1").is_ok());
        assert!(TicketPrefix::parse("acme").is_err());
        assert!(TicketPrefix::parse("TOOLONGPREFIX").is_err());
    }

    #[test]
    fn profile_urls_are_https_with_a_host_and_no_credentials() {
        assert_eq!(
            parse_https_url("https://acme.example/logo.png").as_deref(),
            Ok("https://acme.example/logo.png")
        );
        assert!(
            parse_https_url(" https://acme.example").is_err(),
            "no surrounding spaces"
        );
        assert!(parse_https_url("HTTPS://acme.example").is_ok());
        for bad in [
            "http://acme.example",
            "https://",
            "https:///path",
            "https://user:pw@acme.example",
            "https://acme.example/a b",
            "javascript:alert(1)",
        ] {
            assert!(parse_https_url(bad).is_err(), "{bad}");
        }
        assert!(parse_https_url(&format!("https://a.example/{}", "x".repeat(2040))).is_err());
    }

    #[test]
    fn profile_texts_keep_their_limits() {
        assert_eq!(
            parse_line("  Acme Support ", 100).as_deref(),
            Ok("Acme Support")
        );
        assert!(parse_line("", 100).is_err());
        assert!(parse_line("a\u{7}b", 100).is_err());
        assert!(parse_line(&"x".repeat(101), 100).is_err());
        assert!(parse_autoresponse_body("Thanks!\n\nTicket {{ticketNumber}}").is_ok());
        assert!(parse_autoresponse_body("a\u{0}b").is_err());
        assert!(parse_autoresponse_body(&"x".repeat(10 * 1024 + 1)).is_err());
    }

    #[test]
    fn ticket_number_start_bounds() {
        assert!(parse_ticket_number_start(0).is_err());
        assert_eq!(parse_ticket_number_start(1001), Ok(1001));
        assert!(parse_ticket_number_start(1_000_000_001).is_err());
    }

    #[test]
    fn portal_origins_allow_https_and_local_http_only() {
        assert!(PortalOrigin::parse("https://app.example.com").is_ok());
        assert!(PortalOrigin::parse("https://app.example.com:8443").is_ok());
        assert!(PortalOrigin::parse("http://localhost:5173").is_ok());
        for bad in [
            "http://app.example.com",
            "https://app.example.com/path",
            "app.example.com",
            "https://",
            "https://a.com:0",
            "*",
        ] {
            assert!(PortalOrigin::parse(bad).is_err(), "{bad}");
        }
        let list = parse_portal_origins(&["https://a.com".into(), "HTTPS://A.COM".into()]).unwrap();
        assert_eq!(list.len(), 1, "duplicates collapse after normalization");
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        assert!(Metadata::parse(json!({"plan": "pro"})).is_ok());
        assert!(Metadata::parse(json!([1, 2])).is_err());
        let big: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(Metadata::parse(Value::Object(big)).is_err());
        assert!(Metadata::parse(json!({"k": "x".repeat(17 * 1024)})).is_err());
    }
}
