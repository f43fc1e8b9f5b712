//! Stored facts about an API key, checked in code on every use.

use crate::principal::{Actor, BrandScope, Principal, Role};
use dispatch_domain::{BrandId, KeyId, Mode, OrgId, Timestamp};

/// How often `lastUsedAt` may be written per key: the hot path stays read-only.
pub const LAST_USED_WRITE_INTERVAL_SECS: i64 = 15 * 60;

/// Why an authenticated-looking request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the credential is not valid")]
    Invalid,
    #[error("the credential has expired")]
    Expired,
}

/// The authorization item of an API key: everything needed to authenticate a request
/// in one read. Revoking a key deletes this item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyGrant {
    pub key_id: KeyId,
    pub org_id: OrgId,
    pub mode: Mode,
    pub all_brands: bool,
    pub brand_ids: Vec<BrandId>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl ApiKeyGrant {
    /// Turns the grant into a principal, or refuses it.
    ///
    /// `presented_mode` is the mode in the secret's prefix; a stored grant whose mode differs
    /// can only come from corrupted data, and is refused rather than trusted.
    pub fn authorize(&self, presented_mode: Mode, now: Timestamp) -> Result<Principal, AuthError> {
        if self.mode != presented_mode {
            return Err(AuthError::Invalid);
        }
        if self.expires_at.is_some_and(|exp| now >= exp) {
            return Err(AuthError::Expired);
        }
        let scope = if self.all_brands {
            BrandScope::All
        } else {
            BrandScope::Only(self.brand_ids.clone())
        };
        Ok(Principal {
            org_id: self.org_id.clone(),
            mode: self.mode,
            role: Role::Admin,
            scope,
            actor: Actor::ApiKey(self.key_id.clone()),
        })
    }

    /// True when `lastUsedAt` is old enough to be worth one write.
    pub fn last_used_is_stale(&self, now: Timestamp) -> bool {
        self.last_used_at
            .is_none_or(|t| now.unix() - t.unix() >= LAST_USED_WRITE_INTERVAL_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> ApiKeyGrant {
        ApiKeyGrant {
            key_id: KeyId::generate(1),
            org_id: OrgId::generate(1),
            mode: Mode::Test,
            all_brands: true,
            brand_ids: vec![],
            expires_at: None,
            last_used_at: None,
        }
    }

    #[test]
    fn valid_grant_becomes_an_admin_principal_of_its_org_and_mode() {
        let g = grant();
        let p = g.authorize(Mode::Test, Timestamp::from_unix(10)).unwrap();
        assert_eq!(p.org_id, g.org_id);
        assert_eq!(p.mode, Mode::Test);
        assert_eq!(p.role, Role::Admin);
        assert_eq!(p.scope, BrandScope::All);
    }

    #[test]
    fn expiry_is_checked_in_code() {
        let g = ApiKeyGrant {
            expires_at: Some(Timestamp::from_unix(100)),
            ..grant()
        };
        assert!(g.authorize(Mode::Test, Timestamp::from_unix(99)).is_ok());
        assert_eq!(
            g.authorize(Mode::Test, Timestamp::from_unix(100)),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn mode_mismatch_is_refused() {
        assert_eq!(
            grant().authorize(Mode::Live, Timestamp::from_unix(1)),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn scoped_grant_yields_scoped_principal() {
        let brand = BrandId::generate(1);
        let g = ApiKeyGrant {
            all_brands: false,
            brand_ids: vec![brand.clone()],
            ..grant()
        };
        let p = g.authorize(Mode::Test, Timestamp::from_unix(1)).unwrap();
        assert_eq!(p.scope, BrandScope::Only(vec![brand]));
    }

    #[test]
    fn last_used_is_written_at_most_every_fifteen_minutes() {
        let g = ApiKeyGrant {
            last_used_at: Some(Timestamp::from_unix(1_000)),
            ..grant()
        };
        assert!(!g.last_used_is_stale(Timestamp::from_unix(1_000 + 899)));
        assert!(g.last_used_is_stale(Timestamp::from_unix(1_000 + 900)));
        assert!(grant().last_used_is_stale(Timestamp::from_unix(0)));
    }
}
