//! The one check that a path's brand is the caller's to reach.

use crate::{ApiError, path_id};
use dispatch_auth::Principal;
use dispatch_domain::brand::Brand;
use dispatch_domain::{BrandId, TicketId};
use dispatch_store::BrandStore;
use lambda_http::Request;

/// The brand named by the `brandId` path parameter, if the principal's scope reaches it and
/// it exists in the principal's organization and mode; 404 otherwise (another tenant's,
/// mode's or scope's brand is indistinguishable from none).
pub async fn reachable_brand<S: BrandStore>(
    store: &S,
    principal: &Principal,
    req: &Request,
) -> Result<Brand, ApiError> {
    let id = path_id(req, "brandId", BrandId::parse)?;
    if !principal.can_access_brand(&id) {
        return Err(ApiError::NotFound);
    }
    store
        .brand(&principal.org_id, principal.mode, &id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The (brand, ticket) ids of a `…/brands/{brandId}/tickets/{ticketId}/…` path when the
/// principal's brand scope reaches the brand; 404 otherwise. No I/O: the ticket's own read,
/// keyed by the principal's tenant and mode, decides whether it exists.
pub fn ticket_path(principal: &Principal, req: &Request) -> Result<(BrandId, TicketId), ApiError> {
    let brand = brand_path(principal, req)?;
    let ticket = path_id(req, "ticketId", TicketId::parse)?;
    Ok((brand, ticket))
}

/// The `brandId` of the path when the principal's brand scope reaches it; 404 otherwise.
/// No I/O: for reads that fetch the brand with the item they want (one round trip).
pub fn brand_path(principal: &Principal, req: &Request) -> Result<BrandId, ApiError> {
    let brand = path_id(req, "brandId", BrandId::parse)?;
    if principal.can_access_brand(&brand) {
        Ok(brand)
    } else {
        Err(ApiError::NotFound)
    }
}
