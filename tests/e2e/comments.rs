//! Comments beyond the basics: who wrote them, replies, links, where they came from, a
//! status change in the same transaction; edits and soft deletes that keep the count.

use crate::helpers::{Tenant, TestApp, unique_email};
use dispatch_domain::Mode;
use serde_json::{Value, json};

/// A ticket of the tenant's brand (with `customer` as its customer, if any): its path.
async fn ticket(app: &TestApp, t: &Tenant, customer: Option<&str>) -> String {
    let path = format!("/v1/brands/{}/tickets", t.brand_id);
    let mut body = json!({"title": "Help"});
    if let Some(email) = customer {
        body["customerEmail"] = json!(email);
    }
    let res = app.post(&path, &t.key, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    format!("{path}/{}", res.body["id"].as_str().unwrap())
}

async fn comment(app: &TestApp, key: &str, ticket: &str, body: Value) -> Value {
    let res = app.post(&format!("{ticket}/comments"), key, body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body
}

#[tokio::test]
async fn a_comment_keeps_its_author_links_source_and_cc() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let one = ticket(&app, &t, Some("cus@x.test")).await;
    let customer = app.get(&one, &t.key).await.body["customerId"].clone();

    let full = comment(
        &app,
        &t.key,
        &one,
        json!({
            "body": "See the order",
            "links": [{"url": "https://shop.test/o/1", "title": "Order 1", "type": "order"},
                      {"url": "http://intranet.test/x"}],
            "source": "slack", "sourceId": "C01/1700000000.1", "sourceData": {"channel": "C01"},
            "cc": ["Boss@X.test"],
        }),
    )
    .await;
    assert_eq!(
        full["links"][0],
        json!({"url": "https://shop.test/o/1", "title": "Order 1", "type": "order"})
    );
    assert_eq!(
        full["links"][1],
        json!({"url": "http://intranet.test/x", "title": null, "type": null})
    );
    assert_eq!(
        (
            &full["source"],
            &full["sourceId"],
            &full["sourceData"],
            &full["cc"]
        ),
        (
            &json!("slack"),
            &json!("C01/1700000000.1"),
            &json!({"channel": "C01"}),
            &json!(["boss@x.test"])
        )
    );
    // An API key is nobody in particular; every new field is present.
    assert_eq!(
        (&full["authorId"], &full["parentId"], &full["deletedAt"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let got = app
        .get(
            &format!("{one}/comments/{}", full["id"].as_str().unwrap()),
            &t.key,
        )
        .await;
    assert_eq!(got.body, full);

    // A session writes as its member; a relayed customer comment is the ticket's customer's.
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let me = app.get("/v1/auth/session", &owner).await.body["member"]["id"].clone();
    assert!(me.as_str().unwrap().starts_with("mem_"), "{me}");
    let by_session = comment(&app, &owner, &one, json!({"body": "Mine"})).await;
    assert_eq!(by_session["authorId"], me);
    let relayed = comment(
        &app,
        &t.key,
        &one,
        json!({"body": "Thanks!", "authorType": "CUSTOMER"}),
    )
    .await;
    assert_eq!(
        (&relayed["authorType"], &relayed["authorId"]),
        (&json!("CUSTOMER"), &customer)
    );
    assert_eq!(relayed["source"], "api");

    let count = app.get(&one, &t.key).await.body["commentCount"].clone();
    assert_eq!(count, 3);
    let long = "x".repeat(256);
    for (bad, field) in [
        (
            json!({"body": "x", "authorType": "CUSTOMER", "metadata": {"isInternal": true}}),
            "metadata",
        ),
        (
            json!({"body": "x", "authorType": "CUSTOMER", "authorId": me}),
            "authorId",
        ),
        (json!({"body": "x", "authorId": customer}), "authorId"),
        (
            json!({"body": "x", "links": [{"url": "ftp://x.test"}]}),
            "links",
        ),
        (
            json!({"body": "x", "links": [{"url": "https://u:p@x.test"}]}),
            "links",
        ),
        (
            json!({"body": "x", "links": [{"url": "https://x.test", "kind": "y"}]}),
            "links[0].kind",
        ),
        (
            json!({"body": "x", "links": vec![json!({"url": "https://x.test"}); 21]}),
            "links",
        ),
        (json!({"body": "x", "source": "Slack!"}), "source"),
        (json!({"body": "x", "sourceId": long}), "sourceId"),
        (json!({"body": "x", "sourceData": [1]}), "sourceData"),
        (json!({"body": "x", "setStatus": "closed"}), "setStatus"),
        (
            json!({"body": "x", "connectionId": "conn_1"}),
            "connectionId",
        ),
        (json!({"body": "x", "cc": ["not an address"]}), "cc"),
        (json!({"body": "x", "parentId": "cmt_nope"}), "parentId"),
    ] {
        let res = app
            .post(&format!("{one}/comments"), &t.key, bad.clone())
            .await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{bad}: {}",
            res.body
        );
    }
    // Nothing was written by any of them.
    assert_eq!(app.get(&one, &t.key).await.body["commentCount"], 3);
}

#[tokio::test]
async fn replies_are_one_level_deep_on_the_same_ticket_and_set_status_moves_with_the_comment() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let one = ticket(&app, &t, None).await;
    let other = ticket(&app, &t, None).await;
    let top = comment(&app, &t.key, &one, json!({"body": "Top"})).await;
    let top_id = top["id"].as_str().unwrap();
    let elsewhere = comment(&app, &t.key, &other, json!({"body": "Elsewhere"})).await;
    // Ids order by time to the millisecond; the test clock moves in whole seconds.
    app.clock.advance(1);

    app.take_ops();
    let reply = comment(
        &app,
        &t.key,
        &one,
        json!({"body": "Reply", "parentId": top_id, "setStatus": "pending"}),
    )
    .await;
    assert_eq!(reply["parentId"], top_id);
    // The credential, the ticket, one transaction (count + status, comment, parent check).
    let (ops, writes) = app.take_ops();
    assert_eq!(writes, 1, "{ops:?}");
    let after = app.get(&one, &t.key).await.body;
    assert_eq!(
        (&after["status"], &after["commentCount"]),
        (&json!("pending"), &json!(2))
    );

    for parent in [
        reply["id"].as_str().unwrap(),     // a reply: one level only
        elsewhere["id"].as_str().unwrap(), // another ticket's comment
    ] {
        let res = app
            .post(
                &format!("{one}/comments"),
                &t.key,
                json!({"body": "Deeper", "parentId": parent, "setStatus": "resolved"}),
            )
            .await;
        assert_eq!(res.status, 400, "{parent}: {}", res.body);
        assert_eq!(res.error_fields(), ["parentId"]);
    }
    // Refused whole: neither the count nor the status moved.
    let still = app.get(&one, &t.key).await.body;
    assert_eq!(
        (&still["status"], &still["commentCount"]),
        (&json!("pending"), &json!(2))
    );
    // The list stays flat, in order.
    let list = app.get(&format!("{one}/comments"), &t.key).await.body;
    let parents: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["parentId"])
        .collect();
    assert_eq!(parents, [&Value::Null, &json!(top_id)]);
}

#[tokio::test]
async fn an_edit_changes_what_it_sends_and_a_delete_is_soft_and_uncounted() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let email = unique_email("portal");
    let token = crate::portal::token_for(&app, &t, &email).await;
    let id = crate::portal::portal_ticket(&app, &token, "From the portal").await;
    let one = format!("/v1/brands/{}/tickets/{id}", t.brand_id);
    let first = comment(
        &app,
        &t.key,
        &one,
        json!({"body": "First", "links": [{"url": "https://x.test"}], "metadata": {"k": 1}}),
    )
    .await;
    let path = format!("{one}/comments/{}", first["id"].as_str().unwrap());

    app.clock.advance(60);
    let edited = app
        .patch(
            &path,
            &t.key,
            json!({"body": "First, edited", "links": null}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(
        (&edited.body["body"], &edited.body["links"]),
        (&json!("First, edited"), &json!([]))
    );
    assert_eq!(edited.body["metadata"], json!({"k": 1}));
    assert_ne!(edited.body["updatedAt"], first["updatedAt"]);
    assert_eq!(app.get(&path, &t.key).await.body, edited.body);
    // Nothing to change: no write.
    app.take_ops();
    let same = app
        .patch(&path, &t.key, json!({"body": "First, edited"}))
        .await;
    assert_eq!(same.body, edited.body);
    assert_eq!(app.take_ops().1, 0);
    for bad in [
        json!({"body": null}),
        json!({"body": " "}),
        json!({"links": [{"url": "nope"}]}),
        json!({"metadata": "x"}),
        json!({"ticketId": "tkt_x"}),
    ] {
        let res = app.patch(&path, &t.key, bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
    // The customer's own words cannot become an internal note.
    let theirs = app
        .post(
            &format!("/v1/portal/tickets/{id}/comments"),
            &token,
            json!({"body": "Hello?"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    let theirs_path = format!("{one}/comments/{}", theirs.body["id"].as_str().unwrap());
    let hidden = app
        .patch(
            &theirs_path,
            &t.key,
            json!({"metadata": {"isInternal": true}}),
        )
        .await;
    assert_eq!(hidden.status, 400, "{}", hidden.body);
    let theirs_now = app.get(&theirs_path, &t.key).await.body;
    assert_eq!(
        (&theirs_now["source"], &theirs_now["authorType"]),
        (&json!("portal"), &json!("CUSTOMER"))
    );

    assert_eq!(portal_comments(&app, &id, &token).await, 2);
    let deleted = app.delete(&path, &t.key).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.body["deletedAt"].is_string(), "{}", deleted.body);
    assert_eq!(deleted.body["body"], "First, edited");
    assert_eq!(app.get(&path, &t.key).await.status, 404);
    assert_eq!(app.delete(&path, &t.key).await.status, 404);
    assert_eq!(
        app.patch(&path, &t.key, json!({"body": "x"})).await.status,
        404
    );
    let list = app.get(&format!("{one}/comments"), &t.key).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(app.get(&one, &t.key).await.body["commentCount"], 1);
    assert_eq!(portal_comments(&app, &id, &token).await, 1);
    // A deleted comment takes no replies.
    let reply = app
        .post(
            &format!("{one}/comments"),
            &t.key,
            json!({"body": "Late reply", "parentId": first["id"]}),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

/// How many comments the customer sees on their ticket in the portal.
async fn portal_comments(app: &TestApp, ticket: &str, token: &str) -> usize {
    let view = app
        .get(&format!("/v1/portal/tickets/{ticket}"), token)
        .await
        .body;
    view["comments"].as_array().unwrap().len()
}
