//! Regression tests for what abuse testing found (issue 11): each failed before its fix.

use crate::helpers::{Tenant, TestApp, TestResponse, unique_email};
use crate::portal::token_for;
use dispatch_domain::Mode;
use serde_json::json;

/// The declarations a downloaded file would turn into something runnable or disguised.
const DISGUISED: &[(&str, &str)] = &[
    ("invoice.html", "text/plain"),
    ("setup.exe", "application/pdf"),
    ("pic.svg", "image/png"),
    ("run.hta", "text/plain"),
    ("invoice_\u{202E}fdp.exe", "application/pdf"),
    ("report.pdf.", "application/pdf"),
];

async fn form_with_file(
    app: &TestApp,
    t: &Tenant,
    filename: &str,
    content_type: &str,
) -> TestResponse {
    let e = app
        .post(
            &format!("/v1/brands/{}/intake", t.brand_id),
            &t.key,
            json!({"name": "Upload form"}),
        )
        .await;
    let token = e.body["token"].as_str().unwrap();
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nSee attached\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n<script>alert(1)</script>\r\n--XyZ--\r\n"
    );
    let headers = vec![(
        "content-type".to_string(),
        "multipart/form-data; boundary=XyZ".to_string(),
    )];
    app.send_with_headers("POST", &format!("/v1/forms/{token}"), &headers, Some(body))
        .await
}

#[tokio::test]
async fn a_file_name_must_carry_its_declared_types_extension_and_no_disguise() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let ticket = app
        .post(
            &format!("{brand}/tickets"),
            &t.key,
            json!({"title": "Files"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let portal = token_for(&app, &t, &unique_email("cus")).await;
    for (filename, content_type) in DISGUISED {
        let declaration = json!({"filename": filename, "contentType": content_type, "size": 25});
        for (route, credential) in [
            (format!("{brand}/tickets/{ticket}/attachments"), &t.key),
            (format!("{brand}/attachments"), &t.key),
            (
                "/v1/portal/tickets/attachments/pending".to_string(),
                &portal,
            ),
        ] {
            let res = app.post(&route, credential, declaration.clone()).await;
            assert_eq!(
                res.status, 400,
                "{route}: {filename} as {content_type}: {}",
                res.body
            );
            assert_eq!(res.error_fields(), vec!["filename"], "{route}: {filename}");
        }
        let res = form_with_file(&app, &t, filename, content_type).await;
        assert_eq!(
            res.status, 400,
            "form: {filename} as {content_type}: {}",
            res.body
        );
    }
    // Nothing was declared, and the anonymous form opened no ticket.
    let list = app
        .get(&format!("{brand}/tickets/{ticket}/attachments"), &t.key)
        .await;
    assert_eq!(list.body, json!([]));
    let tickets = app.get(&format!("{brand}/tickets"), &t.key).await;
    assert_eq!(tickets.body["data"].as_array().unwrap().len(), 1);
    // A name that matches its type still goes through, in any letter case.
    let fine = json!({"filename": "Scan.PDF", "contentType": "application/pdf", "size": 25});
    let res = app
        .post(
            &format!("{brand}/tickets/{ticket}/attachments"),
            &t.key,
            fine,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
}

#[tokio::test]
async fn control_characters_other_than_tab_and_line_breaks_are_refused_in_bodies() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let portal = token_for(&app, &t, &unique_email("cus")).await;
    let ticket = app
        .post(
            &format!("{brand}/tickets"),
            &t.key,
            json!({"title": "Clean"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = crate::portal::portal_ticket(&app, &portal, "Mine").await;
    for bad in [
        "nul\u{0}byte",
        "bell\u{7}",
        "\u{1b}[2J\u{1b}[Hcleared",
        "csi\u{9b}31m",
    ] {
        for (method, route, credential, body) in [
            (
                "POST",
                format!("{brand}/tickets"),
                &t.key,
                json!({"title": "t", "body": bad}),
            ),
            (
                "PATCH",
                format!("{brand}/tickets/{ticket}"),
                &t.key,
                json!({"body": bad}),
            ),
            (
                "POST",
                format!("{brand}/tickets/{ticket}/comments"),
                &t.key,
                json!({"body": bad}),
            ),
            (
                "POST",
                "/v1/portal/tickets".to_string(),
                &portal,
                json!({"title": "t", "body": bad}),
            ),
            (
                "POST",
                format!("/v1/portal/tickets/{own}/comments"),
                &portal,
                json!({"body": bad}),
            ),
        ] {
            let res = app
                .send(
                    method,
                    &route,
                    Some(credential.as_str()),
                    Some(body.to_string()),
                )
                .await;
            assert_eq!(res.status, 400, "{method} {route} {bad:?}: {}", res.body);
            assert_eq!(res.error_fields(), vec!["body"], "{method} {route}");
        }
    }
    // The public form: the message becomes the body.
    let form = app
        .post(
            &format!("{brand}/intake"),
            &t.key,
            json!({"name": "Contact"}),
        )
        .await;
    let token = form.body["token"].as_str().unwrap();
    let post = json!({"subject": "Hi", "message": "\u{1b}]8;;https://evil.test\u{7}click", "email": "a@b.test"});
    let res = app
        .send(
            "POST",
            &format!("/v1/forms/{token}"),
            None,
            Some(post.to_string()),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.body);
    // Nothing was written: one ticket each, no comments, the body unchanged.
    let staff = app.get(&format!("{brand}/tickets/{ticket}"), &t.key).await;
    assert_eq!(staff.body["commentCount"], 0);
    assert_eq!(staff.body["body"], json!(null));
    let list = app.get(&format!("{brand}/tickets"), &t.key).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    // Tabs and line breaks are text.
    let fine = json!({"body": "Steps:\r\n\t1. open\n\t2. crash"});
    let res = app
        .post(&format!("{brand}/tickets/{ticket}/comments"), &t.key, fine)
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
}

#[tokio::test]
async fn an_invitation_never_captures_a_sign_in() {
    let app = TestApp::new().await;
    let a = app.tenant(Mode::Live).await;
    let b = app.tenant(Mode::Live).await;
    // Org A's owner invites org B's owner.
    let a_owner = app.sign_in_with_bearer(&a.owner_email).await;
    let invited = app
        .post(
            "/v1/auth/members/invite",
            &a_owner,
            json!({"email": b.owner_email, "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    // B's owner signs in as usual: into B, and A's invite stays pending.
    let session = app.sign_in_with_bearer(&b.owner_email).await;
    let here = app.get("/v1/auth/session", &session).await;
    assert_eq!(here.body["organization"]["id"], b.org_id.as_str());
    assert_eq!(here.body["member"]["role"], "owner");
    let members = app.get("/v1/auth/members", &a_owner).await;
    assert_eq!(members.body["invites"].as_array().unwrap().len(), 1);
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);
    // The invitation shows as pending; switching to it is the choice that accepts it.
    let orgs = app.get("/v1/auth/organizations", &session).await;
    let pending: Vec<_> = orgs
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{}", orgs.body);
    assert_eq!(pending[0]["id"], a.org_id.as_str());
    let switched = app
        .post(
            "/v1/auth/switch-organization",
            &session,
            json!({"organizationId": a.org_id}),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    assert_eq!(switched.body["member"]["role"], "agent");
    let members = app.get("/v1/auth/members", &a_owner).await;
    assert_eq!(members.body["invites"], json!([]));
}

#[tokio::test]
async fn a_ticket_is_assigned_only_to_an_active_member_of_its_organization() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let other = app.tenant(Mode::Live).await;
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let own_member = app.get("/v1/auth/session", &owner).await.body["member"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_owner = app.sign_in_with_bearer(&other.owner_email).await;
    let foreign_member = app.get("/v1/auth/session", &other_owner).await.body["member"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let invitee = app
        .post(
            "/v1/auth/members/invite",
            &owner,
            json!({"email": unique_email("later"), "role": "agent"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let brand = format!("/v1/brands/{}", t.brand_id);
    let ticket = app
        .post(
            &format!("{brand}/tickets"),
            &t.key,
            json!({"title": "Assign me"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{brand}/tickets/{ticket}");
    for (who, id) in [
        ("another organization's member", foreign_member.as_str()),
        ("a pending invitation", invitee.as_str()),
        ("nobody", "mem_00000000000000000000000000"),
    ] {
        let res = app
            .patch(&path, &t.key, json!({"assigneeId": id, "priority": "high"}))
            .await;
        assert_eq!(res.status, 400, "{who}: {}", res.body);
        assert_eq!(res.error_fields(), vec!["assigneeId"], "{who}");
    }
    let unchanged = app.get(&path, &t.key).await;
    assert_eq!(unchanged.body["assigneeId"], json!(null));
    assert_eq!(unchanged.body["priority"], "normal", "nothing was written");
    let res = app
        .patch(&path, &t.key, json!({"assigneeId": own_member}))
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.body["assigneeId"], own_member.as_str());
}

/// An intake endpoint and its public path.
async fn form(app: &TestApp, t: &Tenant, body: serde_json::Value) -> (String, Option<String>) {
    let e = app
        .post(&format!("/v1/brands/{}/intake", t.brand_id), &t.key, body)
        .await;
    assert_eq!(e.status, 201, "{}", e.body);
    (
        format!("/v1/forms/{}", e.body["token"].as_str().unwrap()),
        e.body["signingSecret"].as_str().map(str::to_string),
    )
}

async fn post_json(
    app: &TestApp,
    path: &str,
    body: &str,
    extra: &[(&str, String)],
) -> TestResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    app.send_with_headers("POST", path, &headers, Some(body.to_string()))
        .await
}

async fn ticket_count(app: &TestApp, t: &Tenant) -> usize {
    let list = app
        .get(
            &format!("/v1/brands/{}/tickets?limit=100", t.brand_id),
            &t.key,
        )
        .await;
    list.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_public_form_is_rate_limited_per_address_and_per_endpoint() {
    use dispatch_domain::Clock;
    let mut app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let (path, _) = form(&app, &t, json!({"name": "Contact"})).await;
    let body = |i: usize| {
        json!({"subject": format!("Post {i}"), "email": format!("p{i}@example.com")}).to_string()
    };
    let per_minute = dispatch_intake::ADDRESS_LIMITS[0].1;
    for i in 0..per_minute as usize {
        let res = post_json(&app, &path, &body(i), &[]).await;
        assert_eq!(res.status, 201, "post {i}: {}", res.body);
    }
    let refused = post_json(&app, &path, &body(99), &[]).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["code"], "rate_limited");
    let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        ticket_count(&app, &t).await,
        per_minute as usize,
        "the refused post created nothing"
    );
    // Another address is not held up; the first one is free again after the window.
    let first_ip = app.source_ip.clone();
    app.source_ip = "198.51.100.77".into();
    assert_eq!(post_json(&app, &path, &body(100), &[]).await.status, 201);
    app.source_ip = first_ip;
    app.clock.advance(retry);
    assert_eq!(post_json(&app, &path, &body(101), &[]).await.status, 201);

    // The endpoint's own ceiling, whoever posts: fill its counter for this window as 600
    // posts would have (the counter is the table's item, read as the function reads it).
    let (window, limit) = dispatch_intake::ENDPOINT_LIMITS[0];
    let now = app.clock.now().unix();
    let token = path.rsplit('/').next().unwrap();
    let bucket = format!("in-ep#{}", dispatch_auth::SecretHash::of(token).to_hex());
    let pk = dispatch_store::keys::rate_limit(&bucket, window, now - now.rem_euclid(window));
    app.raw
        .update_item()
        .table_name(&app.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(dispatch_store::keys::RATE_LIMIT_SK.into()),
        )
        .update_expression("SET hits = :n")
        .expression_attribute_values(
            ":n",
            aws_sdk_dynamodb::types::AttributeValue::N(limit.to_string()),
        )
        .send()
        .await
        .unwrap();
    app.source_ip = "203.0.113.9".into();
    let refused = post_json(&app, &path, &body(102), &[]).await;
    assert_eq!(
        refused.status, 429,
        "a fresh address meets the endpoint's ceiling"
    );
    assert!(refused.header("retry-after").is_some());
}

#[tokio::test]
async fn signed_deliveries_are_not_cut_per_address_and_a_replay_creates_nothing() {
    use dispatch_auth::intake_signature::sign;
    use dispatch_domain::Clock;
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let (path, secret) = form(
        &app,
        &t,
        json!({"name": "Alerts", "requireSignature": true}),
    )
    .await;
    let secret = secret.unwrap();
    let now = app.clock.now().unix();
    // A burst from one sender, above the per-address limit of unsigned forms.
    let burst = dispatch_intake::ADDRESS_LIMITS[0].1 as usize + 5;
    let mut first = None;
    for i in 0..burst {
        let body = json!({"subject": format!("Alert {i}")}).to_string();
        let signature = sign(secret.as_bytes(), body.as_bytes(), Some(now));
        let headers = [
            ("x-dispatch-signature", signature),
            ("x-dispatch-timestamp", now.to_string()),
        ];
        let res = post_json(&app, &path, &body, &headers).await;
        assert_eq!(res.status, 201, "alert {i}: {}", res.body);
        first.get_or_insert((body, headers, res.body["ticketId"].clone()));
    }
    assert_eq!(ticket_count(&app, &t).await, burst);
    // A captured delivery replayed, with or without fresh unsigned idempotency headers:
    // the first answer, no new ticket.
    let (body, headers, ticket) = first.unwrap();
    for extra in [
        vec![],
        vec![("x-idempotency-key", "fresh-1".to_string())],
        vec![("x-webhook-id", "fresh-2".to_string())],
    ] {
        let mut all = headers.to_vec();
        all.extend(extra);
        let replay = post_json(&app, &path, &body, &all).await;
        assert_eq!(replay.status, 201, "{}", replay.body);
        assert_eq!(replay.body["ticketId"], ticket);
        assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    }
    assert_eq!(ticket_count(&app, &t).await, burst);
}

#[tokio::test]
async fn an_anonymous_form_post_never_shows_in_the_named_customers_portal() {
    use dispatch_auth::intake_signature::sign;
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let victim = unique_email("victim");
    let portal = token_for(&app, &t, &victim).await;
    let (open, _) = form(&app, &t, json!({"name": "Contact"})).await;
    let phish = json!({
        "subject": "Your account is locked",
        "message": "Verify at https://evil.test/login",
        "email": victim,
    })
    .to_string();
    let res = post_json(&app, &open, &phish, &[]).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let forged = res.body["ticketId"].as_str().unwrap().to_string();
    // Staff see it, marked; the customer's portal does not.
    let staff = app
        .get(
            &format!("/v1/brands/{}/tickets/{forged}", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(staff.body["customerVerified"], false);
    assert!(staff.body["customerId"].is_string());
    let list = app.get("/v1/portal/tickets", &portal).await;
    assert_eq!(list.body["data"], json!([]), "{}", list.body);
    for path in [
        format!("/v1/portal/tickets/{forged}"),
        format!("/v1/portal/tickets/{forged}/attachments"),
    ] {
        assert_eq!(app.get(&path, &portal).await.status, 404, "{path}");
    }
    let reply = app
        .post(
            &format!("/v1/portal/tickets/{forged}/comments"),
            &portal,
            json!({"body": "I clicked it"}),
        )
        .await;
    assert_eq!(reply.status, 404);
    // A signed delivery comes from the brand's own systems: it is the customer's.
    let (signed, secret) = form(&app, &t, json!({"name": "Shop", "requireSignature": true})).await;
    let body = json!({"subject": "Order shipped", "email": victim}).to_string();
    let signature = sign(secret.unwrap().as_bytes(), body.as_bytes(), None);
    let res = post_json(&app, &signed, &body, &[("x-dispatch-signature", signature)]).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let list = app.get("/v1/portal/tickets", &portal).await;
    let ids: Vec<_> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![res.body["ticketId"].clone()]);
}
