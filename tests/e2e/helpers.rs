//! The harness: a test app wired to the emulator, tenants bootstrapped on demand, and
//! requests built as API Gateway HTTP API (payload v2) events and routed exactly as the
//! router map in `Cargo.toml` routes them.

use crate::iam::{IamRecorder, as_function};
use aws_sdk_dynamodb::Client;
use dispatch_attachments::Attachments;
use dispatch_domain::brand::BrandName;
use dispatch_domain::webhook::LocalAllowance;
use dispatch_domain::{BrandId, Clock, Email, FixedClock, KeyId, Mode, OrgId, SystemClock};
use dispatch_files::S3Files;
use dispatch_http::{AuthConfig, Context};
use dispatch_intake::Intake;
use dispatch_kms::Secrets;
use dispatch_mail::SesMailer;
use dispatch_portal::{Portal, PortalMail};
use dispatch_queue::Queue;
use dispatch_sessions::{SignIn, SignInSettings};
use dispatch_store::DynamoStore;
use dispatch_store::counter::{OperationCounter, is_write};
use dispatch_webhooks::Webhooks;
use dispatch_webhooks::deliver::Deliver;
use dispatch_webhooks::events::Events;
use dispatch_xtask::events::{match_path, v2_event};
use dispatch_xtask::fixtures::on_stage;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// `v` as a deploy that overrides no parameter sees it: each `!If` replaced by its branch
/// (conditions are `!Equals` of a `!Ref` and a literal, or `!Not` of one), and
/// `!Ref AWS::NoValue` left out of lists.
pub fn resolve_conditions(
    template: &serde_yaml::Value,
    v: &serde_yaml::Value,
) -> serde_yaml::Value {
    use serde_yaml::Value;
    fn operand(template: &Value, v: &Value) -> String {
        match v {
            Value::Tagged(t) if t.tag == "Ref" => {
                let default = &template["Parameters"][t.value.as_str().unwrap()]["Default"];
                serde_yaml::to_string(default)
                    .unwrap()
                    .trim()
                    .trim_matches('"')
                    .to_string()
            }
            other => serde_yaml::to_string(other)
                .unwrap()
                .trim()
                .trim_matches('"')
                .to_string(),
        }
    }
    fn holds(template: &Value, c: &Value) -> bool {
        match c {
            Value::Tagged(t) if t.tag == "Equals" => {
                operand(template, &t.value[0]) == operand(template, &t.value[1])
            }
            Value::Tagged(t) if t.tag == "Not" => !holds(template, &t.value[0]),
            other => panic!("condition {other:?} is not modelled"),
        }
    }
    let no_value =
        |x: &Value| matches!(x, Value::Tagged(t) if t.tag == "Ref" && t.value == "AWS::NoValue");
    match v {
        Value::Tagged(t) if t.tag == "If" => {
            let name = t.value[0].as_str().unwrap();
            let branch = if holds(template, &template["Conditions"][name]) {
                &t.value[1]
            } else {
                &t.value[2]
            };
            resolve_conditions(template, branch)
        }
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .map(|x| resolve_conditions(template, x))
                .filter(|x| !no_value(x))
                .collect(),
        ),
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, x)| (k.clone(), resolve_conditions(template, x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Creates `name` with the key schema, attributes and TTL of the table in template.yaml.
async fn create_table_from_template(client: &Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    };
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let props = &resolve_conditions(&template, &template["Resources"]["Table"]["Properties"]);
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for a in props["AttributeDefinitions"].as_sequence().unwrap() {
        let kind = ScalarAttributeType::from(a["AttributeType"].as_str().unwrap());
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a["AttributeName"].as_str().unwrap())
                .attribute_type(kind)
                .build()
                .unwrap(),
        );
    }
    for k in props["KeySchema"].as_sequence().unwrap() {
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(k["KeyType"].as_str().unwrap()))
                .build()
                .unwrap(),
        );
    }
    for index in props["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
    {
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(index["IndexName"].as_str().unwrap())
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(
                        index["Projection"]["ProjectionType"].as_str().unwrap(),
                    ))
                    .build(),
            );
        for k in index["KeySchema"].as_sequence().unwrap() {
            gsi = gsi.key_schema(
                KeySchemaElement::builder()
                    .attribute_name(k["AttributeName"].as_str().unwrap())
                    .key_type(KeyType::from(k["KeyType"].as_str().unwrap()))
                    .build()
                    .unwrap(),
            );
        }
        create = create.global_secondary_indexes(gsi.build().unwrap());
    }
    // A busy emulator can answer a create late enough for the SDK to send it again: the
    // table the first try made is the one asked for.
    if let Err(e) = create.send().await {
        let exists = e
            .as_service_error()
            .is_some_and(|e| e.is_resource_in_use_exception());
        assert!(exists, "create the test table: {e:?}");
    }
    let ttl = &props["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(ttl["AttributeName"].as_str().unwrap())
                .enabled(ttl["Enabled"].as_bool().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL on the test table");
}

/// The production S3 client (`S3Files::client`), with the IAM recorder.
fn recorded_s3(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_s3::Client {
    let mut config = S3Files::client(sdk)
        .config()
        .to_builder()
        .interceptor(IamRecorder);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

/// An SESv2 client with the IAM recorder.
fn recorded_ses(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_sesv2::Client {
    let mut config = aws_sdk_sesv2::config::Builder::from(sdk).interceptor(IamRecorder);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_sesv2::Client::from_conf(config.build())
}

/// A KMS client with the IAM recorder.
fn recorded_kms(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_kms::Client {
    let mut config = aws_sdk_kms::config::Builder::from(sdk).interceptor(IamRecorder);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_kms::Client::from_conf(config.build())
}

/// An SQS client with the IAM recorder.
fn recorded_sqs(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> aws_sdk_sqs::Client {
    let mut config = aws_sdk_sqs::config::Builder::from(sdk).interceptor(IamRecorder);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(config.build())
}

/// Where a test app's clients send their calls, when not straight to the emulators.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// DynamoDB and S3 (the fault proxy, or a port nothing listens on).
    pub data: Option<String>,
    /// SESv2.
    pub mail: Option<String>,
    /// The functions' own timeouts, as deployed, instead of the local stack's relaxed
    /// ones (the fault tests, on their own table behind the proxy).
    pub deployed_timeouts: bool,
}

/// An address no other test uses.
pub fn unique_email(who: &str) -> String {
    format!(
        "{who}-{}@example.com",
        dispatch_domain::random::base62(10).to_ascii_lowercase()
    )
}

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

/// The function that answers every `OPTIONS` (CORS preflight).
pub const PREFLIGHT: &str = "cors-preflight";

/// The route table (routes.toml), the source of everything a route needs.
pub fn route_table() -> dispatch_xtask::routes::RouteTable {
    dispatch_xtask::routes::RouteTable::load(&workspace_root()).expect("a valid routes.toml")
}

/// The API's routes, without the preflight route (`OPTIONS /{proxy+}`).
pub fn router_routes() -> Vec<Route> {
    let mut routes: Vec<Route> = route_table()
        .routes
        .iter()
        .filter(|r| !r.is_preflight())
        .map(|r| Route {
            method: r.method().to_string(),
            path: r.path().to_string(),
            function: r.function.clone(),
        })
        .collect();
    routes.sort();
    routes
}

/// The stage the suite's requests arrive on: the template's default, a named stage, so
/// API Gateway puts it in front of every path (handlers must not care).
pub const STAGE: &str = "dev";

/// An API Gateway HTTP API (payload v2) event for `route`, as the deployed API sends it
/// from its [`STAGE`].
pub fn api_gateway_event(
    route: &Route,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    source_ip: &str,
) -> Value {
    let mut event = v2_event(
        &route.method,
        &route.path,
        path,
        query,
        headers,
        body,
        source_ip,
    );
    on_stage(&mut event, STAGE);
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
    pub org_id: OrgId,
    pub owner_email: String,
    pub key: String,
    pub key_id: KeyId,
    pub brand_id: BrandId,
}

/// What [`TestApp::outsiders`] makes.
pub struct Outsiders {
    pub other_tenant: String,
    pub other_mode: String,
    /// A second brand of the tenant's, the only one `scoped` reaches.
    pub other_brand: String,
    pub scoped: String,
}

impl Outsiders {
    pub fn keys(&self) -> [&str; 3] {
        [&self.other_tenant, &self.other_mode, &self.scoped]
    }
}

/// The `id`s of a list page's `data`, in order.
pub fn page_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// The dashboard origin the test configuration trusts for cookie-authenticated writes.
pub const DASHBOARD_ORIGIN: &str = "https://app.dispatch.test";
/// The inbound mail domain the suite's functions are configured with.
pub const INBOUND_DOMAIN: &str = "support.dispatch.test";

pub struct TestApp {
    pub ctx: Context<DynamoStore>,
    /// The sign-in functions' dependencies: same store and clock, a real SESv2 client.
    pub signin: SignIn<DynamoStore, SesMailer>,
    /// The attachment functions' dependencies: same store and clock, a real S3 client.
    pub attachments: Attachments<DynamoStore, S3Files>,
    /// The public form function's dependencies.
    pub intake: Intake<DynamoStore, S3Files>,
    /// The portal's: the attachment routes', and the sign-in link route's (real SESv2).
    pub portal: Portal<DynamoStore, S3Files>,
    pub portal_mail: PortalMail<DynamoStore, SesMailer>,
    /// The inbound mail function's: a real S3 client, the suite's inbound domain.
    pub inbound: dispatch_email::Inbound<DynamoStore, S3Files>,
    /// The customer mail function's (on the stream): a real SESv2 client.
    pub email_outbound: dispatch_email::outbound::Outbound<DynamoStore, SesMailer>,
    /// The webhook functions': the KMS key in the emulator, and the local allowance on
    /// (as `scripts/dev` runs them: test-mode webhooks may target 127.0.0.1).
    pub webhooks: Webhooks<DynamoStore>,
    /// The stream's webhook event function and the delivery queue's consumer, on this
    /// app's table and a delivery queue of its own (`queue_url`), with a retry schedule of
    /// one second per wait.
    pub webhook_events: Events<DynamoStore>,
    pub webhook_deliver: Deliver<DynamoStore, SesMailer>,
    pub queue_url: String,
    /// Where the event-source poller continues reading this app's stream.
    stream_state: PathBuf,
    /// Delivery messages handed to `webhook-deliver` before their delivery was due at the
    /// app's (fixed) clock: postponed, they come back after a real second whatever the
    /// clock says, so they are not work a pass did.
    not_due: std::sync::atomic::AtomicUsize,
    /// This app's client IP, so rate limits of parallel tests do not collide.
    pub source_ip: String,
    pub clock: Arc<FixedClock>,
    pub ops: OperationCounter,
    /// A client without the counter, for inspecting the table directly.
    pub raw: Client,
    pub table: String,
    routes: Vec<Route>,
    /// The fault tests' apps run with the deployed timeouts and request deadline.
    deployed_timeouts: bool,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_endpoints(Endpoints::default()).await
    }

    /// What `function`'s binary serves, as its `main` builds it at init.
    pub(crate) fn endpoint(&self, function: &str) -> dispatch_http::Endpoint {
        let mut endpoint = dispatch_http::Endpoint::new(function, &self.ctx.auth)
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        if self.deployed_timeouts {
            endpoint.deadline = dispatch_http::REQUEST_DEADLINE;
        }
        endpoint
    }

    /// A test app whose functions reach AWS through `endpoints` (the fault tests); the
    /// table is still created, and `raw` still reads it, straight from the emulator.
    pub async fn with_endpoints(endpoints: Endpoints) -> TestApp {
        required_env("AWS_ENDPOINT_URL");
        // The configuration the functions use: the same timeouts and retries.
        let sdk = if endpoints.deployed_timeouts {
            dispatch_aws::load_with(dispatch_aws::timeouts()).await
        } else {
            dispatch_aws::load().await
        };
        // A table of its own per test: the emulator copies a whole table on every
        // transaction, so one shared table would slow every test down as the suite runs.
        let table = format!(
            "dispatch-test-{}",
            dispatch_domain::random::base62(12).to_ascii_lowercase()
        );
        create_table_from_template(&Client::new(&sdk), &table).await;
        let ops = OperationCounter::new();
        let mut counted = DynamoStore::client_config(&sdk)
            .interceptor(ops.clone())
            .interceptor(IamRecorder);
        if let Some(url) = &endpoints.data {
            counted = counted.endpoint_url(url);
        }
        let counted = counted.build();
        let data = endpoints.data.as_deref();
        let mail = endpoints.mail.as_deref();
        let clock = Arc::new(FixedClock::at(SystemClock.now()));
        let store = DynamoStore::new(Client::from_conf(counted), &table);
        let auth = AuthConfig {
            dashboard_origins: vec![DASHBOARD_ORIGIN.to_string()],
            cookie_secure: true,
            inbound_domain: Some(INBOUND_DOMAIN.to_string()),
        };
        let sender = required_env("SENDER_ADDRESS");
        let signin = SignIn {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            mailer: SesMailer::new(recorded_ses(&sdk, mail), sender),
            settings: SignInSettings {
                public_url: Some("https://api.dispatch.test".into()),
                dashboard_url: None,
                allow_signup: false,
                // Tests check behaviour; the timing floor is measured by the benchmark.
                min_response: std::time::Duration::ZERO,
            },
        };
        let attachments = Attachments {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            files: S3Files::new(recorded_s3(&sdk, data), required_env("BUCKET_NAME")),
        };
        let intake = Intake {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            files: S3Files::new(recorded_s3(&sdk, data), required_env("BUCKET_NAME")),
        };
        // The keys the binaries read at init, read the same way (from the emulator's
        // Secrets Manager, named by the environment scripts/test wrote).
        let keys = dispatch_secrets::SigningKeys::from_env()
            .await
            .expect("the signing keys in the emulator (scripts/test creates them)");
        let portal_keys = keys
            .portal
            .clone()
            .expect("PORTAL_KEY_A_ARN and _B_ARN are set");
        let portal = Portal {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone())
                .with_portal_keys(portal_keys.clone()),
            files: S3Files::new(recorded_s3(&sdk, data), required_env("BUCKET_NAME")),
        };
        let portal_mail = PortalMail {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            mailer: SesMailer::new(recorded_ses(&sdk, mail), required_env("SENDER_ADDRESS")),
        };
        let inbound = dispatch_email::Inbound {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            files: S3Files::new(recorded_s3(&sdk, data), required_env("BUCKET_NAME")),
            config: dispatch_email::MailConfig {
                domain: INBOUND_DOMAIN.to_string(),
                own_addresses: vec![required_env("SENDER_ADDRESS").to_ascii_lowercase()],
            },
        };
        let email_outbound = dispatch_email::outbound::Outbound {
            store: store.clone(),
            mailer: SesMailer::new(recorded_ses(&sdk, mail), required_env("SENDER_ADDRESS"))
                .with_configuration_set(Some("EmailConfigurationSet".into())),
            clock: clock.clone(),
            inbound_domain: Some(INBOUND_DOMAIN.to_string()),
        };
        let webhooks = Webhooks {
            ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
            secrets: Some(Secrets::with_client(
                recorded_kms(&sdk, data),
                required_env("WEBHOOK_KEY_ARN"),
            )),
            local: LocalAllowance(true),
        };
        // A delivery queue per test app, as a table: the poller drains it into this app's
        // functions only.
        let queue_url = aws_sdk_sqs::Client::new(&sdk)
            .create_queue()
            // Named after the template's queue first: the IAM check knows it by that.
            .queue_name(format!("WebhookDeliveries-{table}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue = Queue::new(recorded_sqs(&sdk, data), &queue_url);
        let webhook_events = Events {
            store: store.clone(),
            queue: queue.clone(),
        };
        let webhook_deliver = Deliver {
            store: store.clone(),
            mailer: SesMailer::new(recorded_ses(&sdk, mail), required_env("SENDER_ADDRESS")),
            secrets: Secrets::with_client(
                recorded_kms(&sdk, data),
                required_env("WEBHOOK_KEY_ARN"),
            ),
            queue,
            clock: clock.clone(),
            local: LocalAllowance(true),
            tls: dispatch_webhooks::http::tls_config().expect("the system's trust roots"),
            schedule: vec![1; 7],
        };
        let stream_state = workspace_root().join(format!(".local/{table}-stream.json"));
        let not_due = std::sync::atomic::AtomicUsize::new(0);
        let rnd = dispatch_domain::random::base62(8).to_ascii_lowercase();
        TestApp {
            ctx: Context::new(store, clock.clone(), auth).with_keys(keys.cursor, keys.portal),
            signin,
            attachments,
            intake,
            portal,
            portal_mail,
            inbound,
            email_outbound,
            webhooks,
            webhook_events,
            webhook_deliver,
            queue_url,
            stream_state,
            not_due,
            source_ip: format!(
                "2001:db8::{}",
                u32::from_str_radix(&rnd[..6], 36).unwrap_or(1) % 0xffff
            ),
            clock,
            ops,
            raw: Client::new(&sdk),
            table,
            routes: router_routes(),
            deployed_timeouts: endpoints.deployed_timeouts,
        }
    }

    /// A fresh organization with an org-wide key and a brand in `mode`.
    pub async fn tenant(&self, mode: Mode) -> Tenant {
        self.tenant_owned_by(&unique_email("owner"), mode).await
    }

    /// A fresh organization owned by `email` (who may already own others).
    pub async fn tenant_owned_by(&self, email: &str, mode: Mode) -> Tenant {
        let email = Email::parse(email).unwrap();
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
            org_id: made.org.id,
            owner_email: email.to_string(),
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
        let org = tenant.org_id.clone();
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
        // Preflights go to one function on `OPTIONS /{proxy+}`, as in the template.
        let route = if method == "OPTIONS" {
            Route {
                method: method.into(),
                path: "/{proxy+}".into(),
                function: PREFLIGHT.into(),
            }
        } else {
            self.routes
                .iter()
                .find(|r| r.method == method && match_path(&r.path, path).is_some())
                .unwrap_or_else(|| panic!("no route for {method} {path}"))
                .clone()
        };
        let event = api_gateway_event(
            &route,
            path,
            query,
            headers,
            body.as_deref(),
            &self.source_ip,
        );
        let request = lambda_http::request::from_str(&event.to_string())
            .expect("a valid API Gateway v2 event");
        // Boxed: the router's match over every handler is a large future.
        let response = Box::pin(self.invoke(&route.function, request)).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes: &[u8] = response.body().as_ref();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            // Pages (the sign-in page) are kept as text.
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).to_string()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Calls the handler behind `function`, exactly as its binary's main does (the calls
    /// are generated from routes.toml into tests/e2e/routes.rs), recording its AWS calls
    /// as that function's.
    async fn invoke(&self, function: &str, req: Request) -> Response<Body> {
        as_function(function, self.call_handler(function, req)).await
    }

    /// Creates an API key through the API and returns the response body (with its secret).
    pub async fn create_key(&self, key: &str, body: Value) -> Value {
        let res = self.post("/v1/accounts/me/api-keys", key, body).await;
        assert_eq!(res.status, 201, "{:?}", res.body);
        res.body
    }

    /// Credentials that must not reach `t`'s objects, each answered 404 as if nothing
    /// were there: another organization's key, `t`'s organization in the other mode, and a
    /// key of `t`'s scoped to another of its brands.
    pub async fn outsiders(&self, t: &Tenant) -> Outsiders {
        let other_tenant = self.tenant(Mode::Test).await.key;
        let other_mode = self.key_in_mode(t, Mode::Live).await;
        let other_brand = self.create_brand(&t.key, "Other").await;
        let scoped = self
            .create_key(&t.key, json!({"name": "scoped", "brandIds": [other_brand]}))
            .await["key"]
            .as_str()
            .unwrap()
            .to_string();
        Outsiders {
            other_tenant,
            other_mode,
            other_brand,
            scoped,
        }
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

    /// Turns on this app's table stream, as template.yaml defines it (tables are made
    /// without one: the emulator keeps every record, which slows the tests that need none).
    pub async fn enable_stream(&self) {
        use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
        let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
        let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let view =
            template["Resources"]["Table"]["Properties"]["StreamSpecification"]["StreamViewType"]
                .as_str()
                .unwrap()
                .to_string();
        self.raw
            .update_table()
            .table_name(&self.table)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// The events Lambda would hand `function` for this table's stream records so far, as
    /// the local event-source poller builds them from template.yaml (the same code
    /// `scripts/dev` runs: scripts/event_sources.py).
    pub fn stream_batches(&self, function: &str) -> Vec<Value> {
        let root = workspace_root();
        let out = std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/event_sources.py"))
            .args(["batches", "--table", &self.table, "--function", function])
            .output()
            .expect("the venv's python (scripts/test installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// One pass of the local event-source poller (scripts/event_sources.py, as scripts/dev
    /// runs it) over this app's stream and delivery queue, with Lambda's Invoke API served
    /// here by the in-process functions. Returns how many records and messages it handed
    /// to functions.
    pub async fn pump_events(&self) -> usize {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let root = workspace_root();
        let poller = tokio::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/event_sources.py"))
            .args(["once", "--invoke-url", &format!("http://127.0.0.1:{port}")])
            .args(["--table", &self.table])
            .args(["--queue", &format!("WebhookDeliveries={}", self.queue_url)])
            .args(["--state", &self.stream_state.to_string_lossy()])
            .output();
        let serve = async {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                self.answer_invoke(stream).await;
            }
        };
        let out = tokio::select! {
            out = poller => out.expect("the venv's python (scripts/test installs it)"),
            () = serve => unreachable!(),
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let not_due = self.not_due.swap(0, std::sync::atomic::Ordering::SeqCst);
        (report["handed"].as_u64().unwrap() as usize).saturating_sub(not_due)
    }

    /// Runs the poller until a pass finds nothing to hand on.
    pub async fn pump_until_idle(&self) {
        for _ in 0..20 {
            if self.pump_events().await == 0 {
                return;
            }
        }
        panic!("the event sources never went idle");
    }

    /// Counts the messages of `event` whose delivery is not due yet at the app's clock.
    async fn count_not_due(&self, event: &dispatch_queue::QueueEvent) {
        use dispatch_store::WebhookStore;
        for record in &event.records {
            let Some(job) =
                dispatch_webhooks::deliver::Job::parse(record.body.as_deref().unwrap_or_default())
            else {
                continue;
            };
            let delivery = self
                .ctx
                .store
                .delivery(&job.org, job.mode, &job.brand, &job.webhook, &job.delivery)
                .await
                .unwrap();
            let now = self.clock.now();
            if delivery
                .and_then(|d| d.next_attempt_at)
                .is_some_and(|due| due.unix() > now.unix())
            {
                self.not_due
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    /// Forgets where the poller stopped: the next pass re-reads the whole stream, as Lambda
    /// does when it retries a batch or a mapping is created again.
    pub fn rewind_stream(&self) {
        let _ = std::fs::remove_file(&self.stream_state);
    }

    /// One `POST /2015-03-31/functions/{name}/invocations`: the function's in-process
    /// handler, its AWS calls recorded as that function's.
    async fn answer_invoke(&self, mut stream: tokio::net::TcpStream) {
        use tokio::io::AsyncWriteExt;
        let (head, body) = read_http_request(&mut stream)
            .await
            .expect("the poller closed the connection early");
        let path = head.split_whitespace().nth(1).unwrap_or_default();
        let function = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|p| p.strip_suffix("/invocations"))
            .unwrap_or_default()
            .to_string();
        // The event as Lambda's runtime client reads it: typed, or an error if malformed.
        fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
            serde_json::from_slice(body).map_err(|e| format!("the event does not parse: {e}"))
        }
        let result: Result<Value, String> = match function.as_str() {
            "webhook-events" => match parse(&body) {
                Ok(event) => as_function(
                    "webhook-events",
                    dispatch_webhooks::events::on_stream(&self.webhook_events, event),
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            "webhook-deliver" => match parse(&body) {
                Ok(event) => Ok(serde_json::to_value({
                    self.count_not_due(&event).await;
                    as_function(
                        "webhook-deliver",
                        dispatch_webhooks::deliver::on_queue(&self.webhook_deliver, event),
                    )
                    .await
                })
                .unwrap()),
                Err(e) => Err(e),
            },
            "email-outbound" => match parse(&body) {
                Ok(event) => as_function(
                    "email-outbound",
                    dispatch_email::outbound::on_stream(&self.email_outbound, event),
                )
                .await
                .map(|outcomes| json!({ "outcomes": outcomes }))
                .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            "brand-cleanup" => match parse(&body) {
                Ok(event) => {
                    let cleanup = dispatch_cleanup::Cleanup {
                        store: self.ctx.store.clone(),
                        files: self.attachments.files.clone(),
                    };
                    as_function(
                        "brand-cleanup",
                        dispatch_cleanup::on_stream(&cleanup, event),
                    )
                    .await
                    .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            },
            other => Err(format!("no function {other}")),
        };
        let (body, error) = match result {
            Ok(v) => (v.to_string(), ""),
            Err(e) => (
                json!({"errorMessage": e}).to_string(),
                "X-Amz-Function-Error: Unhandled\r\n",
            ),
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{error}Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        let _ = stream.shutdown().await;
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

/// Reads one HTTP/1.1 request from `stream`: its head (request line and headers) and its
/// body, as long as `Content-Length` says. `None` when the peer closes first.
pub async fn read_http_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..i]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    Some((head, data[head_end..head_end + length].to_vec()))
}

pub use dispatch_xtask::http::RawResponse;
pub use dispatch_xtask::mail::{emails_to, latest_magic_link_token};

/// Sends one HTTP/1.0 request to an `http://` URL exactly as given (a presigned URL is
/// used verbatim: its query is already encoded and signed). Test use only.
pub async fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    dispatch_xtask::http::request(method, url, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

impl TestApp {
    /// Asks for a sign-in link for `email` and returns the token from the email sent.
    pub async fn request_link(&self, email: &str) -> String {
        let res = self
            .send(
                "POST",
                "/v1/auth/magic-link",
                None,
                Some(json!({"email": email}).to_string()),
            )
            .await;
        assert_eq!(res.status, 202, "{:?}", res.body);
        latest_magic_link_token(email)
            .await
            .expect("a sign-in email was sent")
    }

    /// A request whose answer is not JSON: (status, body text, headers).
    pub async fn send_raw(
        &self,
        method: &str,
        path_and_query: &str,
    ) -> (u16, String, lambda_http::http::HeaderMap) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let route = self
            .routes
            .iter()
            .find(|r| r.method == method && match_path(&r.path, path).is_some())
            .unwrap()
            .clone();
        let event = api_gateway_event(&route, path, query, &[], None, &self.source_ip);
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        // Boxed: the router's match over every handler is a large future.
        let response = Box::pin(self.invoke(&route.function, request)).await;
        let body = String::from_utf8_lossy(response.body().as_ref()).to_string();
        (response.status().as_u16(), body, response.headers().clone())
    }

    /// Signs `email` in through the whole magic-link flow; returns the session cookie value.
    pub async fn sign_in_with_cookie(&self, email: &str) -> String {
        let token = self.request_link(email).await;
        let res = self
            .send(
                "POST",
                "/v1/auth/verify",
                None,
                Some(json!({"token": token}).to_string()),
            )
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        session_cookie_of(&res).expect("a session cookie")
    }

    /// Signs `email` in for a non-browser client; returns the `sess_…` Bearer token.
    /// Invites `email` with `role` (as the owner's session) and signs them in: their
    /// member id and Bearer session.
    pub async fn member_session(
        &self,
        owner_session: &str,
        email: &str,
        role: &str,
    ) -> (String, String) {
        let invited = self
            .post(
                "/v1/auth/members/invite",
                owner_session,
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(invited.status, 201, "{:?}", invited.body);
        assert_eq!(invited.body["status"], "pending");
        let id = invited.body["id"].as_str().unwrap().to_string();
        let org = self.get("/v1/auth/session", owner_session).await.body["organization"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Accepting the invitation: signing in to that organization by name.
        (id, self.sign_in_to(email, Some(&org)).await)
    }

    pub async fn sign_in_with_bearer(&self, email: &str) -> String {
        self.sign_in_to(email, None).await
    }

    /// Signs in by magic link (Bearer delivery), into `org` when given.
    pub async fn sign_in_to(&self, email: &str, org: Option<&str>) -> String {
        let token = self.request_link(email).await;
        let mut body = json!({"token": token, "delivery": "bearer"});
        if let Some(org) = org {
            body["organizationId"] = json!(org);
        }
        let res = self
            .send("POST", "/v1/auth/verify", None, Some(body.to_string()))
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        res.body["session"]["token"].as_str().unwrap().to_string()
    }

    /// Sends a request authenticated by the session cookie, from `origin` (if any).
    pub async fn with_cookie(
        &self,
        method: &str,
        path: &str,
        cookie: &str,
        origin: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "cookie".to_string(),
                format!("theme=dark; __Host-dispatch_session={cookie}"),
            ),
        ];
        if let Some(o) = origin {
            headers.push(("origin".to_string(), o.to_string()));
        }
        self.send_with_headers(method, path, &headers, body.map(|b| b.to_string()))
            .await
    }
}

/// The session token set by a `Set-Cookie` on `res`, if any.
pub fn session_cookie_of(res: &TestResponse) -> Option<String> {
    let header = res.header("set-cookie")?;
    let value = header.strip_prefix("__Host-dispatch_session=")?;
    let token = value.split(';').next()?;
    (!token.is_empty()).then(|| token.to_string())
}
