use crate::helpers::TestApp;
use dispatch_domain::{Clock, Mode};
use serde_json::{Value, json};

#[tokio::test]
async fn brand_lifecycle_create_get_list_update_delete() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let created = app
        .post(
            "/v1/brands",
            &tenant.key,
            json!({
                "name": "Acme Billing",
                "ticketPrefix": "BILL",
                "ticketNumberStart": 5000,
                "metadata": {"tier": "gold"},
                "portalOrigins": ["https://help.acme.test"]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let b = &created.body;
    let id = b["id"].as_str().unwrap();
    assert!(id.starts_with("br_"));
    assert_eq!(b["slug"], "acme-billing");
    assert_eq!(b["ticketPrefix"], "BILL");
    assert_eq!(b["nextTicketNumber"], 5000);
    assert_eq!(b["metadata"], json!({"tier": "gold"}));
    assert_eq!(b["portalOrigins"], json!(["https://help.acme.test"]));
    assert_eq!(b["accountId"], tenant.org_id.as_str());

    let got = app.get(&format!("/v1/brands/{id}"), &tenant.key).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.body, b);

    let list = app.get("/v1/brands", &tenant.key).await;
    assert!(list.body.is_array(), "a bare array, as the SDK expects");
    assert_eq!(list.body.as_array().unwrap().len(), 2);

    let updated = app
        .patch(
            &format!("/v1/brands/{id}"),
            &tenant.key,
            json!({"name": "Acme Invoices", "slug": "invoices", "portalOrigins": []}),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["name"], "Acme Invoices");
    assert_eq!(updated.body["slug"], "invoices");
    assert_eq!(
        updated.body["ticketPrefix"], "BILL",
        "fields not sent stay as they were"
    );
    assert_eq!(updated.body["portalOrigins"], json!([]));
    assert_eq!(
        app.get(&format!("/v1/brands/{id}"), &tenant.key).await.body,
        updated.body
    );

    let preview = app.delete(&format!("/v1/brands/{id}"), &tenant.key).await;
    assert_eq!(preview.status, 200);
    assert_eq!(
        preview.body,
        json!({"ticketCount": 0, "webhookCount": 0, "categoryCount": 0, "tagCount": 0})
    );
    // What it holds, counted: two categories (one deleted again) and a webhook.
    for name in ["One", "Two"] {
        let c = app
            .post(
                &format!("/v1/brands/{id}/categories"),
                &tenant.key,
                json!({"name": name}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        if name == "Two" {
            let gone = app
                .delete(
                    &format!(
                        "/v1/brands/{id}/categories/{}",
                        c.body["id"].as_str().unwrap()
                    ),
                    &tenant.key,
                )
                .await;
            assert_eq!(gone.status, 204);
        }
    }
    let hook = app
        .post(
            &format!("/v1/brands/{id}/webhooks"),
            &tenant.key,
            json!({"url": "https://203.0.113.8/hook", "events": ["ticket.created"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let preview = app.delete(&format!("/v1/brands/{id}"), &tenant.key).await;
    assert_eq!(
        (
            preview.body["categoryCount"].clone(),
            preview.body["webhookCount"].clone()
        ),
        (json!(1), json!(1)),
        "{}",
        preview.body
    );
    assert_eq!(
        app.get(&format!("/v1/brands/{id}"), &tenant.key)
            .await
            .status,
        200,
        "a preview deletes nothing"
    );

    let deleted = app
        .delete(&format!("/v1/brands/{id}?confirm=true"), &tenant.key)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        app.get(&format!("/v1/brands/{id}"), &tenant.key)
            .await
            .status,
        404
    );

    // The slug is free again.
    let again = app
        .post(
            "/v1/brands",
            &tenant.key,
            json!({"name": "Again", "slug": "invoices"}),
        )
        .await;
    assert_eq!(again.status, 201);
}

#[tokio::test]
async fn slugs_are_unique_per_organization_and_mode() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    // The bootstrap brand is "Acme Support" → "acme-support".
    let dup = app
        .post("/v1/brands", &tenant.key, json!({"name": "Acme Support"}))
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "slug_taken");

    let other = app.create_brand(&tenant.key, "Other").await;
    let rename = app
        .patch(
            &format!("/v1/brands/{other}"),
            &tenant.key,
            json!({"slug": "acme-support"}),
        )
        .await;
    assert_eq!(rename.status, 409);
    assert_eq!(
        app.get(&format!("/v1/brands/{other}"), &tenant.key)
            .await
            .body["slug"],
        "other",
        "nothing changed"
    );

    // Same slug in the other mode of the same org, and in another org: fine.
    let live = app.key_in_mode(&tenant, Mode::Live).await;
    assert_eq!(
        app.post("/v1/brands", &live, json!({"name": "Acme Support"}))
            .await
            .status,
        201
    );
    let stranger = app.tenant(Mode::Test).await;
    assert_eq!(
        app.post("/v1/brands", &stranger.key, json!({"name": "Other"}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn another_organizations_or_modes_brand_is_404_for_every_route() {
    let app = TestApp::new().await;
    let owner = app.tenant(Mode::Test).await;
    let stranger = app.tenant(Mode::Test).await;
    let live_same_org = app.key_in_mode(&owner, Mode::Live).await;
    let brand = owner.brand_id.as_str();
    for key in [stranger.key.as_str(), live_same_org.as_str()] {
        assert_eq!(
            app.get(&format!("/v1/brands/{brand}"), key).await.status,
            404
        );
        assert_eq!(
            app.patch(
                &format!("/v1/brands/{brand}"),
                key,
                json!({"name": "pwned"})
            )
            .await
            .status,
            404
        );
        assert_eq!(
            app.delete(&format!("/v1/brands/{brand}"), key).await.status,
            404
        );
        assert_eq!(
            app.delete(&format!("/v1/brands/{brand}?confirm=true"), key)
                .await
                .status,
            404
        );
        let list = app.get("/v1/brands", key).await;
        assert!(!list.body.to_string().contains(brand));
    }
    let still = app.get(&format!("/v1/brands/{brand}"), &owner.key).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.body["name"], "Acme Support");
}

#[tokio::test]
async fn test_mode_data_is_invisible_to_live_keys_of_the_same_org() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let live = app.key_in_mode(&tenant, Mode::Live).await;
    assert_eq!(app.get("/v1/brands", &live).await.body, json!([]));
    let live_brand = app.create_brand(&live, "Live Only").await;
    let test_list = app.get("/v1/brands", &tenant.key).await;
    assert!(!test_list.body.to_string().contains(&live_brand));
}

#[tokio::test]
async fn malformed_brand_ids_are_404_without_a_table_read() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    app.get("/v1/accounts/me", &tenant.key).await;
    app.take_ops();
    for bad in [
        "nope",
        "br_",
        "br_zzzzzzzzzzzzzzzzzzzzzzzzzz",
        "org_00000000000000000000000000",
    ] {
        let res = app.get(&format!("/v1/brands/{bad}"), &tenant.key).await;
        assert_eq!(res.status, 404, "{bad}");
        assert_eq!(res.body["code"], "not_found");
        assert_eq!(
            app.take_ops().0,
            ["GetItem"],
            "{bad}: only the credential was read"
        );
    }
}

#[tokio::test]
async fn invalid_brand_input_is_400_and_writes_nothing() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let before = app.get("/v1/brands", &tenant.key).await.body;
    let cases = [
        (json!({}), vec!["name"]),
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"name": "A", "slug": "Not A Slug"}), vec!["slug"]),
        (
            json!({"name": "A", "ticketPrefix": "lower"}),
            vec!["ticketPrefix"],
        ),
        (
            json!({"name": "A", "ticketNumberStart": 0}),
            vec!["ticketNumberStart"],
        ),
        (
            json!({"name": "A", "ticketNumberStart": "1"}),
            vec!["ticketNumberStart"],
        ),
        (json!({"name": "A", "metadata": [1]}), vec!["metadata"]),
        (
            json!({"name": "A", "portalOrigins": ["http://evil.test"]}),
            vec!["portalOrigins"],
        ),
        (
            json!({"name": "A", "portalOrigins": ["*"]}),
            vec!["portalOrigins"],
        ),
        (
            json!({"name": "A", "nextTicketNumber": 1}),
            vec!["nextTicketNumber"],
        ),
        (
            json!({"name": "", "slug": "-", "ticketPrefix": "x"}),
            vec!["name", "slug", "ticketPrefix"],
        ),
    ];
    for (body, fields) in cases {
        let res = app.post("/v1/brands", &tenant.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {:?}", res.body);
        assert_eq!(res.error_fields(), fields, "{body}");
    }
    let brand = format!("/v1/brands/{}", tenant.brand_id);
    for body in [
        json!({"name": ""}),
        json!({"id": "br_x"}),
        json!({"ticketNumberStart": 5}),
    ] {
        let res = app.patch(&brand, &tenant.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
    }
    let bad_confirm = app
        .delete(&format!("{brand}?confirm=yes"), &tenant.key)
        .await;
    assert_eq!(bad_confirm.status, 400);
    assert_eq!(
        app.get("/v1/brands", &tenant.key).await.body,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let huge = json!({"name": "A", "metadata": {"blob": "x".repeat(300 * 1024)}}).to_string();
    let res = app
        .send("POST", "/v1/brands", Some(&tenant.key), Some(huge))
        .await;
    assert_eq!(res.status, 413);
    assert_eq!(res.body["code"], "payload_too_large");
}

#[tokio::test]
async fn oversized_bodies_are_413_on_every_route_before_any_lookup() {
    let app = TestApp::new().await;
    let owner = app.tenant(Mode::Test).await;
    let stranger = app.tenant(Mode::Test).await;
    let huge = "x".repeat(257 * 1024);
    app.take_ops();
    let patch = app
        .send(
            "PATCH",
            &format!("/v1/brands/{}", owner.brand_id),
            Some(&stranger.key),
            Some(huge.clone()),
        )
        .await;
    assert_eq!(patch.status, 413, "not 404: the size is checked first");
    let unauthenticated = app
        .send("POST", "/v1/auth/magic-link", None, Some(huge))
        .await;
    assert_eq!(unauthenticated.status, 413);
    assert_eq!(app.take_ops().0, Vec::<String>::new(), "nothing was read");
}

#[tokio::test]
async fn an_empty_patch_changes_nothing_and_writes_nothing() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let path = format!("/v1/brands/{}", tenant.brand_id);
    let before = app.get(&path, &tenant.key).await.body;
    app.clock.advance(5);
    app.take_ops();
    let res = app.patch(&path, &tenant.key, json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, before, "updatedAt did not move");
    assert_eq!(app.take_ops().1, 0);
}

#[tokio::test]
async fn a_rename_based_on_a_stale_read_fails_and_leaks_no_slug() {
    use dispatch_domain::brand::Slug;
    use dispatch_store::{BrandPatch, BrandStore};
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let org = tenant.org_id.clone();
    let stale = app
        .ctx
        .store
        .brand(&org, Mode::Test, &tenant.brand_id)
        .await
        .unwrap()
        .unwrap();
    // Someone renames it first.
    let first = app
        .patch(
            &format!("/v1/brands/{}", tenant.brand_id),
            &tenant.key,
            json!({"slug": "first"}),
        )
        .await;
    assert_eq!(first.status, 200);
    // A write based on the older read must not release "first" nor claim "second".
    let patch = BrandPatch {
        slug: Some(Slug::parse("second").unwrap()),
        ..BrandPatch::default()
    };
    let result = app
        .ctx
        .store
        .update_brand(Mode::Test, &stale, &patch, app.clock.now())
        .await;
    assert!(
        matches!(result, Err(dispatch_store::StoreError::NotFound)),
        "{result:?}"
    );
    assert_eq!(
        app.post(
            "/v1/brands",
            &tenant.key,
            json!({"name": "X", "slug": "second"})
        )
        .await
        .status,
        201,
        "second is free"
    );
    assert_eq!(
        app.post(
            "/v1/brands",
            &tenant.key,
            json!({"name": "Y", "slug": "first"})
        )
        .await
        .status,
        409,
        "first is still held"
    );
    let delete = app.ctx.store.delete_brand(Mode::Test, &stale).await;
    assert!(
        delete.is_err(),
        "a delete based on the stale read is refused too"
    );
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), &tenant.key)
            .await
            .body["slug"],
        "first"
    );
}

#[tokio::test]
async fn brand_creates_honor_idempotency_keys() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {}", t.key)),
        ("content-type".to_string(), "application/json".to_string()),
        ("x-idempotency-key".to_string(), "brand-1".to_string()),
    ];
    let body = json!({"name": "Billing"}).to_string();
    let first = app
        .send_with_headers("POST", "/v1/brands", &headers, Some(body.clone()))
        .await;
    let retry = app
        .send_with_headers("POST", "/v1/brands", &headers, Some(body))
        .await;
    assert_eq!(
        (first.status, retry.status),
        (201, 201),
        "the retry replays instead of answering 409 slug_taken"
    );
    assert_eq!(first.body, retry.body);
    assert_eq!(
        app.get("/v1/brands", &t.key)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// The ticket schema is the brand's `ticketSchema` under a path of its own: `{}` until set,
/// replaced whole by PUT, checked with the metadata limits, and a PUT of what is stored
/// writes nothing.
#[tokio::test]
async fn the_ticket_schema_reads_and_replaces_the_brands_ticket_schema() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let schema = format!("/v1/brands/{}/schema", t.brand_id);
    let empty = app.get(&schema, &t.key).await;
    assert_eq!((empty.status, empty.body.clone()), (200, json!({})));

    let wanted = json!({"fields": [{"key": "orderId", "type": "text"}]});
    let put = app
        .send("PUT", &schema, Some(&t.key), Some(wanted.to_string()))
        .await;
    assert_eq!((put.status, put.body.clone()), (200, wanted.clone()));
    assert_eq!(app.get(&schema, &t.key).await.body, wanted);
    let brand = app.get(&format!("/v1/brands/{}", t.brand_id), &t.key).await;
    assert_eq!(brand.body["ticketSchema"], wanted);

    app.take_ops();
    let again = app
        .send("PUT", &schema, Some(&t.key), Some(wanted.to_string()))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(app.take_ops().1, 0, "the same schema again writes nothing");

    let too_many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let refused = app
        .send(
            "PUT",
            &schema,
            Some(&t.key),
            Some(Value::Object(too_many).to_string()),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["field"], "schema");
    let no_body = app.send("PUT", &schema, Some(&t.key), None).await;
    assert_eq!(no_body.status, 400, "{}", no_body.body);
    assert_eq!(no_body.body["code"], "invalid_json");
    let not_object = app
        .send("PUT", &schema, Some(&t.key), Some("[1]".into()))
        .await;
    assert_eq!(not_object.status, 400);
    assert_eq!(not_object.body["code"], "invalid_json");
    assert_eq!(
        app.get(&schema, &t.key).await.body,
        wanted,
        "nothing changed"
    );
}

/// The profile and email settings: stored on create and PATCH, `""` clears, `null` leaves,
/// every rule refuses with nothing written, and `inboundEmailEnabled` is read-only.
#[tokio::test]
async fn the_brand_profile_is_set_cleared_and_checked() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let created = app
        .post(
            "/v1/brands",
            &t.key,
            json!({
                "name": "Profiled",
                "url": "https://acme.example",
                "fromName": "  Acme Support ",
                "fromEmail": "Help@Acme.example",
                "autoresponseEnabled": true,
                "autoresponseSubject": "We got it",
                "autoresponseBody": "Ticket {{ticketNumber}}: {{title}}\nThanks!"
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let b = &created.body;
    assert_eq!(b["url"], "https://acme.example");
    assert_eq!(b["iconUrl"], Value::Null, "present, null when unset");
    assert_eq!(b["fromName"], "Acme Support");
    assert_eq!(b["fromEmail"], "help@acme.example");
    assert_eq!(b["autoresponseEnabled"], true);
    // The suite's functions are configured with an inbound domain, as a stack with
    // `InboundDomain` is.
    assert_eq!(b["inboundEmailEnabled"], true);
    let one = format!("/v1/brands/{}", b["id"].as_str().unwrap());
    assert_eq!(app.get(&one, &t.key).await.body, created.body, "as stored");

    let patched = app
        .patch(
            &one,
            &t.key,
            json!({"url": "", "iconUrl": "https://cdn.acme.example/i.png", "fromName": null,
                   "autoresponseEnabled": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["url"], Value::Null, "\"\" clears");
    assert_eq!(patched.body["iconUrl"], "https://cdn.acme.example/i.png");
    assert_eq!(patched.body["fromName"], "Acme Support", "null leaves it");
    assert_eq!(patched.body["autoresponseEnabled"], false);
    assert_eq!(app.get(&one, &t.key).await.body, patched.body);

    for (field, bad) in [
        ("url", json!("http://acme.example")),
        ("iconUrl", json!("https://user:pw@acme.example/i.png")),
        ("fromName", json!("   ")),
        ("fromEmail", json!("not an address")),
        ("autoresponseSubject", json!("x".repeat(201))),
        ("autoresponseBody", json!("a\u{0}b")),
        ("inboundEmailEnabled", json!(true)),
    ] {
        let refused = app.patch(&one, &t.key, json!({ field: bad })).await;
        assert_eq!(refused.status, 400, "{field}: {}", refused.body);
        assert_eq!(
            refused.body["errors"][0]["field"], field,
            "{}",
            refused.body
        );
    }
    assert_eq!(
        app.get(&one, &t.key).await.body,
        patched.body,
        "nothing changed"
    );
}
