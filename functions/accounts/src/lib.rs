//! The organization behind a credential, and its API keys.
//!
//! - `GET /v1/accounts/me` → [`me`]
//! - `GET /v1/accounts/me/api-keys` → [`list_api_keys`]
//! - `POST /v1/accounts/me/api-keys` → [`create_api_key`]
//! - `PATCH /v1/accounts/me/api-keys/{keyId}/scope` → [`update_api_key_scope`]
//! - `DELETE /v1/accounts/me/api-keys/{keyId}` → [`revoke_api_key`]

mod api_keys;
mod views;

pub use api_keys::{create_api_key, list_api_keys, revoke_api_key, update_api_key_scope};

use dispatch_http::{ApiError, Context, Reply, authenticate, json};
use dispatch_store::{CredentialStore, OrgStore, SessionStore};
use lambda_http::Request;
use lambda_http::http::StatusCode;

/// `GET /v1/accounts/me`: the organization the credential belongs to, in its mode.
pub async fn me<S: CredentialStore + SessionStore + OrgStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    let org = ctx
        .store
        .organization(&principal.org_id)
        .await?
        .ok_or_else(|| ApiError::Internal("credential points at a missing organization".into()))?;
    json(
        StatusCode::OK,
        &views::OrganizationView::new(&org, principal.mode),
    )
}
