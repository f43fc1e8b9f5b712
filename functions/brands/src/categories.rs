//! A brand's ticket categories.
//!
//! - `GET` / `POST /v1/brands/{brandId}/categories` → [`list`] / [`create`]
//! - `GET /v1/brands/{brandId}/categories/stats` → [`stats`]
//! - `POST /v1/brands/{brandId}/categories/reorder` → [`reorder`]
//! - `GET` / `PATCH` / `DELETE /v1/brands/{brandId}/categories/{categoryId}` → [`get`] /
//!   [`update`] / [`delete`]
//!
//! Any credential reaching the brand reads them; owners and admins write them. Each counts
//! its live tickets (`ticketCount`, kept in the tickets' own transactions); a delete leaves
//! its tickets uncategorized (the stream clears them).

use crate::{in_requested_order, managed_brand};
use dispatch_auth::Principal;
use dispatch_domain::category::{Category, DEFAULT_COLOR, MAX_CATEGORIES, parse_color, parse_name};
use dispatch_domain::field::{MAX_SORT_ORDER, parse_sort_order, parse_text};
use dispatch_domain::{CategoryId, FieldErrors};
use dispatch_http::request::nullable;
use dispatch_http::{
    ApiError, Context, ErrorCode, Reply, authenticate, brand_path, idempotency, json, no_content,
    parse_json, path_id, reachable_brand,
};
use dispatch_store::{
    BrandStore, CategoryStore, CredentialStore, IdempotencyStore, SessionStore, StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    id: String,
    brand_id: String,
    name: String,
    color: String,
    description: Option<String>,
    sort_order: i64,
    ticket_count: u64,
    created_at: String,
    updated_at: String,
}

impl From<&Category> for CategoryView {
    fn from(c: &Category) -> CategoryView {
        CategoryView {
            id: c.id.to_string(),
            brand_id: c.brand_id.to_string(),
            name: c.name.clone(),
            color: c.color.clone(),
            description: c.description.clone(),
            sort_order: c.sort_order,
            ticket_count: c.ticket_count,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

fn views(categories: &[Category]) -> Vec<CategoryView> {
    categories.iter().map(CategoryView::from).collect()
}

fn name_taken() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::CategoryExists,
        message: "This brand already has a category with that name.".into(),
    }
}

/// `GET /v1/brands/{brandId}/categories`: all of them (at most 100), in `sortOrder`, then
/// name; one Query.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let categories = ctx
        .store
        .categories(&principal.org_id, principal.mode, &brand.id)
        .await?;
    json(StatusCode::OK, &views(&categories))
}

/// `GET /v1/brands/{brandId}/categories/stats`: `{"cat_…": {ticketCount}}` for every
/// category (the counts are kept as tickets move, so this is the same one Query).
pub async fn stats<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let categories = ctx
        .store
        .categories(&principal.org_id, principal.mode, &brand.id)
        .await?;
    let stats: BTreeMap<String, serde_json::Value> = categories
        .iter()
        .map(|c| {
            (
                c.id.to_string(),
                serde_json::json!({"ticketCount": c.ticket_count}),
            )
        })
        .collect();
    json(StatusCode::OK, &stats)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    color: Option<String>,
    description: Option<String>,
    sort_order: Option<i64>,
}

/// `POST /v1/brands/{brandId}/categories` (with `X-Idempotency-Key`): 409
/// `category_exists` for a name the brand has (ignoring case), 409
/// `category_limit_reached` past 100.
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore + IdempotencyStore,
{
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let (principal, brand) = managed_brand(ctx, &req).await?;
    idempotency::once(ctx, &principal, &req, || async {
        let input: CreateInput = parse_json(&req)?;
        let mut errors = FieldErrors::new();
        let name = errors.check(
            "name",
            parse_name(input.name.as_deref().unwrap_or_default()),
        );
        let color = errors.check(
            "color",
            parse_color(input.color.as_deref().unwrap_or(DEFAULT_COLOR)),
        );
        let description = match input.description.as_deref() {
            None => Some(None),
            Some(raw) => errors.check("description", parse_text(raw, 500)),
        };
        let sort_order = input
            .sort_order
            .map(|o| errors.check("sortOrder", parse_sort_order(o)));
        let (Some(name), Some(color), Some(description)) = (name, color, description) else {
            return Err(ApiError::Validation(errors.into_vec()));
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors.into_vec()));
        }
        let (org, mode) = (&principal.org_id, principal.mode);
        let sort_order = match sort_order.flatten() {
            Some(o) => o,
            // Last: one more than the largest so far (at most 100 to read).
            None => ctx
                .store
                .categories(org, mode, &brand.id)
                .await?
                .iter()
                .map(|c| c.sort_order + 1)
                .max()
                .unwrap_or(0)
                .min(MAX_SORT_ORDER),
        };
        let now = ctx.clock.now();
        let category = Category {
            id: CategoryId::generate(ctx.clock.now_millis()),
            brand_id: brand.id.clone(),
            name,
            color,
            description,
            sort_order,
            ticket_count: 0,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        match ctx.store.create_category(org, mode, &category).await {
            Ok(()) => json(StatusCode::CREATED, &CategoryView::from(&category)),
            Err(StoreError::Conflict("category")) => Err(name_taken()),
            Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
                code: ErrorCode::CategoryLimitReached,
                message: format!(
                    "A brand has at most {MAX_CATEGORIES} categories. Delete one first."
                ),
            }),
            Err(StoreError::NotFound) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The path's category id: a malformed one names nothing (404, no read).
fn path_category(req: &Request) -> Result<CategoryId, ApiError> {
    path_id(req, "categoryId", CategoryId::parse)
}

/// `GET /v1/brands/{brandId}/categories/{categoryId}`: one round trip (brand and
/// category together).
pub async fn get<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + CategoryStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = brand_path(&principal, &req)?;
    let id = path_category(&req)?;
    let category = ctx
        .store
        .category(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    json(StatusCode::OK, &CategoryView::from(&category))
}

/// The category of the path, for a credential that may change the brand's settings.
async fn managed_category<S>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<(Principal, Category), ApiError>
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let (principal, brand) = managed_brand(ctx, req).await?;
    let id = path_category(req)?;
    let category = ctx
        .store
        .category(&principal.org_id, principal.mode, &brand.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((principal, category))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateInput {
    name: Option<String>,
    color: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    sort_order: Option<i64>,
}

/// `PATCH /v1/brands/{brandId}/categories/{categoryId}`: any of `name`, `color`,
/// `description` (`null` or `""` clears it), `sortOrder`.
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let (principal, before) = managed_category(ctx, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(raw) = input.name.as_deref()
        && let Some(name) = errors.check("name", parse_name(raw))
    {
        after.name = name;
    }
    if let Some(raw) = input.color.as_deref()
        && let Some(color) = errors.check("color", parse_color(raw))
    {
        after.color = color;
    }
    match input.description {
        None => {}
        Some(None) => after.description = None,
        Some(Some(raw)) => {
            if let Some(d) = errors.check("description", parse_text(&raw, 500)) {
                after.description = d;
            }
        }
    }
    if let Some(o) = input.sort_order
        && let Some(o) = errors.check("sortOrder", parse_sort_order(o))
    {
        after.sort_order = o;
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    if after == before {
        return json(StatusCode::OK, &CategoryView::from(&before));
    }
    after.updated_at = ctx.clock.now();
    match ctx
        .store
        .update_category(&principal.org_id, principal.mode, &before, &after)
        .await
    {
        Ok(()) => json(StatusCode::OK, &CategoryView::from(&after)),
        Err(StoreError::Conflict(_)) => Err(name_taken()),
        Err(StoreError::NotFound | StoreError::Contended) => Err(ApiError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: "The category changed or went away while this request ran. Read it again."
                .into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/categories/{categoryId}` → 204. Its tickets lose their
/// `categoryId` shortly after (the table's stream clears them).
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let (principal, category) = managed_category(ctx, &req).await?;
    // Gone meanwhile: 404, as the store's `NotFound` always is.
    ctx.store
        .delete_category(&principal.org_id, principal.mode, &category)
        .await?;
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReorderInput {
    category_ids: Option<Vec<String>>,
}

/// `POST /v1/brands/{brandId}/categories/reorder` `{categoryIds}`: every category exactly
/// once; `sortOrder` becomes each one's position (0…n−1), in one transaction. Answers the
/// list in its new order.
pub async fn reorder<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CategoryStore,
{
    let (principal, brand) = managed_brand(ctx, &req).await?;
    let input: ReorderInput = parse_json(&req)?;
    let Some(ids) = input.category_ids else {
        return Err(ApiError::validation("categoryIds", "is required"));
    };
    let (org, mode) = (&principal.org_id, principal.mode);
    let current = ctx.store.categories(org, mode, &brand.id).await?;
    let ordered = in_requested_order(
        &current,
        &ids,
        |c: &Category| c.id.as_str(),
        (
            "categoryIds",
            "a category of this brand",
            "every category of the brand",
        ),
    )?;
    let now = ctx.clock.now();
    match ctx
        .store
        .reorder_categories(org, mode, &brand.id, &ordered, now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound | StoreError::Contended) => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ConcurrentUpdate,
                message: "The categories changed while this request ran. Read them again.".into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let reordered: Vec<Category> = ordered
        .into_iter()
        .enumerate()
        .map(|(i, c)| Category {
            sort_order: i as i64,
            version: c.version + 1,
            updated_at: now,
            ..c
        })
        .collect();
    json(StatusCode::OK, &views(&reordered))
}
