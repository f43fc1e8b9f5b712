//! CORS preflights (`OPTIONS`), which carry no credential.

use dispatch_http::cors::{
    self, DASHBOARD_ALLOW_HEADERS, PORTAL_ALLOW_HEADERS, PORTAL_PREFIX, request_origin,
};
use dispatch_http::{Context, Reply};
use dispatch_store::BrandStore;
use lambda_http::Request;

/// Portal paths: an origin that some brand lists among its `portalOrigins` may send the
/// `Authorization` header (one Query on the origin index; the actual request is then held
/// to the token's own brand). Other paths: the dashboard's origins, with credentials. Any
/// other origin gets an answer without `Access-Control-Allow-Origin`.
pub async fn preflight<S: BrandStore>(ctx: &Context<S>, req: Request) -> Reply {
    let origin = request_origin(&req);
    if req.uri().path().starts_with(PORTAL_PREFIX) {
        let allowed = match origin {
            Some(o) if o.len() <= 300 => ctx.store.origin_allowed(o).await?,
            _ => false,
        };
        let origin = origin.filter(|_| allowed);
        Ok(cors::preflight(
            origin,
            "portal",
            PORTAL_ALLOW_HEADERS,
            false,
        ))
    } else {
        let origin = origin.filter(|o| ctx.auth.dashboard_origins.iter().any(|d| d == o));
        Ok(cors::preflight(
            origin,
            "dashboard",
            DASHBOARD_ALLOW_HEADERS,
            true,
        ))
    }
}
