//! The table's key formats, in one place.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | organization | `ORG#{org}` | `ORG` |
//! | member | `ORG#{org}` | `MEMBER#{member}` |
//! | account | `ACCOUNT#{email}` | `ACCOUNT` |
//! | membership (account → org) | `ACCOUNT#{email}` | `MEMBERSHIP#{org}` |
//! | API key auth item | `APIKEY#{sha256 hex}` | `APIKEY` |
//! | API key record | `ORG#{org}#{mode}` | `APIKEY#{key}` |
//! | brand | `ORG#{org}#{mode}` | `BRAND#{brand}` |
//! | brand slug claim | `ORG#{org}#{mode}` | `BRANDSLUG#{slug}` |

use dispatch_auth::SecretHash;
use dispatch_domain::{BrandId, Email, KeyId, MemberId, Mode, OrgId};

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// Epoch seconds after which DynamoDB may delete the item (lazily: code checks expiry itself).
pub const TTL: &str = "ttl";

pub fn org(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// The partition of one tenant in one mode: the root of every tenant data key.
pub fn tenant(org: &OrgId, mode: Mode) -> String {
    format!("ORG#{org}#{mode}")
}

pub const ORG_SK: &str = "ORG";

pub fn member_sk(member: &MemberId) -> String {
    format!("MEMBER#{member}")
}

pub fn account(email: &Email) -> String {
    format!("ACCOUNT#{email}")
}

pub const ACCOUNT_SK: &str = "ACCOUNT";

pub fn membership_sk(org: &OrgId) -> String {
    format!("MEMBERSHIP#{org}")
}

pub fn api_key_auth(hash: &SecretHash) -> String {
    format!("APIKEY#{}", hash.to_hex())
}

pub const API_KEY_AUTH_SK: &str = "APIKEY";
pub const API_KEY_SK_PREFIX: &str = "APIKEY#";

pub fn api_key_sk(key: &KeyId) -> String {
    format!("{API_KEY_SK_PREFIX}{key}")
}

pub const BRAND_SK_PREFIX: &str = "BRAND#";

pub fn brand_sk(brand: &BrandId) -> String {
    format!("{BRAND_SK_PREFIX}{brand}")
}

pub fn brand_slug_sk(slug: &str) -> String {
    format!("BRANDSLUG#{slug}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_start_with_org_and_mode() {
        let o = OrgId::generate(1);
        assert_eq!(tenant(&o, Mode::Test), format!("ORG#{o}#test"));
        assert_ne!(tenant(&o, Mode::Test), tenant(&o, Mode::Live));
    }
}
