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
