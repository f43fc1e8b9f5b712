//! Customers: one per email per brand, cursor pagination that cannot cross tenants or lists.

use crate::helpers::{TestApp, page_ids};
use dispatch_domain::Mode;
use serde_json::{Value, json};

fn customers(brand: &str) -> String {
    format!("/v1/brands/{brand}/customers")
}

#[tokio::test]
async fn create_get_and_duplicate_email() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let created = app
        .post(
            &customers(t.brand_id.as_str()),
            &t.key,
            json!({"email": " Jane@Example.com ", "name": "Jane Doe", "metadata": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["email"], "jane@example.com");
    assert_eq!(created.body["name"], "Jane Doe");
    assert_eq!(created.body["brandId"], t.brand_id.as_str());
    let id = created.body["id"].as_str().unwrap();
    assert!(id.starts_with("cus_"));
    let got = app
        .get(&format!("{}/{id}", customers(t.brand_id.as_str())), &t.key)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, created.body);

    let dup = app
        .post(
            &customers(t.brand_id.as_str()),
            &t.key,
            json!({"email": "JANE@example.com"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "customer_exists");
    // The same address is a different customer in another brand.
    let other_brand = app.create_brand(&t.key, "Other").await;
    assert_eq!(
        app.post(
            &customers(&other_brand),
            &t.key,
            json!({"email": "jane@example.com"})
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn invalid_input_is_400_and_writes_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = customers(t.brand_id.as_str());
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": "nope"}), "email"),
        (json!({"email": "a@example.com", "name": ""}), "name"),
        (
            json!({"email": "a@example.com", "metadata": "x"}),
            "metadata",
        ),
        (json!({"email": "a@example.com", "id": "cus_x"}), "id"),
    ] {
        let res = app.post(&path, &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.error_fields(), [field], "{body}");
    }
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn lists_page_with_cursors_in_creation_order() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = customers(t.brand_id.as_str());
    let mut created = Vec::new();
    for i in 0..5 {
        app.clock.advance(1);
        let res = app
            .post(&path, &t.key, json!({"email": format!("c{i}@example.com")}))
            .await;
        created.push(res.body["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut url = format!("{path}?limit=2");
    let mut pages = 0;
    loop {
        let page = app.get(&url, &t.key).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        pages += 1;
        seen.extend(page_ids(&page.body));
        let p = &page.body["pagination"];
        assert_eq!(p["cursor"], p["nextCursor"]);
        if p["hasMore"] == false {
            assert_eq!(p["nextCursor"], Value::Null);
            break;
        }
        url = format!(
            "{path}?limit=2&cursor={}",
            p["nextCursor"].as_str().unwrap()
        );
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every customer once, oldest first");
    let full = app.get(&format!("{path}?limit=5"), &t.key).await;
    assert_eq!(
        full.body["pagination"]["hasMore"], false,
        "exactly a page: no phantom next page"
    );
}

#[tokio::test]
async fn cursors_are_tamper_evident_and_do_not_cross_lists_or_tenants() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let stranger = app.tenant(Mode::Test).await;
    let path = customers(t.brand_id.as_str());
    for i in 0..3 {
        app.post(&path, &t.key, json!({"email": format!("c{i}@example.com")}))
            .await;
    }
    let cursor = app.get(&format!("{path}?limit=1"), &t.key).await.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tampered = cursor.clone().into_bytes();
    tampered[2] = if tampered[2] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let other_brand = app.create_brand(&t.key, "Other").await;
    for (url, key) in [
        (format!("{path}?cursor={tampered}"), t.key.as_str()),
        (format!("{path}?cursor=garbage"), t.key.as_str()),
        (
            format!("{}?cursor={cursor}", customers(&other_brand)),
            t.key.as_str(),
        ),
        (
            format!("{}?cursor={cursor}", customers(stranger.brand_id.as_str())),
            stranger.key.as_str(),
        ),
    ] {
        let res = app.get(&url, key).await;
        assert_eq!(res.status, 400, "{url}");
        assert_eq!(res.body["code"], "invalid_cursor");
    }
    for bad in ["0", "101", "x", "-1"] {
        assert_eq!(
            app.get(&format!("{path}?limit={bad}"), &t.key).await.status,
            400,
            "limit={bad}"
        );
    }
}

#[tokio::test]
async fn other_tenants_modes_and_out_of_scope_brands_are_404() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let outsiders = app.outsiders(&t).await;
    let path = customers(t.brand_id.as_str());
    let created = app
        .post(&path, &t.key, json!({"email": "jane@example.com"}))
        .await;
    let one = format!("{path}/{}", created.body["id"].as_str().unwrap());
    for key in outsiders.keys() {
        assert_eq!(app.get(&one, key).await.status, 404);
        assert_eq!(app.get(&path, key).await.status, 404);
        assert_eq!(
            app.post(&path, key, json!({"email": "x@example.com"}))
                .await
                .status,
            404
        );
    }
    assert_eq!(
        app.get(&format!("{path}/cus_nope"), &t.key).await.status,
        404
    );
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body).len(),
        1,
        "nothing was written by the refused calls"
    );
}

/// `avatarUrl` and `companyId` are stored and shown (always present, `null` when unset), and
/// checked with nothing written when broken.
#[tokio::test]
async fn avatar_and_company_are_kept_and_checked() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let path = customers(t.brand_id.as_str());
    let plain = app
        .post(&path, &t.key, json!({"email": "plain@example.com"}))
        .await;
    assert_eq!(plain.body["avatarUrl"], Value::Null);
    assert_eq!(plain.body["companyId"], Value::Null);
    let full = app
        .post(
            &path,
            &t.key,
            json!({"email": "full@example.com", "avatarUrl": "https://cdn.example.com/a.png",
                   "companyId": "acme_42"}),
        )
        .await;
    assert_eq!(full.status, 201, "{}", full.body);
    let one = format!("{path}/{}", full.body["id"].as_str().unwrap());
    let read = app.get(&one, &t.key).await.body;
    assert_eq!(read["avatarUrl"], "https://cdn.example.com/a.png");
    assert_eq!(read["companyId"], "acme_42");
    for (field, bad) in [
        ("avatarUrl", "http://cdn.example.com/a.png"),
        ("companyId", "acme 42"),
    ] {
        let refused = app
            .post(
                &path,
                &t.key,
                json!({"email": "bad@example.com", field: bad}),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.body["errors"][0]["field"], field);
    }
    assert_eq!(
        page_ids(&app.get(&path, &t.key).await.body).len(),
        2,
        "nothing was written by the refused creates"
    );
}

async fn create(app: &TestApp, t: &crate::helpers::Tenant, body: Value) -> String {
    let res = app
        .post(&customers(t.brand_id.as_str()), &t.key, body)
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

/// The field of each item, in order.
fn column(items: &Value, field: &str) -> Vec<Value> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[field].clone())
        .collect()
}

#[tokio::test]
async fn lists_sort_by_name_or_email_either_way_and_cursors_keep_their_order() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let list = customers(t.brand_id.as_str());
    // Ids are time-ordered: a second apart, creation order is unambiguous.
    for body in [
        json!({"email": "zed@x.test", "name": "bob"}),
        json!({"email": "amy@x.test", "name": "Carol"}),
        json!({"email": "kim@x.test"}),
        json!({"email": "bea@x.test", "name": "Alice"}),
    ] {
        create(&app, &t, body).await;
        app.clock.advance(1);
    }

    app.take_ops();
    let by_name = app
        .get(&format!("{list}?sort=name&limit=100"), &t.key)
        .await;
    assert_eq!(by_name.status, 200, "{}", by_name.body);
    // Case is ignored; a nameless customer sorts first.
    assert_eq!(
        column(&by_name.body["data"], "name"),
        [json!(null), json!("Alice"), json!("bob"), json!("Carol")]
    );
    // The credential, the brand, one Query of the name index, one BatchGetItem.
    let (ops, writes) = app.take_ops();
    assert_eq!(
        ops.iter()
            .filter(|o| *o == "Query" || *o == "BatchGetItem")
            .count(),
        2,
        "{ops:?}"
    );
    assert_eq!(writes, 0, "{ops:?}");

    let desc = app
        .get(&format!("{list}?sort=email&order=desc"), &t.key)
        .await;
    assert_eq!(
        column(&desc.body["data"], "email"),
        ["zed@x.test", "kim@x.test", "bea@x.test", "amy@x.test"]
    );
    let newest_first = app.get(&format!("{list}?order=desc"), &t.key).await;
    assert_eq!(
        column(&newest_first.body["data"], "email"),
        ["bea@x.test", "kim@x.test", "amy@x.test", "zed@x.test"]
    );

    // Pages of two follow the same order; the cursor does not carry over to another one.
    let first = app
        .get(&format!("{list}?sort=name&order=desc&limit=2"), &t.key)
        .await;
    assert_eq!(column(&first.body["data"], "name"), ["Carol", "bob"]);
    let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("{list}?sort=name&order=desc&limit=2&cursor={cursor}"),
            &t.key,
        )
        .await;
    assert_eq!(
        column(&second.body["data"], "name"),
        [json!("Alice"), json!(null)]
    );
    assert_eq!(second.body["pagination"]["hasMore"], false);
    let crossed = app
        .get(
            &format!("{list}?sort=email&limit=2&cursor={cursor}"),
            &t.key,
        )
        .await;
    assert_eq!(crossed.status, 400, "{}", crossed.body);
    assert_eq!(crossed.body["code"], "invalid_cursor");

    for bad in ["sort=updatedAt", "order=up", "sort=", "order="] {
        let res = app.get(&format!("{list}?{bad}"), &t.key).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert_eq!(res.body["code"], "validation_error", "{bad}");
    }
}

#[tokio::test]
async fn search_finds_email_then_name_prefixes_ignoring_case_in_three_reads() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let search = format!("{}/search", customers(t.brand_id.as_str()));
    let jo = create(&app, &t, json!({"email": "jo@x.test", "name": "Zoe"})).await;
    let joan = create(&app, &t, json!({"email": "a@x.test", "name": "Joan Smith"})).await;
    let both = create(&app, &t, json!({"email": "john@x.test", "name": "John"})).await;
    create(&app, &t, json!({"email": "amy@x.test", "name": "Amy Jo"})).await;

    app.take_ops();
    let found = app.get(&format!("{search}?q=JO"), &t.key).await;
    assert_eq!(found.status, 200, "{}", found.body);
    // Email matches first (in email order), then names; each customer once.
    assert_eq!(
        column(&found.body, "id"),
        [json!(jo), json!(both), json!(joan)]
    );
    let (ops, writes) = app.take_ops();
    assert_eq!(
        (
            ops.iter().filter(|o| *o == "Query").count(),
            ops.iter().filter(|o| *o == "BatchGetItem").count(),
            writes
        ),
        (2, 1, 0),
        "{ops:?}"
    );
    let limited = app.get(&format!("{search}?q=jo&limit=1"), &t.key).await;
    assert_eq!(column(&limited.body, "id"), [json!(jo)]);
    let none = app.get(&format!("{search}?q=nobody"), &t.key).await;
    assert_eq!((none.status, none.body.clone()), (200, json!([])));

    let long = "x".repeat(101);
    for bad in [
        String::new(),
        "q=".into(),
        format!("q={long}"),
        "q=jo&limit=51".into(),
        "q=jo&limit=0".into(),
        "q=%01".into(),
    ] {
        let res = app.get(&format!("{search}?{bad}"), &t.key).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert_eq!(res.body["code"], "validation_error", "{bad}");
    }
}

#[tokio::test]
async fn an_update_changes_only_what_it_sends_and_moves_the_email_claim() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let list = customers(t.brand_id.as_str());
    let id = create(
        &app,
        &t,
        json!({"email": "old@x.test", "name": "Old", "companyId": "acme", "metadata": {"a": 1}}),
    )
    .await;
    create(&app, &t, json!({"email": "taken@x.test"})).await;
    let path = format!("{list}/{id}");

    let changed = app
        .patch(
            &path,
            &t.key,
            json!({"email": "New@X.test", "name": "Newer", "companyId": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["email"], "new@x.test");
    assert_eq!(changed.body["name"], "Newer");
    assert_eq!(changed.body["companyId"], Value::Null);
    assert_eq!(changed.body["metadata"], json!({"a": 1}));
    assert_eq!(app.get(&path, &t.key).await.body, changed.body);
    // The old address is free at once, the new one is claimed, and the name index moved.
    create(&app, &t, json!({"email": "old@x.test"})).await;
    let dup = app
        .post(&list, &t.key, json!({"email": "new@x.test"}))
        .await;
    assert_eq!(dup.body["code"], "customer_exists");
    let search = |q: &'static str| {
        let app = &app;
        let url = format!("{list}/search?q={q}");
        let key = t.key.clone();
        async move { column(&app.get(&url, &key).await.body, "id") }
    };
    assert_eq!(search("newer").await, [json!(id)]);
    assert!(search("old").await.iter().all(|c| c != &json!(id)));

    // Another customer's email: 409, nothing changed.
    let taken = app
        .patch(&path, &t.key, json!({"email": "taken@x.test", "name": "X"}))
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert_eq!(taken.body["code"], "customer_exists");
    assert_eq!(app.get(&path, &t.key).await.body, changed.body);

    // Every broken field is named; nothing is written.
    let bad = app
        .patch(
            &path,
            &t.key,
            json!({"email": "nope", "name": " ", "avatarUrl": "http://x.test/a.png",
                   "companyId": "a b", "metadata": [1]}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["avatarUrl", "companyId", "email", "metadata", "name"]
    );
    let unknown = app.patch(&path, &t.key, json!({"brandId": "br_x"})).await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(app.get(&path, &t.key).await.body, changed.body);

    // Nothing to change: no write, `updatedAt` kept.
    app.take_ops();
    let same = app
        .patch(
            &path,
            &t.key,
            json!({"name": "Newer", "email": "NEW@x.test"}),
        )
        .await;
    assert_eq!(same.body, changed.body);
    assert_eq!(app.take_ops().1, 0);
    // `null` clears the name (and leaves the email).
    let cleared = app
        .patch(&path, &t.key, json!({"name": null, "email": null}))
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["name"], Value::Null);
    assert_eq!(cleared.body["email"], "new@x.test");
}

#[tokio::test]
async fn a_deleted_customer_frees_its_email_and_the_stream_detaches_its_tickets() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Live).await;
    let b = t.brand_id.as_str();
    let token = crate::portal::token_for(&app, &t, "gone@x.test").await;
    let own = crate::portal::portal_ticket(&app, &token, "Mine").await;
    // A form post nobody signed: the same customer, but an unverified ticket.
    let form = app
        .post(
            &format!("/v1/brands/{b}/intake"),
            &t.key,
            json!({"name": "Site"}),
        )
        .await;
    let form_token = form.body["token"].as_str().unwrap();
    let posted = app
        .send_with_headers(
            "POST",
            &format!("/v1/forms/{form_token}"),
            &[("content-type".into(), "application/json".into())],
            Some(json!({"subject": "Claimed", "email": "gone@x.test"}).to_string()),
        )
        .await;
    assert_eq!(posted.status, 201, "{}", posted.body);
    let claimed = posted.body["ticketId"].as_str().unwrap().to_string();
    let other = create(&app, &t, json!({"email": "stays@x.test"})).await;
    let kept = app
        .post(
            &format!("/v1/brands/{b}/tickets"),
            &t.key,
            json!({"title": "Theirs", "customerEmail": "stays@x.test"}),
        )
        .await;
    assert_eq!(kept.status, 201, "{}", kept.body);

    let customer = app
        .get(&format!("/v1/brands/{b}/tickets/{own}"), &t.key)
        .await
        .body["customerId"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{}/{customer}", customers(b));
    let before = app.get(&path, &t.key).await.body;
    let deleted = app.delete(&path, &t.key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body, before);
    assert_eq!(app.get(&path, &t.key).await.status, 404);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    // The token outlives the customer, but can no longer open tickets for it.
    let late = app
        .post("/v1/portal/tickets", &token, json!({"title": "After"}))
        .await;
    assert_eq!(late.status, 404, "{}", late.body);

    // The stream hands the removal to the cleanup, which detaches both tickets.
    app.pump_until_idle().await;
    for id in [&own, &claimed] {
        let ticket = app
            .get(&format!("/v1/brands/{b}/tickets/{id}"), &t.key)
            .await;
        assert_eq!(ticket.status, 200, "{}", ticket.body);
        assert_eq!(ticket.body["customerId"], Value::Null, "{id}");
    }
    let theirs = app
        .get(
            &format!(
                "/v1/brands/{b}/tickets/{}",
                kept.body["id"].as_str().unwrap()
            ),
            &t.key,
        )
        .await;
    assert_eq!(theirs.body["customerId"], json!(other));
    let portal = app.get("/v1/portal/tickets", &token).await;
    assert_eq!(portal.body["data"], json!([]), "{}", portal.body);
    // The address is free: a new customer, who sees none of the old tickets.
    let again = crate::portal::token_for(&app, &t, "gone@x.test").await;
    let fresh = app.get("/v1/portal/tickets", &again).await;
    assert_eq!(fresh.body["data"], json!([]), "{}", fresh.body);
    // A second pass over the same records changes nothing.
    app.rewind_stream();
    app.pump_until_idle().await;
    let own_now = app
        .get(&format!("/v1/brands/{b}/tickets/{own}"), &t.key)
        .await;
    assert_eq!(own_now.body["customerId"], Value::Null);
}
