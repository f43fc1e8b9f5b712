//! A brand's customers.
//!
//! - `GET /v1/brands/{brandId}/customers` → [`list`] (cursor-paginated; by creation, name
//!   or email, either way)
//! - `POST /v1/brands/{brandId}/customers` → [`create`]
//! - `GET /v1/brands/{brandId}/customers/search` → [`search`] (email or name prefix)
//! - `GET /v1/brands/{brandId}/customers/{customerId}` → [`get`]
//! - `PATCH /v1/brands/{brandId}/customers/{customerId}` → [`update`]
//! - `DELETE /v1/brands/{brandId}/customers/{customerId}` → [`delete`] (the table's stream
//!   then detaches the customer's tickets)
//!
//! Every key starts with the credential's organization, mode and the brand, so another
//! tenant's, mode's or brand's customer is unreachable; out-of-scope brands are 404.

use dispatch_auth::Principal;
use dispatch_domain::brand::{Metadata, parse_https_url};
use dispatch_domain::customer::{Customer, CustomerName, parse_company_id};
use dispatch_domain::{BrandId, CustomerId, Email, FieldErrors};
use dispatch_http::ErrorCode;
use dispatch_http::pagination::parse_limit_up_to;
use dispatch_http::pagination::{page_request, page_response};
use dispatch_http::request::nullable;
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, parse_json, path_id, query_param,
    reachable_brand,
};
use dispatch_store::{
    BrandStore, CredentialStore, CustomerOrder, CustomerSort, CustomerStore, IdempotencyStore,
    SessionStore, StoreError,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    id: String,
    brand_id: String,
    email: String,
    name: Option<String>,
    metadata: Value,
    avatar_url: Option<String>,
    company_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&Customer> for CustomerView {
    fn from(c: &Customer) -> CustomerView {
        CustomerView {
            id: c.id.to_string(),
            brand_id: c.brand_id.to_string(),
            email: c.email.to_string(),
            name: c.name.as_ref().map(|n| n.as_str().to_string()),
            metadata: c.metadata.to_value(),
            avatar_url: c.avatar_url.clone(),
            company_id: c.company_id.clone(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// `sort` (`createdAt`, `name`, `email`; default `createdAt`) and `order` (`asc`, `desc`;
/// default `asc`).
fn list_order(req: &Request) -> Result<CustomerOrder, ApiError> {
    let sort = match query_param(req, "sort").as_deref() {
        None | Some("createdAt") => CustomerSort::CreatedAt,
        Some("name") => CustomerSort::Name,
        Some("email") => CustomerSort::Email,
        Some(_) => {
            return Err(ApiError::validation(
                "sort",
                "must be one of createdAt, name, email",
            ));
        }
    };
    let descending = match query_param(req, "order").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::validation("order", "must be asc or desc")),
    };
    Ok(CustomerOrder { sort, descending })
}

/// The pagination scope of a brand's customer list: cursors do not cross tenants, modes,
/// brands, lists or orders (a cursor is a sort key of one order's index).
fn scope(principal: &Principal, brand: &BrandId, order: CustomerOrder) -> String {
    format!(
        "customers:{}:{}:{}:{:?}",
        principal.org_id, principal.mode, brand, order
    )
}

/// `GET /v1/brands/{brandId}/customers`.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?.id;
    let order = list_order(&req)?;
    let key = ctx.cursor_key()?;
    let scope = scope(&principal, &brand, order);
    let page = page_request(&req, key, &scope)?;
    let result = ctx
        .store
        .list_customers(
            &principal.org_id,
            principal.mode,
            &brand,
            order,
            page.after.as_deref(),
            page.limit,
        )
        .await?;
    let views: Vec<CustomerView> = result.items.iter().map(CustomerView::from).collect();
    page_response(views, result.next, key, &scope)
}

/// `GET /v1/brands/{brandId}/customers/search?q=`: up to `limit` (1–50, default 20)
/// customers whose email or name starts with `q` (1–100 characters), ignoring case, email
/// matches first; a bare array.
pub async fn search<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?.id;
    let q = query_param(&req, "q").unwrap_or_default();
    if !(1..=100).contains(&q.chars().count()) || q.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "q",
            "must be 1-100 characters, no control characters",
        ));
    }
    let limit = parse_limit_up_to(&req, 50)?;
    let found = ctx
        .store
        .search_customers(&principal.org_id, principal.mode, &brand, &q, limit)
        .await?;
    let views: Vec<CustomerView> = found.iter().map(CustomerView::from).collect();
    json(StatusCode::OK, &views)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    email: Option<String>,
    name: Option<String>,
    metadata: Option<Value>,
    avatar_url: Option<String>,
    company_id: Option<String>,
}

/// `POST /v1/brands/{brandId}/customers`: 409 when the brand already has that email.
pub async fn create<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore + IdempotencyStore,
{
    let principal = authenticate(ctx, &req).await?;
    // Authorized before any replay: a stored answer only goes to who may create it now.
    let brand = reachable_brand(&ctx.store, &principal, &req).await?.id;
    idempotency::once(ctx, &principal, &req, || {
        create_once(ctx, &principal, brand, &req)
    })
    .await
}

async fn create_once<S>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: BrandId,
    req: &Request,
) -> Reply
where
    S: BrandStore + CustomerStore,
{
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let email = errors.check(
        "email",
        Email::parse(input.email.as_deref().unwrap_or_default())
            .ok_or_else(|| "must be an email address".to_string()),
    );
    let name = match input.name.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("name", CustomerName::parse(raw)).map(Some),
    };
    let metadata = match input.metadata {
        None => Some(Metadata::default()),
        Some(v) => errors.check("metadata", Metadata::parse(v)),
    };
    let avatar_url = match input.avatar_url.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("avatarUrl", parse_https_url(raw)).map(Some),
    };
    let company_id = match input.company_id.as_deref() {
        None => Some(None),
        Some(raw) => errors.check("companyId", parse_company_id(raw)).map(Some),
    };
    let (Some(email), Some(name), Some(metadata), Some(avatar_url), Some(company_id)) =
        (email, name, metadata, avatar_url, company_id)
    else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let now = ctx.clock.now();
    let customer = Customer {
        id: CustomerId::generate(ctx.clock.now_millis()),
        brand_id: brand,
        email,
        name,
        metadata,
        avatar_url,
        company_id,
        created_at: now,
        updated_at: now,
    };
    match ctx
        .store
        .create_customer(&principal.org_id, principal.mode, &customer)
        .await
    {
        Ok(()) => json(StatusCode::CREATED, &CustomerView::from(&customer)),
        Err(StoreError::Conflict(_)) => Err(customer_exists()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/brands/{brandId}/customers/{customerId}`: two reads (credential, customer).
pub async fn get<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + CustomerStore,
{
    let (_, customer) = path_customer(ctx, &req).await?;
    json(StatusCode::OK, &CustomerView::from(&customer))
}

/// The customer of the path, for a credential that reaches its brand: one BatchGetItem
/// (the brand and the customer), 404 for anything else.
async fn path_customer<S>(
    ctx: &Context<S>,
    req: &Request,
) -> Result<(Principal, Customer), ApiError>
where
    S: CredentialStore + SessionStore + CustomerStore,
{
    let principal = authenticate(ctx, req).await?;
    let brand = path_id(req, "brandId", BrandId::parse)?;
    let id = path_id(req, "customerId", CustomerId::parse)?;
    if !principal.can_access_brand(&brand) {
        return Err(ApiError::NotFound);
    }
    let customer = ctx
        .store
        .customer(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((principal, customer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateInput {
    email: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    metadata: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    avatar_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    company_id: Option<Option<String>>,
}

/// A field of a PATCH where `null` clears: `None` leaves, `Some(None)` clears, a value
/// must pass `parse` (its problem goes to `errors`, and the field reads as left).
fn cleared_or_parsed<T>(
    errors: &mut FieldErrors,
    field: &str,
    raw: Option<Option<String>>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    match raw? {
        None => Some(None),
        Some(v) => errors.check(field, parse(&v)).map(Some),
    }
}

/// The customer after a PATCH, or the field errors (nothing is written then).
fn patched(before: &Customer, input: UpdateInput) -> Result<Customer, ApiError> {
    let mut errors = FieldErrors::new();
    let mut after = before.clone();
    if let Some(raw) = input.email {
        match Email::parse(&raw) {
            Some(email) => after.email = email,
            None => errors.add("email", "must be an email address"),
        }
    }
    if let Some(name) = cleared_or_parsed(&mut errors, "name", input.name, CustomerName::parse) {
        after.name = name;
    }
    if let Some(url) =
        cleared_or_parsed(&mut errors, "avatarUrl", input.avatar_url, parse_https_url)
    {
        after.avatar_url = url;
    }
    if let Some(company) =
        cleared_or_parsed(&mut errors, "companyId", input.company_id, parse_company_id)
    {
        after.company_id = company;
    }
    if let Some(raw) = input.metadata
        && let Some(metadata) = errors.check("metadata", Metadata::parse(raw))
    {
        after.metadata = metadata;
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    Ok(after)
}

/// After a conditional write on `customer` failed: 409 if it is still there (its email or
/// name changed meanwhile; read it again), 404 if it is gone.
async fn changed_or_gone<S: CustomerStore>(
    store: &S,
    principal: &Principal,
    customer: &Customer,
) -> ApiError {
    match store
        .customer(
            &principal.org_id,
            principal.mode,
            &customer.brand_id,
            &customer.id,
        )
        .await
    {
        Ok(Some(_)) => ApiError::Conflict {
            code: ErrorCode::ConcurrentUpdate,
            message: "The customer changed while this request ran. Read it again and retry.".into(),
        },
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

/// `PATCH /v1/brands/{brandId}/customers/{customerId}`: changes only the fields sent
/// (`null` clears `name`, `avatarUrl` and `companyId`); a new email moves the customer's
/// claim in the same transaction (409 `customer_exists` when another customer has it).
pub async fn update<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + CustomerStore,
{
    let (principal, before) = path_customer(ctx, &req).await?;
    let input: UpdateInput = parse_json(&req)?;
    let mut after = patched(&before, input)?;
    // Nothing to change: answer with the customer as it is, without a write.
    if after == before {
        return json(StatusCode::OK, &CustomerView::from(&before));
    }
    after.updated_at = ctx.clock.now();
    match ctx
        .store
        .update_customer(&principal.org_id, principal.mode, &before, &after)
        .await
    {
        Ok(()) => json(StatusCode::OK, &CustomerView::from(&after)),
        Err(StoreError::Conflict(_)) => Err(customer_exists()),
        Err(StoreError::NotFound | StoreError::Contended) => {
            Err(changed_or_gone(&ctx.store, &principal, &before).await)
        }
        Err(e) => Err(e.into()),
    }
}

/// `DELETE /v1/brands/{brandId}/customers/{customerId}` → 200 with the customer as it
/// was. The customer, its email claim and its name item go in one transaction; the
/// table's stream then detaches its tickets (`customerId: null`), which ends its portal
/// view. Its email is free again at once.
pub async fn delete<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + CustomerStore,
{
    let (principal, customer) = path_customer(ctx, &req).await?;
    match ctx
        .store
        .delete_customer(&principal.org_id, principal.mode, &customer)
        .await
    {
        Ok(()) => json(StatusCode::OK, &CustomerView::from(&customer)),
        Err(StoreError::NotFound | StoreError::Contended) => {
            Err(changed_or_gone(&ctx.store, &principal, &customer).await)
        }
        Err(e) => Err(e.into()),
    }
}

fn customer_exists() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::CustomerExists,
        message: "This brand already has a customer with that email address.".into(),
    }
}
