//! Wire shapes of this resource (camelCase, ISO-8601 timestamps).

use dispatch_domain::Mode;
use dispatch_store::{ApiKeyRecord, Organization};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationView {
    id: String,
    name: String,
    mode: Mode,
    created_at: String,
    updated_at: String,
}

impl OrganizationView {
    pub fn new(org: &Organization, mode: Mode) -> OrganizationView {
        OrganizationView {
            id: org.id.to_string(),
            name: org.name.clone(),
            mode,
            created_at: org.created_at.to_rfc3339(),
            updated_at: org.updated_at.to_rfc3339(),
        }
    }
}

/// `ApiKey`: never carries the secret or its hash.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    id: String,
    name: String,
    mode: Mode,
    key_preview: String,
    all_brands: bool,
    brand_ids: Vec<String>,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(k: &ApiKeyRecord) -> ApiKeyView {
        ApiKeyView {
            id: k.id.to_string(),
            name: k.name.clone(),
            mode: k.mode,
            key_preview: k.key_preview.clone(),
            all_brands: k.all_brands,
            brand_ids: k.brand_ids.iter().map(ToString::to_string).collect(),
            last_used_at: k.last_used_at.map(|t| t.to_rfc3339()),
            expires_at: k.expires_at.map(|t| t.to_rfc3339()),
            created_at: k.created_at.to_rfc3339(),
            revoked_at: k.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// The creation response: the key plus its secret, under both names clients use
/// (`secret` in the product docs, `key` in the SDK). Shown this once only.
#[derive(Serialize)]
pub struct CreatedApiKeyView<'a> {
    #[serde(flatten)]
    pub key: ApiKeyView,
    pub secret: &'a str,
    #[serde(rename = "key")]
    pub key_secret: &'a str,
}

/// The scope-change response: the key, plus the `success` flag the SDK reads.
#[derive(Serialize)]
pub struct ScopeUpdatedView {
    #[serde(flatten)]
    pub key: ApiKeyView,
    pub success: bool,
}
