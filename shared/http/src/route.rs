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

    /// 400 naming every query parameter this route does not read, and every one given
    /// more than once (lists are comma-joined).
    pub fn check_query(&self, req: &Request) -> Result<(), ApiError> {
        let params = req.query_string_parameters();
        let mut names: Vec<&str> = params.iter().map(|(name, _)| name).collect();
        names.sort_unstable();
        let mut errors = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 && names[i - 1] == *name {
                continue;
            }
            let known = match self.query {
                Query::Any => true,
                Query::Only(known) => known.contains(name),
            };
            if !known {
                errors.push(FieldError {
                    field: name.to_string(),
                    message: "is not a known query parameter".into(),
                });
            } else if names.get(i + 1) == Some(name) && self.query != Query::Any {
                errors.push(FieldError {
                    field: name.to_string(),
                    message: "must be given once (join a list with commas)".into(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

/// What [`crate::dispatch`] needs to know of the function it runs, fixed at init: its
/// route and the dashboard's origins (for CORS).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub route: &'static Route,
    pub dashboard_origins: Vec<String>,
    /// How long a request may run before it answers 503 (`dispatch_aws::REQUEST_DEADLINE`
    /// in AWS; longer for the local emulator).
    pub deadline: std::time::Duration,
}

impl Endpoint {
    pub fn new(function: &str, auth: &AuthConfig) -> Result<Endpoint, ConfigError> {
        Ok(Endpoint {
            route: Route::named(function)?,
            dashboard_origins: auth.dashboard_origins.clone(),
            deadline: dispatch_aws::request_deadline_from_env().map_err(ConfigError)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "GET /x", "rawPath": "/x", "rawQueryString": query,
            "headers": {}, "isBase64Encoded": false,
            "requestContext": {"http": {"method": "GET", "path": "/x", "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1", "userAgent": "t"}, "requestId": "r", "routeKey": "GET /x",
                "stage": "$default", "accountId": "1", "apiId": "a", "domainName": "d",
                "domainPrefix": "d", "time": "t", "timeEpoch": 0}
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    const LIST: Route = Route {
        function: "x",
        route: "GET /x",
        query: Query::Only(&["status", "limit"]),
    };

    fn fields(query: &str) -> Vec<(String, String)> {
        match LIST.check_query(&request(query)) {
            Ok(()) => vec![],
            Err(ApiError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn declared_parameters_pass_and_every_other_is_named() {
        assert!(fields("").is_empty());
        assert!(fields("status=open,pending&limit=5").is_empty());
        assert!(fields("status=").is_empty());
        assert_eq!(
            fields("zeta=1&assigneeId=mem_1&limit=2"),
            [
                ("assigneeId".into(), "is not a known query parameter".into()),
                ("zeta".into(), "is not a known query parameter".into()),
            ]
        );
    }

    #[test]
    fn a_repeated_parameter_is_refused_once() {
        assert_eq!(
            fields("status=open&status=pending&status=closed"),
            [(
                "status".into(),
                "must be given once (join a list with commas)".into()
            )]
        );
    }

    #[test]
    fn the_preflight_takes_any_query() {
        let any = Route {
            query: Query::Any,
            ..LIST
        };
        assert!(any.check_query(&request("a=1&a=2&b=")).is_ok());
    }
}
