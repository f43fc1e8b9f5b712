//! Faults: what the API does when DynamoDB, S3 or SES throttle, fail, hang, drop the
//! connection or lose an answer. The functions' clients go through scripts/fault_proxy.py
//! (real network behaviour in front of the emulator, rules scoped to this test's table or
//! organization), and the table is then read straight from the emulator to prove that no
//! partial write survived.
//!
//! The one time bound asserted here is functional, not a performance target: an answer
//! must come before Lambda's 10-second timeout ends the function (billed in full, and the
//! client gets API Gateway's bare 503). With the SDK's timeouts it comes in about 4 s.

use crate::helpers::{Endpoints, Tenant, TestApp, TestResponse, http_request, unique_email};
use dispatch_domain::Mode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Lambda ends the function at 10 s (template.yaml); the answer must come before.
const BEFORE_LAMBDA_TIMEOUT: Duration = Duration::from_secs(9);

fn proxy() -> String {
    std::env::var("FAULT_PROXY_URL")
        .expect("FAULT_PROXY_URL: run the suite with scripts/test, which starts the fault proxy")
}

/// A test app whose DynamoDB and S3 calls go through the fault proxy.
async fn app_behind_proxy() -> TestApp {
    TestApp::with_endpoints(Endpoints {
        data: Some(proxy()),
        mail: None,
        deployed_timeouts: true,
    })
    .await
}

/// Adds a rule: requests containing `scope` and every one of `also` get `fault`
/// (`times` of them, or all).
async fn inject(scope: &str, also: &[&str], fault: &str, times: Option<u32>) {
    let mut matches = vec![scope.to_string()];
    matches.extend(also.iter().map(|s| s.to_string()));
    add_rule(json!({"match": matches, "fault": fault, "times": times})).await;
}

/// Hands the proxy one rule (scripts/fault_proxy.py describes them).
async fn add_rule(rule: Value) {
    let res = http_request(
        "POST",
        &format!("{}/__faults", proxy()),
        &[("content-type", "application/json")],
        rule.to_string().as_bytes(),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
}

async fn clear(scope: &str) {
    let body = json!({"scope": scope}).to_string();
    let res = http_request(
        "POST",
        &format!("{}/__faults/clear", proxy()),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(res.status, 200);
}

/// The DynamoDB operations (`GetItem`, …) the proxy saw for `scope`, with their faults.
async fn seen(scope: &str) -> Vec<(String, Option<String>)> {
    let res = http_request(
        "GET",
        &format!("{}/__faults/log?scope={scope}", proxy()),
        &[],
        b"",
    )
    .await;
    let log: Vec<Value> = serde_json::from_slice(&res.body).unwrap();
    log.iter()
        .map(|e| {
            let target = e["target"].as_str().unwrap_or_default();
            let op = target.rsplit('.').next().unwrap_or_default().to_string();
            (op, e["fault"].as_str().map(str::to_string))
        })
        .collect()
}

fn attempts(log: &[(String, Option<String>)], op: &str) -> usize {
    log.iter().filter(|(o, _)| o == op).count()
}

/// Every item that names the tenant's brand, as the emulator holds it (attributes in
/// order, so two reads compare equal when nothing changed).
async fn brand_items(app: &TestApp, t: &Tenant) -> Vec<String> {
    let mut items = Vec::new();
    let mut pages = app
        .raw
        .scan()
        .table_name(&app.table)
        .into_paginator()
        .items()
        .send();
    while let Some(item) = pages.next().await {
        let item: std::collections::BTreeMap<_, _> = item.unwrap().into_iter().collect();
        let text = format!("{item:?}");
        if text.contains(t.brand_id.as_str()) {
            items.push(text);
        }
    }
    items.sort();
    items
}

/// The proxy's log for `scope` from entry `from` on.
async fn seen_since(scope: &str, from: usize) -> Vec<(String, Option<String>)> {
    seen(scope).await.split_off(from)
}

fn assert_unavailable(res: &TestResponse, took: Duration) {
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.body["code"], "service_unavailable");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(
        took < BEFORE_LAMBDA_TIMEOUT,
        "answered after {took:?}, past the function's limit"
    );
}

async fn timed<F: std::future::Future<Output = TestResponse>>(f: F) -> (TestResponse, Duration) {
    let started = Instant::now();
    let res = f.await;
    (res, started.elapsed())
}

fn ticket_create(t: &Tenant) -> String {
    format!("/v1/brands/{}/tickets", t.brand_id)
}

async fn create_with_key(app: &TestApp, t: &Tenant, key: &str) -> TestResponse {
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {}", t.key)),
        ("content-type".to_string(), "application/json".to_string()),
        ("x-idempotency-key".to_string(), key.to_string()),
    ];
    let body = json!({"title": "During the outage"}).to_string();
    app.send_with_headers("POST", &ticket_create(t), &headers, Some(body))
        .await
}

#[tokio::test]
async fn a_throttled_table_answers_503_with_retry_after_and_the_sdk_retried_the_read() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let mark = seen(&app.table).await.len();
    inject(&app.table, &[], "throttle", None).await;
    let (res, took) = timed(app.get("/v1/brands", &t.key)).await;
    let log = seen_since(&app.table, mark).await;
    clear(&app.table).await;
    assert_unavailable(&res, took);
    assert_eq!(
        attempts(&log, "GetItem"),
        dispatch_aws::MAX_ATTEMPTS as usize,
        "the key lookup was retried, then given up: {log:?}"
    );
    assert_eq!(app.get("/v1/brands", &t.key).await.status, 200);
}

#[tokio::test]
async fn one_throttled_transaction_is_retried_and_the_create_lands_once() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let mark = seen(&app.table).await.len();
    inject(
        &app.table,
        &["TransactWriteItems", "nextTicketNumber"],
        "throttle",
        Some(1),
    )
    .await;
    let res = app
        .post(
            &ticket_create(&t),
            &t.key,
            json!({"title": "Throttled once"}),
        )
        .await;
    let log = seen_since(&app.table, mark).await;
    clear(&app.table).await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(
        res.body["ticketNumber"], 1001,
        "the retry took the number once"
    );
    // The ticket's transaction (the key's last-used stamp is one too): throttled, then sent
    // again by the SDK, and applied once.
    let creates = seen(&format!("{}&scope=nextTicketNumber", app.table)).await;
    assert_eq!(
        log.iter().filter(|(_, f)| f.is_some()).count(),
        1,
        "{log:?}"
    );
    // (The brand's own create, earlier, also names nextTicketNumber.)
    let throttled = creates.iter().position(|(_, f)| f.is_some()).unwrap();
    assert_eq!(creates.len() - throttled, 2, "{creates:?}");
    let list = app.get(&ticket_create(&t), &t.key).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_transaction_answers_503_and_leaves_nothing_behind() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let before = brand_items(&app, &t).await;
    for fault in ["error500", "reset"] {
        inject(
            &app.table,
            &["TransactWriteItems", "nextTicketNumber"],
            fault,
            None,
        )
        .await;
        let (res, took) = timed(create_with_key(&app, &t, "outage-1")).await;
        clear(&app.table).await;
        assert_unavailable(&res, took);
        assert_eq!(
            brand_items(&app, &t).await,
            before,
            "{fault}: no ticket, no counter move, no idempotency claim left"
        );
    }
    // The client's retry with the same key goes through, once.
    let res = create_with_key(&app, &t, "outage-1").await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.body["ticketNumber"], 1001);
    let again = create_with_key(&app, &t, "outage-1").await;
    assert_eq!(again.body["id"], res.body["id"]);
}

#[tokio::test]
async fn a_hung_table_answers_503_within_the_functions_limit() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let before = brand_items(&app, &t).await;
    inject(&app.table, &[], "hang", None).await;
    let (res, took) = timed(app.post(
        &ticket_create(&t),
        &t.key,
        json!({"title": "Into the void"}),
    ))
    .await;
    clear(&app.table).await;
    assert_unavailable(&res, took);
    assert_eq!(brand_items(&app, &t).await, before);
}

#[tokio::test]
async fn a_read_that_hangs_once_is_retried() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    inject(&app.table, &["GetItem"], "hang", Some(1)).await;
    let res = app.get("/v1/brands", &t.key).await;
    let log = seen(&app.table).await;
    clear(&app.table).await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(log.iter().filter(|(_, f)| f.is_some()).count(), 1);
}

#[tokio::test]
async fn a_conditional_write_whose_answer_was_lost_is_not_sent_again() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let ticket = app
        .post(&ticket_create(&t), &t.key, json!({"title": "Lost answer"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{}/{ticket}", ticket_create(&t));
    // The update reaches DynamoDB and is applied; its answer never comes back.
    inject(
        &app.table,
        &["UpdateItem", &ticket, "deletedAt"],
        "hang_after",
        Some(1),
    )
    .await;
    let (res, took) = timed(app.patch(&path, &t.key, json!({"priority": "urgent"}))).await;
    let log = seen(&ticket).await;
    clear(&app.table).await;
    assert_unavailable(&res, took);
    assert_eq!(
        attempts(&log, "UpdateItem"),
        1,
        "sent once: a second try would fail its own condition or double an effect: {log:?}"
    );
    // It was applied exactly once; the client's retry is harmless.
    assert_eq!(app.get(&path, &t.key).await.body["priority"], "urgent");
    let retry = app
        .patch(&path, &t.key, json!({"priority": "urgent"}))
        .await;
    assert_eq!(retry.status, 200);
}

#[tokio::test]
async fn an_unreachable_table_answers_503_at_once() {
    use dispatch_store::{BrandStore, DynamoStore, StoreError};
    // Nothing listens on port 1: every connection is refused.
    let sdk = dispatch_aws::load_with(dispatch_aws::timeouts()).await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        DynamoStore::client_config(&sdk)
            .endpoint_url("http://127.0.0.1:1")
            .build(),
    );
    let store = DynamoStore::new(client, "dispatch-nowhere");
    let started = Instant::now();
    let err = store
        .brand(
            &dispatch_domain::OrgId::generate(1),
            Mode::Live,
            &dispatch_domain::BrandId::generate(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < BEFORE_LAMBDA_TIMEOUT);
    let api: dispatch_http::ApiError = err.into();
    assert_eq!(api.status().as_u16(), 503);
}

#[tokio::test]
async fn an_s3_outage_answers_503_and_changes_nothing() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    let org = t.org_id.to_string();
    let brand = format!("/v1/brands/{}", t.brand_id);
    // Confirming an upload: HeadObject fails.
    let declared = app
        .post(
            &format!("{brand}/attachments"),
            &t.key,
            json!({"filename": "a.txt", "contentType": "text/plain", "size": 3}),
        )
        .await;
    assert_eq!(declared.status, 201, "{}", declared.body);
    let id = declared.body["attachmentId"].as_str().unwrap();
    inject(&org, &["HEAD"], "error500", None).await;
    let (res, took) = timed(app.post(
        &format!("{brand}/attachments/{id}/confirm"),
        &t.key,
        json!({}),
    ))
    .await;
    clear(&org).await;
    assert_unavailable(&res, took);
    let record = app.raw_items_containing(id).await;
    assert!(
        record.iter().all(|i| !i.contains("UPLOADED")),
        "still pending: {record:?}"
    );

    // A form post with a file: PutObject fails, so no ticket is made.
    let form = app
        .post(
            &format!("{brand}/intake"),
            &t.key,
            json!({"name": "Upload"}),
        )
        .await;
    let token = form.body["token"].as_str().unwrap();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nBroken\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"log.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nboom\r\n--XyZ--\r\n";
    inject(&org, &["PUT"], "throttle", None).await;
    let headers = vec![(
        "content-type".to_string(),
        "multipart/form-data; boundary=XyZ".to_string(),
    )];
    let (res, took) = timed(app.send_with_headers(
        "POST",
        &format!("/v1/forms/{token}"),
        &headers,
        Some(body.to_string()),
    ))
    .await;
    clear(&org).await;
    assert_unavailable(&res, took);
    let list = app.get(&format!("{brand}/tickets"), &t.key).await;
    assert_eq!(list.body["data"], json!([]));
}

#[tokio::test]
async fn an_unreachable_mail_service_fails_portal_links_but_never_reveals_sign_in_accounts() {
    let app = TestApp::with_endpoints(Endpoints {
        data: None,
        mail: Some("http://127.0.0.1:1".into()),
        deployed_timeouts: true,
    })
    .await;
    let t = app.tenant(Mode::Live).await;
    // The brand's backend asked for a portal link: it learns the mail did not go.
    app.patch(
        &format!("/v1/brands/{}", t.brand_id),
        &t.key,
        json!({"portalOrigins": ["https://support.example.com"]}),
    )
    .await;
    let (res, took) = timed(app.post(
        &format!("/v1/brands/{}/portal/magic-link", t.brand_id),
        &t.key,
        json!({"email": unique_email("cus"), "portalUrl": "https://support.example.com/help"}),
    ))
    .await;
    assert_unavailable(&res, took);
    // A dashboard sign-in answers the same for every address, mail or not.
    let res = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": t.owner_email}).to_string()),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.body);
}

#[tokio::test]
async fn a_slow_table_answers_by_the_request_deadline_however_many_calls_a_handler_makes() {
    let app = app_behind_proxy().await;
    let t = app.tenant(Mode::Live).await;
    // Each call answers just inside its attempt timeout: none of them fails on its own.
    add_rule(json!({"match": [app.table.clone()], "fault": "slow", "delay": 1.9})).await;
    // A create with a key makes five calls in a row: about 9.5 s of waiting.
    let (res, took) = timed(create_with_key(&app, &t, "slow-1")).await;
    clear(&app.table).await;
    assert_unavailable(&res, took);
    assert!(
        took >= dispatch_http::REQUEST_DEADLINE,
        "cut by the deadline, not by a call's timeout: {took:?}"
    );
}
