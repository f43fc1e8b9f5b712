//! Prefixed, unguessable, time-sortable ids.
//!
//! Layout: `{prefix}_{26 chars}` where the 26 Crockford-base32 characters encode 48 bits of
//! milliseconds since the epoch followed by 80 random bits (the ULID layout). Sorting ids
//! as strings sorts them by creation time; guessing one means guessing 80 random bits.

use serde::{Deserialize, Serialize};
use std::fmt;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;

/// Encodes a new id body from a millisecond timestamp and fresh randomness.
fn new_body(now_millis: i64) -> String {
    let mut random = [0u8; 10];
    crate::random::fill(&mut random);
    body_from(now_millis, random)
}

/// Encodes an id body from a millisecond timestamp and 80 bits.
fn body_from(now_millis: i64, random: [u8; 10]) -> String {
    let mut value: u128 = (now_millis.max(0) as u128 & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= (*b as u128) << (8 * (9 - i));
    }
    let mut out = [0u8; BODY_LEN];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (BODY_LEN - 1 - i);
        *slot = CROCKFORD[((value >> shift) & 0x1F) as usize];
    }
    out.iter().map(|&b| b as char).collect()
}

fn is_valid_body(body: &str) -> bool {
    body.len() == BODY_LEN
        && body.bytes().all(|b| CROCKFORD.contains(&b))
        // The first character carries only the top 3 bits of a 128-bit value.
        && body.as_bytes()[0] <= b'7'
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id stamped with `now_millis`.
            pub fn generate(now_millis: i64) -> Self {
                Self(format!("{}_{}", $prefix, new_body(now_millis)))
            }

            /// The id of something identified elsewhere (a stream record): the same inputs
            /// give the same id, so a retry makes no second one. `bits` stand in for the
            /// random part and must be as unguessable (a hash of a random identifier).
            pub fn derived(millis: i64, bits: [u8; 10]) -> Self {
                Self(format!("{}_{}", $prefix, body_from(millis, bits)))
            }

            /// Accepts only a well-formed id of this kind; anything else is `None`.
            pub fn parse(s: &str) -> Option<Self> {
                let body = s.strip_prefix($prefix)?.strip_prefix('_')?;
                is_valid_body(body).then(|| Self(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("is not a valid {} id", $prefix))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

prefixed_id!(
    /// An organization: the tenant.
    OrgId, "org"
);
prefixed_id!(
    /// A person, identified by email.
    AccountId, "acct"
);
prefixed_id!(
    /// An account's membership in one organization.
    MemberId, "mem"
);
prefixed_id!(
    /// An API key's public identifier (never the secret).
    KeyId, "key"
);
prefixed_id!(
    /// A brand (workspace) inside an organization and mode.
    BrandId, "br"
);
prefixed_id!(
    /// A dashboard session's public identifier (never its token).
    SessionId, "ses"
);
prefixed_id!(
    /// A brand's customer (the person who opens tickets).
    CustomerId, "cus"
);
prefixed_id!(
    /// A ticket.
    TicketId, "tkt"
);
prefixed_id!(
    /// A comment on a ticket.
    CommentId, "cmt"
);
prefixed_id!(
    /// A file attached to a ticket (its bytes live in S3).
    AttachmentId, "att"
);
prefixed_id!(
    /// An intake endpoint; the id is also the public token in its form URL.
    IntakeToken, "ft"
);
prefixed_id!(
    /// A brand's ticket category.
    CategoryId, "cat"
);
prefixed_id!(
    /// A brand's ticket tag.
    TagId, "tag"
);
prefixed_id!(
    /// An outbound webhook of a brand.
    WebhookId, "wh"
);
prefixed_id!(
    /// One event's delivery to one webhook (its attempts, its outcome).
    DeliveryId, "whd"
);
prefixed_id!(
    /// A webhook event (`ticket.created`, …), derived from the table's stream record.
    EventId, "evt"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_well_formed_and_time_sorted() {
        let a = EventId::derived(1_795_893_974_000, [7; 10]);
        assert_eq!(a, EventId::derived(1_795_893_974_000, [7; 10]));
        assert_ne!(a, EventId::derived(1_795_893_974_000, [8; 10]));
        assert_eq!(EventId::parse(a.as_str()), Some(a.clone()));
        assert!(a < EventId::derived(1_795_893_974_001, [0; 10]));
    }

    #[test]
    fn generated_ids_parse_back() {
        let id = BrandId::generate(1_795_893_974_000);
        assert!(id.as_str().starts_with("br_"));
        assert_eq!(id.as_str().len(), 3 + BODY_LEN);
        assert_eq!(BrandId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let older = KeyId::generate(1_000);
        let newer = KeyId::generate(2_000);
        assert!(older < newer);
    }

    #[test]
    fn ids_are_random_within_a_millisecond() {
        assert_ne!(OrgId::generate(5), OrgId::generate(5));
    }

    #[test]
    fn wrong_prefix_or_shape_is_refused() {
        let brand = BrandId::generate(1);
        assert!(OrgId::parse(brand.as_str()).is_none());
        assert!(BrandId::parse("br_").is_none());
        assert!(
            BrandId::parse("br_01JF0000000000000000000000").is_none(),
            "uppercase"
        );
        assert!(
            BrandId::parse("br_0000000000000000000000000u").is_none(),
            "u is not Crockford"
        );
        assert!(
            BrandId::parse("br_80000000000000000000000000").is_none(),
            "overflows 128 bits"
        );
        assert!(BrandId::parse("br_00000000000000000000000000").is_some());
    }
}
