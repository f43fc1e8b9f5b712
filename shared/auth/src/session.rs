//! Dashboard sessions: lifetimes, and the stored facts checked on every use.

use crate::grant::AuthError;
use crate::principal::{Actor, BrandScope, Principal, Role};
use dispatch_domain::{AccountId, Email, MemberId, Mode, OrgId, SessionId, Timestamp};

/// A session ends 7 days after sign-in, whatever happens: a stolen cookie has a bounded life.
pub const SESSION_ABSOLUTE_SECS: i64 = 7 * 24 * 3600;
/// ... and after 24 hours without use: a forgotten laptop signs itself out overnight.
pub const SESSION_IDLE_SECS: i64 = 24 * 3600;
/// The idle clock is pushed forward at most this often, so authentication stays read-only
/// on the hot path.
pub const SESSION_REFRESH_SECS: i64 = 5 * 60;
/// Magic links are single use and expire after 15 minutes.
pub const MAGIC_LINK_TTL_SECS: i64 = 15 * 60;

/// The stored facts about a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub email: Email,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl SessionGrant {
    /// When the session ends for good.
    pub fn absolute_expiry(&self) -> Timestamp {
        self.created_at.plus_seconds(SESSION_ABSOLUTE_SECS)
    }

    /// When the session ends if it is not used again: the earlier of the two limits.
    pub fn expires_at(&self) -> Timestamp {
        self.absolute_expiry()
            .min(self.last_seen_at.plus_seconds(SESSION_IDLE_SECS))
    }

    /// Turns the session into a principal acting in `mode`, or refuses it.
    pub fn authorize(&self, mode: Mode, now: Timestamp) -> Result<Principal, AuthError> {
        if now >= self.expires_at() {
            return Err(AuthError::Expired);
        }
        Ok(Principal {
            org_id: self.org_id.clone(),
            mode,
            role: self.role,
            scope: BrandScope::All,
            actor: Actor::Session {
                session_id: self.session_id.clone(),
                member_id: self.member_id.clone(),
                account_id: self.account_id.clone(),
            },
        })
    }

    /// True when the idle clock is worth one write.
    pub fn needs_refresh(&self, now: Timestamp) -> bool {
        now.unix() - self.last_seen_at.unix() >= SESSION_REFRESH_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(created: i64, seen: i64) -> SessionGrant {
        SessionGrant {
            session_id: SessionId::generate(1),
            account_id: AccountId::generate(1),
            email: Email::parse("a@example.com").unwrap(),
            org_id: OrgId::generate(1),
            member_id: MemberId::generate(1),
            role: Role::Agent,
            created_at: Timestamp::from_unix(created),
            last_seen_at: Timestamp::from_unix(seen),
        }
    }

    #[test]
    fn idle_sessions_expire_after_a_day() {
        let g = grant(0, 0);
        assert!(
            g.authorize(Mode::Live, Timestamp::from_unix(SESSION_IDLE_SECS - 1))
                .is_ok()
        );
        assert_eq!(
            g.authorize(Mode::Live, Timestamp::from_unix(SESSION_IDLE_SECS)),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn active_sessions_still_end_after_seven_days() {
        let g = grant(0, SESSION_ABSOLUTE_SECS - 10);
        assert!(
            g.authorize(Mode::Live, Timestamp::from_unix(SESSION_ABSOLUTE_SECS - 1))
                .is_ok()
        );
        assert_eq!(
            g.authorize(Mode::Live, Timestamp::from_unix(SESSION_ABSOLUTE_SECS)),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn session_principal_carries_role_and_requested_mode() {
        let p = grant(0, 0)
            .authorize(Mode::Test, Timestamp::from_unix(1))
            .unwrap();
        assert_eq!(p.role, Role::Agent);
        assert_eq!(p.mode, Mode::Test);
        assert_eq!(p.scope, BrandScope::All);
    }

    #[test]
    fn refresh_is_written_at_most_every_five_minutes() {
        let g = grant(0, 100);
        assert!(!g.needs_refresh(Timestamp::from_unix(100 + SESSION_REFRESH_SECS - 1)));
        assert!(g.needs_refresh(Timestamp::from_unix(100 + SESSION_REFRESH_SECS)));
    }
}
