//! Every function's real binary, given its event from events/ through the Lambda Runtime
//! API, against the emulator.

use crate::helpers::{
    Tenant, TestApp, http_request, test_portal_keys, unique_email, workspace_root,
};
use dispatch_auth::portal_token::PortalClaims;
use dispatch_domain::Mode;
use dispatch_domain::{Clock, CustomerId, OrgId, SystemClock};
use dispatch_runtime_emulator::{Emulator, Outcome};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn every_function_binary_answers_its_event() {
    let app = TestApp::new().await;
    let bin_dir = workspace_root().join("target/debug");
    let mut events: Vec<_> = std::fs::read_dir(workspace_root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    events.sort();
    assert!(!events.is_empty());
    for path in events {
        let function = path.file_stem().unwrap().to_string_lossy().to_string();
        // A fresh hour for the sign-in rate limits (the preparation asks for two links).
        app.clock.advance(3600);
        let tenant = app.tenant(Mode::Test).await;
        let second_key = app.create_key(&tenant.key, json!({"name": "second"})).await;
        let other_org = app.tenant_owned_by(&tenant.owner_email, Mode::Test).await;
        let session = app.sign_in_with_bearer(&tenant.owner_email).await;
        // Sign-in lands in one of the owner's two organizations: switch to the other.
        let signed_into =
            app.get("/v1/auth/session", &session).await.body["organization"]["id"].clone();
        let switch_target = if signed_into == other_org.org_id.as_str() {
            tenant.org_id.clone()
        } else {
            other_org.org_id.clone()
        };
        let invitee = unique_email("invitee");
        let invited = app
            .post(
                "/v1/auth/members/invite",
                &session,
                json!({"email": invitee, "role": "agent"}),
            )
            .await;
        app.clock.advance(61);
        let link = app.request_link(&tenant.owner_email).await;
        let ticket = app
            .post(
                &format!("/v1/brands/{}/tickets", tenant.brand_id),
                &tenant.key,
                json!({"title": "Prepared"}),
            )
            .await;
        let customer = app
            .post(
                &format!("/v1/brands/{}/customers", tenant.brand_id),
                &tenant.key,
                json!({"email": unique_email("customer")}),
            )
            .await;
        let mut event = std::fs::read_to_string(&path).unwrap();
        if event.contains("{{ATTACHMENT_ID}}") {
            let ticket_id = ticket.body["id"].as_str().unwrap();
            let declared = app
                .post(
                    &format!(
                        "/v1/brands/{}/tickets/{ticket_id}/attachments",
                        tenant.brand_id
                    ),
                    &tenant.key,
                    json!({"filename": "a.txt", "contentType": "text/plain", "size": 2}),
                )
                .await;
            let put = http_request(
                "PUT",
                declared.body["uploadUrl"].as_str().unwrap(),
                &[("Content-Type", "text/plain"), ("Content-Length", "2")],
                b"ok",
            )
            .await;
            assert_eq!(put.status, 200);
            event = event.replace(
                "{{ATTACHMENT_ID}}",
                declared.body["attachmentId"].as_str().unwrap(),
            );
        }
        if event.contains("{{PORTAL") || event.contains("{{PENDING_ATTACHMENT_ID}}") {
            for (placeholder, value) in portal_fixture(&app, &tenant).await {
                event = event.replace(placeholder, &value);
            }
        }
        if event.contains("{{BRAND_PENDING_ATTACHMENT_ID}}") {
            let declared = app
                .post(
                    &format!("/v1/brands/{}/attachments", tenant.brand_id),
                    &tenant.key,
                    json!({"filename": "a.txt", "contentType": "text/plain", "size": 2}),
                )
                .await;
            let put = http_request(
                "PUT",
                declared.body["uploadUrl"].as_str().unwrap(),
                &[("Content-Type", "text/plain"), ("Content-Length", "2")],
                b"ok",
            )
            .await;
            assert_eq!(put.status, 200);
            event = event.replace(
                "{{BRAND_PENDING_ATTACHMENT_ID}}",
                declared.body["attachmentId"].as_str().unwrap(),
            );
        }
        if event.contains("{{INTAKE_TOKEN}}") {
            let intake = app
                .post(
                    &format!("/v1/brands/{}/intake", tenant.brand_id),
                    &tenant.key,
                    json!({"name": "Contact form"}),
                )
                .await;
            event = event.replace("{{INTAKE_TOKEN}}", intake.body["token"].as_str().unwrap());
        }
        let event = event
            .replace("{{API_KEY}}", &tenant.key)
            .replace("{{BRAND_ID}}", tenant.brand_id.as_str())
            .replace("{{KEY_ID}}", second_key["id"].as_str().unwrap())
            .replace("{{SESSION_TOKEN}}", &session)
            .replace("{{MAGIC_LINK_TOKEN}}", &link)
            .replace("{{ORG_ID}}", &switch_target)
            .replace("{{MEMBER_ID}}", invited.body["id"].as_str().unwrap())
            .replace("{{CUSTOMER_ID}}", customer.body["id"].as_str().unwrap())
            .replace("{{TICKET_ID}}", ticket.body["id"].as_str().unwrap())
            // A member who has never asked for a link: the binary's real clock sees no
            // earlier request in its rate-limit window.
            .replace("{{EMAIL}}", &invitee);
        assert!(!event.contains("{{"), "{function}: an unfilled placeholder");
        let env = [("TABLE_NAME".to_string(), app.table.clone())];
        let emulator = Emulator::start(&bin_dir.join(&function), vec![event], &env)
            .await
            .unwrap_or_else(|e| {
                panic!("cannot start {function}: {e} (scripts/test builds the binaries first)")
            });
        let answered = emulator.wait_for(1, Duration::from_secs(30)).await;
        emulator.stop().await;
        let invocation =
            answered.unwrap_or_else(|| panic!("{function} did not answer within 30 s"));
        match &invocation[0].outcome {
            Outcome::Response(response) => {
                let status = response["statusCode"].as_u64().unwrap_or(0);
                assert!(
                    (200..300).contains(&status),
                    "{function} answered {response}"
                );
                let headers = &response["headers"];
                assert!(
                    headers["x-request-id"].is_string(),
                    "{function}: no X-Request-Id in {response}"
                );
            }
            Outcome::Error(e) => panic!("{function} reported an invocation error: {e}"),
        }
    }
}

/// A portal customer's token, ticket, uploaded-but-unconfirmed attachments (on the ticket
/// and pending), and an unused sign-in link token.
async fn portal_fixture(app: &TestApp, tenant: &Tenant) -> Vec<(&'static str, String)> {
    let brand = format!("/v1/brands/{}", tenant.brand_id);
    let email = unique_email("portal");
    let minted = app
        .post(
            &format!("{brand}/portal/token"),
            &tenant.key,
            json!({"email": email}),
        )
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.body["token"].as_str().unwrap().to_string();
    let ticket = app
        .post("/v1/portal/tickets", &token, json!({"title": "Prepared"}))
        .await;
    let ticket_id = ticket.body["id"].as_str().unwrap().to_string();
    let upload = |path: String| {
        let token = token.clone();
        async move {
            let declared = app
                .post(
                    &path,
                    &token,
                    json!({"filename": "a.txt", "contentType": "text/plain", "size": 2}),
                )
                .await;
            assert_eq!(declared.status, 201, "{}", declared.body);
            let put = http_request(
                "PUT",
                declared.body["uploadUrl"].as_str().unwrap(),
                &[("Content-Type", "text/plain"), ("Content-Length", "2")],
                b"ok",
            )
            .await;
            assert_eq!(put.status, 200);
            declared.body["attachmentId"].as_str().unwrap().to_string()
        }
    };
    let on_ticket = upload(format!("/v1/portal/tickets/{ticket_id}/attachments")).await;
    let pending = upload("/v1/portal/tickets/attachments/pending".to_string()).await;
    let link = app
        .post(
            &format!("{brand}/portal/magic-link"),
            &tenant.key,
            json!({"email": email, "portalUrl": "http://localhost:3000/support"}),
        )
        .await;
    assert_eq!(link.status, 202, "{}", link.body);
    let link_token = link.body["testModeLink"]
        .as_str()
        .and_then(|l| l.split("token=").nth(1))
        .unwrap()
        .to_string();
    // The binary runs on the real clock, which the suite's clock has long left behind: its
    // token is signed for now, for the same customer.
    let now = SystemClock.now().unix();
    let binary_token = test_portal_keys().sign(PortalClaims {
        typ: String::new(),
        alg: String::new(),
        kid: String::new(),
        org: OrgId::parse(&tenant.org_id).unwrap(),
        mode: Mode::Test,
        brand: tenant.brand_id.clone(),
        cus: CustomerId::parse(minted.body["customerId"].as_str().unwrap()).unwrap(),
        email: email.clone(),
        name: None,
        origins: vec![],
        iat: now,
        exp: now + 600,
        auth: now,
    });
    vec![
        ("{{PORTAL_TOKEN}}", binary_token),
        ("{{PORTAL_TICKET_ID}}", ticket_id),
        ("{{PORTAL_ATTACHMENT_ID}}", on_ticket),
        ("{{PENDING_ATTACHMENT_ID}}", pending),
        ("{{PORTAL_LINK_TOKEN}}", link_token),
    ]
}

/// The stream-driven cleanup's real binary, given a brand's `REMOVE` record from
/// events/streams/ through the Lambda Runtime API.
#[tokio::test(flavor = "multi_thread")]
async fn the_cleanup_binary_purges_a_deleted_brand() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let brand = tenant.brand_id.to_string();
    app.post(
        &format!("/v1/brands/{brand}/tickets"),
        &tenant.key,
        json!({"title": "Left behind", "customerEmail": unique_email("c")}),
    )
    .await;
    let deleted = app
        .delete(&format!("/v1/brands/{brand}?confirm=true"), &tenant.key)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(!app.raw_items_containing(&brand).await.is_empty());
    let event = std::fs::read_to_string(workspace_root().join("events/streams/brand-removed.json"))
        .unwrap()
        .replace("{{ORG_ID}}", &tenant.org_id)
        .replace("{{BRAND_ID}}", &brand);
    let env = [("TABLE_NAME".to_string(), app.table.clone())];
    let binary = workspace_root().join("target/debug/brand-cleanup");
    let emulator = Emulator::start(&binary, vec![event], &env)
        .await
        .expect("scripts/test builds the binaries first");
    let answered = emulator.wait_for(1, Duration::from_secs(30)).await;
    emulator.stop().await;
    match &answered.expect("brand-cleanup did not answer")[0].outcome {
        Outcome::Response(response) => {
            assert_eq!(
                response["purged"][0]["brandId"],
                brand.as_str(),
                "{response}"
            );
        }
        Outcome::Error(e) => panic!("brand-cleanup reported an error: {e}"),
    }
    assert!(app.raw_items_containing(&brand).await.is_empty());
}
