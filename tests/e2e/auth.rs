//! Authentication: 401s, their cost, and the request budget of the hot path.

use crate::helpers::TestApp;
use dispatch_auth::ApiKeySecret;
use dispatch_domain::Mode;
use serde_json::json;

#[tokio::test]
async fn missing_credential_is_401_with_a_json_error() {
    let app = TestApp::new().await;
    let res = app.send("GET", "/v1/brands", None, None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["code"], "authentication_required");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    assert!(res.body["requestId"].is_string());
}

#[tokio::test]
async fn malformed_credentials_are_refused_before_any_io() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let mut typo = tenant.key.clone().into_bytes();
    let last = typo.len() - 10;
    typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    for bad in ["sk_live_short", "xyz_123", "sess_tooshort", typo.as_str()] {
        app.take_ops();
        let res = app.get("/v1/brands", bad).await;
        assert_eq!(res.status, 401, "{bad}");
        assert_eq!(res.body["code"], "invalid_credential");
        assert_eq!(
            app.take_ops().0,
            Vec::<String>::new(),
            "{bad} reached DynamoDB"
        );
    }
    let basic = app
        .send_with_headers(
            "GET",
            "/v1/brands",
            &[("authorization".into(), "Basic dXNlcjpwYXNz".into())],
            None,
        )
        .await;
    assert_eq!(basic.status, 401);
}

#[tokio::test]
async fn unknown_well_formed_key_is_401() {
    let app = TestApp::new().await;
    let stranger = ApiKeySecret::generate(Mode::Live);
    let res = app.get("/v1/brands", stranger.expose()).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["code"], "invalid_api_key");
}

#[tokio::test]
async fn api_key_authentication_costs_one_read_and_no_write_on_the_hot_path() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    // First use records lastUsedAt (the one write allowed per 15 minutes).
    assert_eq!(app.get("/v1/accounts/me", &tenant.key).await.status, 200);
    app.take_ops();

    let res = app
        .get(&format!("/v1/brands/{}", tenant.brand_id), &tenant.key)
        .await;
    assert_eq!(res.status, 200);
    let (ops, writes) = app.take_ops();
    assert_eq!(ops, ["GetItem", "GetItem"], "auth read + brand read");
    assert_eq!(writes, 0);

    let res = app.get("/v1/accounts/me", &tenant.key).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        app.take_ops(),
        (vec!["GetItem".to_string(), "GetItem".to_string()], 0)
    );
}

#[tokio::test]
async fn last_used_at_is_written_at_most_once_per_fifteen_minutes() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let created = app.create_key(&tenant.key, json!({"name": "worker"})).await;
    let worker = created["secret"].as_str().unwrap();
    app.take_ops();

    app.get("/v1/brands", worker).await;
    let (_, writes) = app.take_ops();
    assert_eq!(writes, 1, "first use records lastUsedAt");
    let first_seen = dispatch_domain::Clock::now(app.clock.as_ref()).to_rfc3339();

    app.clock.advance(14 * 60);
    app.get("/v1/brands", worker).await;
    assert_eq!(app.take_ops().1, 0, "no write within 15 minutes");

    app.clock.advance(60);
    app.get("/v1/brands", worker).await;
    assert_eq!(app.take_ops().1, 1, "written again after 15 minutes");

    let keys = app.get("/v1/accounts/me/api-keys", &tenant.key).await;
    let listed = keys
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .unwrap()
        .clone();
    assert_ne!(
        listed["lastUsedAt"],
        first_seen.as_str(),
        "the later use is recorded"
    );
    assert!(listed["lastUsedAt"].is_string());
}
