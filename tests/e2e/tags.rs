//! Tags: named (unique ignoring case), coloured, capped; tickets keep names, spelt as their
//! tags spell them, and a new name creates its tag; a rename, a merge or a delete is
//! written on the brand's tickets by the stream.

use crate::helpers::{TestApp, TestResponse};
use dispatch_domain::Mode;
use serde_json::{Value, json};

fn created(res: &TestResponse) -> String {
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tags_are_created_listed_by_name_renamed_and_deleted() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let tags = format!("/v1/brands/{}/tags", t.brand_id);
    let vip = app.post(&tags, &t.key, json!({"name": "vip"})).await;
    let vip_id = created(&vip);
    assert!(vip_id.starts_with("tag_"), "{vip_id}");
    assert_eq!(
        vip.body,
        json!({"id": vip_id, "brandId": t.brand_id.as_str(), "name": "vip",
               "color": "#6b7280", "createdAt": vip.body["createdAt"]})
    );
    created(
        &app.post(
            &tags,
            &t.key,
            json!({"name": "Billing", "color": "#2563EB"}),
        )
        .await,
    );
    let dup = app.post(&tags, &t.key, json!({"name": "VIP"})).await;
    assert_eq!(
        (dup.status, dup.body["code"].clone()),
        (409, json!("tag_exists"))
    );
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(51)}), "name"),
        (json!({"name": "ok", "color": "blue"}), "color"),
        (json!({"name": "ok", "icon": "x"}), "icon"),
    ] {
        let res = app.post(&tags, &t.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{}",
            res.body
        );
    }
    app.take_ops();
    assert_eq!(
        names(&app.get(&tags, &t.key).await.body),
        ["Billing", "vip"]
    );
    let (ops, writes) = app.take_ops();
    assert_eq!(
        (ops.iter().filter(|o| *o == "Query").count(), writes),
        (1, 0),
        "{ops:?}"
    );

    let path = format!("{tags}/{vip_id}");
    let renamed = app
        .patch(&path, &t.key, json!({"name": "VIP", "color": "#eab308"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(
        (renamed.body["name"].clone(), renamed.body["color"].clone()),
        (json!("VIP"), json!("#eab308"))
    );
    let taken = app.patch(&path, &t.key, json!({"name": "billing"})).await;
    assert_eq!(
        (taken.status, taken.body["code"].clone()),
        (409, json!("tag_exists"))
    );
    assert_eq!(app.delete(&path, &t.key).await.status, 204);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    assert_eq!(
        app.patch(&path, &t.key, json!({"name": "x"})).await.status,
        404
    );
    created(&app.post(&tags, &t.key, json!({"name": "vip"})).await);
}

#[tokio::test]
async fn ticket_names_follow_their_tags_through_renames_merges_and_deletes() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Live).await;
    let b = format!("/v1/brands/{}", t.brand_id);
    let tags = format!("{b}/tags");
    let vip = created(&app.post(&tags, &t.key, json!({"name": "VIP"})).await);
    // Tickets spell names as the tags do; a new name creates its tag.
    let one = app
        .post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "One", "tags": ["vip", "refund", "Refund"]}),
        )
        .await;
    assert_eq!(one.status, 201, "{}", one.body);
    assert_eq!(one.body["tags"], json!(["VIP", "refund"]));
    let one = one.body["id"].as_str().unwrap().to_string();
    let listed = app.get(&tags, &t.key).await.body;
    assert_eq!(names(&listed), ["refund", "VIP"]);
    let refund = listed[0]["id"].as_str().unwrap().to_string();
    let two = created(
        &app.post(
            &format!("{b}/tickets"),
            &t.key,
            json!({"title": "Two", "tags": ["gold"]}),
        )
        .await,
    );
    let patched = app
        .patch(
            &format!("{b}/tickets/{two}"),
            &t.key,
            json!({"tags": ["gold", "REFUND"]}),
        )
        .await;
    assert_eq!(
        patched.body["tags"],
        json!(["gold", "refund"]),
        "{}",
        patched.body
    );
    let gold = app
        .get(&tags, &t.key)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gold")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The tag filter: any of the tags named.
    let by_tag = |ids: String| {
        let (app, b, key) = (&app, b.clone(), t.key.clone());
        async move {
            let res = app
                .get(&format!("{b}/tickets?order=asc&tagIds={ids}"), &key)
                .await;
            assert_eq!(res.status, 200, "{}", res.body);
            let mut ids = crate::helpers::page_ids(&res.body);
            ids.sort();
            ids
        }
    };
    let mut both = vec![one.clone(), two.clone()];
    both.sort();
    assert_eq!(by_tag(refund.clone()).await, both);
    assert_eq!(by_tag(vip.clone()).await, vec![one.clone()]);
    assert_eq!(by_tag(format!("{vip},{gold}")).await, both);
    assert_eq!(
        by_tag("tag_00000000000000000000000000".into()).await,
        Vec::<String>::new()
    );
    assert_eq!(
        app.get(&format!("{b}/tickets?tagIds=vip"), &t.key)
            .await
            .status,
        400
    );

    // Rename, merge (refund into VIP), delete (gold): the stream rewrites the tickets.
    let renamed = app
        .patch(
            &format!("{tags}/{vip}"),
            &t.key,
            json!({"name": "Priority"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    app.pump_until_idle().await;
    let ticket = |id: String| {
        let (app, b, key) = (&app, b.clone(), t.key.clone());
        async move { app.get(&format!("{b}/tickets/{id}"), &key).await.body["tags"].clone() }
    };
    assert_eq!(ticket(one.clone()).await, json!(["Priority", "refund"]));
    let merged = app
        .post(
            &format!("{tags}/{vip}/merge"),
            &t.key,
            json!({"sourceTagIds": [refund]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["name"], "Priority");
    assert_eq!(
        app.delete(&format!("{tags}/{gold}"), &t.key).await.status,
        204
    );
    app.pump_until_idle().await;
    assert_eq!(ticket(one.clone()).await, json!(["Priority"]));
    assert_eq!(ticket(two.clone()).await, json!(["Priority"]));
    assert_eq!(names(&app.get(&tags, &t.key).await.body), ["Priority"]);

    // A merge refuses what it cannot do, and changes nothing.
    for body in [
        json!({"sourceTagIds": []}),
        json!({"sourceTagIds": [vip]}),
        json!({"sourceTagIds": ["tag_00000000000000000000000000"]}),
        json!({"sourceTagIds": ["nope"]}),
    ] {
        let res = app
            .post(&format!("{tags}/{vip}/merge"), &t.key, body.clone())
            .await;
        assert_eq!(res.status, 400, "{body}: {}", res.body);
    }
    assert_eq!(names(&app.get(&tags, &t.key).await.body), ["Priority"]);
}

#[tokio::test]
async fn the_tag_filter_takes_each_id_once_and_at_most_ten() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let b = format!("/v1/brands/{}", t.brand_id);
    let vip = created(
        &app.post(&format!("{b}/tags"), &t.key, json!({"name": "vip"}))
            .await,
    );
    let res = app
        .get(&format!("{b}/tickets?tagIds={vip},{vip}"), &t.key)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let eleven = vec![vip.clone(); 11].join(",");
    let res = app
        .get(&format!("{b}/tickets?tagIds={eleven}"), &t.key)
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
}
