//! Every function's real binary, given its event from events/ through the Lambda Runtime
//! API, against the emulator: once as the event is (the `$default` stage, as
//! `cargo lambda watch` sends it) and once from a named stage, as API Gateway sends it when
//! the API is deployed on one. Both must give the same answer, CORS headers included.

use crate::helpers::{STAGE, TestApp, http_request, route_table, unique_email, workspace_root};
use dispatch_domain::Mode;
use dispatch_runtime_emulator::{Emulator, Outcome};
use dispatch_xtask::fixtures::{self, Stack, Tenant, on_stage};
use dispatch_xtask::routes::SECRETS;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// The suite's app as a stack to fill events from. Its clock stands at the time the app
/// was made, so what it signs (sessions, portal tokens) is valid for the binaries too.
impl Stack for TestApp {
    async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let res = self
            .send(method, path, bearer, body.map(|b| b.to_string()))
            .await;
        (res.status, res.body)
    }

    async fn tenant(&self, owner_email: &str) -> Tenant {
        let t = self.tenant_owned_by(owner_email, Mode::Test).await;
        Tenant {
            org_id: t.org_id.to_string(),
            owner_email: t.owner_email,
            key: t.key,
            brand_id: t.brand_id.to_string(),
        }
    }

    async fn magic_link_token(&self, email: &str) -> Option<String> {
        crate::helpers::latest_magic_link_token(email).await
    }

    async fn upload(&self, url: &str, headers: &[(String, String)], bytes: &[u8]) -> u16 {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http_request("PUT", url, &headers, bytes).await.status
    }

    fn unique_email(&self, who: &str) -> String {
        unique_email(who)
    }
}

/// The environment a function gets beyond the shared one: its own table, and the ARNs of
/// exactly the secrets routes.toml gives it (the others empty, which reads as unset).
/// The SDK names the function in its user agent (`app/<function>`), by which the emulator
/// records the binary's calls for the IAM check (scripts/moto_serial.py).
fn function_env(app: &TestApp, function: &str, secrets: &[String]) -> Vec<(String, String)> {
    let mut env = vec![
        ("TABLE_NAME".to_string(), app.table.clone()),
        ("AWS_SDK_UA_APP_ID".to_string(), function.to_string()),
    ];
    for (name, vars) in SECRETS {
        for (_, var) in vars.iter() {
            let value = if secrets.iter().any(|s| s == name) {
                std::env::var(var).unwrap_or_default()
            } else {
                String::new()
            };
            env.push((var.to_string(), value));
        }
    }
    env
}

/// Headers whose values must not depend on the stage.
fn compared_header(name: &str) -> bool {
    name.starts_with("access-control-")
        || matches!(
            name,
            "content-type" | "vary" | "cache-control" | "x-content-type-options"
        )
}

/// The shape of a JSON value: objects by their keys, arrays by their items, leaves by kind.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

/// The same answer: status, the same header names (and values, for CORS and content
/// headers; an allowed origin is compared as "the request's own"), the same cookies and
/// the same body shape. Ids, tokens and times differ: each answer is about objects made
/// for it.
fn same_answer(
    (default, default_origin): (&Value, &str),
    (staged, staged_origin): (&Value, &str),
) -> Result<(), String> {
    if default["statusCode"] != staged["statusCode"] {
        return Err(format!(
            "status {} vs {}",
            default["statusCode"], staged["statusCode"]
        ));
    }
    let names = |r: &Value| -> BTreeSet<String> {
        r["headers"]
            .as_object()
            .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
            .unwrap_or_default()
    };
    if names(default) != names(staged) {
        return Err(format!(
            "headers {:?} vs {:?}",
            names(default),
            names(staged)
        ));
    }
    let value = |r: &Value, name: &str, origin: &str| {
        let v = r["headers"][name].as_str().unwrap_or_default();
        if !origin.is_empty() && v == origin {
            "<the request's origin>".to_string()
        } else {
            v.to_string()
        }
    };
    for name in names(default).iter().filter(|n| compared_header(n)) {
        let (a, b) = (
            value(default, name, default_origin),
            value(staged, name, staged_origin),
        );
        if a != b {
            return Err(format!("{name}: {a} vs {b}"));
        }
    }
    let cookies = |r: &Value| r["cookies"].as_array().map_or(0, Vec::len);
    if cookies(default) != cookies(staged) {
        return Err("set-cookie differs".into());
    }
    let body = |r: &Value| {
        let text = r["body"].as_str().unwrap_or_default();
        serde_json::from_str::<Value>(text).map(|v| shape(&v)).ok()
    };
    if body(default) != body(staged) {
        return Err(format!("body {} vs {}", default["body"], staged["body"]));
    }
    Ok(())
}

/// The bucket's CORS `AllowedHeaders`, as template.yaml declares them.
fn bucket_cors_allowed_headers() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    template["Resources"]["AttachmentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["AllowedHeaders"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .map(|h| h.as_str().unwrap().to_ascii_lowercase())
        .collect()
}

/// An upload answer hands the client exactly the headers the URL signs (but `host`), and
/// the bucket's CORS allows each: a browser's preflight for them passes.
fn check_upload_headers(function: &str, body: &Value) {
    let Some(headers) = body["uploadHeaders"].as_object() else {
        return;
    };
    let url = body["uploadUrl"].as_str().unwrap();
    let signed: BTreeSet<String> = url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .split("%3B")
        .filter(|h| *h != "host")
        .map(str::to_string)
        .collect();
    let given: BTreeSet<String> = headers.keys().cloned().collect();
    assert_eq!(
        given, signed,
        "{function}: uploadHeaders are not the signed headers"
    );
    let allowed = bucket_cors_allowed_headers();
    assert!(
        given.is_subset(&allowed),
        "{function}: the bucket's CORS does not allow {:?}",
        given.difference(&allowed).collect::<Vec<_>>()
    );
}

/// A query parameter no route reads.
const UNKNOWN_PARAM: &str = "assigneeIdz";

/// Adds `name=value` to an API Gateway event's query, as API Gateway would pass it.
fn with_query_param(event: &mut Value, name: &str, value: &str) {
    let raw = event["rawQueryString"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    event["rawQueryString"] = Value::String(if raw.is_empty() {
        format!("{name}={value}")
    } else {
        format!("{raw}&{name}={value}")
    });
    if !event["queryStringParameters"].is_object() {
        event["queryStringParameters"] = json!({});
    }
    event["queryStringParameters"][name] = Value::String(value.to_string());
}

/// A query parameter the route does not read is a 400 naming it, from the binary itself
/// (its route and parameters are its routes.toml entry); the preflight takes any query.
fn check_unknown_query_refused(function: &str, preflight: bool, outcome: &Outcome) {
    let Outcome::Response(response) = outcome else {
        panic!("{function}: an invocation error for an unknown query parameter");
    };
    let status = response["statusCode"].as_u64().unwrap_or(0);
    if preflight {
        assert_eq!(status, 204, "{function}: {response}");
        return;
    }
    assert_eq!(status, 400, "{function}: {response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap();
    assert_eq!(body["code"], "validation_error", "{function}: {body}");
    assert_eq!(
        body["errors"][0]["field"], UNKNOWN_PARAM,
        "{function}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_function_binary_answers_its_event_the_same_on_any_stage() {
    let app = TestApp::new().await;
    let bin_dir = workspace_root().join("target/debug");
    for route in route_table().routes {
        let function = route.function.as_str();
        let path = workspace_root().join(format!("events/{function}.json"));
        let event = std::fs::read_to_string(&path).unwrap();
        // Fresh objects for each of the two requests: some are single-use.
        let default = fixtures::fill(&app, &event)
            .await
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        let mut staged: Value = serde_json::from_str(
            &fixtures::fill(&app, &event)
                .await
                .unwrap_or_else(|e| panic!("{function}: {e}")),
        )
        .unwrap();
        on_stage(&mut staged, STAGE);
        // And once more with a query parameter the route does not read.
        let mut unknown: Value = serde_json::from_str(&default).unwrap();
        with_query_param(&mut unknown, UNKNOWN_PARAM, "1");
        let env = function_env(&app, function, &route.secrets);
        let default_event = default.clone();
        let emulator = Emulator::start(
            &bin_dir.join(function),
            vec![default, staged.to_string(), unknown.to_string()],
            &env,
        )
        .await
        .unwrap_or_else(|e| {
            panic!("cannot start {function}: {e} (scripts/test builds the binaries first)")
        });
        let answered = emulator.wait_for(3, Duration::from_secs(30)).await;
        emulator.stop().await;
        let mut invocations =
            answered.unwrap_or_else(|| panic!("{function} did not answer 3 times within 30 s"));
        let refused = invocations.pop().unwrap();
        check_unknown_query_refused(function, route.is_preflight(), &refused.outcome);
        let mut answers = Vec::new();
        for invocation in &invocations {
            match &invocation.outcome {
                Outcome::Response(response) => {
                    let status = response["statusCode"].as_u64().unwrap_or(0);
                    assert!(
                        (200..300).contains(&status),
                        "{function} answered {response}"
                    );
                    assert!(
                        response["headers"]["x-request-id"].is_string(),
                        "{function}: no X-Request-Id in {response}"
                    );
                    let body: Value =
                        serde_json::from_str(response["body"].as_str().unwrap_or("null"))
                            .unwrap_or(Value::Null);
                    check_upload_headers(function, &body);
                    answers.push(response.clone());
                }
                Outcome::Error(e) => panic!("{function} reported an invocation error: {e}"),
            }
        }
        let origin = |event: &Value| {
            event["headers"]["origin"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let default_origin = origin(&serde_json::from_str(&default_event).unwrap());
        if let Err(diff) = same_answer(
            (&answers[0], &default_origin),
            (&answers[1], &origin(&staged)),
        ) {
            panic!("{function}: on stage {STAGE} the answer differs: {diff}");
        }
        if route.is_preflight() {
            // The event comes from an origin the brand lists: both answers allow it.
            assert!(
                answers[1]["headers"]["access-control-allow-origin"].is_string(),
                "{function}: {}",
                answers[1]
            );
        }
    }
}

/// The stream-driven cleanup's real binary, given a brand's `REMOVE` record from
/// events/streams/ through the Lambda Runtime API.
#[tokio::test(flavor = "multi_thread")]
async fn the_cleanup_binary_purges_a_deleted_brand() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    app.post(
        &format!("/v1/brands/{brand}/tickets"),
        &tenant.key,
        json!({"title": "Left behind", "customerEmail": unique_email("c")}),
    )
    .await;
    let deleted = app
        .delete(&format!("/v1/brands/{brand}?confirm=true"), &tenant.key)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(!app.raw_items_containing(&brand).await.is_empty());
    let event = std::fs::read_to_string(workspace_root().join("events/streams/brand-removed.json"))
        .unwrap()
        .replace("{{ORG_ID}}", tenant.org_id.as_str())
        .replace("{{BRAND_ID}}", &brand);
    let env = function_env(&app, "brand-cleanup", &[]);
    let binary = workspace_root().join("target/debug/brand-cleanup");
    let emulator = Emulator::start(&binary, vec![event], &env)
        .await
        .expect("scripts/test builds the binaries first");
    let answered = emulator.wait_for(1, Duration::from_secs(30)).await;
    emulator.stop().await;
    match &answered.expect("brand-cleanup did not answer")[0].outcome {
        Outcome::Response(response) => {
            assert_eq!(
                response["purged"][0]["brandId"],
                brand.as_str(),
                "{response}"
            );
        }
        Outcome::Error(e) => panic!("brand-cleanup reported an error: {e}"),
    }
    assert!(app.raw_items_containing(&brand).await.is_empty());
}

/// Runs an event-source function's real binary with one event through the Lambda Runtime
/// API and returns its answer.
async fn run_binary(function: &str, event: String, env: Vec<(String, String)>) -> Value {
    let binary = workspace_root().join(format!("target/debug/{function}"));
    let emulator = Emulator::start(&binary, vec![event], &env)
        .await
        .expect("scripts/test builds the binaries first");
    let answered = emulator.wait_for(1, Duration::from_secs(30)).await;
    emulator.stop().await;
    match &answered.unwrap_or_else(|| panic!("{function} did not answer"))[0].outcome {
        Outcome::Response(response) => response.clone(),
        Outcome::Error(e) => panic!("{function} reported an error: {e}"),
    }
}

/// The webhook event function's real binary, given a ticket's `INSERT` record from
/// events/streams/, records one delivery for the brand's webhook and queues it.
#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_events_binary_turns_a_new_ticket_into_a_queued_delivery() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    let hook = app
        .post(
            &format!("/v1/brands/{brand}/webhooks"),
            &tenant.key,
            json!({"url": "https://203.0.113.80/in", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let hook_id = hook.body["id"].as_str().unwrap().to_string();
    let ticket = dispatch_domain::TicketId::generate(1_795_893_974_000).to_string();
    let event =
        std::fs::read_to_string(workspace_root().join("events/streams/ticket-created.json"))
            .unwrap()
            .replace("{{ORG_ID}}", tenant.org_id.as_str())
            .replace("{{BRAND_ID}}", &brand)
            .replace("{{TICKET_ID}}", &ticket);
    let mut env = function_env(&app, "webhook-events", &[]);
    env.push(("WEBHOOK_QUEUE_URL".into(), app.queue_url.clone()));
    let answer = run_binary("webhook-events", event, env).await;
    assert_eq!(answer["deliveries"], 1, "{answer}");
    assert_eq!(answer["events"][0]["event"], "ticket.created");
    let log = app
        .get(
            &format!("/v1/brands/{brand}/webhooks/{hook_id}/deliveries"),
            &tenant.key,
        )
        .await;
    assert_eq!(log.body[0]["status"], "PENDING", "{}", log.body);
    assert_eq!(log.body[0]["payload"]["data"]["id"], ticket.as_str());
}

/// The delivery function's real binary, given an SQS event from events/queue/, POSTs the
/// delivery to a receiver on loopback and reports no failed message.
#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_deliver_binary_posts_a_queued_delivery() {
    use dispatch_domain::webhook::{DeliveryStatus, WebhookDelivery, WebhookEvent};
    use dispatch_store::WebhookStore;
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hook = app
        .post(
            &format!("/v1/brands/{brand}/webhooks"),
            &tenant.key,
            json!({"url": format!("http://127.0.0.1:{port}/in"), "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let hook_id = dispatch_domain::WebhookId::parse(hook.body["id"].as_str().unwrap()).unwrap();
    let org = tenant.org_id.clone();
    let delivery = WebhookDelivery::pending(
        dispatch_domain::DeliveryId::generate(1),
        hook_id.clone(),
        WebhookEvent::TicketCreated,
        r#"{"id":"evt_x","event":"ticket.created","brand_id":"br_x","data":{},"timestamp":"2026-11-30T00:00:00Z"}"#.into(),
        dispatch_domain::Timestamp::from_unix(1_795_893_974),
    );
    app.ctx
        .store
        .put_delivery(&org, Mode::Test, &tenant.brand_id, &delivery)
        .await
        .unwrap();
    // The receiver: one request, answered 204.
    let received = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = listener.accept().unwrap();
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&data).contains("\"timestamp\"") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&data).to_string()
    });
    let event = std::fs::read_to_string(workspace_root().join("events/queue/delivery.json"))
        .unwrap()
        .replace("{{ORG_ID}}", tenant.org_id.as_str())
        .replace("{{BRAND_ID}}", &brand)
        .replace("{{WEBHOOK_ID}}", hook_id.as_str())
        .replace("{{DELIVERY_ID}}", delivery.id.as_str());
    let mut env = function_env(&app, "webhook-deliver", &[]);
    env.push(("WEBHOOK_QUEUE_URL".into(), app.queue_url.clone()));
    env.push(("WEBHOOK_ALLOW_LOCAL".into(), "true".into()));
    let answer = run_binary("webhook-deliver", event, env).await;
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let request = received.join().unwrap();
    assert!(request.starts_with("POST /in HTTP/1.1"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("x-dispatch-signature: sha256=")
    );
    let stored = app
        .ctx
        .store
        .delivery(&org, Mode::Test, &tenant.brand_id, &hook_id, &delivery.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, DeliveryStatus::Success);
    assert_eq!(stored.response_code, Some(204));
}

/// The inbound mail function's real binary, given SES's receipt event from events/mail/
/// for a message stored where the rule's S3 action puts it, opens a ticket.
#[tokio::test(flavor = "multi_thread")]
async fn the_email_inbound_binary_turns_a_received_message_into_a_ticket() {
    use crate::email::{AUTHENTIC, address, fixture, new_ses_id, receipt_event, store_raw};
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    let ses_id = new_ses_id();
    store_raw(&app, &ses_id, fixture("plain.eml", &brand, None)).await;
    let event = receipt_event(&ses_id, &address(&brand), AUTHENTIC);
    let mut env = function_env(&app, "email-inbound", &[]);
    env.push((
        "INBOUND_DOMAIN".into(),
        crate::helpers::INBOUND_DOMAIN.into(),
    ));
    let answer = run_binary("email-inbound", event, env).await;
    assert_eq!(answer["outcomes"][0]["outcome"], "opened", "{answer}");
    assert_eq!(answer["outcomes"][0]["verified"], true, "{answer}");
    let ticket = answer["outcomes"][0]["ticket"].as_str().unwrap();
    let shown = app
        .get(&format!("/v1/brands/{brand}/tickets/{ticket}"), &tenant.key)
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.body["title"], "Cannot log in");
    assert_eq!(shown.body["source"], "email");
}

/// The customer mail function's real binary, given a ticket's `INSERT` record from
/// events/streams/ (a test-mode ticket), reads it and sends nothing: test mode never mails
/// customers.
#[tokio::test(flavor = "multi_thread")]
async fn the_email_outbound_binary_reads_a_new_ticket_and_mails_nothing_in_test_mode() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let ticket = dispatch_domain::TicketId::generate(1_795_893_974_000).to_string();
    let event =
        std::fs::read_to_string(workspace_root().join("events/streams/ticket-created.json"))
            .unwrap()
            .replace("{{ORG_ID}}", tenant.org_id.as_str())
            .replace("{{BRAND_ID}}", tenant.brand_id.as_str())
            .replace("{{TICKET_ID}}", &ticket);
    let env = function_env(&app, "email-outbound", &[]);
    let answer = run_binary("email-outbound", event, env).await;
    assert_eq!(answer["outcomes"][0]["outcome"], "skipped", "{answer}");
    assert_eq!(answer["outcomes"][0]["why"], "testMode", "{answer}");
    assert_eq!(answer["outcomes"][0]["ticket"], ticket.as_str());
}

/// The feedback function's real binary, given SES's permanent bounce as SNS delivers it
/// (events/mail/bounce.json), puts the address on the organization's suppression list.
#[tokio::test(flavor = "multi_thread")]
async fn the_email_feedback_binary_suppresses_a_bounced_address() {
    use dispatch_store::MailStore;
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let address = unique_email("bounced-binary");
    let event = std::fs::read_to_string(workspace_root().join("events/mail/bounce.json"))
        .unwrap()
        .replace("{{ORG_ID}}", tenant.org_id.as_str())
        .replace("{{EMAIL}}", &address);
    let env = function_env(&app, "email-feedback", &[]);
    let answer = run_binary("email-feedback", event, env).await;
    assert_eq!(answer["feedback"][0]["event"], "Bounce", "{answer}");
    assert_eq!(answer["feedback"][0]["suppressed"], 1, "{answer}");
    let email = dispatch_domain::Email::parse(&address).unwrap();
    assert_eq!(
        app.ctx
            .store
            .suppressed(&tenant.org_id, &email)
            .await
            .unwrap()
            .as_deref(),
        Some("bounce")
    );
}
