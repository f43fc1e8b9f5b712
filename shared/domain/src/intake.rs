//! Intake endpoints: addresses outside systems POST to, each creating tickets in one brand.

use crate::{BrandId, IntakeToken, Mode, OrgId, Timestamp};
use std::collections::BTreeMap;

/// One intake endpoint. Its token is its id and the last segment of its public URL
/// (`/v1/forms/{token}`); it locates the brand, it does not authenticate the sender: an
/// endpoint that must only accept one sender has a signing secret.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeEndpoint {
    pub token: IntakeToken,
    pub org_id: OrgId,
    pub mode: Mode,
    pub brand_id: BrandId,
    pub name: String,
    /// HMAC key for `X-Dispatch-Signature`; shown once, at creation.
    pub signing_secret: Option<String>,
    /// Incoming field name → ticket field (see the intake crate's mapping rules).
    pub field_mapping: BTreeMap<String, String>,
    /// Where a browser goes after posting the form.
    pub success_url: Option<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// 1–100 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        Err("is required".into())
    } else if s.chars().count() > 100 || s.chars().any(char::is_control) {
        Err("must be at most 100 characters, no control characters".into())
    } else {
        Ok(s.to_string())
    }
}

/// An absolute `https://` URL (or `http://localhost…` for development), at most 2048
/// characters, without credentials or whitespace.
pub fn parse_success_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| {
            // Plain http only to this machine: the host must be exactly `localhost` or
            // `127.0.0.1` (`127.0.0.1.attacker.example` is somebody else's).
            url.strip_prefix("http://").filter(|r| {
                let authority = r.split(['/', '?', '#']).next().unwrap_or_default();
                let host = authority
                    .rsplit_once(':')
                    .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(authority, |(host, _)| host);
                matches!(host, "localhost" | "127.0.0.1")
            })
        })
        .ok_or_else(|| "must be an https:// URL".to_string())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err("must be an absolute URL with a host and no credentials".into());
    }
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be at most 2048 characters without spaces".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_urls_must_be_https_absolute_and_credential_free() {
        assert!(parse_success_url("https://example.com/thanks").is_ok());
        assert!(parse_success_url("http://localhost:3000/thanks").is_ok());
        for bad in [
            "http://example.com/thanks",
            "javascript:alert(1)",
            "/thanks",
            "https://user:pw@example.com/",
            "https:///nohost",
            "https://example.com/a b",
            "http://localhost.evil.com/",
        ] {
            assert!(parse_success_url(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Contact form ").unwrap(), "Contact form");
        assert!(parse_name(" ").is_err());
        assert!(parse_name(&"x".repeat(101)).is_err());
    }
}
