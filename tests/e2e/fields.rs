//! Custom field definitions: per entity, ordered, capped, described not enforced; owners
//! and admins write them, everyone reaching the brand reads them.

use crate::helpers::TestApp;
use dispatch_domain::Mode;
use serde_json::{Value, json};

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn definitions_are_created_ordered_changed_and_deleted_per_entity() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let fields = format!("/v1/brands/{}/fields", t.brand_id);
    let ticket = format!("{fields}/ticket");

    let plan = app
        .post(
            &ticket,
            &t.key,
            json!({"key": "plan", "label": "Plan", "type": "select", "options": ["free", "pro"],
                   "defaultValue": "free", "required": true, "description": "Billing plan"}),
        )
        .await;
    assert_eq!(plan.status, 201, "{}", plan.body);
    assert_eq!(
        plan.body,
        json!({"key": "plan", "label": "Plan", "type": "select", "required": true,
               "defaultValue": "free", "description": "Billing plan", "placeholder": null,
               "options": ["free", "pro"], "visible": true, "sortOrder": 0, "source": null,
               "createdAt": plan.body["createdAt"]})
    );
    // The next goes last; another entity has its own list and its own keys.
    let order = app
        .post(
            &ticket,
            &t.key,
            json!({"key": "orderId", "label": "Order", "type": "text"}),
        )
        .await;
    assert_eq!(order.body["sortOrder"], 1, "{}", order.body);
    let company = app
        .post(
            &format!("{fields}/company"),
            &t.key,
            json!({"key": "plan", "label": "Tier", "type": "number", "defaultValue": 3}),
        )
        .await;
    assert_eq!(company.status, 201, "{}", company.body);
    let dup = app
        .post(
            &ticket,
            &t.key,
            json!({"key": "plan", "label": "Again", "type": "text"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.body["code"].clone()),
        (409, json!("field_exists"))
    );

    app.take_ops();
    let all = app.get(&fields, &t.key).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(keys(&all.body["ticket"]), ["plan", "orderId"]);
    assert_eq!(keys(&all.body["company"]), ["plan"]);
    assert_eq!(all.body["customer"], json!([]));
    // The credential, the brand, one Query for all three lists.
    let (ops, _) = app.take_ops();
    assert_eq!(ops.iter().filter(|o| *o == "Query").count(), 1, "{ops:?}");

    let reordered = app
        .post(
            &format!("{ticket}/reorder"),
            &t.key,
            json!({"keys": ["orderId", "plan"]}),
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.body);
    assert_eq!(keys(&reordered.body), ["orderId", "plan"]);
    assert_eq!(
        keys(&app.get(&ticket, &t.key).await.body),
        ["orderId", "plan"]
    );
    for bad in [
        json!({"keys": ["plan"]}),
        json!({"keys": ["plan", "plan", "orderId"]}),
        json!({"keys": ["plan", "orderId", "nope"]}),
        json!({}),
    ] {
        let res = app
            .post(&format!("{ticket}/reorder"), &t.key, bad.clone())
            .await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }

    let path = format!("{ticket}/plan");
    let changed = app
        .patch(
            &path,
            &t.key,
            json!({"label": "Plan name", "options": ["free", "pro", "team"],
                                     "defaultValue": "team", "description": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            &changed.body["label"],
            &changed.body["defaultValue"],
            &changed.body["description"]
        ),
        (&json!("Plan name"), &json!("team"), &Value::Null)
    );
    // The default must still fit: dropping its option is refused, and nothing changes.
    let orphan = app.patch(&path, &t.key, json!({"options": ["free"]})).await;
    assert_eq!(orphan.status, 400, "{}", orphan.body);
    assert_eq!(orphan.error_fields(), ["defaultValue"]);
    for bad in [
        json!({"type": "text"}),
        json!({"key": "x"}),
        json!({"label": ""}),
        json!({"sortOrder": -1}),
    ] {
        let res = app.patch(&path, &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
    assert_eq!(app.get(&ticket, &t.key).await.body[1], changed.body);

    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    assert_eq!(keys(&app.get(&ticket, &t.key).await.body), ["orderId"]);
    // The key is free again.
    let again = app
        .post(
            &ticket,
            &t.key,
            json!({"key": "plan", "label": "Plan", "type": "boolean"}),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        app.get(&format!("{fields}/people"), &t.key).await.status,
        404
    );
}

#[tokio::test]
async fn bad_definitions_name_every_field_and_write_nothing_and_fifty_is_the_cap() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = format!("/v1/brands/{}/fields/ticket", t.brand_id);
    for (bad, fields) in [
        (json!({}), vec!["key", "label", "type"]),
        (
            json!({"key": "1x", "label": " ", "type": "colour"}),
            vec!["key", "label", "type"],
        ),
        (
            json!({"key": "a", "label": "A", "type": "select"}),
            vec!["options"],
        ),
        (
            json!({"key": "a", "label": "A", "type": "text", "options": ["x"]}),
            vec!["options"],
        ),
        (
            json!({"key": "a", "label": "A", "type": "date", "defaultValue": "2023-02-30"}),
            vec!["defaultValue"],
        ),
        (
            json!({"key": "a", "label": "A", "type": "url", "defaultValue": "ftp://x.test"}),
            vec!["defaultValue"],
        ),
        (
            json!({"key": "a", "label": "A", "type": "text", "sortOrder": 10001}),
            vec!["sortOrder"],
        ),
    ] {
        let res = app.post(&ticket, &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        let mut got = res.error_fields();
        got.sort();
        assert_eq!(got, fields, "{bad}");
    }
    assert_eq!(app.get(&ticket, &t.key).await.body, json!([]));

    for i in 0..50 {
        let res = app
            .post(
                &ticket,
                &t.key,
                json!({"key": format!("f{i}"), "label": "F", "type": "text"}),
            )
            .await;
        assert_eq!(res.status, 201, "{i}: {}", res.body);
    }
    let over = app
        .post(
            &ticket,
            &t.key,
            json!({"key": "f50", "label": "F", "type": "text"}),
        )
        .await;
    assert_eq!(
        (over.status, over.body["code"].clone()),
        (409, json!("field_limit_reached"))
    );
    // Another entity has its own fifty.
    let customer = format!("/v1/brands/{}/fields/customer", t.brand_id);
    assert_eq!(
        app.post(
            &customer,
            &t.key,
            json!({"key": "f50", "label": "F", "type": "text"})
        )
        .await
        .status,
        201
    );
    // A delete frees a place.
    assert_eq!(
        app.delete(&format!("{ticket}/f0"), &t.key).await.status,
        204
    );
    assert_eq!(
        app.post(
            &ticket,
            &t.key,
            json!({"key": "f50", "label": "F", "type": "text"})
        )
        .await
        .status,
        201
    );
}
