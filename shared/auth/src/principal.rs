//! Who is calling, and the authorization decisions that follow from it.

use dispatch_domain::{AccountId, BrandId, KeyId, MemberId, Mode, OrgId, SessionId};
use serde::{Deserialize, Serialize};

/// A member's role in an organization. API keys act with `Admin` rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// Which brands a credential reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrandScope {
    /// Every brand of the organization and mode, current and future.
    All,
    /// Only these brands; every other brand is 404.
    Only(Vec<BrandId>),
}

/// What kind of credential authenticated the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(KeyId),
    Session {
        session_id: SessionId,
        member_id: MemberId,
        account_id: AccountId,
    },
}

/// The authenticated caller: one organization, one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: OrgId,
    pub mode: Mode,
    pub role: Role,
    pub scope: BrandScope,
    pub actor: Actor,
}

impl Principal {
    /// True when the credential reaches `brand`. Callers answer 404 otherwise, so a scoped
    /// key cannot learn that other brands exist.
    pub fn can_access_brand(&self, brand: &BrandId) -> bool {
        match &self.scope {
            BrandScope::All => true,
            BrandScope::Only(ids) => ids.contains(brand),
        }
    }

    /// Organization-wide actions (create brands, manage keys) need an org-wide credential:
    /// a brand-scoped key must not be able to widen its own reach.
    pub fn is_org_wide(&self) -> bool {
        self.scope == BrandScope::All
    }

    /// The session behind the request, if it is a dashboard session.
    pub fn session(&self) -> Option<(&SessionId, &MemberId, &AccountId)> {
        match &self.actor {
            Actor::Session {
                session_id,
                member_id,
                account_id,
            } => Some((session_id, member_id, account_id)),
            Actor::ApiKey(_) => None,
        }
    }

    /// Who is calling, for binding stored answers to their caller: the API key, or the
    /// member behind a dashboard session (the same person across their sessions).
    pub fn caller_id(&self) -> String {
        match &self.actor {
            Actor::ApiKey(key) => format!("key:{key}"),
            Actor::Session { member_id, .. } => format!("member:{member_id}"),
        }
    }

    /// Owners and admins manage members (from a dashboard session).
    pub fn can_manage_members(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin)
    }

    /// Owners and admins manage API keys, with an org-wide credential.
    pub fn can_manage_api_keys(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin) && self.is_org_wide()
    }

    /// The organization's usage (counts over every brand): owners and admins with a
    /// credential that reaches every brand.
    pub fn can_read_usage(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin) && self.is_org_wide()
    }

    /// Creating brands is an organization-level action for owners and admins.
    pub fn can_create_brands(&self) -> bool {
        matches!(self.role, Role::Owner | Role::Admin) && self.is_org_wide()
    }

    /// Changing or deleting a brand's settings: owners and admins.
    pub fn can_manage_brand(&self, brand: &BrandId) -> bool {
        matches!(self.role, Role::Owner | Role::Admin) && self.can_access_brand(brand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, scope: BrandScope) -> Principal {
        Principal {
            org_id: OrgId::generate(1),
            mode: Mode::Live,
            role,
            scope,
            actor: Actor::ApiKey(KeyId::generate(1)),
        }
    }

    #[test]
    fn scoped_credentials_reach_only_their_brands() {
        let mine = BrandId::generate(1);
        let other = BrandId::generate(2);
        let p = principal(Role::Admin, BrandScope::Only(vec![mine.clone()]));
        assert!(p.can_access_brand(&mine));
        assert!(!p.can_access_brand(&other));
        assert!(principal(Role::Admin, BrandScope::All).can_access_brand(&other));
    }

    #[test]
    fn scoped_keys_cannot_manage_keys_or_create_brands() {
        let p = principal(Role::Admin, BrandScope::Only(vec![]));
        assert!(!p.can_manage_api_keys());
        assert!(!p.can_create_brands());
    }

    #[test]
    fn agents_cannot_manage_keys_or_brands() {
        let p = principal(Role::Agent, BrandScope::All);
        assert!(!p.can_manage_api_keys());
        assert!(!p.can_create_brands());
        assert!(!p.can_manage_brand(&BrandId::generate(1)));
        assert!(principal(Role::Owner, BrandScope::All).can_manage_api_keys());
    }
}
