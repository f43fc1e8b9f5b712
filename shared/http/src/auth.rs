//! The one place a request's credential becomes a [`Principal`].

use crate::ApiError;
use dispatch_auth::{AuthError, Credential, CredentialError, Principal};
use dispatch_domain::Clock;
use dispatch_store::CredentialStore;
use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;

const MISSING: ApiError = ApiError::Unauthorized {
    code: "authentication_required",
    message: "Send a credential as 'Authorization: Bearer <token>'.",
};
const INVALID_KEY: ApiError = ApiError::Unauthorized {
    code: "invalid_api_key",
    message: "The API key is not valid.",
};
const EXPIRED_KEY: ApiError = ApiError::Unauthorized {
    code: "expired_api_key",
    message: "The API key has expired.",
};
const INVALID_CREDENTIAL: ApiError = ApiError::Unauthorized {
    code: "invalid_credential",
    message: "The credential is not valid for this endpoint.",
};

/// Authenticates a request for an API-key or session endpoint.
///
/// Cost: a malformed credential is refused with no I/O; a well-formed API key costs one
/// strongly consistent GetItem, plus one conditional write at most every 15 minutes per key
/// to record `lastUsedAt`.
pub async fn authenticate<S: CredentialStore>(
    store: &S,
    clock: &dyn Clock,
    req: &Request,
) -> Result<Principal, ApiError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let credential = Credential::from_authorization_header(header).map_err(|e| match e {
        CredentialError::Missing => MISSING,
        CredentialError::Malformed => INVALID_CREDENTIAL,
    })?;
    match credential {
        Credential::ApiKey(secret) => {
            let hash = secret.hash();
            // The lookup is keyed by the hash itself: finding an item is the comparison.
            let grant = store.api_key_grant(&hash).await?.ok_or(INVALID_KEY)?;
            let now = clock.now();
            let principal = grant.authorize(secret.mode(), now).map_err(|e| match e {
                AuthError::Expired => EXPIRED_KEY,
                AuthError::Invalid => INVALID_KEY,
            })?;
            if grant.last_used_is_stale(now)
                && let Err(err) = store.touch_api_key(&hash, &grant, now).await
            {
                // Bookkeeping only: never fail the caller's request over it.
                tracing::warn!(error = %err, "could not record lastUsedAt");
            }
            Ok(principal)
        }
        // Dashboard sessions and portal tokens are not accepted on these endpoints yet.
        Credential::Session(_) | Credential::Portal(_) => Err(INVALID_CREDENTIAL),
    }
}
