//! What each function serves, as routes.toml declares it: its route and the query
//! parameters it reads. Every other query parameter is a 400 before the handler runs, so
//! a filter the API does not know is never silently ignored.

use crate::ApiError;
use crate::config::{AuthConfig, ConfigError};
use dispatch_domain::FieldError;
use lambda_http::{Request, RequestExt};

/// The query parameters a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Exactly these names.
    Only(&'static [&'static str]),
    /// Any (the CORS preflight: a browser repeats the real request's URL).
    Any,
}

/// One function's route (rendered from routes.toml into `route_table.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub function: &'static str,
    /// `METHOD /path`, as API Gateway's route key spells it.
    pub route: &'static str,
    pub query: Query,
}

impl Route {
    /// The route of `function` (a binary passes its own name, `env!("CARGO_BIN_NAME")`).
    pub fn named(function: &str) -> Result<&'static Route, ConfigError> {
        crate::route_table::ROUTES
            .iter()
            .find(|r| r.function == function)
            .ok_or_else(|| ConfigError(format!("{function} is not a function in routes.toml")))
    }

    /// Every declared route.
    pub fn all() -> &'static [Route] {
        crate::route_table::ROUTES
    }

    /// 400 naming every query parameter this route does not read.
    pub fn check_query(&self, req: &Request) -> Result<(), ApiError> {
        let Query::Only(known) = self.query else {
            return Ok(());
        };
        let params = req.query_string_parameters();
        let mut unknown: Vec<&str> = params
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !known.contains(name))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        unknown.dedup();
        Err(ApiError::Validation(
            unknown
                .into_iter()
                .map(|name| FieldError {
                    field: name.to_string(),
                    message: "is not a query parameter of this route".into(),
                })
                .collect(),
        ))
    }
}

/// What [`crate::dispatch`] needs to know of the function it runs, fixed at init: its
/// route and the dashboard's origins (for CORS).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub route: &'static Route,
    pub dashboard_origins: Vec<String>,
}

impl Endpoint {
    pub fn new(function: &str, auth: &AuthConfig) -> Result<Endpoint, ConfigError> {
        Ok(Endpoint {
            route: Route::named(function)?,
            dashboard_origins: auth.dashboard_origins.clone(),
        })
    }
}
