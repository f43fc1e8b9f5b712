use crate::helpers::TestApp;
use dispatch_domain::Mode;

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
