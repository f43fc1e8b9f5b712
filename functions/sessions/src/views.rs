//! Wire shapes of sign-in answers.

use dispatch_auth::SessionGrant;
use dispatch_domain::Mode;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub expires_at: String,
    /// Only for `delivery: "bearer"` sign-ins (non-browser clients); browsers get a cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Serialize)]
pub struct AccountView {
    pub id: String,
    pub email: String,
}

#[derive(Serialize)]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
}

#[derive(Serialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub role: &'static str,
}

/// `{session, account, organization, member, mode}`: the answer of verify, switch and
/// `GET /v1/auth/session`.
#[derive(Serialize)]
pub struct SignedInView {
    pub session: SessionView,
    pub account: AccountView,
    pub organization: OrganizationView,
    pub member: MemberView,
    pub mode: Mode,
}

impl SignedInView {
    pub fn new(
        grant: &SessionGrant,
        org_name: &str,
        mode: Mode,
        token: Option<String>,
    ) -> SignedInView {
        SignedInView {
            session: SessionView {
                id: grant.session_id.to_string(),
                expires_at: grant.expires_at().to_rfc3339(),
                token,
            },
            account: AccountView {
                id: grant.account_id.to_string(),
                email: grant.email.to_string(),
            },
            organization: OrganizationView {
                id: grant.org_id.to_string(),
                name: org_name.to_string(),
            },
            member: MemberView {
                id: grant.member_id.to_string(),
                email: grant.email.to_string(),
                role: grant.role.as_str(),
            },
            mode,
        }
    }
}

/// One entry of `GET /v1/auth/organizations`.
#[derive(Serialize)]
pub struct OrganizationChoice {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    /// `pending` for an invitation not accepted yet: switching to it accepts it.
    pub status: &'static str,
}
