//! The organization behind a credential, and its API keys.
//!
//! - `GET /v1/accounts/me` → [`me`]
//! - `GET /v1/accounts/me/api-keys` → [`list_api_keys`]
//! - `POST /v1/accounts/me/api-keys` → [`create_api_key`]
//! - `PATCH /v1/accounts/me/api-keys/{keyId}/scope` → [`update_api_key_scope`]
//! - `DELETE /v1/accounts/me/api-keys/{keyId}` → [`revoke_api_key`]
//! - `GET /v1/accounts/me/usage` → [`usage`]

mod api_keys;
mod views;

pub use api_keys::{create_api_key, list_api_keys, revoke_api_key, update_api_key_scope};

use dispatch_http::{ApiError, Context, ErrorCode, Reply, authenticate, json};
use dispatch_store::{BrandStore, CredentialStore, OrgStore, SessionStore};
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

/// `GET /v1/accounts/me/usage`: `{ticketsThisMonth, ticketsTotal, brandsCount}` for the
/// credential's organization **and mode**, over the brands that exist now. Tickets count
/// creations (deleted ones included); the month starts at 00:00 UTC on the 1st. Owners and
/// admins with an org-wide credential (it sums every brand). Two requests: the credential
/// and one Query of the brand items, whose counters each ticket create moves.
pub async fn usage<S: CredentialStore + SessionStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    if !principal.can_read_usage() {
        return Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Usage needs an owner or admin credential that reaches every brand.",
        });
    }
    let month = ctx.clock.now().month();
    let usage = ctx
        .store
        .usage(&principal.org_id, principal.mode, &month)
        .await?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "ticketsThisMonth": usage.tickets_in_month,
            "ticketsTotal": usage.tickets_total,
            "brandsCount": usage.brands,
        }),
    )
}
