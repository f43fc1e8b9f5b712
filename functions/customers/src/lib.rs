//! A brand's customers.
//!
//! - `GET /v1/brands/{brandId}/customers` → [`list`] (cursor-paginated, oldest first)
//! - `POST /v1/brands/{brandId}/customers` → [`create`]
//! - `GET /v1/brands/{brandId}/customers/{customerId}` → [`get`]
//!
//! Every key starts with the credential's organization, mode and the brand, so another
//! tenant's, mode's or brand's customer is unreachable; out-of-scope brands are 404.

use dispatch_auth::Principal;
use dispatch_domain::brand::{Metadata, parse_https_url};
use dispatch_domain::customer::{Customer, CustomerName, parse_company_id};
use dispatch_domain::{BrandId, CustomerId, Email, FieldErrors};
use dispatch_http::ErrorCode;
use dispatch_http::pagination::{page_request, page_response};
use dispatch_http::{
    ApiError, Context, Reply, authenticate, idempotency, json, parse_json, path_id, reachable_brand,
};
use dispatch_store::{
    BrandStore, CredentialStore, CustomerStore, IdempotencyStore, SessionStore, StoreError,
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

/// The pagination scope of a brand's customer list: cursors do not cross tenants, modes,
/// brands or lists.
fn scope(principal: &Principal, brand: &BrandId) -> String {
    format!(
        "customers:{}:{}:{}",
        principal.org_id, principal.mode, brand
    )
}

/// `GET /v1/brands/{brandId}/customers`.
pub async fn list<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?.id;
    let key = ctx.cursor_key()?;
    let scope = scope(&principal, &brand);
    let page = page_request(&req, key, &scope)?;
    let result = ctx
        .store
        .list_customers(
            &principal.org_id,
            principal.mode,
            &brand,
            page.after.as_deref(),
            page.limit,
        )
        .await?;
    let views: Vec<CustomerView> = result.items.iter().map(CustomerView::from).collect();
    page_response(views, result.next, key, &scope)
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
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
            code: ErrorCode::CustomerExists,
            message: "This brand already has a customer with that email address.".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// `GET /v1/brands/{brandId}/customers/{customerId}`: two reads (credential, customer).
pub async fn get<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + CustomerStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = path_id(&req, "brandId", BrandId::parse)?;
    let id = path_id(&req, "customerId", CustomerId::parse)?;
    if !principal.can_access_brand(&brand) {
        return Err(ApiError::NotFound);
    }
    let customer = ctx
        .store
        .customer(&principal.org_id, principal.mode, &brand, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    json(StatusCode::OK, &CustomerView::from(&customer))
}
