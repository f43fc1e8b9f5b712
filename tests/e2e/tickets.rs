//! Tickets: numbering under concurrency, customers found or created, filters, pagination,
//! soft delete, and isolation.

use crate::helpers::{TestApp, http_request, page_ids};
use dispatch_domain::Mode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn tickets(brand: &str) -> String {
    format!("/v1/brands/{brand}/tickets")
}

#[tokio::test]
async fn create_numbers_from_the_brand_and_finds_or_creates_the_customer() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = app
        .post(
            "/v1/brands",
            &t.key,
            json!({"name": "Help", "ticketPrefix": "HELP", "ticketNumberStart": 500}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = app
        .post(&tickets(&brand), &t.key, json!({"title": " Cannot log in ", "customerEmail": "Jane@Example.com", "customerName": "Jane"}))
        .await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let b = &first.body;
    assert_eq!(b["ticketNumber"], 500);
    assert_eq!(b["displayNumber"], "HELP-500");
    assert_eq!(b["title"], "Cannot log in");
    assert_eq!(
        (
            b["status"].as_str(),
            b["priority"].as_str(),
            b["source"].as_str()
        ),
        (Some("open"), Some("normal"), Some("api"))
    );
    assert_eq!(b["customer"]["email"], "jane@example.com");
    let second = app
        .post(
            &tickets(&brand),
            &t.key,
            json!({"title": "Again", "customerEmail": "jane@example.com"}),
        )
        .await;
    assert_eq!(second.body["ticketNumber"], 501);
    assert_eq!(
        second.body["customerId"], b["customerId"],
        "the same customer is found"
    );
    let customers = app
        .get(&format!("/v1/brands/{brand}/customers"), &t.key)
        .await;
    assert_eq!(customers.body["data"].as_array().unwrap().len(), 1);
    let brand_now = app.get(&format!("/v1/brands/{brand}"), &t.key).await;
    assert_eq!(brand_now.body["nextTicketNumber"], 502);
    assert_eq!(
        app.delete(&format!("/v1/brands/{brand}"), &t.key)
            .await
            .body["ticketCount"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_distinct_sequential_numbers() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let mut handles = Vec::new();
    for i in 0..10 {
        let (app, path, key) = (app.clone(), path.clone(), t.key.clone());
        handles.push(tokio::spawn(async move {
            app.post(&path, &key, json!({"title": format!("T{i}")}))
                .await
        }));
    }
    let mut numbers = BTreeSet::new();
    for h in handles {
        let res = h.await.unwrap();
        assert_eq!(res.status, 201, "{:?}", res.body);
        numbers.insert(res.body["ticketNumber"].as_u64().unwrap());
    }
    assert_eq!(
        numbers,
        (1001..1011).collect::<BTreeSet<u64>>(),
        "10 creates, 10 distinct numbers, no gaps"
    );
}

#[tokio::test]
async fn get_patch_and_soft_delete() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let created = app
        .post(
            &path,
            &t.key,
            json!({"title": "Printer on fire", "tags": ["hardware"]}),
        )
        .await;
    let one = format!("{path}/{}", created.body["id"].as_str().unwrap());
    assert_eq!(app.get(&one, &t.key).await.body["title"], "Printer on fire");
    let patched = app
        .patch(
            &one,
            &t.key,
            json!({"status": "resolved", "priority": "urgent", "tags": ["hardware", "fire"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(
        (
            patched.body["status"].as_str(),
            patched.body["priority"].as_str()
        ),
        (Some("resolved"), Some("urgent"))
    );
    assert_eq!(
        patched.body["title"], "Printer on fire",
        "unsent fields stay"
    );
    for bad in [
        json!({"status": "done"}),
        json!({"title": ""}),
        json!({"ticketNumber": 1}),
        json!({"assigneeId": "bob"}),
    ] {
        assert_eq!(
            app.patch(&one, &t.key, bad.clone()).await.status,
            400,
            "{bad}"
        );
    }
    let live = app.get(&one, &t.key).await.body;
    assert_eq!(live["deletedAt"], Value::Null, "present, null while live");
    // The SDK returns the deleted ticket: 200 with it and its deletedAt.
    let deleted = app.delete(&one, &t.key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["id"], live["id"]);
    assert_eq!(deleted.body["title"], live["title"]);
    assert!(deleted.body["deletedAt"].is_string(), "{}", deleted.body);
    assert_eq!(deleted.body["updatedAt"], deleted.body["deletedAt"]);
    assert_eq!(app.get(&one, &t.key).await.status, 404);
    assert_eq!(
        app.patch(&one, &t.key, json!({"title": "x"})).await.status,
        404
    );
    assert_eq!(app.delete(&one, &t.key).await.status, 404);
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body),
        Vec::<String>::new(),
        "gone from lists"
    );
}

#[tokio::test]
async fn lists_filter_order_and_page() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let mut made = Vec::new();
    for (i, (status, email)) in [
        ("open", "a@example.com"),
        ("pending", "b@example.com"),
        ("open", "a@example.com"),
        ("closed", "c@example.com"),
    ]
    .iter()
    .enumerate()
    {
        app.clock.advance(2);
        let res = app
            .post(&path, &t.key, json!({"title": format!("T{i}"), "status": status, "customerEmail": email, "source": if i == 3 { "email" } else { "api" }}))
            .await;
        made.push(res.body["id"].as_str().unwrap().to_string());
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body),
        newest_first,
        "newest first by default"
    );
    assert_eq!(
        page_ids(&app.get(&format!("{path}?order=asc"), &t.key).await.body),
        made
    );
    assert_eq!(
        page_ids(
            &app.get(&format!("{path}?status=open&order=asc"), &t.key)
                .await
                .body
        ),
        [made[0].clone(), made[2].clone()]
    );
    assert_eq!(
        page_ids(
            &app.get(
                &format!("{path}?customerEmail=A@example.com&order=asc"),
                &t.key
            )
            .await
            .body
        ),
        [made[0].clone(), made[2].clone()]
    );
    assert_eq!(
        page_ids(&app.get(&format!("{path}?source=email"), &t.key).await.body),
        [made[3].clone()]
    );
    assert_eq!(
        page_ids(
            &app.get(&format!("{path}?customerEmail=nobody@example.com"), &t.key)
                .await
                .body
        ),
        Vec::<String>::new()
    );

    // Paging through a filtered list visits every match once.
    let first = app
        .get(&format!("{path}?status=open&limit=1&order=asc"), &t.key)
        .await;
    assert_eq!(page_ids(&first.body), [made[0].clone()]);
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let second = app
        .get(
            &format!("{path}?status=open&limit=1&order=asc&cursor={cursor}"),
            &t.key,
        )
        .await;
    assert_eq!(page_ids(&second.body), [made[2].clone()]);
    assert_eq!(second.body["pagination"]["hasMore"], false);
    // A cursor is bound to its filters.
    let crossed = app
        .get(
            &format!("{path}?status=pending&limit=1&order=asc&cursor={cursor}"),
            &t.key,
        )
        .await;
    assert_eq!(crossed.status, 400);
    for bad in [
        "status=done",
        "priority=critical",
        "order=sideways",
        "createdAfter=yesterday",
        "customerId=nope",
    ] {
        assert_eq!(
            app.get(&format!("{path}?{bad}"), &t.key).await.status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn invalid_creates_are_400_and_take_no_number() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    for (body, field) in [
        (json!({}), "title"),
        (json!({"title": "x", "status": "done"}), "status"),
        (json!({"title": "x", "priority": "p0"}), "priority"),
        (
            json!({"title": "x", "customerEmail": "nope"}),
            "customerEmail",
        ),
        (json!({"title": "x", "source": "Web Form"}), "source"),
        (json!({"title": "x", "customFields": [1]}), "customFields"),
        (json!({"title": "x", "ticketNumber": 7}), "ticketNumber"),
    ] {
        let res = app.post(&path, &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.error_fields(), [field], "{body}");
    }
    let ok = app.post(&path, &t.key, json!({"title": "x"})).await;
    assert_eq!(
        ok.body["ticketNumber"], 1001,
        "refused creates consumed no number"
    );
}

#[tokio::test]
async fn other_tenants_modes_and_out_of_scope_keys_get_404_everywhere() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let outsiders = app.outsiders(&t).await;
    let other_brand = outsiders.other_brand.clone();
    let path = tickets(t.brand_id.as_str());
    let created = app.post(&path, &t.key, json!({"title": "Mine"})).await;
    let one = format!("{path}/{}", created.body["id"].as_str().unwrap());
    for key in outsiders.keys() {
        assert_eq!(app.get(&one, key).await.status, 404);
        assert_eq!(
            app.patch(&one, key, json!({"title": "pwned"})).await.status,
            404
        );
        assert_eq!(app.delete(&one, key).await.status, 404);
        assert_eq!(app.get(&path, key).await.status, 404);
        assert_eq!(
            app.post(&path, key, json!({"title": "x"})).await.status,
            404
        );
    }
    // Another brand of the same tenant does not reach it either.
    assert_eq!(
        app.get(
            &format!(
                "{}/{}",
                tickets(&other_brand),
                created.body["id"].as_str().unwrap()
            ),
            &t.key
        )
        .await
        .status,
        404
    );
    assert_eq!(app.get(&one, &t.key).await.body["title"], "Mine");
    assert_eq!(
        app.get(&format!("{path}/tkt_bad"), &t.key).await.status,
        404
    );
}

#[tokio::test]
async fn comments_keep_the_count_and_internal_notes_are_marked() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let ticket = app.post(&path, &t.key, json!({"title": "Help"})).await;
    let one = format!("{path}/{}", ticket.body["id"].as_str().unwrap());
    let comments = format!("{one}/comments");
    let public = app
        .post(
            &comments,
            &t.key,
            json!({"body": "On it", "authorName": "Sam"}),
        )
        .await;
    assert_eq!(public.status, 201, "{:?}", public.body);
    assert_eq!(
        (
            public.body["authorType"].as_str(),
            public.body["isInternal"].as_bool()
        ),
        (Some("AGENT"), Some(false))
    );
    // Ids order by time to the millisecond; the test clock moves in whole seconds.
    app.clock.advance(1);
    let note = app
        .post(
            &comments,
            &t.key,
            json!({"body": "Customer is grumpy", "metadata": {"isInternal": true}}),
        )
        .await;
    assert_eq!(note.body["isInternal"], true);
    app.clock.advance(1);
    let system = app
        .post(
            &comments,
            &t.key,
            json!({"body": "Auto-closed", "authorType": "SYSTEM"}),
        )
        .await;
    assert_eq!(system.body["authorType"], "SYSTEM");
    for bad in [
        json!({}),
        json!({"body": "  "}),
        json!({"body": "x", "authorType": "ROBOT"}),
        json!({"body": "x", "x": 1}),
    ] {
        assert_eq!(
            app.post(&comments, &t.key, bad.clone()).await.status,
            400,
            "{bad}"
        );
    }
    let list = app.get(&comments, &t.key).await;
    assert_eq!(list.status, 200);
    let bodies: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["On it", "Customer is grumpy", "Auto-closed"],
        "a bare array, oldest first"
    );
    assert_eq!(
        app.get(&one, &t.key).await.body["commentCount"],
        3,
        "the count matches the comments written"
    );

    let stranger = app.tenant(Mode::Test).await;
    assert_eq!(app.get(&comments, &stranger.key).await.status, 404);
    assert_eq!(
        app.post(&comments, &stranger.key, json!({"body": "x"}))
            .await
            .status,
        404
    );
    app.delete(&one, &t.key).await;
    assert_eq!(
        app.post(&comments, &t.key, json!({"body": "late"}))
            .await
            .status,
        404,
        "no comments on a deleted ticket"
    );
    assert_eq!(app.get(&comments, &t.key).await.status, 404);
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let send = |key: &str, body: Value| post_idempotent(&app, &path, &t.key, key.to_string(), body);
    let first = send("order-42", json!({"title": "Refund"})).await;
    assert_eq!(first.status, 201);
    let retry = send("order-42", json!({"title": "Refund"})).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body, "the same answer");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let other_body = send("order-42", json!({"title": "Something else"})).await;
    assert_eq!(other_body.status, 409);
    assert_eq!(other_body.body["code"], "idempotency_key_reused");
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body).len(),
        1,
        "one ticket"
    );

    // A failed attempt leaves the key free for the corrected request.
    let bad = send("order-43", json!({"title": ""})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        send("order-43", json!({"title": "Fixed"})).await.status,
        201
    );
    // Keys belong to their tenant: another organization's identical key is unrelated.
    let stranger = app.tenant(Mode::Test).await;
    let theirs = post_idempotent(
        &app,
        &tickets(stranger.brand_id.as_str()),
        &stranger.key,
        "order-42".into(),
        json!({"title": "Refund"}),
    )
    .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // After 24 hours the key is free again.
    app.clock.advance(24 * 3600);
    let later = send("order-42", json!({"title": "Refund"})).await;
    assert_eq!(later.status, 201);
    assert_ne!(later.body["id"], first.body["id"]);
    assert_eq!(
        send(&"k".repeat(256), json!({"title": "x"})).await.status,
        400
    );
}

async fn post_idempotent(
    app: &TestApp,
    path: &str,
    api_key: &str,
    idempotency_key: String,
    body: Value,
) -> crate::helpers::TestResponse {
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {api_key}")),
        ("content-type".to_string(), "application/json".to_string()),
        ("x-idempotency-key".to_string(), idempotency_key),
    ];
    app.send_with_headers("POST", path, &headers, Some(body.to_string()))
        .await
}

#[tokio::test]
async fn customer_and_comment_creates_are_idempotent_too() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let customers = format!("/v1/brands/{}/customers", t.brand_id);
    let a = post_idempotent(
        &app,
        &customers,
        &t.key,
        "cus-1".into(),
        json!({"email": "jane@example.com"}),
    )
    .await;
    let b = post_idempotent(
        &app,
        &customers,
        &t.key,
        "cus-1".into(),
        json!({"email": "jane@example.com"}),
    )
    .await;
    assert_eq!(
        (a.status, b.status),
        (201, 201),
        "the retry replays instead of answering 409"
    );
    assert_eq!(a.body, b.body);

    let ticket = app
        .post(
            &tickets(t.brand_id.as_str()),
            &t.key,
            json!({"title": "Help"}),
        )
        .await;
    let one = format!(
        "{}/{}",
        tickets(t.brand_id.as_str()),
        ticket.body["id"].as_str().unwrap()
    );
    let comments = format!("{one}/comments");
    let c1 = post_idempotent(
        &app,
        &comments,
        &t.key,
        "cmt-1".into(),
        json!({"body": "Hi"}),
    )
    .await;
    let c2 = post_idempotent(
        &app,
        &comments,
        &t.key,
        "cmt-1".into(),
        json!({"body": "Hi"}),
    )
    .await;
    assert_eq!(c1.body, c2.body);
    assert_eq!(
        app.get(&one, &t.key).await.body["commentCount"],
        1,
        "one comment, counted once"
    );
}

/// A filter the API does not know is refused, never ignored: `assigneeId` (sent by the SDK)
/// on the list is a 400 naming it rather than every ticket, and an unknown parameter on a
/// create writes nothing.
#[tokio::test]
async fn unknown_query_parameters_are_refused_and_write_nothing() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    let before = app.raw_items_containing(&brand).await.len();

    let listed = app
        .get(
            &format!("{}?assigneeIdz=mem_x&limit=5", tickets(&brand)),
            &tenant.key,
        )
        .await;
    assert_eq!(listed.status, 400, "{}", listed.body);
    assert_eq!(listed.body["code"], "validation_error");
    assert_eq!(
        listed.body["errors"],
        json!([{"field": "assigneeIdz", "message": "is not a known query parameter"}])
    );

    let created = app
        .post(
            &format!("{}?dryRun=true", tickets(&brand)),
            &tenant.key,
            json!({"title": "Never written"}),
        )
        .await;
    assert_eq!(created.status, 400, "{}", created.body);
    assert_eq!(created.body["errors"][0]["field"], "dryRun");
    assert_eq!(app.raw_items_containing(&brand).await.len(), before);

    // The parameters the route reads still work.
    let page = app
        .get(
            &format!("{}?limit=5&order=asc", tickets(&brand)),
            &tenant.key,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// `Prefer: return=minimal` keeps the bodiless 204 for callers that want no body.
#[tokio::test]
async fn a_delete_that_prefers_minimal_answers_204() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let created = app.post(&path, &t.key, json!({"title": "Brief"})).await;
    let one = format!("{path}/{}", created.body["id"].as_str().unwrap());
    let headers = [
        ("authorization".to_string(), format!("Bearer {}", t.key)),
        (
            "prefer".to_string(),
            "handling=lenient, return=minimal".to_string(),
        ),
    ];
    let deleted = app.send_with_headers("DELETE", &one, &headers, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(app.get(&one, &t.key).await.status, 404);
}

/// One comment reads on its own, only under its own ticket, in three reads.
#[tokio::test]
async fn a_comment_reads_alone_only_under_its_own_ticket() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let first = app.post(&path, &t.key, json!({"title": "One"})).await.body;
    let second = app.post(&path, &t.key, json!({"title": "Two"})).await.body;
    let comments = format!("{path}/{}/comments", first["id"].as_str().unwrap());
    let note = app
        .post(
            &comments,
            &t.key,
            json!({"body": "Internal", "metadata": {"isInternal": true}}),
        )
        .await
        .body;
    let one = format!("{comments}/{}", note["id"].as_str().unwrap());
    app.take_ops();
    let got = app.get(&one, &t.key).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, note, "the same view as the create's");
    assert_eq!(
        app.take_ops(),
        (
            ["GetItem", "BatchGetItem", "GetItem"]
                .map(String::from)
                .to_vec(),
            0
        )
    );
    // Under another ticket of the same brand, it does not exist.
    let elsewhere = format!(
        "{path}/{}/comments/{}",
        second["id"].as_str().unwrap(),
        note["id"].as_str().unwrap()
    );
    assert_eq!(app.get(&elsewhere, &t.key).await.status, 404);
    let outsiders = app.outsiders(&t).await;
    for key in outsiders.keys() {
        assert_eq!(app.get(&one, key).await.status, 404);
    }
    // A deleted ticket's comments go with it.
    app.delete(&format!("{path}/{}", first["id"].as_str().unwrap()), &t.key)
        .await;
    assert_eq!(app.get(&one, &t.key).await.status, 404);
}

/// The SDK's ticket fields: assignee and creator, links, where it came from, whether the
/// customer hears back; spam is marked, hidden from the list and found on request.
#[tokio::test]
async fn tickets_keep_creator_links_and_source_and_spam_leaves_the_list() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let me = app.get("/v1/auth/session", &owner).await.body["member"]["id"].clone();

    let full = app
        .post(
            &path,
            &t.key,
            json!({
                "title": "Imported", "assigneeId": me, "createdBy": "zendesk-import",
                "links": [{"url": "https://zd.test/t/9", "title": "Original"}],
                "sourceId": "zd-9", "sourceData": {"via": "email"}, "notifyCustomer": false,
            }),
        )
        .await;
    assert_eq!(full.status, 201, "{}", full.body);
    let b = &full.body;
    assert_eq!(
        (&b["assigneeId"], &b["createdBy"]),
        (&me, &json!("zendesk-import"))
    );
    assert_eq!(
        b["links"],
        json!([{"url": "https://zd.test/t/9", "title": "Original", "type": null}])
    );
    assert_eq!(
        (&b["sourceId"], &b["sourceData"], &b["isSpam"]),
        (&json!("zd-9"), &json!({"via": "email"}), &json!(false))
    );
    let id = b["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("{path}/{id}"), &t.key).await.body,
        full.body
    );

    // Defaults: the key or the session opened it.
    let by_key = app.post(&path, &t.key, json!({"title": "By key"})).await;
    assert_eq!(by_key.body["createdBy"], t.key_id.as_str());
    assert_eq!(
        (&by_key.body["links"], &by_key.body["sourceId"]),
        (&json!([]), &Value::Null)
    );
    let by_session = app.post(&path, &owner, json!({"title": "By me"})).await;
    assert_eq!(by_session.body["createdBy"], me);

    for (bad, field) in [
        (
            json!({"title": "x", "assigneeId": "mem_nope"}),
            "assigneeId",
        ),
        (json!({"title": "x", "createdBy": " "}), "createdBy"),
        (
            json!({"title": "x", "links": [{"url": "mailto:a@b.test"}]}),
            "links",
        ),
        (json!({"title": "x", "sourceId": ""}), "sourceId"),
        (json!({"title": "x", "sourceData": "x"}), "sourceData"),
        (
            json!({"title": "x", "notifyCustomer": "yes"}),
            "notifyCustomer",
        ),
    ] {
        let res = app.post(&path, &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{bad}: {}",
            res.body
        );
    }

    // PATCH: `null` unassigns and clears the body and links.
    let one = format!("{path}/{id}");
    let cleared = app
        .patch(
            &one,
            &t.key,
            json!({"assigneeId": null, "links": null, "body": null}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(
        (
            &cleared.body["assigneeId"],
            &cleared.body["links"],
            &cleared.body["body"]
        ),
        (&Value::Null, &json!([]), &Value::Null)
    );
    assert_eq!(app.get(&one, &t.key).await.body, cleared.body);

    // Spam: marked by the route or by PATCH, hidden from the list unless asked for.
    let listed = |query: &'static str| {
        let app = &app;
        let url = format!("{path}?{query}");
        let key = t.key.clone();
        async move { page_ids(&app.get(&url, &key).await.body) }
    };
    assert!(listed("limit=100").await.contains(&id));
    let spam = app
        .post(&format!("{one}/spam"), &t.key, json!({"isSpam": true}))
        .await;
    assert_eq!(spam.status, 200, "{}", spam.body);
    assert_eq!(spam.body["isSpam"], true);
    assert!(!listed("limit=100").await.contains(&id));
    assert!(!listed("isSpam=false").await.contains(&id));
    assert_eq!(listed("isSpam=true").await, vec![id.clone()]);
    assert_eq!(
        app.patch(&one, &t.key, json!({"isSpam": false})).await.body["isSpam"],
        false
    );
    assert!(listed("limit=100").await.contains(&id));
    for bad in [
        json!({}),
        json!({"isSpam": "yes"}),
        json!({"isSpam": true, "why": 1}),
    ] {
        let res = app.post(&format!("{one}/spam"), &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
    assert_eq!(
        app.get(&format!("{path}?isSpam=maybe"), &t.key)
            .await
            .status,
        400
    );
}

/// A merge closes the sources onto the target in one transaction, with notes both ways;
/// merged tickets cannot be merged again; bad sources change nothing.
#[tokio::test]
async fn a_merge_closes_the_sources_onto_the_target_all_or_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = tickets(t.brand_id.as_str());
    let new = |title: &'static str| {
        let app = &app;
        let path = path.clone();
        let key = t.key.clone();
        async move {
            let res = app.post(&path, &key, json!({"title": title})).await;
            assert_eq!(res.status, 201, "{}", res.body);
            res.body
        }
    };
    let target = new("Target").await;
    let a = new("A").await;
    let b = new("B").await;
    let deleted = new("Gone").await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    app.delete(&format!("{path}/{}", id(&deleted)), &t.key)
        .await;
    let merge = format!("{path}/{}/merge", id(&target));

    for (bad, field) in [
        (json!({"sourceTicketIds": []}), "sourceTicketIds"),
        (
            json!({"sourceTicketIds": [id(&target)]}),
            "sourceTicketIds[0]",
        ),
        (
            json!({"sourceTicketIds": [id(&a), id(&a)]}),
            "sourceTicketIds[1]",
        ),
        (
            json!({"sourceTicketIds": [id(&a), id(&deleted)]}),
            "sourceTicketIds[1]",
        ),
        (
            json!({"sourceTicketIds": [id(&a), "tkt_nope"]}),
            "sourceTicketIds[1]",
        ),
        (json!({}), "sourceTicketIds"),
    ] {
        let res = app.post(&merge, &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert_eq!(res.error_fields(), [field], "{bad}");
    }
    // Nothing moved.
    assert_eq!(
        app.get(&format!("{path}/{}", id(&a)), &t.key).await.body["status"],
        "open"
    );

    app.take_ops();
    let merged = app
        .post(&merge, &t.key, json!({"sourceTicketIds": [id(&a), id(&b)]}))
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(
        (&merged.body["id"], &merged.body["commentCount"]),
        (&target["id"], &json!(2))
    );
    // The credential, the target, one batch read of all of them, one transaction.
    let (ops, writes) = app.take_ops();
    assert_eq!(writes, 1, "{ops:?}");
    for source in [&a, &b] {
        let now = app
            .get(&format!("{path}/{}", id(source)), &t.key)
            .await
            .body;
        assert_eq!(
            (&now["status"], &now["mergedIntoId"], &now["commentCount"]),
            (&json!("closed"), &target["id"], &json!(1))
        );
        let notes = app
            .get(&format!("{path}/{}/comments", id(source)), &t.key)
            .await
            .body;
        assert_eq!(notes[0]["authorType"], "SYSTEM");
        assert_eq!(notes[0]["isInternal"], true);
        assert!(
            notes[0]["body"]
                .as_str()
                .unwrap()
                .contains(target["displayNumber"].as_str().unwrap())
        );
    }
    let on_target = app
        .get(&format!("{path}/{}/comments", id(&target)), &t.key)
        .await
        .body;
    assert_eq!(on_target.as_array().unwrap().len(), 2, "{on_target}");
    assert_eq!(
        app.get(&format!("{path}/{}", id(&target)), &t.key)
            .await
            .body["mergedIntoId"],
        Value::Null
    );

    // Merged tickets are done: neither a source nor a target again.
    let c = new("C").await;
    let again = app
        .post(&merge, &t.key, json!({"sourceTicketIds": [id(&a)]}))
        .await;
    assert_eq!(
        (again.status, again.body["code"].clone()),
        (409, json!("ticket_merged"))
    );
    let onto_merged = app
        .post(
            &format!("{path}/{}/merge", id(&a)),
            &t.key,
            json!({"sourceTicketIds": [id(&c)]}),
        )
        .await;
    assert_eq!(
        (onto_merged.status, onto_merged.body["code"].clone()),
        (409, json!("ticket_merged"))
    );
    assert_eq!(
        app.get(&format!("{path}/{}", id(&c)), &t.key).await.body["status"],
        "open"
    );
}

/// Bulk actions change each live ticket named, skip the rest, and refuse options that
/// belong to another action.
#[tokio::test]
async fn bulk_actions_change_each_live_ticket_and_count_them() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let bulk = format!("{path}/bulk");
    let mut ids = Vec::new();
    for title in ["One", "Two", "Three"] {
        let res = app.post(&path, &t.key, json!({"title": title})).await;
        ids.push(res.body["id"].as_str().unwrap().to_string());
    }
    let gone = app.post(&path, &t.key, json!({"title": "Gone"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("{path}/{gone}"), &t.key).await;
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let me = app.get("/v1/auth/session", &owner).await.body["member"]["id"].clone();
    let get = |id: &str| {
        let app = &app;
        let url = format!("{path}/{id}");
        let key = t.key.clone();
        async move { app.get(&url, &key).await.body }
    };

    let run = |body: Value| {
        let app = &app;
        let bulk = bulk.clone();
        let key = t.key.clone();
        async move { app.post(&bulk, &key, body).await }
    };
    let resolved = run(json!({"action": "resolve", "ticketIds": [ids[0], ids[1], gone, "tkt_01jd0000000000000000000000"]})).await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    assert_eq!(resolved.body, json!({"success": true, "count": 2}));
    assert_eq!(get(&ids[1]).await["status"], "resolved");
    assert_eq!(get(&ids[2]).await["status"], "open");

    let assigned = run(json!({"action": "assign", "ticketIds": ids, "assigneeId": me})).await;
    assert_eq!(assigned.body["count"], 3, "{}", assigned.body);
    assert_eq!(get(&ids[2]).await["assigneeId"], me);
    let unassigned =
        run(json!({"action": "assign", "ticketIds": [ids[2]], "assigneeId": null})).await;
    assert_eq!(unassigned.body["count"], 1);
    assert_eq!(get(&ids[2]).await["assigneeId"], Value::Null);
    let tagged =
        run(json!({"action": "setTags", "ticketIds": [ids[0]], "tags": ["vip", "vip", "refund"]}))
            .await;
    assert_eq!(tagged.body["count"], 1);
    assert_eq!(get(&ids[0]).await["tags"], json!(["vip", "refund"]));
    let none =
        run(json!({"action": "setCategory", "ticketIds": [ids[0]], "categoryId": null})).await;
    assert_eq!(none.body, json!({"success": true, "count": 0}));
    let spam = run(json!({"action": "spam", "ticketIds": [ids[0]]})).await;
    assert_eq!(spam.body["count"], 1);
    assert_eq!(get(&ids[0]).await["isSpam"], true);
    let closed = run(json!({"action": "close", "ticketIds": [ids[1]]})).await;
    assert_eq!(closed.body["count"], 1);
    let deleted =
        run(json!({"action": "delete", "ticketIds": [ids[1], ids[1].clone() + ""]})).await;
    assert_eq!(deleted.status, 400, "duplicates: {}", deleted.body);
    let deleted = run(json!({"action": "delete", "ticketIds": [ids[1]]})).await;
    assert_eq!(deleted.body["count"], 1);
    assert_eq!(
        app.get(&format!("{path}/{}", ids[1]), &t.key).await.status,
        404
    );

    let hundred_one: Vec<String> = (0..101).map(|i| format!("tkt_01jd{i:022}")).collect();
    for (bad, field) in [
        (
            json!({"action": "archive", "ticketIds": [ids[2]]}),
            "action",
        ),
        (json!({"action": "spam", "ticketIds": []}), "ticketIds"),
        (
            json!({"action": "spam", "ticketIds": hundred_one}),
            "ticketIds",
        ),
        (
            json!({"action": "spam", "ticketIds": ["nope"]}),
            "ticketIds[0]",
        ),
        (
            json!({"action": "spam", "ticketIds": [ids[2]], "tags": ["x"]}),
            "tags",
        ),
        (
            json!({"action": "assign", "ticketIds": [ids[2]]}),
            "assigneeId",
        ),
        (
            json!({"action": "assign", "ticketIds": [ids[2]], "assigneeId": "mem_01jd0000000000000000000000"}),
            "assigneeId",
        ),
        (
            json!({"action": "setCategory", "ticketIds": [ids[2]], "categoryId": "cat_x"}),
            "categoryId",
        ),
        (json!({"action": "setTags", "ticketIds": [ids[2]]}), "tags"),
    ] {
        let res = run(bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{bad}: {}",
            res.body
        );
    }
    // None of them touched the ticket.
    let untouched = get(&ids[2]).await;
    assert_eq!(
        (&untouched["status"], &untouched["isSpam"]),
        (&json!("open"), &json!(false))
    );
}

/// The SDK's list filters: status lists and `active`, assignee, creator, files; each one
/// narrows the list, none is ignored, and a malformed one is 400.
#[tokio::test]
async fn the_list_filters_by_status_lists_assignee_creator_and_files() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let me = app.get("/v1/auth/session", &owner).await.body["member"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let open = |title: &str, extra: Value| {
        let mut body = json!({"title": title});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (app, path, key) = (&app, path.clone(), t.key.clone());
        async move {
            let res = app.post(&path, &key, body).await;
            assert_eq!(res.status, 201, "{}", res.body);
            res.body["id"].as_str().unwrap().to_string()
        }
    };
    let a = open("A", json!({"status": "open", "assigneeId": me})).await;
    let b = open("B", json!({"status": "pending", "createdBy": "import"})).await;
    let c = open("C", json!({"status": "resolved"})).await;
    let d = open("D", json!({"status": "closed", "assigneeId": me})).await;
    // A file, confirmed: D has one.
    let declared = app
        .post(
            &format!("{path}/{d}/attachments"),
            &t.key,
            json!({"filename": "f.txt", "contentType": "text/plain", "size": 2}),
        )
        .await;
    let put = http_request(
        "PUT",
        declared.body["uploadUrl"].as_str().unwrap(),
        &[("Content-Type", "text/plain"), ("Content-Length", "2")],
        b"ok",
    )
    .await;
    assert_eq!(put.status, 200);
    let confirmed = app
        .post(
            &format!(
                "{path}/{d}/attachments/{}/confirm",
                declared.body["attachmentId"].as_str().unwrap()
            ),
            &t.key,
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);

    let listed = |query: String| {
        let (app, path, key) = (&app, path.clone(), t.key.clone());
        async move {
            let res = app.get(&format!("{path}?order=asc&{query}"), &key).await;
            assert_eq!(res.status, 200, "{query}: {}", res.body);
            // Made at the same (fixed) instant: their order is not the point here.
            page_ids(&res.body)
                .into_iter()
                .collect::<BTreeSet<String>>()
        }
    };
    assert_eq!(
        listed("status=active".into()).await,
        BTreeSet::from([a.clone(), b.clone()])
    );
    assert_eq!(
        listed("status=resolved,closed".into()).await,
        BTreeSet::from([c.clone(), d.clone()])
    );
    assert_eq!(
        listed("status=closed".into()).await,
        BTreeSet::from([d.clone()])
    );
    assert_eq!(
        listed(format!("assigneeId={me}")).await,
        BTreeSet::from([a.clone(), d.clone()])
    );
    assert_eq!(
        listed(format!("assigneeId={me}&status=active")).await,
        BTreeSet::from([a.clone()])
    );
    assert_eq!(
        listed("createdBy=import".into()).await,
        BTreeSet::from([b.clone()])
    );
    assert_eq!(
        listed("hasAttachments=true".into()).await,
        BTreeSet::from([d.clone()])
    );
    assert_eq!(
        listed("hasAttachments=false".into()).await,
        BTreeSet::from([a.clone(), b.clone(), c.clone()])
    );
    for bad in [
        "status=open,nope",
        "status=open,,closed",
        "status=",
        "assigneeId=bob",
        "hasAttachments=yes",
        "createdBy=",
        // An address nobody has still gets its page parameters checked.
        "customerEmail=nobody%40x.test&limit=4.5",
        "customerEmail=nobody%40x.test&cursor=forged",
    ] {
        // An empty value is checked like any other (docs/api.md): it never widens a list.
        let res = app.get(&format!("{path}?{bad}"), &t.key).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
}

/// A filter that matches little answers within its read budget (four Query calls): a
/// short, here empty, page with a cursor, and the cursor walks on to the match.
#[tokio::test]
async fn a_sparse_filter_answers_short_pages_within_four_reads() {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let needle = app
        .post(
            &path,
            &t.key,
            json!({"title": "Needle", "createdBy": "needle"}),
        )
        .await;
    assert_eq!(needle.status, 201);
    let needle = needle.body["id"].as_str().unwrap().to_string();
    let hay = app.post(&path, &t.key, json!({"title": "Hay"})).await;
    assert_eq!(hay.status, 201);
    // 199 more copies of the hay ticket, newer than the needle (written directly: the
    // budget is about reads, and 200 creates would only slow the suite).
    let pk = dispatch_store::keys::brand_partition(&t.org_id, Mode::Live, &t.brand_id);
    let item = app
        .raw
        .get_item()
        .table_name(&app.table)
        .key("pk", AttributeValue::S(pk.clone()))
        .key(
            "sk",
            AttributeValue::S(format!("TICKET#{}", hay.body["id"].as_str().unwrap())),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let later = wall_clock_millis() + 3_600_000;
    let copies: Vec<WriteRequest> = (0..199)
        .map(|i| {
            let id = dispatch_domain::TicketId::generate(later + i);
            let mut copy = item.clone();
            copy.insert("sk".into(), AttributeValue::S(format!("TICKET#{id}")));
            copy.insert("id".into(), AttributeValue::S(id.to_string()));
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(copy)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in copies.chunks(25) {
        app.raw
            .batch_write_item()
            .request_items(&app.table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }

    // Newest first: the reads take 2, 8, 32 and 128 items (170 of 201) and stop.
    app.take_ops();
    let first = app
        .get(&format!("{path}?createdBy=needle&limit=1"), &t.key)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let (ops, _) = app.take_ops();
    assert_eq!(ops.iter().filter(|o| *o == "Query").count(), 4, "{ops:?}");
    assert_eq!(first.body["data"], json!([]), "{}", first.body);
    assert_eq!(first.body["pagination"]["hasMore"], true, "{}", first.body);
    let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("{path}?createdBy=needle&limit=1&cursor={cursor}"),
            &t.key,
        )
        .await;
    assert_eq!(page_ids(&second.body), [needle]);
    assert_eq!(
        second.body["pagination"]["hasMore"], false,
        "{}",
        second.body
    );
}

/// Milliseconds since the epoch, from the system clock.
fn wall_clock_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `search`: a case-insensitive substring of the title, the body's first 2 KiB or the
/// customer's email; it follows edits, and (through the stream) a customer's new address.
#[tokio::test]
async fn search_finds_words_and_addresses_and_follows_their_changes() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let open = |body: Value| {
        let (app, path, key) = (&app, path.clone(), t.key.clone());
        async move {
            let res = app.post(&path, &key, body).await;
            assert_eq!(res.status, 201, "{}", res.body);
            res.body
        }
    };
    let refund = open(json!({"title": "Refund for order 9", "body": "Card charged TWICE"})).await;
    let login = open(json!({"title": "Login broken", "customerEmail": "Ana@Example.test"})).await;
    let _other = open(json!({"title": "Other"})).await;
    let (refund_id, login_id) = (
        refund["id"].as_str().unwrap().to_string(),
        login["id"].as_str().unwrap().to_string(),
    );
    let search = |q: &str| {
        let (app, path, key) = (&app, path.clone(), t.key.clone());
        let q = q.replace(' ', "%20").replace('@', "%40");
        async move {
            let res = app.get(&format!("{path}?search={q}"), &key).await;
            assert_eq!(res.status, 200, "{q}: {}", res.body);
            page_ids(&res.body)
        }
    };
    assert_eq!(search("REFUND").await, vec![refund_id.clone()]);
    assert_eq!(search("charged twice").await, vec![refund_id.clone()]);
    assert_eq!(search("ana@example").await, vec![login_id.clone()]);
    assert_eq!(search("nowhere").await, Vec::<String>::new());

    let edited = app
        .patch(
            &format!("{path}/{refund_id}"),
            &t.key,
            json!({"title": "Invoice question"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(search("refund").await, Vec::<String>::new());
    assert_eq!(search("invoice").await, vec![refund_id.clone()]);
    // The body is still searched after a title-only edit.
    assert_eq!(search("twice").await, vec![refund_id.clone()]);

    let customer = login["customerId"].as_str().unwrap();
    let moved = app
        .patch(
            &format!("/v1/brands/{}/customers/{customer}", t.brand_id),
            &t.key,
            json!({"email": "ana@new.test"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    app.pump_until_idle().await;
    assert_eq!(search("new.test").await, vec![login_id.clone()]);
    assert_eq!(search("example.test").await, Vec::<String>::new());

    let long = app
        .get(&format!("{path}?search={}", "x".repeat(201)), &t.key)
        .await;
    assert_eq!(long.status, 400, "{}", long.body);
    assert_eq!(long.error_fields(), ["search"]);
}

/// Lists every page of `query` (`limit=1`, following the cursor): the ids in order.
async fn walk(app: &TestApp, key: &str, path: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?{query}&limit=1&cursor={c}"),
            None => format!("{path}?{query}&limit=1"),
        };
        let res = app.get(&url, key).await;
        assert_eq!(res.status, 200, "{url}: {}", res.body);
        ids.extend(page_ids(&res.body));
        match res.body["pagination"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
        assert!(ids.len() < 50, "{query}: the cursor does not move on");
    }
}

/// `sort=updatedAt` (last change first) and `sort=priority` (urgent first, then newest)
/// read their own indexes: one Query a page, every ticket once across pages, changes and
/// deletes followed, and a cursor good only for the order it was made in.
#[tokio::test]
async fn sort_by_last_change_or_priority_pages_through_its_own_index() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let mut open = Vec::new();
    for (title, priority) in [
        ("A", "low"),
        ("B", "urgent"),
        ("C", "normal"),
        ("D", "urgent"),
        ("E", "medium"),
    ] {
        app.clock.advance(1);
        let res = app
            .post(&path, &t.key, json!({"title": title, "priority": priority}))
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
        open.push(res.body["id"].as_str().unwrap().to_string());
    }
    let [a, b, c, d, e] = <[String; 5]>::try_from(open).unwrap();
    let ids = |list: &[&String]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A changes last; E goes.
    app.clock.advance(1);
    let patched = app
        .patch(&format!("{path}/{a}"), &t.key, json!({"title": "A2"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let gone = app.delete(&format!("{path}/{e}"), &t.key).await;
    assert!(gone.status == 200 || gone.status == 204, "{}", gone.body);

    app.take_ops();
    let res = app.get(&format!("{path}?sort=updatedAt"), &t.key).await;
    assert_eq!(res.status, 200, "{}", res.body);
    let (ops, _) = app.take_ops();
    assert_eq!(ops.iter().filter(|o| *o == "Query").count(), 1, "{ops:?}");
    assert_eq!(page_ids(&res.body), ids(&[&a, &d, &c, &b]));
    assert_eq!(
        walk(&app, &t.key, &path, "sort=updatedAt").await,
        ids(&[&a, &d, &c, &b])
    );
    assert_eq!(
        walk(&app, &t.key, &path, "sort=updatedAt&order=asc").await,
        ids(&[&b, &c, &d, &a])
    );
    assert_eq!(
        walk(&app, &t.key, &path, "sort=priority").await,
        ids(&[&d, &b, &c, &a])
    );
    assert_eq!(
        walk(&app, &t.key, &path, "sort=priority&order=asc").await,
        ids(&[&a, &c, &b, &d])
    );
    // A filter applies to the index's reads as to the table's.
    assert_eq!(
        walk(&app, &t.key, &path, "sort=priority&priority=urgent").await,
        ids(&[&d, &b])
    );
    // A priority change moves the ticket in that order: C is urgent now, between D and B.
    app.clock.advance(1);
    let patched = app
        .patch(
            &format!("{path}/{c}"),
            &t.key,
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        walk(&app, &t.key, &path, "sort=priority").await,
        ids(&[&d, &c, &b, &a])
    );
    // ...and a comment is a change: B moves to the front of the updated order.
    app.clock.advance(1);
    let comment = app
        .post(
            &format!("{path}/{b}/comments"),
            &t.key,
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    assert_eq!(
        walk(&app, &t.key, &path, "sort=updatedAt").await,
        ids(&[&b, &c, &a, &d])
    );

    // A cursor is bound to its order.
    let first = app
        .get(&format!("{path}?sort=updatedAt&limit=1"), &t.key)
        .await;
    let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap();
    for query in [
        format!("sort=priority&limit=1&cursor={cursor}"),
        format!("limit=1&cursor={cursor}"),
        "sort=name".to_string(),
        "sort=".to_string(),
        "sort=updatedAt&sort=priority".to_string(),
    ] {
        let res = app.get(&format!("{path}?{query}"), &t.key).await;
        assert_eq!(res.status, 400, "{query}: {}", res.body);
    }
}

/// Tickets written before the order indexes and `search` existed have none of their
/// attributes: `ticket-backfill` gives them those, once, without changing `updatedAt`.
#[tokio::test]
async fn the_backfill_puts_old_tickets_into_the_orders_and_the_search() {
    use crate::iam::as_function;
    use aws_sdk_dynamodb::types::AttributeValue;
    use dispatch_cleanup::backfill::{BackfillReport, BackfillRequest, run};
    use std::time::Duration;
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let path = tickets(t.brand_id.as_str());
    let old = app
        .post(
            &path,
            &t.key,
            json!({"title": "Printer on fire", "priority": "high"}),
        )
        .await;
    assert_eq!(old.status, 201, "{}", old.body);
    let old = old.body["id"].as_str().unwrap().to_string();
    app.clock.advance(1);
    let new = app.post(&path, &t.key, json!({"title": "Newer"})).await;
    let new = new.body["id"].as_str().unwrap().to_string();
    // As it was written before the upgrade.
    let pk = dispatch_store::keys::brand_partition(&t.org_id, Mode::Live, &t.brand_id);
    app.raw
        .update_item()
        .table_name(&app.table)
        .key("pk", AttributeValue::S(pk.clone()))
        .key("sk", AttributeValue::S(format!("TICKET#{old}")))
        .update_expression("REMOVE ticketsPk, prioritySk, searchText")
        .send()
        .await
        .unwrap();
    let before = app.get(&format!("{path}/{old}"), &t.key).await.body;
    for query in ["sort=updatedAt", "sort=priority"] {
        assert_eq!(walk(&app, &t.key, &path, query).await, vec![new.clone()]);
    }
    assert_eq!(walk(&app, &t.key, &path, "search=printer").await.len(), 0);

    let backfill = || {
        as_function(
            "ticket-backfill",
            run(
                &app.ctx.store,
                BackfillRequest::default(),
                Duration::from_secs(60),
            ),
        )
    };
    let report = backfill().await.unwrap();
    assert_eq!((report.updated, report.done), (1, true), "{report:?}");
    assert_eq!(
        walk(&app, &t.key, &path, "sort=priority").await,
        [old.clone(), new.clone()]
    );
    assert_eq!(
        walk(&app, &t.key, &path, "sort=updatedAt").await,
        [new.clone(), old.clone()]
    );
    assert_eq!(
        walk(&app, &t.key, &path, "search=printer").await,
        vec![old.clone()]
    );
    // Nothing the API shows changed, `updatedAt` included; a second run finds nothing.
    assert_eq!(app.get(&format!("{path}/{old}"), &t.key).await.body, before);
    let again: BackfillReport = backfill().await.unwrap();
    assert_eq!((again.updated, again.done), (0, true), "{again:?}");
    // A run picks up where the last one stopped.
    let request: BackfillRequest =
        serde_json::from_value(json!({"after": {"pk": pk, "sk": format!("TICKET#{new}")}}))
            .unwrap();
    let resumed = as_function(
        "ticket-backfill",
        run(&app.ctx.store, request, Duration::ZERO),
    )
    .await
    .unwrap();
    assert!(resumed.scanned < again.scanned, "{resumed:?} vs {again:?}");
}
