//! API key management. Owners and admins only, with an org-wide credential, and always
//! within the credential's own organization and mode.

use crate::views::{ApiKeyView, CreatedApiKeyView, ScopeUpdatedView};
use dispatch_auth::{ApiKeySecret, Principal};
use dispatch_domain::{BrandId, FieldErrors, KeyId, Mode, OrgId, Timestamp};
use dispatch_http::ErrorCode;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, json, no_content, parse_json, path_id,
};
use dispatch_store::{
    ApiKeyRecord, ApiKeyStore, BrandStore, CredentialStore, ScopeChange, SessionStore, StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;

const MAX_SCOPED_BRANDS: usize = 100;

fn require_key_manager(principal: &Principal) -> Result<(), ApiError> {
    if principal.can_manage_api_keys() {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Managing API keys needs an owner or admin credential that reaches every brand.",
        })
    }
}

/// `GET /v1/accounts/me/api-keys`: the keys of the credential's mode, newest first.
pub async fn list_api_keys<S: CredentialStore + SessionStore + ApiKeyStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    require_key_manager(&principal)?;
    let mut keys = ctx
        .store
        .list_api_keys(&principal.org_id, principal.mode)
        .await?;
    keys.sort_by(|a, b| b.id.cmp(&a.id));
    let views: Vec<ApiKeyView> = keys.iter().map(ApiKeyView::from).collect();
    json(StatusCode::OK, &views)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateApiKeyInput {
    name: Option<String>,
    mode: Option<String>,
    all_brands: Option<bool>,
    brand_ids: Option<Vec<String>>,
    expires_at: Option<String>,
}

/// Parses a `brandIds` list into ids, recording errors against `field[i]`.
fn parse_brand_ids(errors: &mut FieldErrors, raw: &[String]) -> Vec<BrandId> {
    if raw.len() > MAX_SCOPED_BRANDS {
        errors.add(
            "brandIds",
            format!("must have at most {MAX_SCOPED_BRANDS} brands"),
        );
        return vec![];
    }
    let mut ids = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        match BrandId::parse(s) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => errors.add(format!("brandIds[{i}]"), "is not a brand id"),
        }
    }
    ids
}

/// Refuses brand ids that do not exist in this organization and mode.
async fn check_brands_exist<S: BrandStore>(
    store: &S,
    org: &OrgId,
    mode: Mode,
    ids: &[BrandId],
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = store.existing_brands(org, mode, ids).await?;
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !found.contains(id))
        .map(BrandId::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            "brandIds",
            format!("unknown brands: {}", missing.join(", ")),
        ))
    }
}

/// Decides the scope from `allBrands`/`brandIds`. `None` for both keeps `current`.
fn resolve_scope(
    errors: &mut FieldErrors,
    all_brands: Option<bool>,
    brand_ids: Option<Vec<BrandId>>,
    current: ScopeChange,
) -> ScopeChange {
    let scope = match (all_brands, brand_ids) {
        (Some(true), _) => ScopeChange {
            all_brands: true,
            brand_ids: vec![],
        },
        (_, Some(ids)) => ScopeChange {
            all_brands: false,
            brand_ids: ids,
        },
        (Some(false), None) => ScopeChange {
            all_brands: false,
            brand_ids: current.brand_ids,
        },
        (None, None) => current,
    };
    if !scope.all_brands && scope.brand_ids.is_empty() && !errors.mentions("brandIds") {
        errors.add(
            "brandIds",
            "must list at least one brand when allBrands is false",
        );
    }
    scope
}

/// `POST /v1/accounts/me/api-keys`: a new key; its secret is in this response only.
pub async fn create_api_key<S: CredentialStore + SessionStore + ApiKeyStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    require_key_manager(&principal)?;
    let input: CreateApiKeyInput = parse_json(&req)?;
    let now = ctx.clock.now();

    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_key_name(input.name.as_deref()));
    let mode = match input.mode.as_deref() {
        None => Some(principal.mode),
        Some(m) => errors.check(
            "mode",
            Mode::parse(m).ok_or_else(|| "must be live or test".to_string()),
        ),
    };
    let expires_at = match input.expires_at.as_deref() {
        None => None,
        Some(raw) => errors.check("expiresAt", parse_expiry(raw, now)),
    };
    let brand_ids = input
        .brand_ids
        .as_deref()
        .map(|raw| parse_brand_ids(&mut errors, raw));
    let all_brands_default = ScopeChange {
        all_brands: true,
        brand_ids: vec![],
    };
    let scope = resolve_scope(&mut errors, input.all_brands, brand_ids, all_brands_default);
    let (Some(name), Some(mode)) = (name, mode) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    // An API key is a credential of one mode: it cannot mint keys for the other. A
    // dashboard session may create keys of either mode.
    if mode != principal.mode && principal.session().is_none() {
        return Err(ApiError::Forbidden {
            code: ErrorCode::ModeMismatch,
            message: "A credential can only create API keys of its own mode.",
        });
    }
    check_brands_exist(&ctx.store, &principal.org_id, mode, &scope.brand_ids).await?;

    let secret = ApiKeySecret::generate(mode);
    let record = ApiKeyRecord {
        id: KeyId::generate(ctx.clock.now_millis()),
        name,
        mode,
        key_preview: secret.preview(),
        secret_hash: secret.hash(),
        all_brands: scope.all_brands,
        brand_ids: scope.brand_ids,
        last_used_at: None,
        expires_at,
        created_at: now,
        revoked_at: None,
    };
    ctx.store.create_api_key(&principal.org_id, &record).await?;
    let view = CreatedApiKeyView {
        key: ApiKeyView::from(&record),
        secret: secret.expose(),
        key_secret: secret.expose(),
    };
    json(StatusCode::CREATED, &view)
}

fn parse_key_name(raw: Option<&str>) -> Result<String, String> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        Err("is required".into())
    } else if name.chars().count() > 100 {
        Err("must be at most 100 characters".into())
    } else if name.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(name.to_string())
    }
}

fn parse_expiry(raw: &str, now: Timestamp) -> Result<Timestamp, String> {
    let t = Timestamp::parse(raw).ok_or("must be an ISO-8601 timestamp")?;
    if t <= now {
        return Err("must be in the future".into());
    }
    Ok(t)
}

/// Loads a key of the principal's organization and mode, or 404.
async fn load_key<S: ApiKeyStore>(
    store: &S,
    principal: &Principal,
    req: &Request,
) -> Result<ApiKeyRecord, ApiError> {
    let key_id = path_id(req, "keyId", KeyId::parse)?;
    store
        .api_key(&principal.org_id, principal.mode, &key_id)
        .await?
        .ok_or(ApiError::NotFound)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScopeInput {
    all_brands: Option<bool>,
    brand_ids: Option<Vec<String>>,
}

/// `PATCH /v1/accounts/me/api-keys/{keyId}/scope`.
pub async fn update_api_key_scope<S: CredentialStore + SessionStore + ApiKeyStore + BrandStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    require_key_manager(&principal)?;
    let mut record = load_key(&ctx.store, &principal, &req).await?;
    let input: ScopeInput = parse_json(&req)?;

    let mut errors = FieldErrors::new();
    if input.all_brands.is_none() && input.brand_ids.is_none() {
        errors.add("allBrands", "allBrands or brandIds is required");
    }
    let brand_ids = input
        .brand_ids
        .as_deref()
        .map(|raw| parse_brand_ids(&mut errors, raw));
    let current = ScopeChange {
        all_brands: record.all_brands,
        brand_ids: record.brand_ids.clone(),
    };
    let scope = resolve_scope(&mut errors, input.all_brands, brand_ids, current);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    if record.revoked_at.is_some() || record.expires_at.is_some_and(|t| t <= ctx.clock.now()) {
        return Err(revoked());
    }
    check_brands_exist(
        &ctx.store,
        &principal.org_id,
        principal.mode,
        &scope.brand_ids,
    )
    .await?;
    match ctx
        .store
        .update_api_key_scope(&principal.org_id, &record, &scope)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(revoked()),
        Err(e) => return Err(e.into()),
    }
    record.all_brands = scope.all_brands;
    record.brand_ids = scope.brand_ids;
    json(
        StatusCode::OK,
        &ScopeUpdatedView {
            key: ApiKeyView::from(&record),
            success: true,
        },
    )
}

fn revoked() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::ApiKeyInactive,
        message: "The API key is revoked or expired; its scope cannot change.".into(),
    }
}

/// `DELETE /v1/accounts/me/api-keys/{keyId}`: the key stops working at once. Revoking an
/// already revoked key is a no-op (204), so retries are safe.
pub async fn revoke_api_key<S: CredentialStore + SessionStore + ApiKeyStore>(
    ctx: &Context<S>,
    req: Request,
) -> Reply {
    let principal = authenticate(ctx, &req).await?;
    require_key_manager(&principal)?;
    let record = load_key(&ctx.store, &principal, &req).await?;
    match ctx
        .store
        .revoke_api_key(&principal.org_id, &record, ctx.clock.now())
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => no_content(),
        Err(e) => Err(e.into()),
    }
}
