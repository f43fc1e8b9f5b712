//! A brand's custom field definitions, per entity (`ticket`, `customer`, `company`).
//!
//! - `GET /v1/brands/{brandId}/fields` → [`list_all`] (`{ticket, customer, company}`)
//! - `GET` / `POST /v1/brands/{brandId}/fields/{entity}` → [`list`] / [`create`]
//! - `PATCH` / `DELETE /v1/brands/{brandId}/fields/{entity}/{key}` → [`update`] / [`delete`]
//! - `POST /v1/brands/{brandId}/fields/{entity}/reorder` → [`reorder`]
//!
//! Any credential reaching the brand reads them; owners and admins write them. They
//! describe `customFields` for the dashboard and are not enforced on writes.

use crate::{in_requested_order, managed_brand};
use dispatch_auth::Principal;
use dispatch_domain::field::{
    Entity, FieldDefinition, FieldType, MAX_FIELDS_PER_ENTITY, check_default, parse_key,
    parse_label, parse_options, parse_sort_order, parse_text,
};
use dispatch_domain::{BrandId, FieldErrors};
use dispatch_http::request::nullable;
use dispatch_http::{
    ApiError, Context, ErrorCode, Reply, authenticate, idempotency, json, no_content, parse_json,
    reachable_brand,
};
use dispatch_store::{
    BrandStore, CredentialStore, FieldStore, IdempotencyStore, SessionStore, StoreError,
};
use lambda_http::http::StatusCode;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldView {
    key: String,
    label: String,
    #[serde(rename = "type")]
    field_type: &'static str,
    required: bool,
    default_value: Option<Value>,
    description: Option<String>,
    placeholder: Option<String>,
    options: Vec<String>,
    visible: bool,
    sort_order: i64,
    source: Option<String>,
    created_at: String,
}

impl From<&FieldDefinition> for FieldView {
    fn from(f: &FieldDefinition) -> FieldView {
        FieldView {
            key: f.key.clone(),
            label: f.label.clone(),
            field_type: f.field_type.as_str(),
            required: f.required,
            default_value: f.default_value.clone(),
            description: f.description.clone(),
            placeholder: f.placeholder.clone(),
            options: f.options.clone(),
            visible: f.visible,
            sort_order: f.sort_order,
            source: f.source.clone(),
            created_at: f.created_at.to_rfc3339(),
        }
    }
}

fn views(fields: &[FieldDefinition]) -> Vec<FieldView> {
    fields.iter().map(FieldView::from).collect()
}

/// The path's entity: an unknown one names nothing, so it is 404.
fn path_entity(req: &Request) -> Result<Entity, ApiError> {
    req.path_parameters()
        .first("entity")
        .and_then(Entity::parse)
        .ok_or(ApiError::NotFound)
}

/// The path's key: a malformed one names nothing (404, no read).
fn path_key(req: &Request) -> Result<String, ApiError> {
    req.path_parameters()
        .first("key")
        .and_then(|k| parse_key(k).ok())
        .ok_or(ApiError::NotFound)
}

/// `GET /v1/brands/{brandId}/fields`: every entity's definitions, one Query.
pub async fn list_all<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let all = ctx
        .store
        .fields(&principal.org_id, principal.mode, &brand.id, None)
        .await?;
    let of = |e: Entity| -> Vec<FieldView> {
        all.iter()
            .filter(|f| f.entity == e)
            .map(FieldView::from)
            .collect()
    };
    json(
        StatusCode::OK,
        &serde_json::json!({
            "ticket": of(Entity::Ticket),
            "customer": of(Entity::Customer),
            "company": of(Entity::Company),
        }),
    )
}

/// `GET /v1/brands/{brandId}/fields/{entity}`: in `sortOrder`, then key.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let principal = authenticate(ctx, &req).await?;
    let entity = path_entity(&req)?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let fields = ctx
        .store
        .fields(&principal.org_id, principal.mode, &brand.id, Some(entity))
        .await?;
    json(StatusCode::OK, &views(&fields))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    key: Option<String>,
    label: Option<String>,
    #[serde(rename = "type")]
    field_type: Option<String>,
    required: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    default_value: Option<Option<Value>>,
    description: Option<String>,
    placeholder: Option<String>,
    options: Option<Vec<String>>,
    visible: Option<bool>,
    sort_order: Option<i64>,
    source: Option<String>,
}

/// `options` for a field of `field_type`: required (and checked) for select and
/// multiselect, refused for every other type.
fn options_for(
    errors: &mut FieldErrors,
    field_type: FieldType,
    raw: Option<&[String]>,
) -> Option<Vec<String>> {
    match (field_type.has_options(), raw) {
        (true, Some(raw)) => errors.check("options", parse_options(raw)),
        (true, None) => {
            errors.add("options", "is required for select and multiselect fields");
            None
        }
        (false, None) => Some(Vec::new()),
        (false, Some(_)) => {
            errors.add("options", "only select and multiselect fields have options");
            None
        }
    }
}

/// `POST /v1/brands/{brandId}/fields/{entity}` (with `X-Idempotency-Key`): 409
/// `field_exists` for a key the entity has, 409 `field_limit_reached` past 50.
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore + IdempotencyStore,
{
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let (principal, brand) = managed_brand(ctx, &req).await?;
    let entity = path_entity(&req)?;
    idempotency::once(ctx, &principal, &req, || async {
        let input: CreateInput = parse_json(&req)?;
        let mut errors = FieldErrors::new();
        let key = errors.check("key", parse_key(input.key.as_deref().unwrap_or_default()));
        let label = errors.check(
            "label",
            parse_label(input.label.as_deref().unwrap_or_default()),
        );
        let field_type = errors.check(
            "type",
            FieldType::parse(input.field_type.as_deref().unwrap_or_default()),
        );
        let options =
            field_type.and_then(|t| options_for(&mut errors, t, input.options.as_deref()));
        let default_value = input.default_value.flatten();
        if let (Some(t), Some(opts), Some(v)) = (field_type, &options, &default_value) {
            errors.check("defaultValue", check_default(v, t, opts));
        }
        let description = match input.description.as_deref() {
            None => Some(None),
            Some(raw) => errors.check("description", parse_text(raw, 500)),
        };
        let placeholder = match input.placeholder.as_deref() {
            None => Some(None),
            Some(raw) => errors.check("placeholder", parse_text(raw, 200)),
        };
        let source = match input.source.as_deref() {
            None => Some(None),
            Some(raw) => errors.check("source", parse_text(raw, 50)),
        };
        let sort_order = input
            .sort_order
            .map(|o| errors.check("sortOrder", parse_sort_order(o)));
        let (
            Some(key),
            Some(label),
            Some(field_type),
            Some(options),
            Some(description),
            Some(placeholder),
            Some(source),
        ) = (key, label, field_type, options, description, placeholder, source)
        else {
            return Err(ApiError::Validation(errors.into_vec()));
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors.into_vec()));
        }
        let (org, mode) = (&principal.org_id, principal.mode);
        let sort_order = match sort_order.flatten() {
            Some(o) => o,
            // Last: one more than the largest so far (at most 50 to read).
            None => ctx
                .store
                .fields(org, mode, &brand.id, Some(entity))
                .await?
                .iter()
                .map(|f| f.sort_order + 1)
                .max()
                .unwrap_or(0)
                .min(dispatch_domain::field::MAX_SORT_ORDER),
        };
        let field = FieldDefinition {
            entity,
            key,
            label,
            field_type,
            required: input.required.unwrap_or(false),
            default_value,
            description,
            placeholder,
            options,
            visible: input.visible.unwrap_or(true),
            sort_order,
            source,
            version: 0,
            created_at: ctx.clock.now(),
        };
        match ctx.store.create_field(org, mode, &brand.id, &field).await {
            Ok(()) => json(StatusCode::CREATED, &FieldView::from(&field)),
            Err(StoreError::Conflict("field")) => Err(ApiError::Conflict {
                code: ErrorCode::FieldExists,
                message: format!("This brand already has a {} field with that key.", entity.as_str()),
            }),
            Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
                code: ErrorCode::FieldLimitReached,
                message: format!(
                    "A brand has at most {MAX_FIELDS_PER_ENTITY} fields per entity. Delete one first."
                ),
            }),
            Err(StoreError::NotFound) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The definition of the path, for a credential that may change the brand's settings.
async fn managed_field<S>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<(Principal, BrandId, FieldDefinition), ApiError>
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let (principal, brand) = managed_brand(ctx, req).await?;
    let entity = path_entity(req)?;
    let key = path_key(req)?;
    let field = ctx
        .store
        .field(&principal.org_id, principal.mode, &brand.id, entity, &key)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((principal, brand.id, field))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateInput {
    label: Option<String>,
    required: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    default_value: Option<Option<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    placeholder: Option<Option<String>>,
    options: Option<Vec<String>>,
    visible: Option<bool>,
    sort_order: Option<i64>,
}

/// `PATCH /v1/brands/{brandId}/fields/{entity}/{key}`: any field but `key`, `type` and
/// `source`; `null` clears `defaultValue`, `description` and `placeholder`. The default
/// must still fit the type and options afterwards.
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let (principal, brand, before) = managed_field(ctx, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(raw) = input.label.as_deref()
        && let Some(label) = errors.check("label", parse_label(raw))
    {
        after.label = label;
    }
    if let Some(v) = input.required {
        after.required = v;
    }
    if let Some(v) = input.visible {
        after.visible = v;
    }
    if let Some(raw) = input.options.as_deref()
        && let Some(options) = options_for(&mut errors, before.field_type, Some(raw))
    {
        after.options = options;
    }
    if let Some(v) = input.default_value {
        after.default_value = v;
    }
    let text = |errors: &mut FieldErrors,
                name: &str,
                raw: Option<Option<String>>,
                max: usize,
                into: &mut Option<String>| {
        match raw {
            None => {}
            Some(None) => *into = None,
            Some(Some(v)) => {
                if let Some(v) = errors.check(name, parse_text(&v, max)) {
                    *into = v;
                }
            }
        }
    };
    text(
        &mut errors,
        "description",
        input.description,
        500,
        &mut after.description,
    );
    text(
        &mut errors,
        "placeholder",
        input.placeholder,
        200,
        &mut after.placeholder,
    );
    if let Some(o) = input.sort_order
        && let Some(o) = errors.check("sortOrder", parse_sort_order(o))
    {
        after.sort_order = o;
    }
    if let Some(v) = &after.default_value {
        errors.check(
            "defaultValue",
            check_default(v, after.field_type, &after.options),
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    if after == before {
        return json(StatusCode::OK, &FieldView::from(&before));
    }
    match ctx
        .store
        .update_field(&principal.org_id, principal.mode, &brand, &after)
        .await
    {
        Ok(()) => json(StatusCode::OK, &FieldView::from(&after)),
        Err(StoreError::NotFound) => Err(ApiError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: "The field changed or went away while this request ran. Read it again.".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/fields/{entity}/{key}` → 204. Values already stored under
/// the key in `customFields` stay.
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let (principal, brand, field) = managed_field(ctx, &req).await?;
    // Gone meanwhile: 404, as the store's `NotFound` always is.
    ctx.store
        .delete_field(
            &principal.org_id,
            principal.mode,
            &brand,
            field.entity,
            &field.key,
        )
        .await?;
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReorderInput {
    keys: Option<Vec<String>>,
}

/// `POST /v1/brands/{brandId}/fields/{entity}/reorder` `{keys}`: every key of the entity
/// exactly once; `sortOrder` becomes each one's position (0…n−1), in one transaction.
/// Answers the list in its new order.
pub async fn reorder<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + FieldStore,
{
    let (principal, brand) = managed_brand(ctx, &req).await?;
    let entity = path_entity(&req)?;
    let input: ReorderInput = parse_json(&req)?;
    let Some(keys) = input.keys else {
        return Err(ApiError::validation("keys", "is required"));
    };
    let (org, mode) = (&principal.org_id, principal.mode);
    let current = ctx.store.fields(org, mode, &brand.id, Some(entity)).await?;
    let ordered = in_requested_order(
        &current,
        &keys,
        |f: &FieldDefinition| f.key.as_str(),
        (
            "keys",
            &format!("a {} field", entity.as_str()),
            "every field of the entity",
        ),
    )?;
    match ctx
        .store
        .reorder_fields(org, mode, &brand.id, &ordered)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound | StoreError::Contended) => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ConcurrentUpdate,
                message: "The fields changed while this request ran. Read them again.".into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let reordered: Vec<FieldDefinition> = ordered
        .into_iter()
        .enumerate()
        .map(|(i, f)| FieldDefinition {
            sort_order: i as i64,
            version: f.version + 1,
            ..f
        })
        .collect();
    json(StatusCode::OK, &views(&reordered))
}
