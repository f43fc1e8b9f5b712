//! Reading requests: request id, JSON bodies, path and query parameters.

use crate::ApiError;
use crate::ErrorCode;
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
/// API mapping can add its own key. When API Gateway reports the matched route, the path is
/// that route's template filled with its path parameters (each kept inside its own segment),
/// so nothing in the raw path can make a handler see another route; the greedy preflight
/// route takes its `proxy` parameter. Without a route (`$default`, as `cargo lambda watch`
/// sends), a named stage prefix is removed. Every handler runs behind this, so none depends
/// on the stage (docs/decisions.md, 62).
pub(crate) fn without_stage(mut req: Request) -> Request {
    let raw = req.uri().path().to_string();
    let (route_key, stage) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (ctx.route_key.clone(), ctx.stage.clone()),
        _ => (None, None),
    };
    let params = req.path_parameters();
    let path = api_path(&raw, route_key.as_deref(), stage.as_deref(), |name| {
        params.first(name).map(str::to_string)
    });
    if path == raw {
        return req;
    }
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    match path_and_query.parse() {
        Ok(pq) => {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = lambda_http::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
        // Cannot happen (every byte outside the unreserved set is escaped); if it did, the
        // request keeps its raw path and the route's handler still reads its parameters.
        Err(_) => tracing::warn!("the API path could not be set"),
    }
    req
}

/// The API path of a request (see [`without_stage`]).
fn api_path(
    raw: &str,
    route_key: Option<&str>,
    stage: Option<&str>,
    param: impl Fn(&str) -> Option<String>,
) -> String {
    if let Some((_, template)) = route_key.and_then(|k| k.split_once(' '))
        && template.starts_with('/')
    {
        if template == "/{proxy+}" {
            // A browser's preflight names a clean path; anything else (empty, `.` or `..`
            // segments) names no route of ours, and gets an answer for none.
            let proxy = param("proxy").unwrap_or_default();
            let clean = !proxy.is_empty()
                && proxy
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != "..");
            return if clean {
                format!("/{}", escape_segments(&proxy))
            } else {
                "/".into()
            };
        }
        let filled: Vec<String> = template
            .split('/')
            .skip(1)
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => escape(&param(name.trim_end_matches('+')).unwrap_or_default()),
                    None => segment.to_string(),
                },
            )
            .collect();
        return format!("/{}", filled.join("/"));
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

/// Percent-escapes everything but unreserved characters: a parameter stays one segment.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// [`escape`] for each `/`-separated segment of a greedy parameter.
fn escape_segments(value: &str) -> String {
    value.split('/').map(escape).collect::<Vec<_>>().join("/")
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
    // No body at all reads as `{}` below, like a blank one, whatever the content type.
    let bytes: &[u8] = match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
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
            code: ErrorCode::InvalidJson,
            message: "The request body is not valid JSON.".into(),
        })?;
    if !value.is_object() {
        return Err(ApiError::BadRequest {
            code: ErrorCode::InvalidJson,
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

/// For a PATCH field where `null` clears and absence leaves: with `#[serde(default,
/// deserialize_with = "dispatch_http::request::nullable")]` on an `Option<Option<T>>`,
/// absent is `None`, `null` is `Some(None)` and a value `Some(Some(v))`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
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

/// A query string parameter. An empty value (`?status=`) is a value like any other, so it
/// is checked (and mostly refused) rather than read as absent: an empty filter must not
/// quietly widen a list. `dispatch` has already refused a parameter given twice or one the
/// route does not declare.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters()
        .first(name)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Patch {
        #[serde(default, deserialize_with = "nullable")]
        name: Option<Option<String>>,
    }

    #[test]
    fn nullable_tells_absent_from_null_from_a_value() {
        let read = |raw: &str| serde_json::from_str::<Patch>(raw).unwrap().name;
        assert_eq!(read("{}"), None);
        assert_eq!(read(r#"{"name":null}"#), Some(None));
        assert_eq!(read(r#"{"name":"x"}"#), Some(Some("x".into())));
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Input {
        name: Option<String>,
    }

    #[test]
    fn no_body_without_a_content_type_reads_as_an_empty_object() {
        // Found by Schemathesis: `Body::Empty` used to stand in as `{}` before the blank
        // check, so a PATCH with no body and no Content-Type answered 415.
        let req = lambda_http::http::Request::builder()
            .method("PATCH")
            .uri("/v1/brands/x")
            .body(Body::Empty)
            .unwrap();
        let input: Input = parse_json(&req).unwrap();
        assert!(input.name.is_none());
        let text = lambda_http::http::Request::builder()
            .method("PATCH")
            .uri("/v1/brands/x")
            .body(Body::Text("{\"name\":\"a\"}".into()))
            .unwrap();
        assert!(matches!(
            parse_json::<Input>(&text),
            Err(ApiError::UnsupportedMediaType(_))
        ));
    }

    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_api_path_is_the_matched_route_whatever_is_in_front_of_it() {
        let route = Some("GET /v1/brands/{brandId}");
        let p = params(&[("brandId", "br_1")]);
        assert_eq!(
            api_path("/dev/v1/brands/br_1", route, Some("dev"), &p),
            "/v1/brands/br_1"
        );
        assert_eq!(
            api_path("/v1/brands/br_1", route, Some("$default"), &p),
            "/v1/brands/br_1"
        );
        // A custom domain's API mapping key in front of the stage-less path.
        assert_eq!(
            api_path("/support/v1/brands/br_1", route, Some("prod"), &p),
            "/v1/brands/br_1"
        );
    }

    #[test]
    fn a_parameter_stays_inside_its_segment() {
        let route = Some("POST /v1/forms/{token}");
        for (value, path) in [
            ("..", "/v1/forms/.."),
            (
                "a/../../v1/portal/x",
                "/v1/forms/a%2F..%2F..%2Fv1%2Fportal%2Fx",
            ),
            ("a?b#c d", "/v1/forms/a%3Fb%23c%20d"),
            ("", "/v1/forms/"),
        ] {
            let pairs = [("token", value)];
            let p = params(&pairs);
            assert_eq!(
                api_path("/dev/whatever", route, Some("dev"), &p),
                path,
                "{value}"
            );
        }
    }

    #[test]
    fn the_preflight_route_takes_only_a_clean_proxy_path() {
        let any = Some("OPTIONS /{proxy+}");
        let api = |proxy: &str| {
            let proxy = proxy.to_string();
            api_path("/dev/x", any, Some("dev"), move |name: &str| {
                (name == "proxy").then(|| proxy.clone())
            })
        };
        assert_eq!(api("v1/portal/tickets"), "/v1/portal/tickets");
        assert_eq!(api("/v1/portal/tickets"), "/");
        assert_eq!(api("v1//portal"), "/");
        assert_eq!(api("v1/portal/../brands"), "/");
        assert_eq!(api(""), "/");
    }

    #[test]
    fn without_a_route_only_a_stage_prefix_is_removed() {
        let none = params(&[]);
        assert_eq!(
            api_path("/dev/v1/health", Some("$default"), Some("dev"), &none),
            "/v1/health"
        );
        assert_eq!(api_path("/v1/health", None, None, &none), "/v1/health");
        assert_eq!(
            api_path("/devx/v1/health", None, Some("dev"), &none),
            "/devx/v1/health"
        );
        assert_eq!(api_path("/dev", None, Some("dev"), &none), "/");
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
