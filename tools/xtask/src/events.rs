//! Building API Gateway HTTP API (payload v2) events, for the test suite and the benchmark.

use serde_json::{Map, Value, json};

/// Matches a concrete path against a route template, returning the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<Map<String, Value>> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    // A greedy last segment (`{proxy+}`) takes the rest of the path, as API Gateway does.
    if let Some(name) = t
        .last()
        .and_then(|s| s.strip_prefix('{'))
        .and_then(|s| s.strip_suffix("+}"))
        && p.len() >= t.len()
    {
        let mut params = match_path(&t[..t.len() - 1].join("/"), &p[..t.len() - 1].join("/"))?;
        let rest = p[t.len() - 1..].join("/");
        if rest.is_empty() {
            return None;
        }
        params.insert(name.to_string(), json!(rest));
        return Some(params);
    }
    if t.len() != p.len() {
        return None;
    }
    let mut params = Map::new();
    for (ts, ps) in t.iter().zip(&p) {
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if ps.is_empty() {
                return None;
            }
            params.insert(name.to_string(), json!(ps));
        } else if ts != ps {
            return None;
        }
    }
    Some(params)
}

/// An API Gateway HTTP API (payload v2) event for `method route_template`, requesting
/// `path?query`, as the deployed API sends it.
pub fn v2_event(
    method: &str,
    route_template: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    source_ip: &str,
) -> Value {
    let params = match_path(route_template, path).unwrap_or_default();
    let mut header_map = Map::new();
    for (k, v) in headers {
        header_map.insert(k.to_ascii_lowercase(), json!(v));
    }
    let query_params: Map<String, Value> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), json!(v))
        })
        .collect();
    let route_key = format!("{method} {route_template}");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": "dispatch-e2e"},
            "requestId": format!("e2e-{}", dispatch_domain::random::base62(12)),
            "routeKey": route_key,
            "stage": "$default",
            "time": "28/Nov/2026:19:26:14 +0000",
            "timeEpoch": 1795893974000u64
        },
        "isBase64Encoded": false
    });
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    if !query_params.is_empty() {
        event["queryStringParameters"] = Value::Object(query_params);
    }
    if let Some(b) = body {
        event["body"] = json!(b);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates() {
        let p = match_path("/v1/brands/{brandId}", "/v1/brands/br_1").unwrap();
        assert_eq!(p["brandId"], "br_1");
        assert!(match_path("/v1/brands/{brandId}", "/v1/brands").is_none());
        let p = match_path("/{proxy+}", "/v1/portal/tickets").unwrap();
        assert_eq!(p["proxy"], "v1/portal/tickets");
        assert!(match_path("/{proxy+}", "/").is_none());
    }
}
