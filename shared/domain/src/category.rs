//! A brand's ticket categories: named, coloured, ordered, each counting its live tickets.

use crate::brand::parse_line;
use crate::{BrandId, CategoryId, Timestamp};

/// A brand has at most this many categories.
pub const MAX_CATEGORIES: u64 = 100;
/// A category's colour when the create names none (a neutral grey).
pub const DEFAULT_COLOR: &str = "#6b7280";

#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    pub brand_id: BrandId,
    pub name: String,
    /// `#rrggbb`, lower-case.
    pub color: String,
    pub description: Option<String>,
    pub sort_order: i64,
    /// Live tickets in it, kept in the tickets' own transactions.
    pub ticket_count: u64,
    /// Bumped by every write of the category itself; a write is conditional on the one it
    /// read (not on the wire).
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// 1–50 characters on one line.
pub fn parse_name(raw: &str) -> Result<String, String> {
    parse_line(raw, 50)
}

/// The form names are compared in: "Billing" and "BILLING " are one name.
pub fn folded(name: &str) -> String {
    name.trim().to_lowercase()
}

/// `#rrggbb` (hex digits of either case), stored lower-case.
pub fn parse_color(raw: &str) -> Result<String, String> {
    let hex = raw.strip_prefix('#').unwrap_or_default();
    if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err("must be a colour as #rrggbb".into())
    }
}

/// Categories in the order a picker shows them: `sortOrder`, then name.
pub fn in_order(mut categories: Vec<Category>) -> Vec<Category> {
    categories.sort_by(|a, b| {
        (a.sort_order, folded(&a.name), &a.id).cmp(&(b.sort_order, folded(&b.name), &b.id))
    });
    categories
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_six_hex_digits_after_a_hash() {
        assert_eq!(parse_color("#A1b2C3").unwrap(), "#a1b2c3");
        for bad in [
            "", "#fff", "a1b2c3", "#a1b2c", "#a1b2c3d", "#g1b2c3", "# 1b2c3",
        ] {
            assert!(parse_color(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_compared_ignoring_case_and_outer_space() {
        assert_eq!(folded(" Billing"), folded("BILLING"));
        assert_ne!(folded("Billing"), folded("Bill ing"));
        assert!(parse_name("").is_err());
        assert!(parse_name(&"x".repeat(51)).is_err());
        assert_eq!(parse_name(&"é".repeat(50)).unwrap().chars().count(), 50);
    }
}
