//! Ticket categories: named (unique ignoring case), coloured, ordered, capped, each
//! counting its live tickets in the tickets' own transactions; a delete leaves its tickets
//! uncategorized through the stream.

use crate::helpers::{TestApp, TestResponse};
use dispatch_domain::Mode;
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn created(res: &TestResponse) -> String {
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn categories_are_created_listed_reordered_renamed_and_deleted() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let cats = format!("/v1/brands/{}/categories", t.brand_id);

    let billing = app.post(&cats, &t.key, json!({"name": "Billing"})).await;
    let billing_id = created(&billing);
    assert!(billing_id.starts_with("cat_"), "{billing_id}");
    assert_eq!(
        billing.body,
        json!({"id": billing_id, "brandId": t.brand_id.as_str(), "name": "Billing",
               "color": "#6b7280", "description": null, "sortOrder": 0, "ticketCount": 0,
               "createdAt": billing.body["createdAt"], "updatedAt": billing.body["createdAt"]})
    );
    // One name per brand, ignoring case; the next goes last.
    let again = app.post(&cats, &t.key, json!({"name": " BILLING"})).await;
    assert_eq!(
        (again.status, again.body["code"].clone()),
        (409, json!("category_exists"))
    );
    let shipping = app
        .post(
            &cats,
            &t.key,
            json!({"name": "Shipping", "color": "#2563EB", "description": "Parcels"}),
        )
        .await;
    let shipping_id = created(&shipping);
    assert_eq!(
        (
            shipping.body["sortOrder"].clone(),
            shipping.body["color"].clone()
        ),
        (json!(1), json!("#2563eb"))
    );

    // Bad input is refused field by field, and writes nothing.
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(51)}), "name"),
        (json!({"name": "Ok", "color": "#fff"}), "color"),
        (json!({"name": "Ok", "color": "red"}), "color"),
        (
            json!({"name": "Ok", "description": "d".repeat(501)}),
            "description",
        ),
        (json!({"name": "Ok", "sortOrder": -1}), "sortOrder"),
        (json!({"name": "Ok", "icon": "x"}), "icon"),
    ] {
        let res = app.post(&cats, &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{body}: {}",
            res.body
        );
    }

    app.take_ops();
    let list = app.get(&cats, &t.key).await;
    assert_eq!(ids(&list.body), [billing_id.clone(), shipping_id.clone()]);
    let (ops, writes) = app.take_ops();
    assert_eq!(ops.iter().filter(|o| *o == "Query").count(), 1, "{ops:?}");
    assert_eq!(writes, 0, "{ops:?}");

    let reordered = app
        .post(
            &format!("{cats}/reorder"),
            &t.key,
            json!({"categoryIds": [shipping_id, billing_id]}),
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.body);
    assert_eq!(
        ids(&reordered.body),
        [shipping_id.clone(), billing_id.clone()]
    );
    assert_eq!(reordered.body[1]["sortOrder"], 1);
    assert_eq!(
        ids(&app.get(&cats, &t.key).await.body),
        [shipping_id.clone(), billing_id.clone()]
    );
    for (body, why) in [
        (json!({"categoryIds": [shipping_id]}), "one missing"),
        (
            json!({"categoryIds": [shipping_id, billing_id, billing_id]}),
            "one twice",
        ),
        (
            json!({"categoryIds": [shipping_id, "cat_nope"]}),
            "a stranger",
        ),
        (json!({}), "none"),
    ] {
        let res = app.post(&format!("{cats}/reorder"), &t.key, body).await;
        assert_eq!(res.status, 400, "{why}: {}", res.body);
    }

    // A rename frees the old name; a change of case keeps its own.
    let path = format!("{cats}/{billing_id}");
    let renamed = app
        .patch(
            &path,
            &t.key,
            json!({"name": "Payments", "description": "Money"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(
        (
            renamed.body["name"].clone(),
            renamed.body["description"].clone()
        ),
        (json!("Payments"), json!("Money"))
    );
    let taken = app.patch(&path, &t.key, json!({"name": "shipping"})).await;
    assert_eq!(
        (taken.status, taken.body["code"].clone()),
        (409, json!("category_exists"))
    );
    let cased = app
        .patch(
            &path,
            &t.key,
            json!({"name": "PAYMENTS", "description": null}),
        )
        .await;
    assert_eq!(cased.status, 200, "{}", cased.body);
    assert_eq!(cased.body["description"], Value::Null);
    assert_eq!(app.get(&path, &t.key).await.body, cased.body);
    created(&app.post(&cats, &t.key, json!({"name": "billing"})).await);
    let bad = app.patch(&path, &t.key, json!({"color": "blue"})).await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    assert_eq!(app.get(&path, &t.key).await.status, 404);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    // Its name is free again.
    created(&app.post(&cats, &t.key, json!({"name": "Payments"})).await);
}

#[tokio::test]
async fn a_brand_has_at_most_a_hundred_categories() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let cats = format!("/v1/brands/{}/categories", t.brand_id);
    let mut first = String::new();
    for i in 0..100 {
        let id = created(
            &app.post(
                &cats,
                &t.key,
                json!({"name": format!("C{i}"), "sortOrder": 0}),
            )
            .await,
        );
        if i == 0 {
            first = id;
        }
    }
    let over = app.post(&cats, &t.key, json!({"name": "One more"})).await;
    assert_eq!(
        (over.status, over.body["code"].clone()),
        (409, json!("category_limit_reached"))
    );
    assert_eq!(
        app.get(&cats, &t.key).await.body.as_array().unwrap().len(),
        100
    );
    // A delete makes room.
    assert_eq!(
        app.delete(&format!("{cats}/{first}"), &t.key).await.status,
        204
    );
    created(&app.post(&cats, &t.key, json!({"name": "One more"})).await);
}

#[tokio::test]
async fn ticket_counts_follow_tickets_into_and_out_of_categories() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Live).await;
    let b = format!("/v1/brands/{}", t.brand_id);
    let cats = format!("{b}/categories");
    let a = created(&app.post(&cats, &t.key, json!({"name": "A"})).await);
    let c = created(&app.post(&cats, &t.key, json!({"name": "C"})).await);
    let counts = || async {
        let stats = app.get(&format!("{cats}/stats"), &t.key).await;
        assert_eq!(stats.status, 200, "{}", stats.body);
        (
            stats.body[&a]["ticketCount"].as_u64().unwrap(),
            stats.body[&c]["ticketCount"].as_u64().unwrap(),
        )
    };
    let ticket = |title: &'static str, category: Option<&str>| {
        let cats = category.map(str::to_string);
        let b = b.clone();
        let key = t.key.clone();
        let app = &app;
        async move {
            let mut body = json!({"title": title});
            if let Some(c) = cats {
                body["categoryId"] = json!(c);
            }
            created(&app.post(&format!("{b}/tickets"), &key, body).await)
        }
    };

    let one = ticket("One", Some(&a)).await;
    let two = ticket("Two", Some(&a)).await;
    let three = ticket("Three", None).await;
    assert_eq!(counts().await, (2, 0));
    let read = app.get(&format!("{b}/tickets/{one}"), &t.key).await;
    assert_eq!(read.body["categoryId"], json!(a));

    // Another brand's category, or none at all, is refused and writes nothing.
    let other_brand = app.create_brand(&t.key, "Other").await;
    let foreign = created(
        &app.post(
            &format!("/v1/brands/{other_brand}/categories"),
            &t.key,
            json!({"name": "A"}),
        )
        .await,
    );
    for bad in [foreign.as_str(), "cat_nope", "A"] {
        let res = app
            .post(
                &format!("{b}/tickets"),
                &t.key,
                json!({"title": "Refused", "categoryId": bad}),
            )
            .await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert_eq!(res.error_fields(), ["categoryId"], "{}", res.body);
        let patched = app
            .patch(
                &format!("{b}/tickets/{three}"),
                &t.key,
                json!({"categoryId": bad}),
            )
            .await;
        assert_eq!(patched.status, 400, "{bad}: {}", patched.body);
    }
    assert_eq!(counts().await, (2, 0));

    // A move counts out of one and into the other, in one transaction.
    let moved = app
        .patch(
            &format!("{b}/tickets/{one}"),
            &t.key,
            json!({"categoryId": c}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["categoryId"], json!(c));
    assert_eq!(counts().await, (1, 1));
    // The same category again is no move; `null` uncategorizes.
    let same = app
        .patch(
            &format!("{b}/tickets/{one}"),
            &t.key,
            json!({"categoryId": c, "title": "Uno"}),
        )
        .await;
    assert_eq!(
        (same.status, same.body["title"].clone()),
        (200, json!("Uno"))
    );
    assert_eq!(counts().await, (1, 1));
    let cleared = app
        .patch(
            &format!("{b}/tickets/{one}"),
            &t.key,
            json!({"categoryId": null}),
        )
        .await;
    assert_eq!(cleared.body["categoryId"], Value::Null, "{}", cleared.body);
    assert_eq!(counts().await, (1, 0));

    // Bulk: each ticket moves on its own; one already there is not counted as changed.
    let bulk = app
        .post(
            &format!("{b}/tickets/bulk"),
            &t.key,
            json!({"action": "setCategory", "ticketIds": [one, two, three], "categoryId": a}),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    assert_eq!(bulk.body["count"], 2);
    assert_eq!(counts().await, (3, 0));
    let filtered = app
        .get(&format!("{b}/tickets?categoryId={a}"), &t.key)
        .await;
    assert_eq!(
        filtered.body["data"].as_array().unwrap().len(),
        3,
        "{}",
        filtered.body
    );
    let none = app
        .get(&format!("{b}/tickets?categoryId={c}"), &t.key)
        .await;
    assert_eq!(none.body["data"], json!([]), "{}", none.body);
    let malformed = app.get(&format!("{b}/tickets?categoryId=A"), &t.key).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);

    // A deleted ticket leaves the count (alone and in bulk).
    let deleted = app.delete(&format!("{b}/tickets/{two}"), &t.key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(counts().await, (2, 0));
    let bulk = app
        .post(
            &format!("{b}/tickets/bulk"),
            &t.key,
            json!({"action": "delete", "ticketIds": [three]}),
        )
        .await;
    assert_eq!(bulk.body["count"], 1, "{}", bulk.body);
    assert_eq!(counts().await, (1, 0));

    // A deleted category: no ticket can join it; its tickets can still leave it (nothing
    // left to count down) before the stream clears them.
    let four = ticket("Four", Some(&a)).await;
    assert_eq!(app.delete(&format!("{cats}/{a}"), &t.key).await.status, 204);
    let late = app
        .post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "Late", "categoryId": a}),
        )
        .await;
    assert_eq!(late.status, 400, "{}", late.body);
    let left = app
        .patch(
            &format!("{b}/tickets/{four}"),
            &t.key,
            json!({"categoryId": c}),
        )
        .await;
    assert_eq!(left.status, 200, "{}", left.body);
    assert_eq!(
        app.get(&format!("{cats}/stats"), &t.key).await.body,
        json!({&c: {"ticketCount": 1}})
    );
    assert_eq!(
        app.get(&format!("{b}/tickets/{one}"), &t.key).await.body["categoryId"],
        json!(a)
    );
    app.pump_until_idle().await;
    let one_now = app.get(&format!("{b}/tickets/{one}"), &t.key).await;
    assert_eq!(one_now.body["categoryId"], Value::Null, "{}", one_now.body);
    let four_now = app.get(&format!("{b}/tickets/{four}"), &t.key).await;
    assert_eq!(four_now.body["categoryId"], json!(c));
}

#[tokio::test]
async fn a_categorized_create_costs_one_read_and_one_transaction() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let b = format!("/v1/brands/{}", t.brand_id);
    let c = created(
        &app.post(&format!("{b}/categories"), &t.key, json!({"name": "Ops"}))
            .await,
    );
    let plain = app
        .post(&format!("{b}/tickets"), &t.key, json!({"title": "Plain"}))
        .await;
    assert_eq!(plain.status, 201);
    app.take_ops();
    app.post(&format!("{b}/tickets"), &t.key, json!({"title": "Plain"}))
        .await;
    let (baseline, _) = app.take_ops();
    let res = app
        .post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "Categorized", "categoryId": c}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let (ops, _) = app.take_ops();
    // The category's check (brand and category in one BatchGetItem), nothing else: the
    // count moves inside the ticket's own transaction.
    let mut expected = baseline.clone();
    expected.push("BatchGetItem".into());
    let (mut got, mut want) = (ops.clone(), expected);
    got.sort();
    want.sort();
    assert_eq!(got, want, "plain: {baseline:?}, categorized: {ops:?}");
}
