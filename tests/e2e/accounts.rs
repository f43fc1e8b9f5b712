use crate::helpers::TestApp;
use dispatch_domain::Mode;
use serde_json::json;

#[tokio::test]
async fn me_returns_the_organization_in_the_keys_mode() {
    let app = TestApp::new().await;
    for mode in [Mode::Test, Mode::Live] {
        let tenant = app.tenant(mode).await;
        let res = app.get("/v1/accounts/me", &tenant.key).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.body["id"], tenant.org_id.as_str());
        assert_eq!(res.body["name"], "Acme");
        assert_eq!(res.body["mode"], mode.as_str());
        assert!(res.body["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(res.header("x-request-id").is_some());
    }
}

#[tokio::test]
async fn health_is_public() {
    let app = TestApp::new().await;
    let res = app.send("GET", "/v1/health", None, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["status"], "ok");
}

/// Usage counts the organization's tickets in the credential's mode only, creations (a
/// deleted ticket still counts), this month apart; only org-wide owners and admins read it.
#[tokio::test]
async fn usage_counts_this_organizations_tickets_in_this_mode() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let other_brand = app.create_brand(&t.key, "Second").await;
    let ticket = |brand: String, key: String| {
        let app = &app;
        async move {
            let res = app
                .post(
                    &format!("/v1/brands/{brand}/tickets"),
                    &key,
                    json!({"title": "Count me"}),
                )
                .await;
            assert_eq!(res.status, 201, "{}", res.body);
            res.body["id"].as_str().unwrap().to_string()
        }
    };
    let first = ticket(t.brand_id.to_string(), t.key.clone()).await;
    ticket(t.brand_id.to_string(), t.key.clone()).await;
    ticket(other_brand.clone(), t.key.clone()).await;
    app.delete(
        &format!("/v1/brands/{}/tickets/{first}", t.brand_id),
        &t.key,
    )
    .await;
    // Another organization's tickets, and this organization's live mode, count elsewhere.
    let stranger = app.tenant(Mode::Test).await;
    ticket(stranger.brand_id.to_string(), stranger.key.clone()).await;
    let live = app.key_in_mode(&t, Mode::Live).await;

    app.take_ops();
    let usage = app.get("/v1/accounts/me/usage", &t.key).await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(
        usage.body,
        json!({"ticketsThisMonth": 3, "ticketsTotal": 3, "brandsCount": 2})
    );
    assert_eq!(app.take_ops().0, ["GetItem", "Query"]);
    let in_live = app.get("/v1/accounts/me/usage", &live).await;
    assert_eq!(in_live.body["ticketsTotal"], 0, "{}", in_live.body);

    // Next month, this month's count starts again; the total stays.
    app.clock.advance(32 * 24 * 3600);
    ticket(t.brand_id.to_string(), t.key.clone()).await;
    let later = app.get("/v1/accounts/me/usage", &t.key).await;
    assert_eq!(
        later.body,
        json!({"ticketsThisMonth": 1, "ticketsTotal": 4, "brandsCount": 2})
    );

    let scoped = app
        .create_key(&t.key, json!({"name": "scoped", "brandIds": [other_brand]}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.get("/v1/accounts/me/usage", &scoped).await.status, 403);
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let (_, agent) = app
        .member_session(&owner, &crate::helpers::unique_email("agent"), "agent")
        .await;
    assert_eq!(app.get("/v1/accounts/me/usage", &agent).await.status, 403);
    // An owner's session reads it, in the mode it asks for (live by default).
    let by_session = app
        .send_with_headers(
            "GET",
            "/v1/accounts/me/usage",
            &[
                ("authorization".to_string(), format!("Bearer {owner}")),
                ("dispatch-mode".to_string(), "test".to_string()),
            ],
            None,
        )
        .await;
    assert_eq!(by_session.body["ticketsTotal"], 4, "{}", by_session.body);
}
