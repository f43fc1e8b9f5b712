//! A brand's ticket tags.
//!
//! - `GET` / `POST /v1/brands/{brandId}/tags` → [`list`] / [`create`]
//! - `PATCH` / `DELETE /v1/brands/{brandId}/tags/{tagId}` → [`update`] / [`delete`]
//! - `POST /v1/brands/{brandId}/tags/{tagId}/merge` → [`merge`]
//!
//! Any credential reaching the brand reads them; owners and admins write them. Tickets keep
//! tag names: a rename, a merge or a delete is answered at once, and the table's stream
//! then rewrites the names on the brand's tickets.

use crate::managed_brand;
use dispatch_auth::Principal;
use dispatch_domain::category::parse_color;
use dispatch_domain::tag::{DEFAULT_COLOR, MAX_MERGE_SOURCES, MAX_TAGS, Tag, parse_name};
use dispatch_domain::{FieldErrors, TagId};
use dispatch_http::{
    ApiError, Context, ErrorCode, Reply, authenticate, idempotency, json, no_content, parse_json,
    path_id, reachable_brand,
};
use dispatch_store::{
    BrandStore, CredentialStore, IdempotencyStore, SessionStore, StoreError, TagStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagView {
    id: String,
    brand_id: String,
    name: String,
    color: String,
    created_at: String,
}

impl From<&Tag> for TagView {
    fn from(t: &Tag) -> TagView {
        TagView {
            id: t.id.to_string(),
            brand_id: t.brand_id.to_string(),
            name: t.name.clone(),
            color: t.color.clone(),
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

fn name_taken() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::TagExists,
        message: "This brand already has a tag with that name.".into(),
    }
}

fn changed_meanwhile() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::ConcurrentUpdate,
        message: "The tag changed or went away while this request ran. Read it again.".into(),
    }
}

/// `GET /v1/brands/{brandId}/tags`: all of them (at most 500), by name; one Query.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + TagStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let tags = ctx
        .store
        .tags(&principal.org_id, principal.mode, &brand.id)
        .await?;
    json(
        StatusCode::OK,
        &tags.iter().map(TagView::from).collect::<Vec<_>>(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInput {
    name: Option<String>,
    color: Option<String>,
}

/// Creates `tag`, as the API answers it: 409 `tag_exists`, 409 `tag_limit_reached`.
pub async fn write_new_tag<S: TagStore>(
    ctx: &Context<S>,
    principal: &Principal,
    tag: &Tag,
) -> Result<(), ApiError> {
    match ctx
        .store
        .create_tag(&principal.org_id, principal.mode, tag)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict("tag")) => Err(name_taken()),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
            code: ErrorCode::TagLimitReached,
            message: format!("A brand has at most {MAX_TAGS} tags. Delete or merge some first."),
        }),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// `POST /v1/brands/{brandId}/tags` (with `X-Idempotency-Key`).
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + TagStore + IdempotencyStore,
{
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
        let (Some(name), Some(color)) = (name, color) else {
            return Err(ApiError::Validation(errors.into_vec()));
        };
        let tag = Tag {
            id: TagId::generate(ctx.clock.now_millis()),
            brand_id: brand.id.clone(),
            name,
            color,
            version: 0,
            created_at: ctx.clock.now(),
        };
        write_new_tag(ctx, &principal, &tag).await?;
        json(StatusCode::CREATED, &TagView::from(&tag))
    })
    .await
}

/// The tag of the path, for a credential that may change the brand's settings.
async fn managed_tag<S>(ctx: &Context<S>, req: &Request) -> Result<(Principal, Tag), ApiError>
where
    S: CredentialStore + SessionStore + BrandStore + TagStore,
{
    let (principal, brand) = managed_brand(ctx, req).await?;
    let id = path_id(req, "tagId", TagId::parse)?;
    let tag = ctx
        .store
        .tag(&principal.org_id, principal.mode, &brand.id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((principal, tag))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateInput {
    name: Option<String>,
    color: Option<String>,
}

/// `PATCH /v1/brands/{brandId}/tags/{tagId}` `{name?, color?}`. A new name is written on
/// the brand's tickets shortly after (the stream rewrites them).
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + TagStore,
{
    let (principal, before) = managed_tag(ctx, &req).await?;
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
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    if after == before {
        return json(StatusCode::OK, &TagView::from(&before));
    }
    match ctx
        .store
        .update_tag(&principal.org_id, principal.mode, &before, &after)
        .await
    {
        Ok(()) => json(StatusCode::OK, &TagView::from(&after)),
        Err(StoreError::Conflict(_)) => Err(name_taken()),
        Err(StoreError::NotFound | StoreError::Contended) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/tags/{tagId}` → 204. Its name leaves the brand's tickets
/// shortly after (the stream rewrites them).
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + TagStore,
{
    let (principal, tag) = managed_tag(ctx, &req).await?;
    // Gone meanwhile: 404, as the store's `NotFound` always is.
    ctx.store
        .delete_tags(&principal.org_id, principal.mode, &[tag], None)
        .await?;
    no_content()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MergeInput {
    source_tag_ids: Option<Vec<String>>,
}

/// `POST /v1/brands/{brandId}/tags/{tagId}/merge` `{sourceTagIds}` (1–50 distinct tags of
/// the brand, not the target): the sources are deleted, and on their tickets their names
/// become the target's (the stream rewrites them). Answers the target.
pub async fn merge<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + TagStore,
{
    let (principal, target) = managed_tag(ctx, &req).await?;
    let input: MergeInput = parse_json(&req)?;
    let raw = input.source_tag_ids.unwrap_or_default();
    if raw.is_empty() || raw.len() > MAX_MERGE_SOURCES {
        return Err(ApiError::validation(
            "sourceTagIds",
            format!("must list 1-{MAX_MERGE_SOURCES} tag ids"),
        ));
    }
    let mut ids: Vec<TagId> = Vec::with_capacity(raw.len());
    let mut errors = FieldErrors::new();
    for (i, id) in raw.iter().enumerate() {
        let field = format!("sourceTagIds[{i}]");
        match TagId::parse(id) {
            None => errors.add(field, "must be a tag id"),
            Some(id) if id == target.id => errors.add(field, "is the target itself"),
            Some(id) if ids.contains(&id) => errors.add(field, "is listed twice"),
            Some(id) => ids.push(id),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let (org, mode) = (&principal.org_id, principal.mode);
    let sources = ctx
        .store
        .tags_by_id(org, mode, &target.brand_id, &ids)
        .await?;
    for (i, id) in ids.iter().enumerate() {
        if !sources.iter().any(|s| &s.id == id) {
            errors.add(format!("sourceTagIds[{i}]"), "is not a tag of this brand");
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    match ctx
        .store
        .delete_tags(org, mode, &sources, Some(&target.name))
        .await
    {
        Ok(()) => json(StatusCode::OK, &TagView::from(&target)),
        Err(StoreError::NotFound | StoreError::Contended) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}
