//! The one place a request's credential becomes a [`Principal`].

use crate::ErrorCode;
use crate::config::AuthConfig;
use crate::{ApiError, Context, cookie};
use dispatch_auth::csrf::cookie_request_allowed;
use dispatch_auth::{
    AuthError, Credential, CredentialError, OpaqueToken, Principal, SecretHash, SessionGrant,
    TokenKind,
};
use dispatch_domain::Mode;
use dispatch_store::{CredentialStore, SessionStore};
use lambda_http::Request;
use lambda_http::http::header::{AUTHORIZATION, ORIGIN};

const MISSING: ApiError = ApiError::Unauthorized {
    code: ErrorCode::AuthenticationRequired,
    message: "Send a credential as 'Authorization: Bearer <token>' or sign in.",
};
const INVALID_KEY: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidApiKey,
    message: "The API key is not valid.",
};
const EXPIRED_KEY: ApiError = ApiError::Unauthorized {
    code: ErrorCode::ExpiredApiKey,
    message: "The API key has expired.",
};
const INVALID_SESSION: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidSession,
    message: "The session is not valid. Sign in again.",
};
const EXPIRED_SESSION: ApiError = ApiError::Unauthorized {
    code: ErrorCode::SessionExpired,
    message: "The session has expired. Sign in again.",
};
const INVALID_CREDENTIAL: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidCredential,
    message: "The credential is not valid for this endpoint.",
};
const CSRF: ApiError = ApiError::Forbidden {
    code: ErrorCode::CsrfFailed,
    message: "Cookie-authenticated changes must come from the dashboard's origin.",
};
const SESSION_REQUIRED: ApiError = ApiError::Forbidden {
    code: ErrorCode::SessionRequired,
    message: "This endpoint needs a dashboard session, not an API key.",
};

/// A request authenticated by a dashboard session.
#[derive(Debug)]
pub struct SessionAuth {
    pub principal: Principal,
    pub grant: SessionGrant,
    pub hash: SecretHash,
    /// The session came in the cookie (a browser), not as a Bearer token.
    pub via_cookie: bool,
}

enum Authenticated {
    ApiKey(Principal),
    Session(SessionAuth),
}

/// Authenticates a request for an API-key-or-session ("K/S") endpoint.
///
/// Cost: a malformed credential is refused with no I/O; an API key or a session costs one
/// strongly consistent GetItem, plus one conditional write at most every 15 minutes per key
/// (`lastUsedAt`) or every 5 minutes per session (idle expiry).
pub async fn authenticate<S: CredentialStore + SessionStore>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<Principal, ApiError> {
    match authenticate_any(ctx, req).await? {
        Authenticated::ApiKey(principal) => Ok(principal),
        Authenticated::Session(session) => Ok(session.principal),
    }
}

/// Authenticates a request for a session-only endpoint; API keys get 403.
pub async fn authenticate_session<S: CredentialStore + SessionStore>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<SessionAuth, ApiError> {
    match authenticate_any(ctx, req).await? {
        Authenticated::ApiKey(_) => Err(SESSION_REQUIRED),
        Authenticated::Session(session) => Ok(session),
    }
}

async fn authenticate_any<S: CredentialStore + SessionStore>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<Authenticated, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let cookie = cookie::session_cookie(req, &ctx.auth);
    // An explicit Authorization header wins over a cookie the browser may also send.
    let credential = match (header, cookie) {
        (Some(h), _) => Credential::from_authorization_header(Some(h)).map_err(|e| match e {
            CredentialError::Missing => MISSING,
            CredentialError::Malformed => INVALID_CREDENTIAL,
        })?,
        (None, Some(c)) => {
            check_csrf(req, &ctx.auth)?;
            let token = OpaqueToken::parse(TokenKind::Session, c).map_err(|_| INVALID_SESSION)?;
            return session(ctx, req, token, true)
                .await
                .map(Authenticated::Session);
        }
        (None, None) => return Err(MISSING),
    };
    match credential {
        Credential::ApiKey(secret) => {
            let hash = secret.hash();
            // The lookup is keyed by the hash itself: finding an item is the comparison.
            let grant = ctx.store.api_key_grant(&hash).await?.ok_or(INVALID_KEY)?;
            let now = ctx.clock.now();
            let principal = grant.authorize(secret.mode(), now).map_err(|e| match e {
                AuthError::Expired => EXPIRED_KEY,
                AuthError::Invalid => INVALID_KEY,
            })?;
            if grant.last_used_is_stale(now)
                && let Err(err) = ctx.store.touch_api_key(&hash, &grant, now).await
            {
                // Bookkeeping only: never fail the caller's request over it.
                tracing::warn!(error = %err, "could not record lastUsedAt");
            }
            Ok(Authenticated::ApiKey(principal))
        }
        Credential::Session(token) => session(ctx, req, token, false)
            .await
            .map(Authenticated::Session),
        // Portal tokens reach only the portal API.
        Credential::Portal(_) => Err(INVALID_CREDENTIAL),
    }
}

fn check_csrf(req: &Request, config: &AuthConfig) -> Result<(), ApiError> {
    let origin = req.headers().get(ORIGIN).and_then(|v| v.to_str().ok());
    if cookie_request_allowed(req.method().as_str(), origin, &config.dashboard_origins) {
        Ok(())
    } else {
        Err(CSRF)
    }
}

/// The mode a session acts in: `live`, unless the request says `Dispatch-Mode: test`.
fn session_mode(req: &Request) -> Result<Mode, ApiError> {
    match req
        .headers()
        .get("dispatch-mode")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok(Mode::Live),
        Some(v) => Mode::parse(v)
            .ok_or_else(|| ApiError::validation("Dispatch-Mode", "must be live or test")),
    }
}

async fn session<S: SessionStore>(
    ctx: &Context<S>,
    req: &Request,
    token: OpaqueToken,
    via_cookie: bool,
) -> Result<SessionAuth, ApiError> {
    let mode = session_mode(req)?;
    let hash = token.hash();
    let grant = ctx
        .store
        .session_grant(&hash)
        .await?
        .ok_or(INVALID_SESSION)?;
    let now = ctx.clock.now();
    let principal = grant.authorize(mode, now).map_err(|e| match e {
        AuthError::Expired => EXPIRED_SESSION,
        AuthError::Invalid => INVALID_SESSION,
    })?;
    if grant.needs_refresh(now)
        && let Err(err) = ctx.store.refresh_session(&hash, now).await
    {
        tracing::warn!(error = %err, "could not refresh the session's idle expiry");
    }
    Ok(SessionAuth {
        principal,
        grant,
        hash,
        via_cookie,
    })
}
