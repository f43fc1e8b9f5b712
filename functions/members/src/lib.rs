//! An organization's team, managed from a dashboard session by owners and admins.
//!
//! - `GET /v1/auth/members` → [`list`]
//! - `POST /v1/auth/members/invite` → [`invite`]
//! - `PATCH /v1/auth/members/{memberId}` → [`update`]
//! - `DELETE /v1/auth/members/{memberId}` → [`remove`]
//!
//! Agents get 403. The owner's role cannot change and the owner cannot be removed. Changing
//! a role or removing a member takes effect on their open sessions at once.

use dispatch_auth::Role;
use dispatch_domain::{AccountId, Email, FieldErrors, MemberId};
use dispatch_http::ErrorCode;
use dispatch_http::{
    ApiError, Context, Reply, SessionAuth, authenticate_session, json, no_content, parse_json,
    path_id,
};
use dispatch_store::{
    Account, CredentialStore, Member, MemberStatus, MemberStore, OrgStore, SessionStore, StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
    id: String,
    account_id: String,
    email: String,
    role: &'static str,
    status: &'static str,
    created_at: String,
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> MemberView {
        MemberView {
            id: m.id.to_string(),
            account_id: m.account_id.to_string(),
            email: m.email.to_string(),
            role: m.role.as_str(),
            status: m.status.as_str(),
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

async fn require_admin<S: CredentialStore + SessionStore>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<SessionAuth, ApiError> {
    let auth = authenticate_session(ctx, req).await?;
    if auth.principal.can_manage_members() {
        Ok(auth)
    } else {
        Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Managing members needs an owner or admin.",
        })
    }
}

/// Roles an admin may grant: never `owner` (there is one, and it is not transferable here).
fn parse_assignable_role(raw: Option<&str>) -> Result<Role, String> {
    match raw.map(Role::parse) {
        None => Err("is required".into()),
        Some(Some(role @ (Role::Admin | Role::Agent))) => Ok(role),
        Some(_) => Err("must be admin or agent".into()),
    }
}

/// `GET /v1/auth/members`: `{members, invites}` (invites are members who have not signed in).
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore,
{
    let auth = require_admin(ctx, &req).await?;
    let all = ctx.store.members(&auth.grant.org_id).await?;
    let (active, pending): (Vec<&Member>, Vec<&Member>) =
        all.iter().partition(|m| m.status == MemberStatus::Active);
    let body = serde_json::json!({
        "members": active.into_iter().map(MemberView::from).collect::<Vec<_>>(),
        "invites": pending.into_iter().map(MemberView::from).collect::<Vec<_>>(),
    });
    json(StatusCode::OK, &body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteInput {
    email: Option<String>,
    role: Option<String>,
}

/// `POST /v1/auth/members/invite`: a pending member, who can sign in by magic link.
pub async fn invite<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore + OrgStore,
{
    let auth = require_admin(ctx, &req).await?;
    let input: InviteInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let email = errors.check(
        "email",
        Email::parse(input.email.as_deref().unwrap_or_default())
            .ok_or_else(|| "must be an email address".to_string()),
    );
    let role = errors.check("role", parse_assignable_role(input.role.as_deref()));
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };

    let org = ctx
        .store
        .organization(&auth.grant.org_id)
        .await?
        .ok_or_else(|| ApiError::Internal("session of a missing organization".into()))?;
    let now = ctx.clock.now();
    let millis = ctx.clock.now_millis();
    let (account_id, new_account) = match ctx.store.account(&email).await? {
        Some(account) => (account.id, None),
        None => {
            let account = Account {
                id: AccountId::generate(millis),
                email: email.clone(),
                created_at: now,
            };
            (account.id.clone(), Some(account))
        }
    };
    let member = Member {
        id: MemberId::generate(millis),
        org_id: org.id.clone(),
        account_id,
        email,
        role,
        status: MemberStatus::Pending,
        created_at: now,
    };
    match ctx
        .store
        .add_member(&member, &org.name, new_account.as_ref())
        .await
    {
        Ok(()) => json(StatusCode::CREATED, &MemberView::from(&member)),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
            code: ErrorCode::AlreadyMember,
            message: "That address is already a member of this organization.".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

async fn load_member<S: MemberStore>(
    ctx: &Context<S>,
    auth: &SessionAuth,
    req: &Request,
) -> Result<Member, ApiError> {
    let id = path_id(req, "memberId", MemberId::parse)?;
    ctx.store
        .member(&auth.grant.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateInput {
    role: Option<String>,
}

/// `PATCH /v1/auth/members/{memberId}`: change a member's role (not the owner's).
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore,
{
    let auth = require_admin(ctx, &req).await?;
    let mut member = load_member(ctx, &auth, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let role = parse_assignable_role(input.role.as_deref())
        .map_err(|m| ApiError::validation("role", &m))?;
    if member.role == Role::Owner {
        return Err(ApiError::Forbidden {
            code: ErrorCode::OwnerRoleFixed,
            message: "The owner's role cannot change.",
        });
    }
    if member.role != role {
        match ctx.store.change_member_role(&member, role).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(ApiError::NotFound),
            Err(e) => return Err(e.into()),
        }
    }
    // Bring every open session in line with the role as stored now, even when this request
    // changed nothing: it repairs a previous attempt that failed half-way, and a concurrent
    // change settles on what the membership says.
    let stored = ctx
        .store
        .member(&member.org_id, &member.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    ctx.store
        .set_member_sessions_role(&member.org_id, &member.id, stored.role)
        .await?;
    member.role = stored.role;
    json(StatusCode::OK, &MemberView::from(&member))
}

/// `DELETE /v1/auth/members/{memberId}`: remove a member (not the owner); their sessions
/// end at once.
pub async fn remove<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore,
{
    let auth = require_admin(ctx, &req).await?;
    let id = path_id(&req, "memberId", MemberId::parse)?;
    let Some(member) = ctx.store.member(&auth.grant.org_id, &id).await? else {
        // Already removed, perhaps by an attempt whose session cleanup failed: finish it.
        // The index is keyed by this organization, so nothing outside it is touched.
        ctx.store
            .delete_member_sessions(&auth.grant.org_id, &id)
            .await?;
        return Err(ApiError::NotFound);
    };
    if member.role == Role::Owner {
        return Err(ApiError::Forbidden {
            code: ErrorCode::OwnerCannotBeRemoved,
            message: "The owner cannot be removed.",
        });
    }
    match ctx.store.remove_member(&member).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    ctx.store
        .delete_member_sessions(&member.org_id, &member.id)
        .await?;
    no_content()
}
