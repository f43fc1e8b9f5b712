//! Idempotent replays are authorized and belong to their caller (issue 11, finding 1): a
//! credential that repeats someone else's create with the same `X-Idempotency-Key` and body
//! never receives the stored answer (a signing secret, another brand's ticket, a presigned
//! upload URL, a brand create it may not make).

use crate::helpers::{TestApp, TestResponse, unique_email};
use dispatch_domain::Mode;
use serde_json::{Value, json};

async fn create(
    app: &TestApp,
    path: &str,
    credential: &str,
    key: &str,
    body: &Value,
) -> TestResponse {
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {credential}")),
        ("content-type".to_string(), "application/json".to_string()),
        ("x-idempotency-key".to_string(), key.to_string()),
    ];
    app.send_with_headers("POST", path, &headers, Some(body.to_string()))
        .await
}

fn replayed(res: &TestResponse) -> bool {
    res.header("idempotent-replayed") == Some("true")
}

#[tokio::test]
async fn a_replay_is_authorized_and_bound_to_its_caller() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let elsewhere = app.create_brand(&t.key, "Elsewhere").await;
    let scoped = app
        .create_key(&t.key, json!({"name": "scoped", "brandIds": [elsewhere]}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let second_admin = app.create_key(&t.key, json!({"name": "second"})).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let (_, agent) = app
        .member_session(&owner, &unique_email("agent"), "agent")
        .await;

    // A ticket on a brand the scoped key does not reach.
    let ticket_body = json!({"title": "Refund", "body": "order 42"});
    let first = create(
        &app,
        &format!("{brand}/tickets"),
        &t.key,
        "t-1",
        &ticket_body,
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = create(
        &app,
        &format!("{brand}/tickets"),
        &t.key,
        "t-1",
        &ticket_body,
    )
    .await;
    assert!(replayed(&again), "the caller's own retry replays");
    assert_eq!(again.body["id"], first.body["id"]);
    let stolen = create(
        &app,
        &format!("{brand}/tickets"),
        &scoped,
        "t-1",
        &ticket_body,
    )
    .await;
    assert_eq!(stolen.status, 404, "{:?}", stolen.body);

    // An intake endpoint's signing secret, shown once: an agent may not manage intake.
    let intake_body = json!({"name": "Alerts", "requireSignature": true});
    let first = create(
        &app,
        &format!("{brand}/intake"),
        &t.key,
        "i-1",
        &intake_body,
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert!(first.body["signingSecret"].is_string(), "{:?}", first.body);
    let stolen = create(
        &app,
        &format!("{brand}/intake"),
        &agent,
        "i-1",
        &intake_body,
    )
    .await;
    assert_eq!(stolen.status, 403, "{:?}", stolen.body);
    assert!(!stolen.body.to_string().contains("signingSecret"));

    // A brand create the agent may not make.
    let brand_body = json!({"name": "Shadow"});
    let first = create(&app, "/v1/brands", &t.key, "b-1", &brand_body).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let stolen = create(&app, "/v1/brands", &agent, "b-1", &brand_body).await;
    assert_eq!(stolen.status, 403, "{:?}", stolen.body);

    // A pending upload (a working presigned URL) on a brand the scoped key does not reach.
    let upload = json!({"filename": "a.txt", "contentType": "text/plain", "size": 3});
    let first = create(
        &app,
        &format!("{brand}/attachments"),
        &t.key,
        "u-1",
        &upload,
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let stolen = create(
        &app,
        &format!("{brand}/attachments"),
        &scoped,
        "u-1",
        &upload,
    )
    .await;
    assert_eq!(stolen.status, 404, "{:?}", stolen.body);

    // An internal comment: another credential that may comment runs its own request.
    let ticket = first_ticket(&app, &t.key, &brand).await;
    let comments = format!("{brand}/tickets/{ticket}/comments");
    let note = json!({"body": "VIP, refund quietly", "metadata": {"isInternal": true}});
    let first = create(&app, &comments, &t.key, "c-1", &note).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let other = create(&app, &comments, &second_admin, "c-1", &note).await;
    assert_eq!(other.status, 201, "{:?}", other.body);
    assert!(!replayed(&other), "another key's request is its own");
    assert_ne!(other.body["id"], first.body["id"]);
    let other_member = create(&app, &comments, &agent, "c-1", &note).await;
    assert_eq!(other_member.status, 201, "{:?}", other_member.body);
    assert!(!replayed(&other_member));

    // A customer create by a scoped key on a brand it does not reach.
    let customer = json!({"email": unique_email("cus")});
    let first = create(
        &app,
        &format!("{brand}/customers"),
        &t.key,
        "cu-1",
        &customer,
    )
    .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let stolen = create(
        &app,
        &format!("{brand}/customers"),
        &scoped,
        "cu-1",
        &customer,
    )
    .await;
    assert_eq!(stolen.status, 404, "{:?}", stolen.body);
}

async fn first_ticket(app: &TestApp, key: &str, brand: &str) -> String {
    let list = app.get(&format!("{brand}/tickets"), key).await;
    list.body["data"][0]["id"].as_str().unwrap().to_string()
}
