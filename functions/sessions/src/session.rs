//! Sessions: created by verifying a magic link or switching organization, read, ended.

use crate::SignIn;
use crate::views::{OrganizationChoice, SignedInView};
use dispatch_auth::session::SESSION_ABSOLUTE_SECS;
use dispatch_auth::{OpaqueToken, Role, SessionGrant, TokenKind};
use dispatch_domain::{AccountId, Email, MemberId, Mode, OrgId, SessionId, Timestamp};
use dispatch_http::ErrorCode;
use dispatch_http::cookie::{clear_session_cookie, set_session_cookie};
use dispatch_http::{ApiError, Context, Reply, authenticate_session, json, no_content, parse_json};
use dispatch_store::{
    CredentialStore, MemberStatus, MemberStore, Membership, NewOrganization, OrgStore,
    Organization, SessionStore, StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

const INVALID_TOKEN: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidToken,
    message: "The sign-in link is invalid, used or expired. Request a new one.",
};

/// How a new session is handed to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// `Set-Cookie` (browsers; the token never reaches script).
    Cookie,
    /// The token in the body, for non-browser clients that send it as a Bearer token.
    Bearer,
}

fn parse_delivery(raw: Option<&str>) -> Result<Delivery, ApiError> {
    match raw {
        None | Some("cookie") => Ok(Delivery::Cookie),
        Some("bearer") => Ok(Delivery::Bearer),
        Some(_) => Err(ApiError::validation("delivery", "must be cookie or bearer")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
struct VerifyInput {
    token: Option<String>,
    delivery: Option<String>,
    /// The organization to sign in to; naming one you were invited to accepts the invite.
    organization_id: Option<String>,
}

/// `POST /v1/auth/verify`: consumes a magic link (one conditional delete, so a link works
/// once even under concurrent clicks) and starts a session in the organization the person
/// chose (`organizationId`), else their first active one. An invitation is never accepted
/// by an ordinary sign-in: only by naming its organization here or in
/// `switch-organization`. An address with invitations and no organization yet gets 409
/// `organization_choice_required` listing them, and the link stays usable.
pub async fn verify<S, M>(app: &SignIn<S, M>, req: Request) -> Reply
where
    S: SessionStore + MemberStore + OrgStore,
{
    let input: VerifyInput = parse_json(&req)?;
    let delivery = parse_delivery(input.delivery.as_deref())?;
    let chosen = input
        .organization_id
        .as_deref()
        .map(|raw| {
            OrgId::parse(raw)
                .ok_or_else(|| ApiError::validation("organizationId", "must be an organization id"))
        })
        .transpose()?;
    let token = OpaqueToken::parse(
        TokenKind::MagicLink,
        input.token.as_deref().unwrap_or_default(),
    )
    .map_err(|_| INVALID_TOKEN)?;
    let ctx = &app.ctx;
    let now = ctx.clock.now();
    let hash = token.hash();
    // Read first, consume once the landing is decided: a sign-in that must first choose
    // between invitations keeps its link.
    let email = ctx
        .store
        .magic_link_email(&hash, now)
        .await?
        .ok_or(INVALID_TOKEN)?;
    let memberships = ctx.store.memberships(&email).await?;
    let landing = match &chosen {
        // Not one of theirs: the same answer as for an organization that does not exist.
        Some(org) => Some(
            memberships
                .iter()
                .find(|m| &m.org_id == org)
                .cloned()
                .ok_or(ApiError::NotFound)?,
        ),
        None => memberships
            .iter()
            .find(|m| m.status == MemberStatus::Active)
            .cloned(),
    };
    if landing.is_none() && !memberships.is_empty() {
        return Err(ApiError::ChoiceRequired(
            memberships
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "organizationId": m.org_id.to_string(),
                        "organizationName": m.org_name,
                        "role": m.role.as_str(),
                    })
                })
                .collect(),
        ));
    }
    if ctx.store.consume_magic_link(&hash, now).await?.as_ref() != Some(&email) {
        return Err(INVALID_TOKEN);
    }
    let membership = match landing {
        Some(m) => m,
        None if app.settings.allow_signup => sign_up(ctx, &email, now).await?,
        // The address lost its last membership after the link was sent.
        None => return Err(INVALID_TOKEN),
    };
    let start = SessionStart {
        now,
        signed_in_at: now,
    };
    start_session(ctx, &email, &membership, delivery, start, Mode::Live).await
}

/// Self-serve signup: a new organization owned by `email`.
async fn sign_up<S: OrgStore>(
    ctx: &Context<S>,
    email: &Email,
    now: Timestamp,
) -> Result<Membership, ApiError> {
    let millis = ctx.clock.now_millis();
    let local = email.as_str().split('@').next().unwrap_or("My");
    let org = Organization {
        id: OrgId::generate(millis),
        name: format!("{local}'s organization"),
        created_at: now,
        updated_at: now,
    };
    let new = NewOrganization {
        org: org.clone(),
        owner_email: email.clone(),
        owner_account: AccountId::generate(millis),
        owner_member: MemberId::generate(millis),
        first_key: None,
    };
    ctx.store.create_organization(&new).await?;
    Ok(Membership {
        org_id: org.id,
        org_name: org.name,
        member_id: new.owner_member,
        role: Role::Owner,
        status: MemberStatus::Active,
    })
}

/// When a session starts: `signed_in_at` is when the person proved their address. A session
/// made by switching organization keeps the original sign-in time, so switching never
/// extends the absolute limit.
struct SessionStart {
    now: Timestamp,
    signed_in_at: Timestamp,
}

/// Creates a session for `email` in `membership`'s organization and answers with it.
async fn start_session<S>(
    ctx: &Context<S>,
    email: &Email,
    membership: &Membership,
    delivery: Delivery,
    start: SessionStart,
    mode: Mode,
) -> Reply
where
    S: SessionStore + MemberStore,
{
    let account = ctx
        .store
        .account(email)
        .await?
        .ok_or_else(|| ApiError::Internal("membership without an account".into()))?;
    if membership.status == MemberStatus::Pending
        && let Some(member) = ctx
            .store
            .member(&membership.org_id, &membership.member_id)
            .await?
    {
        // An invited member becomes active on first sign-in.
        ctx.store.activate_member(&member).await?;
    }
    let token = OpaqueToken::generate(TokenKind::Session);
    let grant = SessionGrant {
        session_id: SessionId::generate(ctx.clock.now_millis()),
        account_id: account.id,
        email: email.clone(),
        org_id: membership.org_id.clone(),
        member_id: membership.member_id.clone(),
        role: membership.role,
        created_at: start.signed_in_at,
        last_seen_at: start.now,
    };
    match ctx.store.create_session(&token.hash(), &grant).await {
        Ok(()) => {}
        // Removed or re-roled while signing in: sign in again.
        Err(StoreError::NotFound) => return Err(INVALID_TOKEN),
        Err(e) => return Err(e.into()),
    }
    let body_token = (delivery == Delivery::Bearer).then(|| token.expose().to_string());
    let mut response = json(
        StatusCode::OK,
        &SignedInView::new(&grant, &membership.org_name, mode, body_token),
    )?;
    if delivery == Delivery::Cookie {
        // The cookie lives as long as the session can: until its absolute limit.
        let max_age =
            (grant.absolute_expiry().unix() - start.now.unix()).clamp(0, SESSION_ABSOLUTE_SECS);
        let (name, value) = set_session_cookie(token.expose(), max_age, &ctx.auth);
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// `GET /v1/auth/session`: who is signed in, where.
pub async fn current_session<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + OrgStore,
{
    let auth = authenticate_session(ctx, &req).await?;
    let org = ctx
        .store
        .organization(&auth.grant.org_id)
        .await?
        .ok_or_else(|| ApiError::Internal("session of a missing organization".into()))?;
    json(
        StatusCode::OK,
        &SignedInView::new(&auth.grant, &org.name, auth.principal.mode, None),
    )
}

/// `POST /v1/auth/logout`: deletes the session server-side (the token is dead at once)
/// and clears the cookie.
pub async fn logout<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore,
{
    let auth = authenticate_session(ctx, &req).await?;
    ctx.store.delete_session(&auth.hash, &auth.grant).await?;
    let mut response = no_content()?;
    let (name, value) = clear_session_cookie(&ctx.auth);
    response.headers_mut().insert(name, value);
    Ok(response)
}

/// `GET /v1/auth/organizations`: every organization the signed-in account belongs to.
pub async fn organizations<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore,
{
    let auth = authenticate_session(ctx, &req).await?;
    let choices: Vec<OrganizationChoice> = ctx
        .store
        .memberships(&auth.grant.email)
        .await?
        .into_iter()
        .map(|m| OrganizationChoice {
            id: m.org_id.to_string(),
            name: m.org_name,
            role: m.role.as_str(),
            status: m.status.as_str(),
        })
        .collect();
    json(StatusCode::OK, &choices)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SwitchInput {
    organization_id: Option<String>,
}

/// `POST /v1/auth/switch-organization`: a new session in another organization of the same
/// account (membership checked); the old session ends. Switching to an organization the
/// person was invited to is choosing it, and accepts the invitation.
pub async fn switch_organization<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + MemberStore,
{
    let auth = authenticate_session(ctx, &req).await?;
    let input: SwitchInput = parse_json(&req)?;
    let raw = input
        .organization_id
        .ok_or_else(|| ApiError::validation("organizationId", "is required"))?;
    let target = OrgId::parse(&raw).ok_or(ApiError::NotFound)?;
    let membership = ctx
        .store
        .memberships(&auth.grant.email)
        .await?
        .into_iter()
        .find(|m| m.org_id == target)
        .ok_or(ApiError::NotFound)?;
    if target == auth.grant.org_id {
        return Err(ApiError::Conflict {
            code: ErrorCode::AlreadyInOrganization,
            message: "The session is already in that organization.".into(),
        });
    }
    let delivery = if auth.via_cookie {
        Delivery::Cookie
    } else {
        Delivery::Bearer
    };
    // End the old session first: if anything below fails, the caller is signed out
    // rather than left holding two live sessions.
    ctx.store.delete_session(&auth.hash, &auth.grant).await?;
    let start = SessionStart {
        now: ctx.clock.now(),
        signed_in_at: auth.grant.created_at,
    };
    start_session(
        ctx,
        &auth.grant.email,
        &membership,
        delivery,
        start,
        auth.principal.mode,
    )
    .await
}
