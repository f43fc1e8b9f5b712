//! A brand's ticket tags. Tickets carry tag *names*; a tag gives a name its colour and id,
//! and renaming, deleting or merging tags rewrites the names on tickets.

use crate::{BrandId, TagId, Timestamp};

/// A brand has at most this many tags.
pub const MAX_TAGS: u64 = 500;
/// A tag's colour when none is given.
pub const DEFAULT_COLOR: &str = "#6b7280";
/// Sources of one merge.
pub const MAX_MERGE_SOURCES: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    pub id: TagId,
    pub brand_id: BrandId,
    pub name: String,
    /// `#rrggbb`, lower-case.
    pub color: String,
    /// Bumped by every write of the tag; writes are conditional on the one read.
    pub version: u64,
    pub created_at: Timestamp,
}

/// 1–50 characters on one line (the rule for a ticket's tag names too).
pub fn parse_name(raw: &str) -> Result<String, String> {
    crate::brand::parse_line(raw, 50)
}

/// Tags in the order a picker shows them: by name ignoring case.
pub fn by_name(mut tags: Vec<Tag>) -> Vec<Tag> {
    tags.sort_by(|a, b| {
        (crate::category::folded(&a.name), &a.id).cmp(&(crate::category::folded(&b.name), &b.id))
    });
    tags
}

/// A ticket's tag names after `from` became `to` (renamed or merged into it), or went
/// (`None`): names are compared ignoring case, the order kept, and no name twice.
pub fn rewrite_names(names: &[String], from: &str, to: Option<&str>) -> Vec<String> {
    let folded_from = crate::category::folded(from);
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let next = if crate::category::folded(name) == folded_from {
            match to {
                Some(to) => to,
                None => continue,
            }
        } else {
            name.as_str()
        };
        let folded_next = crate::category::folded(next);
        if !out
            .iter()
            .any(|o| crate::category::folded(o) == folded_next)
        {
            out.push(next.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_rename_a_merge_and_a_delete_rewrite_names_ignoring_case() {
        let ticket = names(&["urgent", "Billing", "vip"]);
        assert_eq!(
            rewrite_names(&ticket, "billing", Some("Payments")),
            names(&["urgent", "Payments", "vip"])
        );
        // Merged into a name the ticket has: once.
        assert_eq!(
            rewrite_names(&ticket, "vip", Some("URGENT")),
            names(&["urgent", "Billing"])
        );
        assert_eq!(
            rewrite_names(&ticket, "Urgent", None),
            names(&["Billing", "vip"])
        );
        assert_eq!(rewrite_names(&ticket, "other", None), ticket);
    }
}
