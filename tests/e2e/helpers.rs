//! The harness: a test app wired to the emulator, tenants bootstrapped on demand, and
//! requests built as API Gateway HTTP API (payload v2) events and routed exactly as the
//! router map in `Cargo.toml` routes them.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use dispatch_domain::brand::BrandName;
use dispatch_domain::{BrandId, Clock, Email, FixedClock, KeyId, Mode, SystemClock};
use dispatch_http::{Context, dispatch};
use dispatch_store::DynamoStore;
use dispatch_store::counter::{OperationCounter, is_write};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with scripts/test, which starts the emulator")
    })
}

/// One route of the router map: `GET /v1/brands/{brandId}` → `brands-get`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

/// The local router map (`[workspace.metadata.lambda.watch.router]`), as cargo lambda reads it.
pub fn router_routes() -> Vec<Route> {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut routes = Vec::new();
    for (path, entries) in router {
        for entry in entries.as_array().unwrap() {
            routes.push(Route {
                method: entry["method"].as_str().unwrap().to_string(),
                path: path.clone(),
                function: entry["function"].as_str().unwrap().to_string(),
            });
        }
    }
    routes.sort();
    routes
}

/// Matches a concrete path against a route template, returning the path parameters.
fn match_path(template: &str, path: &str) -> Option<Map<String, Value>> {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
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

/// An API Gateway HTTP API (payload v2) event, as the deployed API sends it.
pub fn api_gateway_event(
    route: &Route,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Value {
    let params = match_path(&route.path, path).unwrap_or_default();
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
    let route_key = format!("{} {}", route.method, route.path);
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
            "http": {"method": route.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "dispatch-e2e"},
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

/// A response as a client sees it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field names of a validation error, in order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errs| {
                errs.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A bootstrapped organization: its first (org-wide) key and one brand, in one mode.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org_id: String,
    pub key: String,
    pub key_id: KeyId,
    pub brand_id: BrandId,
}

pub struct TestApp {
    pub ctx: Context<DynamoStore>,
    pub clock: Arc<FixedClock>,
    pub ops: OperationCounter,
    /// A client without the counter, for inspecting the table directly.
    pub raw: Client,
    pub table: String,
    routes: Vec<Route>,
}

impl TestApp {
    pub async fn new() -> TestApp {
        let table = required_env("TABLE_NAME");
        required_env("AWS_ENDPOINT_URL");
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let ops = OperationCounter::new();
        let counted = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(ops.clone())
            .build();
        let clock = Arc::new(FixedClock::at(SystemClock.now()));
        let store = DynamoStore::new(Client::from_conf(counted), &table);
        TestApp {
            ctx: Context::with_clock(store, clock.clone()),
            clock,
            ops,
            raw: Client::new(&sdk),
            table,
            routes: router_routes(),
        }
    }

    /// A fresh organization with an org-wide key and a brand in `mode`.
    pub async fn tenant(&self, mode: Mode) -> Tenant {
        let email = Email::parse(&format!(
            "owner-{}@example.com",
            dispatch_domain::random::base62(8).to_ascii_lowercase()
        ))
        .unwrap();
        let made = dispatch_admin::bootstrap(
            &self.ctx.store,
            self.clock.as_ref(),
            "Acme",
            &email,
            mode,
            Some(BrandName::parse("Acme Support").unwrap()),
        )
        .await
        .unwrap();
        self.ops.take();
        Tenant {
            org_id: made.org.id.to_string(),
            key: made.api_key.expose().to_string(),
            key_id: made.key_id,
            brand_id: made.brand.unwrap().id,
        }
    }

    /// An org-wide key of `mode` for an existing organization, written straight to the
    /// store (as a dashboard session will create it): the way to get both modes of one org.
    pub async fn key_in_mode(&self, tenant: &Tenant, mode: Mode) -> String {
        use dispatch_store::{ApiKeyRecord, ApiKeyStore};
        let secret = dispatch_auth::ApiKeySecret::generate(mode);
        let record = ApiKeyRecord {
            id: KeyId::generate(self.clock.now_millis()),
            name: format!("{mode} key"),
            mode,
            key_preview: secret.preview(),
            secret_hash: secret.hash(),
            all_brands: true,
            brand_ids: vec![],
            last_used_at: None,
            expires_at: None,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        let org = dispatch_domain::OrgId::parse(&tenant.org_id).unwrap();
        self.ctx.store.create_api_key(&org, &record).await.unwrap();
        self.ops.take();
        secret.expose().to_string()
    }

    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.send("GET", path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> TestResponse {
        self.send("POST", path, Some(key), Some(body.to_string()))
            .await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> TestResponse {
        self.send("PATCH", path, Some(key), Some(body.to_string()))
            .await
    }

    pub async fn delete(&self, path: &str, key: &str) -> TestResponse {
        self.send("DELETE", path, Some(key), None).await
    }

    /// Sends a request with an optional bearer key and raw body.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> TestResponse {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(k) = key {
            headers.push(("authorization".to_string(), format!("Bearer {k}")));
        }
        self.send_with_headers(method, path_and_query, &headers, body)
            .await
    }

    pub async fn send_with_headers(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> TestResponse {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let route = self
            .routes
            .iter()
            .find(|r| r.method == method && match_path(&r.path, path).is_some())
            .unwrap_or_else(|| panic!("no route for {method} {path}"))
            .clone();
        let event = api_gateway_event(&route, path, query, headers, body.as_deref());
        let request = lambda_http::request::from_str(&event.to_string())
            .expect("a valid API Gateway v2 event");
        let response = self.invoke(&route.function, request).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes: &[u8] = response.body().as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes).expect("a JSON body")
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Calls the handler behind `function`, exactly as its binary's main does.
    async fn invoke(&self, function: &str, req: Request) -> Response<Body> {
        let ctx = &self.ctx;
        match function {
            "health" => dispatch(req, dispatch_health::health).await,
            "accounts-me" => dispatch(req, |r| dispatch_accounts::me(ctx, r)).await,
            "api-keys-list" => dispatch(req, |r| dispatch_accounts::list_api_keys(ctx, r)).await,
            "api-keys-create" => dispatch(req, |r| dispatch_accounts::create_api_key(ctx, r)).await,
            "api-keys-scope" => {
                dispatch(req, |r| dispatch_accounts::update_api_key_scope(ctx, r)).await
            }
            "api-keys-revoke" => dispatch(req, |r| dispatch_accounts::revoke_api_key(ctx, r)).await,
            "brands-list" => dispatch(req, |r| dispatch_brands::list(ctx, r)).await,
            "brands-create" => dispatch(req, |r| dispatch_brands::create(ctx, r)).await,
            "brands-get" => dispatch(req, |r| dispatch_brands::get(ctx, r)).await,
            "brands-update" => dispatch(req, |r| dispatch_brands::update(ctx, r)).await,
            "brands-delete" => dispatch(req, |r| dispatch_brands::delete(ctx, r)).await,
            other => panic!("function {other} is routed but not wired into tests/e2e/helpers.rs"),
        }
    }

    /// Creates an API key through the API and returns the response body (with its secret).
    pub async fn create_key(&self, key: &str, body: Value) -> Value {
        let res = self.post("/v1/accounts/me/api-keys", key, body).await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body
    }

    /// Creates a brand through the API and returns its id.
    pub async fn create_brand(&self, key: &str, name: &str) -> String {
        let res = self.post("/v1/brands", key, json!({"name": name})).await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body["id"].as_str().unwrap().to_string()
    }

    /// DynamoDB operations since the last call, and how many of them wrote.
    pub fn take_ops(&self) -> (Vec<String>, usize) {
        let ops = self.ops.take();
        let writes = ops.iter().filter(|o| is_write(o)).count();
        (ops, writes)
    }

    /// Every item of an organization's partitions, read directly (test inspection only).
    pub async fn raw_items_containing(&self, needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut pages = self
            .raw
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let text = format!("{:?}", item.unwrap());
            if text.contains(needle) {
                found.push(text);
            }
        }
        found
    }
}
