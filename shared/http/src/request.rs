//! Reading requests: request id, JSON bodies, path and query parameters.

use crate::ApiError;
use dispatch_domain::FieldError;
use dispatch_domain::random;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// API Gateway's request id, or the Lambda request id, or a fresh one.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_string();
    }
    if let Some(ctx) = req.lambda_context_ref()
        && !ctx.request_id.is_empty()
    {
        return ctx.request_id.clone();
    }
    format!("req_{}", random::base62(20))
}

/// The caller's IP as API Gateway saw it (`requestContext.http.sourceIp`): the TCP peer,
/// not a header the client can forge.
pub fn client_ip(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.clone().filter(|ip| !ip.is_empty())
        }
        _ => None,
    }
}

/// The public base URL of this API as API Gateway reports it (`https://{domain}[/{stage}]`).
pub fn public_base_url(req: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    let domain = ctx.domain_name.as_deref().filter(|d| !d.is_empty())?;
    match ctx.stage.as_deref() {
        Some(stage) if !stage.is_empty() && stage != "$default" => {
            Some(format!("https://{domain}/{stage}"))
        }
        _ => Some(format!("https://{domain}")),
    }
}

/// The request with its path as the API's routes declare it (`/v1/...`), whatever sits in
/// front of it: API Gateway puts a named stage first (`/dev/v1/...`), and a custom domain's
/// API mapping can add its own key. The matched route decides how many trailing segments
/// are the API's (the greedy preflight route takes its `proxy` parameter); without a
/// route (`$default`, as `cargo lambda watch` sends), a named stage prefix is removed.
/// Every handler runs behind this, so none depends on the stage (docs/decisions.md).
pub(crate) fn without_stage(mut req: Request) -> Request {
    let raw = req.uri().path().to_string();
    let (route_key, stage) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (ctx.route_key.clone(), ctx.stage.clone()),
        _ => (None, None),
    };
    let proxy = req.path_parameters().first("proxy").map(str::to_string);
    let path = api_path(
        &raw,
        route_key.as_deref(),
        stage.as_deref(),
        proxy.as_deref(),
    );
    if path == raw {
        return req;
    }
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = lambda_http::http::Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// The API path of `raw` (see [`without_stage`]).
fn api_path(
    raw: &str,
    route_key: Option<&str>,
    stage: Option<&str>,
    proxy: Option<&str>,
) -> String {
    if let Some((_, template)) = route_key.and_then(|k| k.split_once(' ')) {
        if template == "/{proxy+}" {
            if let Some(proxy) = proxy {
                return format!("/{proxy}");
            }
        } else if !template.contains("+}") {
            let wanted: Vec<&str> = template.split('/').skip(1).collect();
            let segments: Vec<&str> = raw.split('/').skip(1).collect();
            if segments.len() >= wanted.len() {
                let tail = &segments[segments.len() - wanted.len()..];
                let fits = wanted
                    .iter()
                    .zip(tail)
                    .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()));
                if fits {
                    return format!("/{}", tail.join("/"));
                }
            }
        }
    }
    if let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default")
        && let Some(rest) = raw.strip_prefix('/').and_then(|r| r.strip_prefix(stage))
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        };
    }
    raw.to_string()
}

/// The matched route (`GET /v1/brands/{brandId}`): safe to log, unlike the raw path.
pub(crate) fn route_key(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(key) = ctx
            .route_key
            .as_deref()
            .filter(|k| !k.is_empty() && *k != "$default")
    {
        return key.to_string();
    }
    format!("{} (route not reported)", req.method())
}

/// Parses a JSON object body into `T` (which should `deny_unknown_fields`). An empty body
/// is read as `{}` so required-field errors read naturally.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"{}",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"{}",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    if !empty && !is_json_content_type(req) {
        return Err(ApiError::UnsupportedMediaType(
            "Send the body as JSON with 'Content-Type: application/json'.",
        ));
    }
    let bytes: &[u8] = if empty { b"{}" } else { bytes };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::BadRequest {
            code: "invalid_json",
            message: "The request body is not valid JSON.".into(),
        })?;
    if !value.is_object() {
        return Err(ApiError::BadRequest {
            code: "invalid_json",
            message: "The request body must be a JSON object.".into(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        ApiError::Validation(vec![field_error(&path, &inner)])
    })
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json_content_type(req: &Request) -> bool {
    req.headers()
        .get(lambda_http::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Turns a serde message into a field error a client can act on.
fn field_error(path: &str, message: &str) -> FieldError {
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_string);
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if message.starts_with("unknown field") {
        // serde_path_to_error already ends the path with the unknown field's name.
        let name = quoted(message).unwrap_or_default();
        let field = if path.ends_with(&name) {
            path.to_string()
        } else {
            join(&name)
        };
        FieldError {
            field,
            message: "is not a known field".into(),
        }
    } else if message.starts_with("missing field") {
        let name = quoted(message).unwrap_or_default();
        FieldError {
            field: join(&name),
            message: "is required".into(),
        }
    } else {
        // "invalid type: integer `5`, expected a string": keep the part after the comma.
        let expected = message.split(", ").nth(1).unwrap_or(message);
        FieldError {
            field: path.to_string(),
            message: format!("must be {}", expected.trim_start_matches("expected ")),
        }
    }
}

/// A path parameter parsed into a typed id. A malformed id names nothing that exists, so
/// it is a 404, answered without touching storage.
pub fn path_id<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, ApiError> {
    req.path_parameters()
        .first(name)
        .and_then(parse)
        .ok_or(ApiError::NotFound)
}

/// A query string parameter.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters()
        .first(name)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_stage_is_not_part_of_the_api_path() {
        let route = Some("GET /v1/brands/{brandId}");
        assert_eq!(
            api_path("/dev/v1/brands/br_1", route, Some("dev"), None),
            "/v1/brands/br_1"
        );
        assert_eq!(
            api_path("/v1/brands/br_1", route, Some("$default"), None),
            "/v1/brands/br_1"
        );
        // A custom domain's API mapping key in front of the stage-less path.
        assert_eq!(
            api_path("/support/v1/brands/br_1", route, Some("prod"), None),
            "/v1/brands/br_1"
        );
        // The preflight route is greedy: its parameter is the whole API path.
        let any = Some("OPTIONS /{proxy+}");
        assert_eq!(
            api_path(
                "/dev/v1/portal/tickets",
                any,
                Some("dev"),
                Some("v1/portal/tickets")
            ),
            "/v1/portal/tickets"
        );
        // No route reported (cargo lambda watch): only a stage prefix is removed.
        assert_eq!(
            api_path("/dev/v1/health", Some("$default"), Some("dev"), None),
            "/v1/health"
        );
        assert_eq!(api_path("/v1/health", None, None, None), "/v1/health");
        assert_eq!(
            api_path("/devx/v1/health", None, Some("dev"), None),
            "/devx/v1/health"
        );
        assert_eq!(api_path("/dev", None, Some("dev"), None), "/");
    }

    #[test]
    fn a_path_that_does_not_fit_its_route_is_left_alone() {
        let route = Some("GET /v1/brands/{brandId}");
        assert_eq!(
            api_path("/v1/brands/", route, Some("$default"), None),
            "/v1/brands/"
        );
        assert_eq!(api_path("/x", route, Some("$default"), None), "/x");
    }

    #[test]
    fn serde_messages_become_field_errors() {
        let e = field_error("admin", "unknown field `admin`, expected one of `name`");
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("admin", "is not a known field")
        );
        let e = field_error(".", "missing field `name`");
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("name", "is required")
        );
        let e = field_error("name", "invalid type: integer `5`, expected a string");
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("name", "must be a string")
        );
    }
}
