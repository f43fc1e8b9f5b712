//! A brand's customers: the people who open tickets, one per email address per brand.

use crate::brand::Metadata;
use crate::{BrandId, CustomerId, Email, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub brand_id: BrandId,
    pub email: Email,
    pub name: Option<CustomerName>,
    pub metadata: Metadata,
    /// An `https` URL, shown, never fetched.
    pub avatar_url: Option<String>,
    /// An opaque id of the caller's own (no Companies API exists): echoed, never checked.
    pub company_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A company id: 1–64 characters of `A-Z`, `a-z`, `0-9`, `_` and `-`.
pub fn parse_company_id(raw: &str) -> Result<String, String> {
    if !(1..=64).contains(&raw.len())
        || !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Err("must be 1-64 characters of A-Z, a-z, 0-9, _ and -".into())
    } else {
        Ok(raw.to_string())
    }
}

/// 1–200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(raw: &str) -> Result<CustomerName, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.chars().count() > 200 {
            return Err("must be at most 200 characters".into());
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(CustomerName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_ids_are_short_opaque_tokens() {
        assert_eq!(parse_company_id("acme_42-EU").as_deref(), Ok("acme_42-EU"));
        for bad in ["", "a b", "acme.example", &"x".repeat(65), "é"] {
            assert!(parse_company_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            CustomerName::parse(" Jane Doe ").unwrap().as_str(),
            "Jane Doe"
        );
        assert!(CustomerName::parse("  ").is_err());
        assert!(CustomerName::parse(&"x".repeat(201)).is_err());
        assert!(CustomerName::parse("a\nb").is_err());
    }
}
