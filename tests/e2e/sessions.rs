//! Dashboard sign-in: magic links through SES (read back from the emulator), sessions as
//! cookies and Bearer tokens, CSRF, switching organizations, logout, expiry.

use crate::helpers::{
    DASHBOARD_ORIGIN, TestApp, emails_to, latest_magic_link_token, session_cookie_of, unique_email,
};
use dispatch_auth::session::{
    MAGIC_LINK_TTL_SECS, SESSION_ABSOLUTE_SECS, SESSION_IDLE_SECS, SESSION_REFRESH_SECS,
};
use dispatch_domain::{Clock, Mode};
use serde_json::json;

const ORIGIN: Option<&str> = Some(DASHBOARD_ORIGIN);

#[tokio::test]
async fn the_whole_flow_link_email_verify_cookie_switch_logout() {
    let app = TestApp::new().await;
    let first = app.tenant(Mode::Live).await;
    let second = app.tenant_owned_by(&first.owner_email, Mode::Live).await;

    // Request a link; the email arrives through SES with both bodies' link.
    let res = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": first.owner_email}).to_string()),
        )
        .await;
    assert_eq!(res.status, 202);
    assert_eq!(res.body, json!({"success": true}));
    let mails = emails_to(&first.owner_email).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Your Dispatch sign-in link");
    let token = latest_magic_link_token(&first.owner_email).await.unwrap();
    assert!(token.starts_with("ml_"));

    // Opening the link shows a page and consumes nothing.
    let page = app
        .send_raw("GET", &format!("/v1/auth/verify?token={token}"))
        .await;
    assert_eq!(page.0, 200);
    assert!(page.1.contains("<button"));
    assert!(!page.1.contains(&token), "the page never echoes the token");
    assert_eq!(page.2.get("referrer-policy").unwrap(), "no-referrer");
    assert!(
        page.2
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );

    // POST consumes it: a session cookie with every protective flag.
    let verified = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let set_cookie = verified.header("set-cookie").unwrap().to_string();
    for flag in [
        "__Host-dispatch_session=sess_",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
    ] {
        assert!(set_cookie.contains(flag), "{set_cookie} lacks {flag}");
    }
    assert!(
        verified.body["session"]["token"].is_null(),
        "browsers never see the token"
    );
    assert!(
        verified.body["session"]["id"]
            .as_str()
            .unwrap()
            .starts_with("ses_")
    );
    assert_eq!(
        verified.body["account"]["email"],
        first.owner_email.as_str()
    );
    assert_eq!(verified.body["member"]["role"], "owner");
    let cookie = session_cookie_of(&verified).unwrap();
    let org_of_session = verified.body["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_org = if org_of_session == first.org_id.as_str() {
        &second
    } else {
        &first
    };

    // The cookie works on API-key-or-session endpoints, reads and writes.
    let brands = app
        .with_cookie("GET", "/v1/brands", &cookie, None, None)
        .await;
    assert_eq!(brands.status, 200);
    let created = app
        .with_cookie(
            "POST",
            "/v1/brands",
            &cookie,
            ORIGIN,
            Some(json!({"name": "From the dashboard"})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    // Both organizations are listed; switching gives a new session and ends the old one.
    let orgs = app
        .with_cookie("GET", "/v1/auth/organizations", &cookie, None, None)
        .await;
    assert_eq!(orgs.body.as_array().unwrap().len(), 2);
    assert!(
        orgs.body
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["role"] == "owner")
    );
    let switched = app
        .with_cookie(
            "POST",
            "/v1/auth/switch-organization",
            &cookie,
            ORIGIN,
            Some(json!({"organizationId": other_org.org_id})),
        )
        .await;
    assert_eq!(switched.status, 200, "{:?}", switched.body);
    assert_eq!(
        switched.body["organization"]["id"],
        other_org.org_id.as_str()
    );
    let new_cookie = session_cookie_of(&switched).unwrap();
    assert_ne!(new_cookie, cookie);
    assert_eq!(
        app.with_cookie("GET", "/v1/auth/session", &cookie, None, None)
            .await
            .status,
        401,
        "the old session ended"
    );
    let current = app
        .with_cookie("GET", "/v1/auth/session", &new_cookie, None, None)
        .await;
    assert_eq!(current.status, 200);
    assert_eq!(
        current.body["organization"]["id"],
        other_org.org_id.as_str()
    );
    let other_brands = app
        .with_cookie("GET", "/v1/brands", &new_cookie, None, None)
        .await;
    assert!(
        other_brands
            .body
            .to_string()
            .contains(other_org.brand_id.as_str())
    );
    assert!(!other_brands.body.to_string().contains("From the dashboard"));

    // Logout: 204, the cookie is cleared, and the token is dead at once.
    let out = app
        .with_cookie("POST", "/v1/auth/logout", &new_cookie, ORIGIN, None)
        .await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = app
        .with_cookie("GET", "/v1/brands", &new_cookie, None, None)
        .await;
    assert_eq!(after.status, 401);
    assert_eq!(after.body["code"], "invalid_session");
}

#[tokio::test]
async fn a_link_works_once() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let token = app.request_link(&tenant.owner_email).await;
    let body = json!({"token": token}).to_string();
    assert_eq!(
        app.send("POST", "/v1/auth/verify", None, Some(body.clone()))
            .await
            .status,
        200
    );
    let again = app.send("POST", "/v1/auth/verify", None, Some(body)).await;
    assert_eq!(again.status, 401);
    assert_eq!(again.body["code"], "invalid_token");
}

#[tokio::test]
async fn two_concurrent_verifies_make_exactly_one_session() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let token = app.request_link(&tenant.owner_email).await;
    let body = json!({"token": token}).to_string();
    let (a, b) = tokio::join!(
        app.send("POST", "/v1/auth/verify", None, Some(body.clone())),
        app.send("POST", "/v1/auth/verify", None, Some(body.clone()))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let token = app.request_link(&tenant.owner_email).await;
    app.clock.advance(MAGIC_LINK_TTL_SECS);
    let res = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["code"], "invalid_token");
}

#[tokio::test]
async fn tampered_malformed_and_unknown_tokens_are_refused() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let token = app.request_link(&tenant.owner_email).await;
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() - 3;
    tampered[i] = if tampered[i] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        tampered.as_str(),
        "ml_short",
        "sess_x",
        "",
        &format!("ml_{}", "A".repeat(43)),
    ] {
        let res = app
            .send(
                "POST",
                "/v1/auth/verify",
                None,
                Some(json!({"token": bad}).to_string()),
            )
            .await;
        assert_eq!(res.status, 401, "{bad}");
        assert_eq!(res.body["code"], "invalid_token");
    }
    // The genuine token still works afterwards.
    let ok = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn a_newer_link_invalidates_the_older_one() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let older = app.request_link(&tenant.owner_email).await;
    app.clock.advance(61);
    let newer = app.request_link(&tenant.owner_email).await;
    assert_ne!(older, newer);
    let old = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": older}).to_string()),
        )
        .await;
    assert_eq!(old.status, 401);
    let new = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": newer}).to_string()),
        )
        .await;
    assert_eq!(new.status, 200);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_email() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let stranger = unique_email("stranger");
    let known = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": tenant.owner_email}).to_string()),
        )
        .await;
    let unknown = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": stranger}).to_string()),
        )
        .await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    let header_names = |r: &crate::helpers::TestResponse| {
        let mut names: Vec<String> = r
            .headers
            .keys()
            .map(|k| k.to_string())
            .filter(|k| k != "x-request-id")
            .collect();
        names.sort();
        names
    };
    assert_eq!(header_names(&known), header_names(&unknown));
    assert_eq!(emails_to(&tenant.owner_email).await.len(), 1);
    assert!(
        emails_to(&stranger).await.is_empty(),
        "nothing is sent to an unknown address"
    );

    let invalid = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": "not-an-email"}).to_string()),
        )
        .await;
    assert_eq!(invalid.status, 400);
    let extra = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": stranger, "admin": true}).to_string()),
        )
        .await;
    assert_eq!(extra.status, 400);
}

#[tokio::test]
async fn magic_links_are_rate_limited_per_address_known_or_not() {
    let app = TestApp::new().await;
    for email in [
        app.tenant(Mode::Live).await.owner_email,
        unique_email("nobody"),
    ] {
        // Start at the top of an hour so the fixed windows are predictable.
        app.clock
            .advance(3600 - app.clock.now().unix().rem_euclid(3600));
        let ask = || {
            app.send(
                "POST",
                "/v1/auth/magic-link",
                None,
                Some(json!({"email": email}).to_string()),
            )
        };
        assert_eq!(ask().await.status, 202);
        let limited = ask().await;
        assert_eq!(limited.status, 429, "a second link within a minute");
        assert_eq!(limited.body["code"], "rate_limited");
        let retry: i64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert_eq!(retry, 60);
        assert_eq!(limited.header("x-ratelimit-limit"), Some("1"));
        assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
        assert!(limited.header("x-ratelimit-reset").is_some());
        // Refused requests count too: with 2 of the hour's 5 used, three more go through.
        for _ in 0..3 {
            app.clock.advance(61);
            assert_eq!(ask().await.status, 202);
        }
        app.clock.advance(61);
        let hourly = ask().await;
        assert_eq!(hourly.status, 429, "a sixth request within the hour");
        assert_eq!(hourly.header("x-ratelimit-limit"), Some("5"));
        let retry: i64 = hourly.header("retry-after").unwrap().parse().unwrap();
        assert_eq!(retry, 3600 - 4 * 61);
    }
}

#[tokio::test]
async fn magic_links_are_rate_limited_per_client_ip() {
    let app = TestApp::new().await;
    for i in 0..30 {
        let res = app
            .send(
                "POST",
                "/v1/auth/magic-link",
                None,
                Some(json!({"email": unique_email(&format!("ip{i}"))}).to_string()),
            )
            .await;
        assert_eq!(res.status, 202);
    }
    let res = app
        .send(
            "POST",
            "/v1/auth/magic-link",
            None,
            Some(json!({"email": unique_email("ip31")}).to_string()),
        )
        .await;
    assert_eq!(res.status, 429);
}

#[tokio::test]
async fn cookie_writes_need_the_dashboard_origin_bearer_writes_do_not() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let cookie = app.sign_in_with_cookie(&tenant.owner_email).await;
    let body = || Some(json!({"name": "CSRF probe"}));
    for origin in [None, Some("https://evil.example.com"), Some("null")] {
        let res = app
            .with_cookie("POST", "/v1/brands", &cookie, origin, body())
            .await;
        assert_eq!(res.status, 403, "{origin:?}");
        assert_eq!(res.body["code"], "csrf_failed");
    }
    assert_eq!(
        app.with_cookie(
            "DELETE",
            &format!("/v1/brands/{}?confirm=true", tenant.brand_id),
            &cookie,
            None,
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.with_cookie("GET", "/v1/brands", &cookie, None, None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was written"
    );

    app.clock.advance(61);
    let bearer = app.sign_in_with_bearer(&tenant.owner_email).await;
    assert!(bearer.starts_with("sess_"));
    let res = app
        .post("/v1/brands", &bearer, json!({"name": "Bearer write"}))
        .await;
    assert_eq!(res.status, 201, "Bearer sessions need no Origin");
}

#[tokio::test]
async fn sessions_act_in_live_mode_unless_asked_for_test() {
    let app = TestApp::new().await;
    let test_tenant = app.tenant(Mode::Test).await;
    let session = app.sign_in_with_bearer(&test_tenant.owner_email).await;
    let live = app.get("/v1/brands", &session).await;
    assert_eq!(
        live.body,
        json!([]),
        "the bootstrap brand is a test-mode brand"
    );
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {session}")),
        ("dispatch-mode".to_string(), "test".to_string()),
    ];
    let test = app
        .send_with_headers("GET", "/v1/brands", &headers, None)
        .await;
    assert!(
        test.body
            .to_string()
            .contains(test_tenant.brand_id.as_str())
    );
    let bad = vec![
        ("authorization".to_string(), format!("Bearer {session}")),
        ("dispatch-mode".to_string(), "prod".to_string()),
    ];
    assert_eq!(
        app.send_with_headers("GET", "/v1/brands", &bad, None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn an_admin_session_manages_keys_of_both_modes() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let session = app.sign_in_with_bearer(&tenant.owner_email).await;
    for mode in ["live", "test"] {
        let created = app
            .post(
                "/v1/accounts/me/api-keys",
                &session,
                json!({"name": mode, "mode": mode}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let secret = created.body["secret"].as_str().unwrap();
        assert!(secret.starts_with(&format!("sk_{mode}_")));
        assert_eq!(app.get("/v1/accounts/me", secret).await.body["mode"], mode);
    }
    let live_keys = app.get("/v1/accounts/me/api-keys", &session).await;
    let id = live_keys.body[0]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/accounts/me/api-keys/{id}"), &session)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_seven_days() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let idle = app.sign_in_with_bearer(&tenant.owner_email).await;
    app.clock.advance(SESSION_IDLE_SECS - 60);
    assert_eq!(
        app.get("/v1/auth/session", &idle).await.status,
        200,
        "used just before the idle limit"
    );
    app.clock.advance(SESSION_IDLE_SECS);
    let res = app.get("/v1/auth/session", &idle).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["code"], "session_expired");

    let busy = app.sign_in_with_bearer(&tenant.owner_email).await;
    let mut used = 0;
    while used + SESSION_IDLE_SECS / 2 < SESSION_ABSOLUTE_SECS {
        app.clock.advance(SESSION_IDLE_SECS / 2);
        used += SESSION_IDLE_SECS / 2;
        assert_eq!(
            app.get("/v1/auth/session", &busy).await.status,
            200,
            "kept alive at {used}s"
        );
    }
    app.clock.advance(SESSION_ABSOLUTE_SECS - used);
    assert_eq!(
        app.get("/v1/auth/session", &busy).await.status,
        401,
        "the absolute limit holds"
    );
}

#[tokio::test]
async fn session_authentication_costs_one_read_and_refreshes_at_most_every_five_minutes() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let session = app.sign_in_with_bearer(&tenant.owner_email).await;
    app.take_ops();
    assert_eq!(app.get("/v1/brands", &session).await.status, 200);
    assert_eq!(
        app.take_ops(),
        (vec!["GetItem".to_string(), "Query".to_string()], 0),
        "session read + brand list"
    );
    app.clock.advance(SESSION_REFRESH_SECS);
    app.get("/v1/brands", &session).await;
    assert_eq!(
        app.take_ops().1,
        1,
        "one idle-clock refresh after five minutes"
    );
    app.get("/v1/brands", &session).await;
    assert_eq!(app.take_ops().1, 0);
}

#[tokio::test]
async fn api_keys_cannot_use_session_only_endpoints() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    for path in [
        "/v1/auth/session",
        "/v1/auth/organizations",
        "/v1/auth/members",
    ] {
        let res = app.get(path, &tenant.key).await;
        assert_eq!(res.status, 403, "{path}");
        assert_eq!(res.body["code"], "session_required");
    }
    assert_eq!(
        app.send("GET", "/v1/auth/session", None, None).await.status,
        401
    );
}

#[tokio::test]
async fn switching_to_an_organization_you_do_not_belong_to_is_404() {
    let app = TestApp::new().await;
    let mine = app.tenant(Mode::Live).await;
    let theirs = app.tenant(Mode::Live).await;
    let session = app.sign_in_with_bearer(&mine.owner_email).await;
    for target in [theirs.org_id.as_str(), "org_nope"] {
        let res = app
            .post(
                "/v1/auth/switch-organization",
                &session,
                json!({"organizationId": target}),
            )
            .await;
        assert_eq!(res.status, 404, "{target}");
    }
    assert_eq!(
        app.get("/v1/auth/session", &session).await.status,
        200,
        "the session survives"
    );
}

#[tokio::test]
async fn signup_is_off_by_default_and_creates_an_organization_when_on() {
    let mut app = TestApp::new().await;
    let newcomer = unique_email("newcomer");
    app.send(
        "POST",
        "/v1/auth/magic-link",
        None,
        Some(json!({"email": newcomer}).to_string()),
    )
    .await;
    assert!(emails_to(&newcomer).await.is_empty());

    app.signin.settings.allow_signup = true;
    app.clock.advance(61);
    let token = app.request_link(&newcomer).await;
    let res = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": token, "delivery": "bearer"}).to_string()),
        )
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    assert_eq!(res.body["member"]["role"], "owner");
    let session = res.body["session"]["token"].as_str().unwrap();
    let me = app.get("/v1/accounts/me", session).await;
    assert_eq!(me.body["id"], res.body["organization"]["id"]);
}

#[tokio::test]
async fn a_cross_site_form_cannot_verify_a_link_login_csrf() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let token = app.request_link(&tenant.owner_email).await;
    // What an HTML form can send: text/plain or urlencoded, never application/json.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let headers = vec![("content-type".to_string(), content_type.to_string())];
        let body = json!({"token": token}).to_string();
        let res = app
            .send_with_headers("POST", "/v1/auth/verify", &headers, Some(body))
            .await;
        assert_eq!(res.status, 415, "{content_type}");
        assert!(res.header("set-cookie").is_none());
    }
    let ok = app
        .send(
            "POST",
            "/v1/auth/verify",
            None,
            Some(json!({"token": token}).to_string()),
        )
        .await;
    assert_eq!(ok.status, 200, "the refused attempts consumed nothing");
}

#[tokio::test]
async fn switching_organization_never_extends_the_absolute_limit() {
    let app = TestApp::new().await;
    let first = app.tenant(Mode::Live).await;
    let second = app.tenant_owned_by(&first.owner_email, Mode::Live).await;
    let mut session = app.sign_in_with_bearer(&first.owner_email).await;
    let current = app.get("/v1/auth/session", &session).await.body["organization"]["id"].clone();
    let same = app
        .post(
            "/v1/auth/switch-organization",
            &session,
            json!({"organizationId": current}),
        )
        .await;
    assert_eq!(
        same.status, 409,
        "switching to the current organization is refused"
    );

    // Use the session twice a day and switch back and forth every day, for a week.
    let mut elapsed = 0;
    let mut targets = [first.org_id.clone(), second.org_id.clone()]
        .into_iter()
        .cycle();
    while elapsed + SESSION_IDLE_SECS / 2 < SESSION_ABSOLUTE_SECS {
        app.clock.advance(SESSION_IDLE_SECS / 2);
        elapsed += SESSION_IDLE_SECS / 2;
        let here = app.get("/v1/auth/session", &session).await;
        assert_eq!(here.status, 200, "alive at {elapsed}s");
        let mut target = targets.next().unwrap();
        if here.body["organization"]["id"] == target.as_str() {
            target = targets.next().unwrap();
        }
        let switched = app
            .post(
                "/v1/auth/switch-organization",
                &session,
                json!({"organizationId": target}),
            )
            .await;
        assert_eq!(switched.status, 200, "{:?}", switched.body);
        session = switched.body["session"]["token"]
            .as_str()
            .unwrap()
            .to_string();
    }
    app.clock.advance(SESSION_ABSOLUTE_SECS - elapsed);
    let res = app.get("/v1/auth/session", &session).await;
    assert_eq!(
        res.status, 401,
        "seven days after signing in, whatever was switched"
    );
}
