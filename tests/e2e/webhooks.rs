//! Webhook management: the routes of the contract, secrets sealed with KMS (in the
//! emulator's KMS), the SSRF rules at create and update, the cap, and the delivery log.

use crate::helpers::{Tenant, TestApp, read_http_request};
use dispatch_domain::webhook::{DeliveryStatus, WebhookDelivery, WebhookEvent};
use dispatch_domain::{BrandId, Clock, DeliveryId, Mode, OrgId, Timestamp, WebhookId};
use dispatch_kms::{SealContext, Secrets};
use dispatch_store::WebhookStore;
use serde_json::{Value, json};

fn hooks(t: &Tenant) -> String {
    format!("/v1/brands/{}/webhooks", t.brand_id)
}

async fn create(app: &TestApp, t: &Tenant, body: Value) -> Value {
    let res = app.post(&hooks(t), &t.key, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

/// The sealed secret as stored, read straight from the table.
async fn stored_secret(app: &TestApp, t: &Tenant, id: &str) -> Vec<u8> {
    let brand = t.brand_id.clone();
    let org = t.org_id.clone();
    let out = app
        .raw
        .get_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(dispatch_store::keys::brand_partition(
                &org,
                Mode::Test,
                &brand,
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("WEBHOOK#{id}")),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = out.item.expect("the webhook item");
    item["secret"]
        .as_b()
        .expect("a binary attribute")
        .as_ref()
        .to_vec()
}

/// What the delivery function will do: open a sealed secret with the key and its context.
async fn open(t: &Tenant, webhook: &str, sealed: &[u8]) -> Result<String, String> {
    let sdk = dispatch_aws::load().await;
    let secrets = Secrets::new(&sdk, std::env::var("WEBHOOK_KEY_ARN").unwrap());
    let org = t.org_id.clone();
    let brand = t.brand_id.clone();
    let id = WebhookId::parse(webhook).unwrap();
    let context = SealContext {
        org: &org,
        mode: Mode::Test,
        brand: &brand,
        webhook: &id,
    };
    secrets
        .open(sealed, &context)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_webhook_is_created_listed_read_changed_and_deleted() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let created = create(
        &app,
        &t,
        json!({
            "url": "https://203.0.113.20/hooks",
            "secret": "integrator-chosen-secret",
            "events": ["ticket.created", "ticket.comment.created"],
        }),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_"), "{created}");
    assert_eq!(created["brandId"], t.brand_id.to_string());
    assert_eq!(created["url"], "https://203.0.113.20/hooks");
    assert_eq!(
        created["events"],
        json!(["ticket.created", "ticket.comment.created"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["failureCount"], 0);
    assert_eq!(created["lastTriggered"], Value::Null);
    assert_eq!(created["lastFailure"], Value::Null);
    assert!(
        created.get("secret").is_none(),
        "a chosen secret is never echoed"
    );
    let fields: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(fields.len(), 10, "{fields:?}");

    let listed = app.get(&hooks(&t), &t.key).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body, json!([created.clone()]));
    let one = app.get(&format!("{}/{id}", hooks(&t)), &t.key).await;
    assert_eq!(one.body, created);

    let path = format!("{}/{id}", hooks(&t));
    let patched = app
        .patch(
            &path,
            &t.key,
            json!({"url": "https://203.0.113.21/v2", "events": ["ticket.updated"], "enabled": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["url"], "https://203.0.113.21/v2");
    assert_eq!(patched.body["events"], json!(["ticket.updated"]));
    assert_eq!(patched.body["enabled"], false);
    assert_eq!(app.get(&path, &t.key).await.body, patched.body);
    // Nothing to change: the webhook as it is, nothing written.
    app.take_ops();
    let unchanged = app.patch(&path, &t.key, json!({"url": null})).await;
    assert_eq!(unchanged.body, patched.body);
    assert_eq!(app.take_ops().1, 0);

    let deliveries = app.get(&format!("{path}/deliveries"), &t.key).await;
    assert_eq!(
        (deliveries.status, deliveries.body.clone()),
        (200, json!([]))
    );

    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    assert_eq!(app.get(&path, &t.key).await.status, 404);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    assert_eq!(
        app.get(&format!("{path}/deliveries"), &t.key).await.status,
        404
    );
    assert_eq!(app.get(&hooks(&t), &t.key).await.body, json!([]));
}

#[tokio::test]
async fn a_secret_is_sealed_for_its_webhook_and_a_generated_one_is_shown_once() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), format!("Bearer {}", t.key)),
        ("x-idempotency-key".to_string(), "hook-1".to_string()),
    ];
    let body = json!({"url": "https://203.0.113.30/in", "events": ["ticket.created"]}).to_string();
    let first = app
        .send_with_headers("POST", &hooks(&t), &headers, Some(body.clone()))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let secret = first.body["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 49,
        "{secret}"
    );
    let id = first.body["id"].as_str().unwrap().to_string();

    // Replayed: the same webhook, without the secret (it was not stored in clear anywhere).
    let replay = app
        .send_with_headers("POST", &hooks(&t), &headers, Some(body))
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], id.as_str());
    assert!(replay.body.get("secret").is_none(), "{}", replay.body);
    assert_eq!(
        app.get(&hooks(&t), &t.key)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        app.raw_items_containing(&secret).await.is_empty(),
        "the secret is stored nowhere in clear"
    );
    for path in [hooks(&t), format!("{}/{id}", hooks(&t))] {
        let read = app.get(&path, &t.key).await;
        assert!(!read.body.to_string().contains(&secret), "{path}");
    }

    // Sealed with KMS under this webhook's context: it opens there, and nowhere else.
    let sealed = stored_secret(&app, &t, &id).await;
    assert!(!String::from_utf8_lossy(&sealed).contains(&secret));
    assert_eq!(open(&t, &id, &sealed).await, Ok(secret.clone()));
    let other = create(
        &app,
        &t,
        json!({"url": "https://203.0.113.31/in", "events": ["ticket.created"], "secret": "another-secret-of-mine"}),
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    assert!(
        open(&t, other_id, &sealed).await.is_err(),
        "ciphertext moved to another webhook"
    );
    assert_eq!(
        open(&t, other_id, &stored_secret(&app, &t, other_id).await).await,
        Ok("another-secret-of-mine".into())
    );

    // A PATCH seals the new secret; the answer never carries it.
    let path = format!("{}/{id}", hooks(&t));
    let rotated = app
        .patch(
            &path,
            &t.key,
            json!({"secret": "rotated-secret-0123456789"}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert!(rotated.body.get("secret").is_none());
    assert_eq!(
        open(&t, &id, &stored_secret(&app, &t, &id).await).await,
        Ok("rotated-secret-0123456789".into())
    );
}

#[tokio::test]
async fn targets_a_delivery_must_not_reach_are_refused_and_nothing_is_written() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let live = app.tenant(Mode::Live).await;
    let refused = [
        (&t, "http://169.254.169.254/latest/meta-data/"),
        (&t, "https://169.254.169.254/"),
        (&t, "http://10.0.0.1/hook"),
        (&t, "http://192.168.1.10/hook"),
        (&t, "http://172.16.5.4/hook"),
        (&t, "http://100.64.0.1/hook"),
        (&t, "http://0.0.0.0:8080/"),
        (&t, "http://127.0.0.2/"),
        (&t, "http://[::1]/"),
        (&t, "http://[::ffff:127.0.0.1]/"),
        (&t, "http://[::ffff:a9fe:a9fe]/"),
        (&t, "http://[64:ff9b::a9fe:a9fe]/"),
        (&t, "http://[fd00::1]/"),
        (&t, "http://[fe80::1]/"),
        (&t, "http://127.1/"),
        (&t, "http://2130706433/"),
        (&t, "https://user:pw@203.0.113.5/"),
        (&t, "ftp://203.0.113.5/"),
        (&t, "https://host.invalid/hook"),
        // A name that resolves to loopback (through this machine's resolver).
        (&live, "https://localhost:8443/hook"),
        // Live mode is https only, and the local allowance is test mode's alone.
        (&live, "http://203.0.113.5/hook"),
        (&live, "https://127.0.0.1:9/hook"),
    ];
    for (tenant, url) in refused {
        let res = app
            .post(
                &hooks(tenant),
                &tenant.key,
                json!({"url": url, "events": ["ticket.created"], "secret": "0123456789abcdef"}),
            )
            .await;
        assert_eq!(res.status, 400, "{url}: {}", res.body);
        assert_eq!(res.error_fields(), ["url"], "{url}");
    }
    for tenant in [&t, &live] {
        assert_eq!(app.get(&hooks(tenant), &tenant.key).await.body, json!([]));
    }

    // A PATCH to such a target is refused too, and changes nothing.
    let hook = create(
        &app,
        &t,
        json!({"url": "https://203.0.113.40/", "events": ["ticket.created"]}),
    )
    .await;
    let path = format!("{}/{}", hooks(&t), hook["id"].as_str().unwrap());
    let res = app
        .patch(
            &path,
            &t.key,
            json!({"url": "http://169.254.169.254/", "enabled": false}),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    let mut expected = hook.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(app.get(&path, &t.key).await.body, expected);

    // The local receiver scripts/dev allows: test mode, localhost or 127.0.0.1 only.
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook"] {
        create(&app, &t, json!({"url": url, "events": ["ticket.created"]})).await;
    }
}

#[tokio::test]
async fn events_secrets_and_fields_are_validated() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let url = "https://203.0.113.50/hook";
    for (body, field) in [
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "events": ["ticket.deleted"]}), "events"),
        (
            json!({"url": url, "events": ["ticket.created", "ticket.created"]}),
            "events",
        ),
        (json!({"url": url}), "events"),
        (json!({"events": ["ticket.created"]}), "url"),
        (
            json!({"url": url, "events": ["ticket.created"], "secret": "short"}),
            "secret",
        ),
        (
            json!({"url": url, "events": ["ticket.created"], "secret": "sixteen-chars-and-\u{7}"}),
            "secret",
        ),
        (
            json!({"url": format!("https://203.0.113.50/{}", "a".repeat(2048)), "events": ["ticket.created"]}),
            "url",
        ),
    ] {
        let res = app.post(&hooks(&t), &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert_eq!(res.error_fields(), [field], "{body}");
    }
    let unknown = app
        .post(
            &hooks(&t),
            &t.key,
            json!({"url": url, "events": ["ticket.created"], "active": true}),
        )
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let wrong_type = app
        .post(
            &hooks(&t),
            &t.key,
            json!({"url": url, "events": "ticket.created"}),
        )
        .await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.body);
    assert_eq!(app.get(&hooks(&t), &t.key).await.body, json!([]));

    let hook = create(&app, &t, json!({"url": url, "events": ["ticket.created"]})).await;
    let path = format!("{}/{}", hooks(&t), hook["id"].as_str().unwrap());
    for body in [
        json!({"events": []}),
        json!({"secret": "short"}),
        json!({"enabled": "yes"}),
        json!({"brandId": "br_x"}),
    ] {
        let res = app.patch(&path, &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
    }
    let mut expected = hook.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(app.get(&path, &t.key).await.body, expected);
}

#[tokio::test]
async fn a_brand_has_at_most_ten_webhooks() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let hook = create(
            &app,
            &t,
            json!({"url": format!("https://203.0.113.60/{i}"), "events": ["ticket.created"]}),
        )
        .await;
        ids.push(hook["id"].as_str().unwrap().to_string());
    }
    let eleventh = app
        .post(
            &hooks(&t),
            &t.key,
            json!({"url": "https://203.0.113.60/x", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(eleventh.status, 409, "{}", eleventh.body);
    assert_eq!(eleventh.body["code"], "webhook_limit_reached");
    assert_eq!(
        app.get(&hooks(&t), &t.key)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // Another brand has its own ten.
    let other = app.create_brand(&t.key, "Other").await;
    let res = app
        .post(
            &format!("/v1/brands/{other}/webhooks"),
            &t.key,
            json!({"url": "https://203.0.113.61/", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    // A delete frees a place.
    let gone = app
        .delete(&format!("{}/{}", hooks(&t), ids[0]), &t.key)
        .await;
    assert_eq!(gone.status, 204);
    create(
        &app,
        &t,
        json!({"url": "https://203.0.113.60/y", "events": ["ticket.created"]}),
    )
    .await;
}

#[tokio::test]
async fn the_delivery_log_is_read_newest_first_and_bounded_by_limit() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let hook = create(
        &app,
        &t,
        json!({"url": "https://203.0.113.70/", "events": ["ticket.created"]}),
    )
    .await;
    let id = WebhookId::parse(hook["id"].as_str().unwrap()).unwrap();
    let org = t.org_id.clone();
    let brand = t.brand_id.clone();
    let now = app.clock.now_millis();
    let payload = r#"{"id":"evt_1","event":"ticket.created","brand_id":"br_1","data":{},"timestamp":"2026-11-30T00:00:00Z"}"#;
    let older = WebhookDelivery {
        id: DeliveryId::generate(now - 1000),
        webhook_id: id.clone(),
        event: WebhookEvent::TicketCreated,
        payload: payload.into(),
        status: DeliveryStatus::Success,
        attempts: 1,
        last_attempt: Some(Timestamp::from_unix(now / 1000)),
        response_code: Some(204),
        response_body: Some(String::new()),
        error: None,
        next_attempt_at: None,
        created_at: Timestamp::from_unix(now / 1000 - 1),
    };
    let newer = WebhookDelivery {
        id: DeliveryId::generate(now),
        status: DeliveryStatus::Retrying,
        attempts: 2,
        response_code: Some(500),
        response_body: Some("oops".into()),
        error: Some("HTTP 500".into()),
        next_attempt_at: Some(Timestamp::from_unix(now / 1000 + 60)),
        ..older.clone()
    };
    for d in [&older, &newer] {
        app.ctx
            .store
            .put_delivery(&org, Mode::Test, &brand, d)
            .await
            .unwrap();
    }
    let path = format!("{}/{id}/deliveries", hooks(&t));
    let all = app.get(&path, &t.key).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let ids: Vec<&str> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [newer.id.as_str(), older.id.as_str()]);
    let first = &all.body[0];
    assert_eq!(first["webhookId"], id.as_str());
    assert_eq!(first["event"], "ticket.created");
    assert_eq!(
        first["payload"]["brand_id"], "br_1",
        "the payload is an object"
    );
    assert_eq!(first["status"], "RETRYING");
    assert_eq!(first["attempts"], 2);
    assert_eq!(first["responseCode"], 500);
    assert_eq!(first["error"], "HTTP 500");
    assert!(first["nextAttemptAt"].is_string());
    assert_eq!(all.body[1]["error"], Value::Null);
    assert_eq!(all.body[1]["nextAttemptAt"], Value::Null);
    assert_eq!(first.as_object().unwrap().len(), 12);

    let one = app.get(&format!("{path}?limit=1"), &t.key).await;
    assert_eq!(one.body.as_array().unwrap().len(), 1);
    assert_eq!(one.body[0]["id"], newer.id.as_str());
    for bad in ["0", "101", "x", "-1"] {
        let res = app.get(&format!("{path}?limit={bad}"), &t.key).await;
        assert_eq!(res.status, 400, "limit={bad}");
    }
}

/// One request a receiver got: its headers (lower-cased names) and body.
type Received = (Vec<(String, String)>, String);

/// A receiver on loopback: keeps every request's headers and body, answers 200.
struct Receiver {
    url: String,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hooks/dispatch",
            listener.local_addr().unwrap().port()
        );
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = got.clone();
        let task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let Some((head, body)) = read_http_request(&mut stream).await else {
                    continue;
                };
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let body = String::from_utf8_lossy(&body).to_string();
                keep.lock().unwrap().push((headers, body));
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        Receiver { url, got, task }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Stops listening: connections are refused from now on.
    fn stop(&self) {
        self.task.abort();
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// Verifies a delivery as the SDK's `verifySignature` documents it: `sha256=` and one hex
/// HMAC-SHA256 of the raw body, keyed with the secret, compared in constant time.
fn verify_signature(body: &str, signature: &str, secret: &str) -> bool {
    use hmac::{KeyInit, Mac};
    let Some(("sha256", hex)) = signature.split_once('=') else {
        return false;
    };
    if hex.contains('=') || hex.len() != 64 {
        return false;
    }
    let Ok(bytes) = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

#[tokio::test]
async fn deliveries_reach_a_receiver_signed_then_retry_fail_and_disable_the_webhook() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Test).await;
    let receiver = Receiver::start().await;
    let hook = create(
        &app,
        &t,
        json!({"url": receiver.url, "events": ["ticket.created", "ticket.updated", "ticket.comment.created"]}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    let hook_path = format!("{}/{}", hooks(&t), hook["id"].as_str().unwrap());
    let b = format!("/v1/brands/{}", t.brand_id);

    // Create, update and comment on a ticket: three events, each delivered once.
    let ticket = app
        .post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "Parcel late", "customerEmail": "jo@example.com", "customerName": "Jo"}),
        )
        .await;
    assert_eq!(ticket.status, 201, "{}", ticket.body);
    let ticket_id = ticket.body["id"].as_str().unwrap().to_string();
    app.pump_until_idle().await;
    let res = app
        .patch(
            &format!("{b}/tickets/{ticket_id}"),
            &t.key,
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    app.pump_until_idle().await;
    let res = app
        .post(
            &format!("{b}/tickets/{ticket_id}/comments"),
            &t.key,
            json!({"body": "On its way"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    // An internal note is no event.
    let res = app
        .post(
            &format!("{b}/tickets/{ticket_id}/comments"),
            &t.key,
            json!({"body": "Staff only", "metadata": {"isInternal": true}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    app.pump_until_idle().await;

    let got = receiver.received();
    assert_eq!(got.len(), 3, "{got:?}");
    let mut seen = Vec::new();
    for (headers, body) in &got {
        assert!(
            verify_signature(body, header(headers, "x-dispatch-signature"), &secret),
            "{headers:?}"
        );
        let mut tampered = body.clone().into_bytes();
        tampered[5] ^= 1;
        assert!(!verify_signature(
            &String::from_utf8_lossy(&tampered),
            header(headers, "x-dispatch-signature"),
            &secret
        ));
        assert_eq!(header(headers, "content-type"), "application/json");
        assert!(header(headers, "x-dispatch-delivery").starts_with("whd_"));
        assert!(header(headers, "x-dispatch-timestamp").is_empty());
        let envelope: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body, &envelope.to_string(), "compact JSON, sent as signed");
        let keys: Vec<&String> = envelope.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            5,
            "exactly id, event, brand_id, data, timestamp: {keys:?}"
        );
        assert!(envelope["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(header(headers, "x-webhook-id"), envelope["id"]);
        assert_eq!(header(headers, "x-dispatch-event"), envelope["event"]);
        assert_eq!(envelope["brand_id"], t.brand_id.to_string());
        assert!(Timestamp::parse(envelope["timestamp"].as_str().unwrap()).is_some());
        seen.push(envelope);
    }
    let events: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["ticket.created", "ticket.updated", "ticket.comment.created"]
    );
    let created = &seen[0]["data"];
    assert_eq!(created["id"], ticket_id.as_str());
    assert!(created["ticketNumber"].is_u64());
    assert_eq!(created["title"], "Parcel late");
    assert_eq!(created["status"], "open");
    assert_eq!(created["customerEmail"], "jo@example.com");
    assert_eq!(created["customerName"], "Jo");
    assert!(created["customerId"].as_str().unwrap().starts_with("cus_"));
    for key in ["priority", "source", "createdAt"] {
        assert!(created[key].is_string(), "{key}: {created}");
    }
    let updated = &seen[1]["data"];
    assert_eq!(updated["status"], "pending");
    assert_eq!(updated["changes"], json!(["status"]));
    assert_eq!(updated["assigneeId"], Value::Null);
    let commented = &seen[2]["data"];
    assert_eq!(commented["ticketId"], ticket_id.as_str());
    assert!(
        commented["ticketNumber"].as_str().unwrap().contains('-'),
        "{commented}"
    );
    assert_eq!(commented["comment"]["body"], "On its way");
    assert_eq!(commented["customerEmail"], "jo@example.com");

    let log = app.get(&format!("{hook_path}/deliveries"), &t.key).await;
    let log = log.body.as_array().unwrap().clone();
    assert_eq!(log.len(), 3);
    for d in &log {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_u64()),
            (Some("SUCCESS"), Some(1))
        );
        assert_eq!(d["responseCode"], 200);
        assert_eq!(d["responseBody"], "ok");
    }
    let webhook = app.get(&hook_path, &t.key).await.body;
    assert_eq!(webhook["failureCount"], 0);
    assert!(webhook["lastTriggered"].is_string());

    // A retried stream batch (the poller reads the whole stream again) records nothing
    // twice and sends nothing twice.
    app.rewind_stream();
    app.pump_until_idle().await;
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(
        app.get(&format!("{hook_path}/deliveries"), &t.key)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The receiver goes away: the next event is retried on the schedule, then fails, and
    // the webhook is turned off.
    receiver.stop();
    let res = app
        .patch(
            &format!("{b}/tickets/{ticket_id}"),
            &t.key,
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(res.status, 200);
    app.pump_until_idle().await;
    let latest = |log: Value| log.as_array().unwrap()[0].clone();
    let first_try = latest(
        app.get(&format!("{hook_path}/deliveries"), &t.key)
            .await
            .body,
    );
    assert_eq!(first_try["status"], "RETRYING", "{first_try}");
    assert_eq!(first_try["attempts"], 1);
    assert!(first_try["nextAttemptAt"].is_string());
    assert!(
        first_try["error"].as_str().unwrap().contains("connect"),
        "{first_try}"
    );
    for _ in 0..60 {
        app.clock.advance(2);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.pump_events().await;
        let now = latest(
            app.get(&format!("{hook_path}/deliveries"), &t.key)
                .await
                .body,
        );
        if now["status"] == "FAILED" {
            break;
        }
    }
    let failed = latest(
        app.get(&format!("{hook_path}/deliveries"), &t.key)
            .await
            .body,
    );
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert_eq!(failed["attempts"], 8);
    assert_eq!(failed["nextAttemptAt"], Value::Null);
    let webhook = app.get(&hook_path, &t.key).await.body;
    assert_eq!(webhook["enabled"], false, "{webhook}");
    assert_eq!(webhook["failureCount"], 8);
    assert!(webhook["lastFailure"].is_string());
    // The owner is told, by email.
    let told = crate::helpers::emails_to(&t.owner_email).await;
    let told: Vec<&Value> = told
        .iter()
        .filter(|m| m["subject"] == "A Dispatch webhook was turned off")
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0]["body"]
            .to_string()
            .contains(hook["id"].as_str().unwrap())
    );

    // Turned off, it gets nothing; PATCH {enabled: true} resumes and zeroes the count.
    let res = app
        .post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "While off"}),
        )
        .await;
    assert_eq!(res.status, 201);
    app.pump_until_idle().await;
    assert_eq!(
        app.get(&format!("{hook_path}/deliveries"), &t.key)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let resumed = app
        .patch(&hook_path, &t.key, json!({"enabled": true}))
        .await;
    assert_eq!(
        (
            resumed.body["enabled"].clone(),
            resumed.body["failureCount"].clone()
        ),
        (json!(true), json!(0))
    );
}

#[tokio::test]
async fn at_most_five_tries_run_at_once_per_webhook() {
    use dispatch_webhooks::deliver::{Handled, Job, handle};
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let receiver = Receiver::start().await;
    let hook = create(
        &app,
        &t,
        json!({"url": receiver.url, "events": ["ticket.created"]}),
    )
    .await;
    let webhook = WebhookId::parse(hook["id"].as_str().unwrap()).unwrap();
    let org = t.org_id.clone();
    let now = app.clock.now();
    // A slot as a try takes it: held for 15 s.
    let take_slot = |now: Timestamp| {
        app.ctx.store.acquire_delivery_slot(
            &org,
            Mode::Test,
            &t.brand_id,
            &webhook,
            now,
            now.plus_seconds(15),
        )
    };
    // Five tries in flight.
    for expected in 0..5u8 {
        assert_eq!(take_slot(now).await.unwrap(), Some(expected));
    }
    let delivery = WebhookDelivery::pending(
        DeliveryId::generate(app.clock.now_millis()),
        webhook.clone(),
        WebhookEvent::TicketCreated,
        r#"{"id":"evt_1","event":"ticket.created","brand_id":"br_1","data":{},"timestamp":"2026-11-30T00:00:00Z"}"#.into(),
        now,
    );
    app.ctx
        .store
        .put_delivery(&org, Mode::Test, &t.brand_id, &delivery)
        .await
        .unwrap();
    let job = Job {
        org: org.clone(),
        mode: Mode::Test,
        brand: t.brand_id.clone(),
        webhook: webhook.clone(),
        delivery: delivery.id.clone(),
    };
    let sixth =
        crate::iam::as_function("webhook-deliver", handle(&app.webhook_deliver, &job)).await;
    assert_eq!(sixth.unwrap(), Handled::Postponed);
    assert!(receiver.received().is_empty(), "a sixth try waits its turn");
    // A holder that never gave its slot back loses it at its expiry.
    app.clock.advance(16);
    let later =
        crate::iam::as_function("webhook-deliver", handle(&app.webhook_deliver, &job)).await;
    assert_eq!(later.unwrap(), Handled::Delivered);
    assert_eq!(receiver.received().len(), 1);
    // And the slot a try took is given back after it.
    let now = app.clock.now();
    let mut free = 0;
    while take_slot(now).await.unwrap().is_some() {
        free += 1;
    }
    assert_eq!(free, 5);
}

/// A message that names no delivery is reported failed (SQS offers it again, and after
/// five receives moves it to the dead-letter queue); a finished delivery's message is
/// taken and dropped.
#[tokio::test]
async fn an_unreadable_message_is_reported_failed_and_a_finished_one_is_dropped() {
    let app = TestApp::new().await;
    let event = json!({"Records": [
        {"messageId": "m-1", "receiptHandle": "r-1", "body": "not a delivery"},
        {"messageId": "m-2", "receiptHandle": "r-2", "body": json!({
            "org": OrgId::generate(1).to_string(), "mode": "test",
            "brand": BrandId::generate(1).to_string(), "webhook": WebhookId::generate(1).to_string(),
            "delivery": DeliveryId::generate(1).to_string()}).to_string()},
    ]});
    let answer = crate::iam::as_function(
        "webhook-deliver",
        dispatch_webhooks::deliver::on_queue(
            &app.webhook_deliver,
            serde_json::from_value(event).unwrap(),
        ),
    )
    .await;
    assert_eq!(
        serde_json::to_value(answer).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
    );
}
