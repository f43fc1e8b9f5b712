//! Portal tokens and the customer portal API: what one customer of one brand can do, and
//! everything they cannot.

use crate::helpers::{
    DASHBOARD_ORIGIN, Tenant, TestApp, TestResponse, emails_to, http_request, unique_email,
};
use dispatch_domain::{Clock, Mode, Timestamp};
use serde_json::{Value, json};

async fn mint(app: &TestApp, t: &Tenant, body: Value) -> TestResponse {
    app.post(
        &format!("/v1/brands/{}/portal/token", t.brand_id),
        &t.key,
        body,
    )
    .await
}

pub(crate) async fn token_for(app: &TestApp, t: &Tenant, email: &str) -> String {
    let res = mint(app, t, json!({"email": email})).await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["token"].as_str().unwrap().to_string()
}

pub(crate) async fn portal_ticket(app: &TestApp, token: &str, title: &str) -> String {
    let res = app
        .post("/v1/portal/tickets", token, json!({"title": title}))
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

async fn send_from(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    origin: &str,
    body: Option<Value>,
) -> TestResponse {
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), format!("Bearer {token}")),
        ("origin".to_string(), origin.to_string()),
    ];
    app.send_with_headers(method, path, &headers, body.map(|b| b.to_string()))
        .await
}

#[tokio::test]
async fn a_backend_mints_a_token_and_the_customer_works_their_own_tickets() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let email = unique_email("jo");
    let minted = mint(
        &app,
        &t,
        json!({"customerEmail": email, "customerName": "Jo", "expiresIn": "30m"}),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("pt_"));
    assert_eq!(minted.body["accessToken"], token.as_str());
    assert_eq!(minted.body["email"], email.as_str());
    assert_eq!(minted.body["name"], "Jo");
    let expires = Timestamp::parse(minted.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.unix() - app.clock.now().unix(), 1800);
    let customer_id = minted.body["customerId"].as_str().unwrap().to_string();
    // The customer was created in the brand, once.
    let again = mint(&app, &t, json!({"email": email})).await;
    assert_eq!(again.body["customerId"], customer_id.as_str());

    let created = app
        .post(
            "/v1/portal/tickets",
            &token,
            json!({"title": "Where is my parcel?", "body": "Order 1042"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let admin_view = app
        .get(&format!("/v1/brands/{}/tickets/{id}", t.brand_id), &t.key)
        .await;
    assert_eq!(admin_view.body["source"], "portal");
    assert_eq!(admin_view.body["customerId"], customer_id.as_str());
    assert_eq!(
        created.body["ticketNumber"], admin_view.body["displayNumber"],
        "the portal shows the formatted number"
    );

    // The token itself costs no read: the list is one Query of the customer's index (and
    // the brand, read alongside), a ticket one BatchGetItem (ticket and brand together).
    app.take_ops();
    let list = app.get("/v1/portal/tickets", &token).await;
    let (mut ops, writes) = app.take_ops();
    ops.sort();
    assert_eq!(
        (ops, writes),
        (vec!["GetItem".to_string(), "Query".to_string()], 0)
    );
    app.get(&format!("/v1/portal/tickets/{id}/attachments"), &token)
        .await;
    assert_eq!(
        app.take_ops(),
        (vec!["BatchGetItem".to_string(), "Query".to_string()], 0)
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"], list.body["tickets"]);
    assert_eq!(list.body["data"][0]["id"], id.as_str());
    assert_eq!(list.body["pagination"]["hasMore"], false);

    let comment = app
        .post(
            &format!("/v1/portal/tickets/{id}/comments"),
            &token,
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    assert_eq!(comment.body["authorType"], "CUSTOMER");
    assert_eq!(comment.body["authorName"], "Jo");
    // Agents answer, and write a note the customer must never see.
    app.clock.advance(1);
    let admin_comments = format!("/v1/brands/{}/tickets/{id}/comments", t.brand_id);
    app.post(&admin_comments, &t.key, json!({"body": "Shipped today."}))
        .await;
    app.post(
        &admin_comments,
        &t.key,
        json!({"body": "Customer is angry", "metadata": {"isInternal": true}}),
    )
    .await;
    let detail = app.get(&format!("/v1/portal/tickets/{id}"), &token).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert_eq!(detail.body["body"], "Order 1042");
    assert!(detail.body["brand"]["name"].is_string());
    let bodies: Vec<&str> = detail.body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Any news?", "Shipped today."]);
    assert!(!detail.body.to_string().contains("angry"));
    assert!(detail.body.get("metadata").is_none() && detail.body.get("assigneeId").is_none());
}

#[tokio::test]
async fn expires_in_takes_seconds_or_durations_up_to_a_day() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let email = unique_email("c");
    let default = mint(&app, &t, json!({"email": email})).await;
    let expires = Timestamp::parse(default.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.unix() - app.clock.now().unix(), 3600);
    for ok in [json!(60), json!("24h"), json!(86400)] {
        assert_eq!(
            mint(&app, &t, json!({"email": email, "expiresIn": ok}))
                .await
                .status,
            201
        );
    }
    for bad in [
        json!(0),
        json!(86401),
        json!("25h"),
        json!("1d"),
        json!("soon"),
        json!(-5),
    ] {
        let res = mint(&app, &t, json!({"email": email, "expiresIn": bad})).await;
        assert_eq!(res.status, 400, "{bad}");
        assert!(res.error_fields().contains(&"expiresIn".to_string()));
    }
    for bad in [
        json!({}),
        json!({"email": "nope"}),
        json!({"email": email, "extra": 1}),
    ] {
        assert_eq!(mint(&app, &t, bad.clone()).await.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn a_token_reaches_only_its_own_customers_tickets() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let mine = token_for(&app, &t, &unique_email("a")).await;
    let ticket = portal_ticket(&app, &mine, "Mine").await;
    let neighbour = token_for(&app, &t, &unique_email("b")).await;
    let neighbours_ticket = portal_ticket(&app, &neighbour, "Theirs").await;
    // An API-created ticket of the brand with no customer, too.
    let staff = app
        .post(
            &format!("/v1/brands/{}/tickets", t.brand_id),
            &t.key,
            json!({"title": "Internal"}),
        )
        .await;
    let staff_ticket = staff.body["id"].as_str().unwrap().to_string();

    let other_brand = app.create_brand(&t.key, "Other brand").await;
    let other_brand_token = {
        let res = app
            .post(
                &format!("/v1/brands/{other_brand}/portal/token"),
                &t.key,
                json!({"email": unique_email("c")}),
            )
            .await;
        res.body["token"].as_str().unwrap().to_string()
    };
    let other_org = app.tenant(Mode::Test).await;
    let other_org_token = token_for(&app, &other_org, &unique_email("d")).await;
    let live = Tenant {
        key: app.key_in_mode(&t, Mode::Live).await,
        ..t.clone()
    };
    let live_brand = app.create_brand(&live.key, "Live brand").await;
    let other_mode_token = app
        .post(
            &format!("/v1/brands/{live_brand}/portal/token"),
            &live.key,
            json!({"email": unique_email("e")}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();

    for (who, token) in [
        ("another customer", &neighbour),
        ("another brand", &other_brand_token),
        ("another organization", &other_org_token),
        ("the other mode", &other_mode_token),
    ] {
        let base = format!("/v1/portal/tickets/{ticket}");
        assert_eq!(app.get(&base, token).await.status, 404, "{who}");
        let c = app
            .post(&format!("{base}/comments"), token, json!({"body": "hi"}))
            .await;
        assert_eq!(c.status, 404, "{who}");
        assert_eq!(
            app.get(&format!("{base}/attachments"), token).await.status,
            404,
            "{who}"
        );
        let up = app
            .post(
                &format!("{base}/attachments"),
                token,
                json!({"filename": "x.txt", "contentType": "text/plain", "size": 1}),
            )
            .await;
        assert_eq!(up.status, 404, "{who}");
        let list = app.get("/v1/portal/tickets", token).await;
        assert!(!list.body.to_string().contains(&ticket), "{who} lists it");
    }
    for id in [&neighbours_ticket, &staff_ticket] {
        assert_eq!(
            app.get(&format!("/v1/portal/tickets/{id}"), &mine)
                .await
                .status,
            404
        );
    }
    let list = app.get("/v1/portal/tickets", &mine).await;
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ticket.as_str()]);
    // Malformed ids are plain 404s.
    assert_eq!(
        app.get("/v1/portal/tickets/tkt_nope", &mine).await.status,
        404
    );
    // Nothing the others sent reached the ticket.
    let admin = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(admin.body["commentCount"], 0);
    assert_eq!(admin.body["attachmentCount"], 0);
}

#[tokio::test]
async fn expired_tampered_and_foreign_credentials_are_refused() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let token = token_for(&app, &t, &unique_email("a")).await;
    assert_eq!(app.get("/v1/portal/tickets", &token).await.status, 200);

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (credential, code) in [
        (tampered.as_str(), "invalid_portal_token"),
        ("pt_garbage", "invalid_portal_token"),
        (t.key.as_str(), "invalid_credential"),
        ("sess_notasession", "invalid_credential"),
    ] {
        let res = app.get("/v1/portal/tickets", credential).await;
        assert_eq!(res.status, 401, "{credential}");
        assert_eq!(res.body["code"], code, "{credential}");
    }
    // A portal token opens no admin route and cannot mint more tokens.
    for path in [
        format!("/v1/brands/{}", t.brand_id),
        format!("/v1/brands/{}/tickets", t.brand_id),
        format!("/v1/brands/{}/customers", t.brand_id),
        format!("/v1/brands/{}/intake", t.brand_id),
        "/v1/accounts/me/api-keys".to_string(),
        "/v1/brands".to_string(),
    ] {
        let res = app.get(&path, &token).await;
        assert_eq!(res.status, 401, "{path}");
    }
    let minted = app
        .post(
            &format!("/v1/brands/{}/portal/token", t.brand_id),
            &token,
            json!({"email": unique_email("x")}),
        )
        .await;
    assert_eq!(minted.status, 401);

    app.clock.advance(3600);
    let expired = app.get("/v1/portal/tickets", &token).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["code"], "portal_token_expired");
    assert_eq!(
        app.post("/v1/portal/refresh", &token, json!({}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn refresh_renews_the_same_customer_for_the_same_lifetime() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let email = unique_email("r");
    let minted = mint(&app, &t, json!({"email": email, "expiresIn": 600})).await;
    let token = minted.body["token"].as_str().unwrap().to_string();
    let ticket = portal_ticket(&app, &token, "Before").await;
    app.clock.advance(300);
    let refreshed = app.post("/v1/portal/refresh", &token, json!({})).await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.body);
    assert_eq!(refreshed.body["customerId"], minted.body["customerId"]);
    let new = refreshed.body["token"].as_str().unwrap().to_string();
    assert_ne!(new, token);
    let expires = Timestamp::parse(refreshed.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires.unix() - app.clock.now().unix(), 600);
    app.clock.advance(400);
    assert_eq!(app.get("/v1/portal/tickets", &token).await.status, 401);
    let list = app.get("/v1/portal/tickets", &new).await;
    assert_eq!(list.body["data"][0]["id"], ticket.as_str());
}

#[tokio::test]
async fn pending_uploads_attach_when_the_ticket_is_created() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let token = token_for(&app, &t, &unique_email("p")).await;
    let other = token_for(&app, &t, &unique_email("q")).await;
    let pending = |token: String| {
        let app = &app;
        async move {
            let res = app
                .post(
                    "/v1/portal/tickets/attachments/pending",
                    &token,
                    json!({"filename": "shot.png", "contentType": "image/png", "size": 4}),
                )
                .await;
            assert_eq!(res.status, 201, "{}", res.body);
            assert!(res.body["attachment"]["ticketId"].is_null());
            let url = res.body["uploadUrl"].as_str().unwrap().to_string();
            (res.body["attachmentId"].as_str().unwrap().to_string(), url)
        }
    };
    let (mine, url) = pending(token.clone()).await;
    let put = http_request(
        "PUT",
        &url,
        &[("Content-Type", "image/png"), ("Content-Length", "4")],
        b"\x89PNG",
    )
    .await;
    assert_eq!(put.status, 200);
    // Not confirmed yet: refused, and nothing is created.
    let early = app
        .post(
            "/v1/portal/tickets",
            &token,
            json!({"title": "With a file", "attachmentIds": [mine]}),
        )
        .await;
    assert_eq!(early.status, 400, "{}", early.body);
    let confirm = app
        .post(
            &format!("/v1/portal/tickets/attachments/pending/{mine}/confirm"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(confirm.body["status"], "UPLOADED");
    // Another customer can neither confirm nor use it.
    let (theirs, _) = pending(other.clone()).await;
    let stolen = app
        .post(
            "/v1/portal/tickets",
            &other,
            json!({"title": "Steal", "attachmentIds": [mine]}),
        )
        .await;
    assert_eq!(stolen.status, 400);
    assert_eq!(
        app.post(
            &format!("/v1/portal/tickets/attachments/pending/{mine}/confirm"),
            &other,
            json!({})
        )
        .await
        .status,
        404
    );
    let mixed = app
        .post(
            "/v1/portal/tickets",
            &token,
            json!({"title": "Mixed", "attachmentIds": [mine, theirs]}),
        )
        .await;
    assert_eq!(mixed.status, 400);

    let created = app
        .post(
            "/v1/portal/tickets",
            &token,
            json!({"title": "With a file", "attachmentIds": [mine]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["attachmentCount"], 1);
    let id = created.body["id"].as_str().unwrap();
    let files = app
        .get(&format!("/v1/portal/tickets/{id}/attachments"), &token)
        .await;
    assert_eq!(files.body[0]["id"], mine.as_str());
    let got = http_request(
        "GET",
        files.body[0]["downloadUrl"].as_str().unwrap(),
        &[],
        &[],
    )
    .await;
    assert_eq!(got.body, b"\x89PNG");
    // Used once: a second ticket cannot take it again.
    let twice = app
        .post(
            "/v1/portal/tickets",
            &token,
            json!({"title": "Again", "attachmentIds": [mine]}),
        )
        .await;
    assert_eq!(twice.status, 400);
    let admin = app
        .get(&format!("/v1/brands/{}/tickets", t.brand_id), &t.key)
        .await;
    assert_eq!(admin.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_customer_uploads_to_their_ticket_through_the_presigned_flow() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let token = token_for(&app, &t, &unique_email("u")).await;
    let id = portal_ticket(&app, &token, "Broken").await;
    let declared = app
        .post(
            &format!("/v1/portal/tickets/{id}/attachments"),
            &token,
            json!({"filename": "log.txt", "contentType": "text/plain", "size": 5, "uploadedBy": "someone else"}),
        )
        .await;
    assert_eq!(declared.status, 201, "{}", declared.body);
    assert!(declared.body["expiresAt"].is_string());
    let att = declared.body["attachmentId"].as_str().unwrap();
    assert!(
        declared.body["uploadUrl"]
            .as_str()
            .unwrap()
            .contains(&format!("/{id}/{att}"))
    );
    let put = http_request(
        "PUT",
        declared.body["uploadUrl"].as_str().unwrap(),
        &[("Content-Type", "text/plain"), ("Content-Length", "5")],
        b"hello",
    )
    .await;
    assert_eq!(put.status, 200);
    let confirmed = app
        .post(
            &format!("/v1/portal/tickets/{id}/attachments/{att}/confirm"),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "UPLOADED");
    assert_ne!(confirmed.body["uploadedBy"], "someone else");
    let one = app
        .get(
            &format!("/v1/portal/tickets/{id}/attachments/{att}"),
            &token,
        )
        .await;
    let got = http_request("GET", one.body["downloadUrl"].as_str().unwrap(), &[], &[]).await;
    assert_eq!(got.body, b"hello");
    let admin = app
        .get(&format!("/v1/brands/{}/tickets/{id}", t.brand_id), &t.key)
        .await;
    assert_eq!(admin.body["attachmentCount"], 1);
}

#[tokio::test]
async fn portal_sign_in_links_are_emailed_once_and_work_once() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let patched = app
        .patch(
            &brand,
            &t.key,
            json!({"portalOrigins": ["https://help.acme.test"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let email = unique_email("link");
    let ask = |url: &'static str| {
        let (app, brand, key, email) = (&app, brand.clone(), t.key.clone(), email.clone());
        async move {
            app.post(
                &format!("{brand}/portal/magic-link"),
                &key,
                json!({"email": email, "portalUrl": url}),
            )
            .await
        }
    };
    // Only to the brand's own portal.
    for bad in [
        "https://evil.test/portal",
        "http://help.acme.test/portal",
        "http://localhost:3000/",
    ] {
        assert_eq!(ask(bad).await.status, 400, "{bad}");
    }
    let res = ask("https://help.acme.test/support").await;
    assert_eq!(res.status, 202, "{}", res.body);
    assert_eq!(res.body, json!({"success": true}));
    let mails = emails_to(&email).await;
    assert_eq!(mails.len(), 1);
    let text = mails[0]["body"].to_string();
    let link_start = text
        .find("https://help.acme.test/support?token=pml_")
        .unwrap();
    let token: String = text[link_start..]
        .trim_start_matches("https://help.acme.test/support?token=")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let verified = app
        .send(
            "POST",
            "/v1/portal/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(verified.status, 201, "{}", verified.body);
    let portal_token = verified.body["token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/portal/tickets", portal_token).await.status,
        200
    );
    let reused = app
        .send(
            "POST",
            "/v1/portal/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(reused.status, 401);

    // Expired links are refused even before the table's TTL removes them.
    ask("https://help.acme.test/support").await;
    let later = emails_to(&email).await;
    let text = later.last().unwrap()["body"].to_string();
    let start = text.find("token=pml_").unwrap() + "token=".len();
    let stale: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    app.clock.advance(16 * 60);
    let late = app
        .send(
            "POST",
            "/v1/portal/verify",
            None,
            Some(json!({"token": stale}).to_string()),
        )
        .await;
    assert_eq!(late.status, 401);

    // A dashboard session cannot ask (the backend's API key does).
    let session = app.sign_in_with_bearer(&t.owner_email).await;
    let by_session = app
        .post(
            &format!("{brand}/portal/magic-link"),
            &session,
            json!({"email": email, "portalUrl": "https://help.acme.test/support"}),
        )
        .await;
    assert_eq!(by_session.status, 403);
}

#[tokio::test]
async fn test_mode_sends_no_email_and_returns_the_link() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let email = unique_email("tm");
    let res = app
        .post(
            &format!("/v1/brands/{}/portal/magic-link", t.brand_id),
            &t.key,
            json!({"email": email, "portalUrl": "http://localhost:5173/help"}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.body);
    assert!(
        res.body["testModeLink"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost:5173/help?token=pml_")
    );
    assert!(emails_to(&email).await.is_empty());
}

#[tokio::test]
async fn cors_allows_exactly_the_brands_portal_origins() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let shop = "https://shop.cors.test";
    let brand = format!("/v1/brands/{}", t.brand_id);
    let preflight = |origin: &'static str, path: &'static str| {
        let app = &app;
        async move {
            let headers = vec![
                ("origin".to_string(), origin.to_string()),
                (
                    "access-control-request-method".to_string(),
                    "POST".to_string(),
                ),
                (
                    "access-control-request-headers".to_string(),
                    "authorization, content-type".to_string(),
                ),
            ];
            app.send_with_headers("OPTIONS", path, &headers, None).await
        }
    };
    let acao = |res: &TestResponse| {
        res.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    // No brand lists the origin yet: no preflight passes.
    let before = preflight(shop, "/v1/portal/tickets").await;
    assert_eq!(before.status, 204);
    assert_eq!(acao(&before), None);

    app.patch(&brand, &t.key, json!({"portalOrigins": [shop]}))
        .await;
    let allowed = preflight(shop, "/v1/portal/tickets").await;
    assert_eq!(acao(&allowed).as_deref(), Some(shop));
    let allow_headers = allowed.header("access-control-allow-headers").unwrap();
    assert!(allow_headers.contains("authorization"));
    assert!(allowed.header("access-control-allow-credentials").is_none());
    assert_eq!(
        acao(&preflight("https://evil.cors.test", "/v1/portal/tickets").await),
        None
    );

    let token = token_for(&app, &t, &unique_email("o")).await;
    let ok = send_from(&app, "GET", "/v1/portal/tickets", &token, shop, None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(acao(&ok).as_deref(), Some(shop));
    // Errors are readable by the allowed origin too.
    let missing = send_from(
        &app,
        "GET",
        "/v1/portal/tickets/tkt_nope",
        &token,
        shop,
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(acao(&missing).as_deref(), Some(shop));
    let evil = send_from(
        &app,
        "POST",
        "/v1/portal/tickets",
        &token,
        "https://evil.cors.test",
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(evil.status, 403);
    assert_eq!(acao(&evil), None);
    let list = app.get("/v1/portal/tickets", &token).await;
    assert!(
        list.body["data"].as_array().unwrap().is_empty(),
        "nothing was created"
    );

    // Removing the origin closes preflights at once (new tokens stop carrying it too).
    app.patch(&brand, &t.key, json!({"portalOrigins": []}))
        .await;
    assert_eq!(acao(&preflight(shop, "/v1/portal/tickets").await), None);
    let fresh = token_for(&app, &t, &unique_email("o2")).await;
    let closed = send_from(&app, "GET", "/v1/portal/tickets", &fresh, shop, None).await;
    assert_eq!(closed.status, 403);

    // The dashboard's origin, with credentials, on dashboard routes only.
    let dash = preflight(DASHBOARD_ORIGIN, "/v1/brands").await;
    assert_eq!(acao(&dash).as_deref(), Some(DASHBOARD_ORIGIN));
    assert_eq!(
        dash.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        acao(&preflight(DASHBOARD_ORIGIN, "/v1/portal/tickets").await),
        None
    );
    assert_eq!(acao(&preflight(shop, "/v1/brands").await), None);
}

#[tokio::test]
async fn agents_cannot_mint_portal_tokens_but_admins_can() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let (_, agent) = app
        .member_session(&owner, &unique_email("agent"), "agent")
        .await;
    let (_, admin) = app
        .member_session(&owner, &unique_email("admin"), "admin")
        .await;
    let path = format!("/v1/brands/{}/portal/token", t.brand_id);
    let body = json!({"email": unique_email("c")});
    assert_eq!(app.post(&path, &agent, body.clone()).await.status, 403);
    assert_eq!(app.post(&path, &admin, body.clone()).await.status, 201);
    let other_org = app.tenant(Mode::Live).await;
    assert_eq!(app.post(&path, &other_org.key, body).await.status, 404);
}

#[tokio::test]
async fn a_browser_verifies_a_link_only_from_the_brands_origin_and_reads_expired_answers() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let shop = "http://localhost:5173";
    app.patch(
        &format!("/v1/brands/{}", t.brand_id),
        &t.key,
        json!({"portalOrigins": [shop]}),
    )
    .await;
    let link = || {
        let (app, brand, key) = (&app, t.brand_id.to_string(), t.key.clone());
        async move {
            let res = app
                .post(
                    &format!("/v1/brands/{brand}/portal/magic-link"),
                    &key,
                    json!({"email": unique_email("v"), "portalUrl": "http://localhost:5173/help#inbox"}),
                )
                .await;
            let url = res.body["testModeLink"].as_str().unwrap().to_string();
            // The token goes before the fragment.
            assert!(
                url.ends_with("#inbox") && url.contains("/help?token=pml_"),
                "{url}"
            );
            url.split("token=")
                .nth(1)
                .unwrap()
                .trim_end_matches("#inbox")
                .to_string()
        }
    };
    let verify_from = |origin: &'static str, token: String| {
        let app = &app;
        async move {
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("origin".to_string(), origin.to_string()),
            ];
            app.send_with_headers(
                "POST",
                "/v1/portal/verify",
                &headers,
                Some(json!({"token": token}).to_string()),
            )
            .await
        }
    };
    let ok = verify_from(shop, link().await).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.header("access-control-allow-origin"), Some(shop));
    let elsewhere = verify_from("https://evil.test", link().await).await;
    assert_eq!(elsewhere.status, 403);
    assert!(elsewhere.header("access-control-allow-origin").is_none());

    // An expired token's own origin can read the 401 (and ask for a new token); others not.
    let token = ok.body["token"].as_str().unwrap().to_string();
    app.clock.advance(3600);
    let expired = send_from(&app, "GET", "/v1/portal/tickets", &token, shop, None).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["code"], "portal_token_expired");
    assert_eq!(expired.header("access-control-allow-origin"), Some(shop));
    let other = send_from(
        &app,
        "GET",
        "/v1/portal/tickets",
        &token,
        "https://evil.test",
        None,
    )
    .await;
    assert_eq!(other.status, 401);
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn idempotency_keys_are_per_customer() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let a = token_for(&app, &t, &unique_email("a")).await;
    let b = token_for(&app, &t, &unique_email("b")).await;
    let create = |token: String| {
        let app = &app;
        async move {
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("authorization".to_string(), format!("Bearer {token}")),
                ("x-idempotency-key".to_string(), "order-1042".to_string()),
            ];
            app.send_with_headers(
                "POST",
                "/v1/portal/tickets",
                &headers,
                Some(json!({"title": "Same"}).to_string()),
            )
            .await
        }
    };
    let first = create(a.clone()).await;
    let replay = create(a).await;
    let theirs = create(b).await;
    assert_eq!(first.body["id"], replay.body["id"]);
    assert_eq!(theirs.status, 201);
    assert_ne!(
        theirs.body["id"], first.body["id"],
        "another customer's key is theirs"
    );
}

#[tokio::test]
async fn refreshing_stops_a_week_after_sign_in() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let minted = mint(
        &app,
        &t,
        json!({"email": unique_email("w"), "expiresIn": "24h"}),
    )
    .await;
    let mut token = minted.body["token"].as_str().unwrap().to_string();
    let mut refreshed = 0;
    loop {
        app.clock.advance(23 * 3600);
        let res = app.post("/v1/portal/refresh", &token, json!({})).await;
        if res.status != 201 {
            assert_eq!(res.status, 401);
            assert_eq!(res.body["code"], "portal_session_expired");
            break;
        }
        refreshed += 1;
        token = res.body["token"].as_str().unwrap().to_string();
        assert!(refreshed < 20, "refresh never stops");
    }
    assert_eq!(refreshed, 7, "7 × 23 h fit in a week");
}

#[tokio::test]
async fn a_deleted_brand_lists_nothing_to_its_customers() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let token = token_for(&app, &t, &unique_email("d")).await;
    portal_ticket(&app, &token, "Before").await;
    app.delete(&format!("/v1/brands/{}?confirm=true", t.brand_id), &t.key)
        .await;
    assert_eq!(app.get("/v1/portal/tickets", &token).await.status, 404);
    assert_eq!(
        app.post("/v1/portal/tickets", &token, json!({"title": "After"}))
            .await
            .status,
        404
    );
}

/// The customer's list sorts by creation or last change, either way; staff comments say
/// `STAFF` with who in `staffType`.
#[tokio::test]
async fn the_list_sorts_by_creation_or_change_and_staff_comments_say_staff() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let token = token_for(&app, &t, &unique_email("sorts")).await;
    let mut ids = Vec::new();
    for title in ["First", "Second", "Third"] {
        ids.push(portal_ticket(&app, &token, title).await);
        app.clock.advance(10);
    }
    // An agent answers the first ticket: it changed last.
    let answered = app
        .post(
            &format!("/v1/brands/{}/tickets/{}/comments", t.brand_id, ids[0]),
            &t.key,
            json!({"body": "On it", "authorType": "SYSTEM"}),
        )
        .await;
    assert_eq!(answered.status, 201, "{}", answered.body);
    let list = |query: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            let res = app
                .get(&format!("/v1/portal/tickets?{query}"), &token)
                .await;
            assert_eq!(res.status, 200, "{query}: {}", res.body);
            crate::helpers::page_ids(&res.body)
        }
    };
    let [a, b, c] = [ids[0].clone(), ids[1].clone(), ids[2].clone()];
    assert_eq!(list("limit=10").await, [c.clone(), b.clone(), a.clone()]);
    assert_eq!(list("order=asc").await, [a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        list("sort=updatedAt").await,
        [a.clone(), c.clone(), b.clone()]
    );
    assert_eq!(
        list("sort=updatedAt&order=asc").await,
        [b.clone(), c.clone(), a.clone()]
    );
    // Pages of one follow the in-memory order; the cursor keeps it.
    let first = app
        .get("/v1/portal/tickets?sort=updatedAt&limit=1", &token)
        .await;
    let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/portal/tickets?sort=updatedAt&limit=1&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(crate::helpers::page_ids(&second.body), vec![c.clone()]);
    let crossed = app
        .get(
            &format!("/v1/portal/tickets?limit=1&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(crossed.body["code"], "invalid_cursor");
    for bad in ["sort=priority", "order=up", "sort="] {
        let res = app.get(&format!("/v1/portal/tickets?{bad}"), &token).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.body);
    }
    // The in-memory order has a ceiling: past it the store says so instead of reading on.
    let query = dispatch_store::CustomerTicketQuery {
        customer: dispatch_domain::CustomerId::parse(
            app.get(&format!("/v1/brands/{}/tickets/{a}", t.brand_id), &t.key)
                .await
                .body["customerId"]
                .as_str()
                .unwrap(),
        )
        .unwrap(),
        status: None,
        newest_first: true,
    };
    use dispatch_store::TicketStore;
    let store = &app.ctx.store;
    assert!(
        store
            .all_customer_tickets(&t.org_id, Mode::Live, &t.brand_id, &query, 2)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .all_customer_tickets(&t.org_id, Mode::Live, &t.brand_id, &query, 3)
            .await
            .unwrap()
            .map(|v| v.len()),
        Some(3)
    );

    let detail = app.get(&format!("/v1/portal/tickets/{a}"), &token).await;
    let comment = &detail.body["comments"][0];
    assert_eq!(
        (&comment["authorType"], &comment["staffType"]),
        (&json!("STAFF"), &json!("SYSTEM"))
    );
    let own = app
        .post(
            &format!("/v1/portal/tickets/{a}/comments"),
            &token,
            json!({"body": "Thanks"}),
        )
        .await;
    assert_eq!(
        (&own.body["authorType"], &own.body["staffType"]),
        (&json!("CUSTOMER"), &Value::Null)
    );
}
