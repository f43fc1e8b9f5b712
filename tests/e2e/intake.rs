//! Ticket intake by webhook: endpoints, and the public form URL with JSON, urlencoded and
//! multipart bodies, signatures, retries and the honeypot.

use crate::helpers::{Tenant, TestApp, TestResponse, http_request};
use dispatch_auth::intake_signature::sign;
use dispatch_domain::{Clock, Mode};
use serde_json::{Value, json};

async fn endpoint(app: &TestApp, t: &Tenant, body: Value) -> Value {
    let res = app
        .post(&format!("/v1/brands/{}/intake", t.brand_id), &t.key, body)
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

async fn post_form(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> TestResponse {
    let mut headers = vec![("content-type".to_string(), content_type.to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    app.send_with_headers(
        "POST",
        &format!("/v1/forms/{token}"),
        &headers,
        Some(body.to_string()),
    )
    .await
}

async fn tickets(app: &TestApp, t: &Tenant) -> Vec<Value> {
    let res = app
        .get(&format!("/v1/brands/{}/tickets", t.brand_id), &t.key)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_json_webhook_creates_a_ticket_with_mapped_fields() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Shop events"})).await;
    let token = e["token"].as_str().unwrap();
    assert!(token.starts_with("ft_"));
    assert_eq!(e["id"], token);
    assert_eq!(e["enabled"], true);
    assert_eq!(e["signed"], false);

    let body = json!({
        "subject": "Order 1042 arrived broken",
        "message": "The box was crushed.",
        "email": "Jo@Example.com",
        "name": "Jo",
        "priority": "high",
        "orderId": 1042
    });
    let res = post_form(&app, token, "application/json", &body.to_string(), &[]).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["ticketId"].as_str().unwrap();
    assert_eq!(res.body["ticketNumber"], 1001);

    let ticket = app
        .get(&format!("/v1/brands/{}/tickets/{id}", t.brand_id), &t.key)
        .await;
    assert_eq!(ticket.body["title"], "Order 1042 arrived broken");
    assert_eq!(ticket.body["body"], "The box was crushed.");
    assert_eq!(ticket.body["priority"], "high");
    assert_eq!(ticket.body["source"], "webhook");
    assert_eq!(ticket.body["customFields"]["orderId"], 1042);
    let by_email = app
        .get(
            &format!(
                "/v1/brands/{}/tickets?customerEmail=jo@example.com",
                t.brand_id
            ),
            &t.key,
        )
        .await;
    assert_eq!(by_email.body["data"][0]["id"], id);
    // Test-mode intake makes test-mode tickets: a live key cannot see them.
    let live = app.key_in_mode(&t, Mode::Live).await;
    let from_live = app
        .get(&format!("/v1/brands/{}/tickets/{id}", t.brand_id), &live)
        .await;
    assert_eq!(from_live.status, 404);
}

#[tokio::test]
async fn a_browser_form_post_lands_on_the_success_url() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(
        &app,
        &t,
        json!({"name": "Contact", "successUrl": "https://example.com/thanks"}),
    )
    .await;
    let res = post_form(
        &app,
        e["token"].as_str().unwrap(),
        "application/x-www-form-urlencoded",
        "title=Cannot+log+in&body=Reset+link+%22expired%22&email=sam%40example.com",
        &[("accept", "text/html,application/xhtml+xml")],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        res.headers.get("location").unwrap(),
        "https://example.com/thanks"
    );
    let list = tickets(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["title"], "Cannot log in");
    assert_eq!(list[0]["body"], "Reset link \"expired\"");
    assert_eq!(list[0]["source"], "web");
}

#[tokio::test]
async fn multipart_files_become_attachments_in_s3() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Upload form"})).await;
    let token = e["token"].as_str().unwrap();
    let multipart = |content_type: &str| {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nScreenshot attached\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"error.txt\"\r\n\
             Content-Type: {content_type}\r\n\r\nSegfault at 0x0\r\n--XyZ--\r\n"
        )
    };
    // A refused file type refuses the whole post: no ticket, nothing half-made.
    let refused = post_form(
        &app,
        token,
        "multipart/form-data; boundary=XyZ",
        &multipart("text/html"),
        &[],
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(tickets(&app, &t).await.is_empty());

    let res = post_form(
        &app,
        token,
        "multipart/form-data; boundary=XyZ",
        &multipart("text/plain"),
        &[],
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let id = res.body["ticketId"].as_str().unwrap();
    let base = format!("/v1/brands/{}/tickets/{id}", t.brand_id);
    assert_eq!(app.get(&base, &t.key).await.body["attachmentCount"], 1);
    let list = app.get(&format!("{base}/attachments"), &t.key).await;
    let files = list.body.as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["filename"], "error.txt");
    assert_eq!(files[0]["status"], "UPLOADED");
    let got = http_request("GET", files[0]["downloadUrl"].as_str().unwrap(), &[], &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, b"Segfault at 0x0");
}

#[tokio::test]
async fn a_signing_endpoint_refuses_unsigned_and_wrongly_signed_posts() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(
        &app,
        &t,
        json!({"name": "Alerts", "requireSignature": true}),
    )
    .await;
    let token = e["token"].as_str().unwrap();
    let secret = e["signingSecret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    // Shown once: the list never repeats it.
    let listed = app
        .get(&format!("/v1/brands/{}/intake", t.brand_id), &t.key)
        .await;
    assert_eq!(listed.body[0]["signed"], true);
    assert!(listed.body[0].get("signingSecret").is_none());
    assert!(!listed.body.to_string().contains(secret));

    let body = json!({"title": "Disk 91% full"}).to_string();
    let good = sign(secret.as_bytes(), body.as_bytes(), None);
    let wrong_key = sign(b"whsec_not_the_secret", body.as_bytes(), None);
    let now = app.clock.now().unix();
    let fresh_ts = now.to_string();
    let with_ts = sign(
        secret.as_bytes(),
        format!("{fresh_ts}.{body}").as_bytes(),
        None,
    );
    let stale_ts = (now - 600).to_string();
    let stale = sign(
        secret.as_bytes(),
        format!("{stale_ts}.{body}").as_bytes(),
        None,
    );
    for (headers, expected) in [
        (vec![], 401),
        (vec![("x-dispatch-signature", wrong_key.as_str())], 401),
        (vec![("x-dispatch-signature", "sha256=zz")], 401),
        (
            vec![
                ("x-dispatch-signature", good.as_str()),
                ("x-dispatch-timestamp", fresh_ts.as_str()),
            ],
            401,
        ),
        (
            vec![
                ("x-dispatch-signature", stale.as_str()),
                ("x-dispatch-timestamp", stale_ts.as_str()),
            ],
            401,
        ),
        (vec![("x-dispatch-signature", good.as_str())], 201),
        (
            vec![
                ("x-dispatch-signature", with_ts.as_str()),
                ("x-dispatch-timestamp", fresh_ts.as_str()),
            ],
            201,
        ),
    ] {
        let res = post_form(&app, token, "application/json", &body, &headers).await;
        assert_eq!(res.status, expected, "{headers:?} → {}", res.body);
    }
    // A signature over another body does not carry over.
    let tampered = post_form(
        &app,
        token,
        "application/json",
        &json!({"title": "Disk 10% full"}).to_string(),
        &[("x-dispatch-signature", good.as_str())],
    )
    .await;
    assert_eq!(tampered.status, 401);
    assert_eq!(
        tickets(&app, &t).await.len(),
        2,
        "only the signed posts made tickets"
    );
}

#[tokio::test]
async fn a_retried_delivery_creates_one_ticket() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Monitor"})).await;
    let token = e["token"].as_str().unwrap();
    let body = json!({"title": "API down"}).to_string();
    let first = post_form(
        &app,
        token,
        "application/json",
        &body,
        &[("x-webhook-id", "evt_1")],
    )
    .await;
    let again = post_form(
        &app,
        token,
        "application/json",
        &body,
        &[("x-webhook-id", "evt_1")],
    )
    .await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.body, again.body);
    let by_key = post_form(
        &app,
        token,
        "application/json",
        &body,
        &[("x-idempotency-key", "delivery-7")],
    )
    .await;
    let by_key_again = post_form(
        &app,
        token,
        "application/json",
        &body,
        &[("x-idempotency-key", "delivery-7")],
    )
    .await;
    assert_eq!(by_key.body, by_key_again.body);
    assert_ne!(by_key.body["ticketId"], first.body["ticketId"]);
    // The same delivery id with another body is a client bug, not a new ticket.
    let reused = post_form(
        &app,
        token,
        "application/json",
        &json!({"title": "Other"}).to_string(),
        &[("x-webhook-id", "evt_1")],
    )
    .await;
    assert_eq!(reused.status, 409);
    assert_eq!(tickets(&app, &t).await.len(), 2);
}

#[tokio::test]
async fn a_filled_honeypot_is_dropped_silently() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(
        &app,
        &t,
        json!({"name": "Contact", "successUrl": "https://example.com/thanks"}),
    )
    .await;
    let token = e["token"].as_str().unwrap();
    let browser = post_form(
        &app,
        token,
        "application/x-www-form-urlencoded",
        "title=Cheap+pills&_gotcha=http%3A%2F%2Fspam.example",
        &[("accept", "text/html")],
    )
    .await;
    assert_eq!(browser.status, 303);
    let api = post_form(
        &app,
        token,
        "application/json",
        &json!({"title": "Cheap pills", "_gotcha": "x"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(api.status, 202);
    // An empty honeypot is a person.
    let person = post_form(
        &app,
        token,
        "application/x-www-form-urlencoded",
        "title=Real+question&_gotcha=",
        &[],
    )
    .await;
    assert_eq!(person.status, 201);
    let list = tickets(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["title"], "Real question");
    assert!(list[0]["customFields"].get("_gotcha").is_none());
}

#[tokio::test]
async fn disabled_unknown_and_malformed_endpoints_are_not_found() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Old form"})).await;
    let token = e["token"].as_str().unwrap();
    let body = json!({"title": "Hello"}).to_string();
    assert_eq!(
        post_form(&app, token, "application/json", &body, &[])
            .await
            .status,
        201
    );
    let path = format!("/v1/brands/{}/intake/{token}", t.brand_id);
    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    let listed = app
        .get(&format!("/v1/brands/{}/intake", t.brand_id), &t.key)
        .await;
    assert_eq!(listed.body[0]["enabled"], false);
    for target in [
        token,
        "ft_00000000000000000000000000",
        "ft_nope",
        "anything",
    ] {
        let res = post_form(&app, target, "application/json", &body, &[]).await;
        assert_eq!(res.status, 404, "{target}");
    }
    assert_eq!(tickets(&app, &t).await.len(), 1);
}

#[tokio::test]
async fn bad_bodies_are_refused_and_create_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Form"})).await;
    let token = e["token"].as_str().unwrap();
    for (content_type, body) in [
        ("text/plain", "hello"),
        ("application/json", "[1,2]"),
        ("application/json", "{not json"),
        (
            "application/json",
            r#"{"title": "x", "email": "not-an-email"}"#,
        ),
        (
            "application/json",
            r#"{"title": "x", "priority": "whenever"}"#,
        ),
        ("multipart/form-data", "--x--"),
    ] {
        let res = post_form(&app, token, content_type, body, &[]).await;
        assert!(
            res.status == 400 || res.status == 415,
            "{content_type} {body} → {} {}",
            res.status,
            res.body
        );
        assert!(res.body["code"].is_string());
    }
    // An unsigned endpoint reads no signature, but refuses one sent malformed.
    let good = r#"{"subject": "Hi", "message": "There"}"#;
    for (header, value) in [
        ("X-Dispatch-Signature", ""),
        ("X-Dispatch-Signature", "sha256=zz"),
        ("X-Dispatch-Timestamp", "yesterday"),
    ] {
        let res = post_form(&app, token, "application/json", good, &[(header, value)]).await;
        assert_eq!(res.status, 400, "{header}: {value:?} → {}", res.body);
        assert_eq!(res.body["errors"][0]["field"], header, "{}", res.body);
    }
    assert!(tickets(&app, &t).await.is_empty());
    let signed = sign(b"any", good.as_bytes(), None);
    let res = post_form(
        &app,
        token,
        "application/json",
        good,
        &[("X-Dispatch-Signature", signed.as_str())],
    )
    .await;
    assert_eq!(
        res.status, 201,
        "a well-formed one is not read: {}",
        res.body
    );
    let unsupported = post_form(&app, token, "text/plain", "hello", &[]).await;
    assert_eq!(unsupported.status, 415);
    assert_eq!(unsupported.body["code"], "unsupported_media_type");
    // Bad endpoint settings are refused too.
    for bad in [
        json!({"successUrl": "javascript:alert(1)"}),
        json!({"fieldMapping": {"q": "password"}}),
        json!({"name": ""}),
        json!({"signingSecret": "mine"}),
    ] {
        let res = app
            .post(
                &format!("/v1/brands/{}/intake", t.brand_id),
                &t.key,
                bad.clone(),
            )
            .await;
        assert_eq!(res.status, 400, "{bad} → {}", res.body);
    }
}

#[tokio::test]
async fn a_post_without_a_subject_is_titled_by_the_first_line_of_its_message() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Chat widget"})).await;
    let token = e["token"].as_str().unwrap();
    let res = post_form(
        &app,
        token,
        "application/json",
        &json!({"message": "\n  The app crashes on start\nSteps: open it."}).to_string(),
        &[],
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let empty = post_form(&app, token, "application/json", "{}", &[]).await;
    assert_eq!(empty.status, 201, "{}", empty.body);
    let titles: Vec<String> = tickets(&app, &t)
        .await
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect();
    assert!(
        titles.contains(&"The app crashes on start".to_string()),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"New submission: Chat widget".to_string()),
        "{titles:?}"
    );
}

#[tokio::test]
async fn a_field_mapping_routes_custom_names_onto_the_ticket() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(
        &app,
        &t,
        json!({"name": "Typeform", "fieldMapping": {"q1": "title", "q2": "body", "contact": "email", "plan": "customFields.plan"}}),
    )
    .await;
    let res = post_form(
        &app,
        e["token"].as_str().unwrap(),
        "application/json",
        &json!({"q1": "Billing question", "q2": "Charged twice", "contact": "ann@example.com", "plan": "pro"}).to_string(),
        &[],
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let list = tickets(&app, &t).await;
    assert_eq!(list[0]["title"], "Billing question");
    assert_eq!(list[0]["body"], "Charged twice");
    assert_eq!(list[0]["customFields"]["plan"], "pro");
    assert!(list[0]["customerId"].is_string());
}

#[tokio::test]
async fn intake_endpoints_of_other_tenants_modes_and_scopes_are_not_found() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let e = endpoint(&app, &t, json!({"name": "Mine"})).await;
    let token = e["token"].as_str().unwrap();
    let outsiders = app.outsiders(&t).await;
    let base = format!("/v1/brands/{}/intake", t.brand_id);
    for key in outsiders.keys() {
        assert_eq!(app.get(&base, key).await.status, 404);
        assert_eq!(app.post(&base, key, json!({"name": "x"})).await.status, 404);
        assert_eq!(
            app.delete(&format!("{base}/{token}"), key).await.status,
            404
        );
    }
    // Another tenant cannot disable it through its own brand either.
    let intruder = app.tenant(Mode::Test).await;
    let res = app
        .delete(
            &format!("/v1/brands/{}/intake/{token}", intruder.brand_id),
            &intruder.key,
        )
        .await;
    assert_eq!(res.status, 404);
    let still = post_form(&app, token, "application/json", r#"{"title":"ok"}"#, &[]).await;
    assert_eq!(still.status, 201);
}

#[tokio::test]
async fn a_retried_browser_post_replays_its_redirect_or_page_and_makes_one_ticket() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let with_url = endpoint(
        &app,
        &t,
        json!({"name": "Contact", "successUrl": "https://example.com/thanks"}),
    )
    .await;
    let plain = endpoint(&app, &t, json!({"name": "No page"})).await;
    let body = "subject=Help&email=sam%40example.com";
    let browser = [
        ("accept", "text/html,application/xhtml+xml"),
        ("x-idempotency-key", "form-retry-1"),
    ];
    for e in [&with_url, &plain] {
        let token = e["token"].as_str().unwrap();
        let first = post_form(
            &app,
            token,
            "application/x-www-form-urlencoded",
            body,
            &browser,
        )
        .await;
        let again = post_form(
            &app,
            token,
            "application/x-www-form-urlencoded",
            body,
            &browser,
        )
        .await;
        assert_eq!(again.status, first.status);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.header("location"), first.header("location"));
        assert_eq!(again.header("content-type"), first.header("content-type"));
        assert_eq!(again.body, first.body);
    }
    assert_eq!(tickets(&app, &t).await.len(), 2, "one ticket per form");
}
