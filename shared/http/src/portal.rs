//! Portal requests: a `pt_` token verified with no storage read, an origin check, and the
//! CORS answer the token's brand allows.

use crate::ErrorCode;
use crate::{ApiError, Context, Reply, cors, request_id};
use dispatch_auth::portal_token::{PortalClaims, PortalTokenError};
use dispatch_auth::{Credential, CredentialError};
use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;
use std::future::Future;

const MISSING: ApiError = ApiError::Unauthorized {
    code: ErrorCode::AuthenticationRequired,
    message: "Send a portal token as 'Authorization: Bearer pt_…'.",
};
const NOT_PORTAL: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidCredential,
    message: "This endpoint takes a portal token (pt_…).",
};
const ORIGIN_NOT_ALLOWED: ApiError = ApiError::Forbidden {
    code: ErrorCode::OriginNotAllowed,
    message: "This origin is not one of the brand's portal origins.",
};

/// The Bearer token of the request, if any.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The claims of the request's portal token, valid now. No I/O.
pub fn authenticate_portal<S>(ctx: &Context<S>, req: &Request) -> Result<PortalClaims, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let credential = Credential::from_authorization_header(header).map_err(|e| match e {
        CredentialError::Missing => MISSING,
        CredentialError::Malformed => NOT_PORTAL,
    })?;
    let Credential::Portal(token) = credential else {
        return Err(NOT_PORTAL);
    };
    ctx.portal_keys()?
        .verify(&token.0, ctx.clock.now().unix())
        .map_err(|e| match e {
            PortalTokenError::Expired => ApiError::Unauthorized {
                code: ErrorCode::PortalTokenExpired,
                message: "The portal token has expired. Ask the application for a new one.",
            },
            _ => ApiError::Unauthorized {
                code: ErrorCode::InvalidPortalToken,
                message: "The portal token is not valid.",
            },
        })
}

/// Runs a portal handler: authenticates, refuses a browser whose `Origin` is not one of
/// the brand's portal origins, and lets an allowed origin read the answer (errors too).
pub async fn portal<S, F, Fut>(ctx: &Context<S>, req: Request, work: F) -> Reply
where
    F: FnOnce(PortalClaims, Request) -> Fut,
    Fut: Future<Output = Reply>,
{
    let origin = cors::request_origin(&req).map(str::to_string);
    let claims = match authenticate_portal(ctx, &req) {
        Ok(claims) => claims,
        // An expired (or otherwise refused) token we did sign still names its origins:
        // they may read the 401, so the page can ask for a new token.
        Err(err) => {
            let signed = bearer(&req)
                .and_then(|t| ctx.portal_keys.as_ref()?.claims_if_signed(t))
                .filter(|c| origin.as_ref().is_some_and(|o| c.origins.contains(o)));
            let (Some(_), Some(o)) = (signed, &origin) else {
                return Err(err);
            };
            let mut response = err.into_response(&request_id(&req));
            cors::allow_origin(&mut response, o, false);
            return Ok(response);
        }
    };
    if let Some(o) = &origin
        && !claims.origins.iter().any(|allowed| allowed == o)
    {
        return Err(ORIGIN_NOT_ALLOWED);
    }
    let id = request_id(&req);
    let mut response = match work(claims, req).await {
        Ok(response) => response,
        Err(ApiError::Internal(message)) => return Err(ApiError::Internal(message)),
        Err(err) => err.into_response(&id),
    };
    if let Some(o) = &origin {
        cors::allow_origin(&mut response, o, false);
    }
    Ok(response)
}
