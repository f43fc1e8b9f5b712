use crate::helpers::TestApp;
use dispatch_domain::{Clock, Mode, Timestamp};
use serde_json::json;

#[tokio::test]
async fn created_key_shows_its_secret_once_and_works() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let created = app
        .create_key(&tenant.key, json!({"name": "Production Backend"}))
        .await;
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("sk_live_"));
    assert_eq!(
        created["key"], created["secret"],
        "key and secret carry the same value"
    );
    assert_eq!(created["mode"], "live");
    assert_eq!(created["allBrands"], true);
    assert_eq!(created["brandIds"], json!([]));
    assert_eq!(created["lastUsedAt"], json!(null));
    assert_eq!(created["revokedAt"], json!(null));
    let preview = created["keyPreview"].as_str().unwrap();
    assert_eq!(
        preview,
        format!("sk_live_...{}", &secret[secret.len() - 4..])
    );

    let brands = app.get("/v1/brands", secret).await;
    assert_eq!(brands.status, 200);
    assert_eq!(brands.body[0]["id"], tenant.brand_id.as_str());

    let list = app.get("/v1/accounts/me/api-keys", &tenant.key).await;
    assert_eq!(list.status, 200);
    let text = list.body.to_string();
    assert!(!text.contains(secret), "a list never shows a secret");
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("secret").is_none() && k.get("key").is_none())
    );
    assert_eq!(list.body.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn revoked_key_is_rejected_immediately_and_revoke_is_idempotent() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let created = app.create_key(&tenant.key, json!({"name": "temp"})).await;
    let secret = created["secret"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get("/v1/brands", secret).await.status, 200);

    let res = app
        .delete(&format!("/v1/accounts/me/api-keys/{id}"), &tenant.key)
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.body, json!(null));

    let after = app.get("/v1/brands", secret).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.body["code"], "invalid_api_key");

    assert_eq!(
        app.delete(&format!("/v1/accounts/me/api-keys/{id}"), &tenant.key)
            .await
            .status,
        204
    );
    let list = app.get("/v1/accounts/me/api-keys", &tenant.key).await;
    let listed = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap()
        .clone();
    assert!(listed["revokedAt"].is_string());
}

#[tokio::test]
async fn a_key_can_revoke_itself() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let res = app
        .delete(
            &format!("/v1/accounts/me/api-keys/{}", tenant.key_id),
            &tenant.key,
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(app.get("/v1/brands", &tenant.key).await.status, 401);
}

#[tokio::test]
async fn expired_key_is_rejected_in_code() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let expires = app.clock.now().plus_seconds(60).to_rfc3339();
    let created = app
        .create_key(
            &tenant.key,
            json!({"name": "short-lived", "expiresAt": expires}),
        )
        .await;
    assert_eq!(created["expiresAt"], expires.as_str());
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(app.get("/v1/brands", secret).await.status, 200);

    app.clock.advance(61);
    let res = app.get("/v1/brands", secret).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.body["code"], "expired_api_key");
}

#[tokio::test]
async fn test_key_cannot_create_a_live_key_and_vice_versa() {
    let app = TestApp::new().await;
    for (mode, other) in [(Mode::Test, "live"), (Mode::Live, "test")] {
        let tenant = app.tenant(mode).await;
        let before = app.get("/v1/accounts/me/api-keys", &tenant.key).await.body;
        let res = app
            .post(
                "/v1/accounts/me/api-keys",
                &tenant.key,
                json!({"name": "x", "mode": other}),
            )
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(res.body["code"], "mode_mismatch");
        assert_eq!(
            app.get("/v1/accounts/me/api-keys", &tenant.key).await.body,
            before,
            "nothing was written"
        );
    }
}

#[tokio::test]
async fn keys_of_another_mode_or_organization_are_invisible() {
    let app = TestApp::new().await;
    let test = app.tenant(Mode::Test).await;
    let other_org = app.tenant(Mode::Test).await;
    let created = app.create_key(&test.key, json!({"name": "mine"})).await;
    let id = created["id"].as_str().unwrap();

    // Another organization cannot see, rescope or revoke it.
    let list = app.get("/v1/accounts/me/api-keys", &other_org.key).await;
    assert!(!list.body.to_string().contains(id));
    assert_eq!(
        app.delete(&format!("/v1/accounts/me/api-keys/{id}"), &other_org.key)
            .await
            .status,
        404
    );
    let scope = app
        .patch(
            &format!("/v1/accounts/me/api-keys/{id}/scope"),
            &other_org.key,
            json!({"allBrands": true}),
        )
        .await;
    assert_eq!(scope.status, 404);

    // Nor can a live key of the same organization.
    let live = app.key_in_mode(&test, Mode::Live).await;
    let live_list = app.get("/v1/accounts/me/api-keys", &live).await;
    assert_eq!(live_list.status, 200);
    assert!(!live_list.body.to_string().contains(id));
    assert_eq!(
        app.delete(&format!("/v1/accounts/me/api-keys/{id}"), &live)
            .await
            .status,
        404
    );

    // And the key still works.
    assert_eq!(
        app.get("/v1/brands", created["secret"].as_str().unwrap())
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn invalid_create_requests_are_400_with_field_errors_and_write_nothing() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let before = app.get("/v1/accounts/me/api-keys", &tenant.key).await.body;
    let past = Timestamp::from_unix(app.clock.now().unix() - 10).to_rfc3339();
    let cases = [
        (json!({}), vec!["name"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"name": "x", "admin": true}), vec!["admin"]),
        (json!({"name": 5}), vec!["name"]),
        (json!({"name": "x", "mode": "prod"}), vec!["mode"]),
        (json!({"name": "x", "expiresAt": past}), vec!["expiresAt"]),
        (
            json!({"name": "x", "expiresAt": "tomorrow"}),
            vec!["expiresAt"],
        ),
        (
            json!({"name": "x", "brandIds": ["nope"]}),
            vec!["brandIds[0]"],
        ),
        (json!({"name": "x", "allBrands": false}), vec!["brandIds"]),
        (
            json!({"name": "x", "brandIds": ["br_00000000000000000000000000"]}),
            vec!["brandIds"],
        ),
    ];
    for (body, fields) in cases {
        let res = app
            .post("/v1/accounts/me/api-keys", &tenant.key, body.clone())
            .await;
        assert_eq!(res.status, 400, "{body}: {:?}", res.body);
        assert_eq!(res.body["code"], "validation_error", "{body}");
        assert_eq!(res.error_fields(), fields, "{body}");
    }
    let not_json = app
        .send(
            "POST",
            "/v1/accounts/me/api-keys",
            Some(&tenant.key),
            Some("{name".into()),
        )
        .await;
    assert_eq!(not_json.status, 400);
    assert_eq!(not_json.body["code"], "invalid_json");
    let array = app
        .send(
            "POST",
            "/v1/accounts/me/api-keys",
            Some(&tenant.key),
            Some("[]".into()),
        )
        .await;
    assert_eq!(array.status, 400);
    assert_eq!(
        app.get("/v1/accounts/me/api-keys", &tenant.key).await.body,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn brand_scoped_key_reaches_only_its_brands_and_cannot_manage_keys() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let other_brand = app.create_brand(&tenant.key, "Other Brand").await;
    let scoped = app
        .create_key(
            &tenant.key,
            json!({"name": "scoped", "brandIds": [tenant.brand_id.as_str()]}),
        )
        .await;
    assert_eq!(scoped["allBrands"], false);
    assert_eq!(scoped["brandIds"], json!([tenant.brand_id.as_str()]));
    let key = scoped["secret"].as_str().unwrap();

    let list = app.get("/v1/brands", key).await;
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [tenant.brand_id.as_str()]);
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), key)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/v1/brands/{other_brand}"), key)
            .await
            .status,
        404
    );
    assert_eq!(
        app.patch(
            &format!("/v1/brands/{other_brand}"),
            key,
            json!({"name": "x"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/v1/brands/{other_brand}?confirm=true"), key)
            .await
            .status,
        404
    );

    let create = app
        .post("/v1/accounts/me/api-keys", key, json!({"name": "escalate"}))
        .await;
    assert_eq!(create.status, 403);
    assert_eq!(app.get("/v1/accounts/me/api-keys", key).await.status, 403);
    assert_eq!(
        app.post("/v1/brands", key, json!({"name": "New"}))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn scope_can_be_narrowed_and_widened() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let other_brand = app.create_brand(&tenant.key, "Other Brand").await;
    let created = app.create_key(&tenant.key, json!({"name": "worker"})).await;
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let path = format!("/v1/accounts/me/api-keys/{id}/scope");

    let narrowed = app
        .patch(&path, &tenant.key, json!({"brandIds": [other_brand]}))
        .await;
    assert_eq!(narrowed.status, 200, "{:?}", narrowed.body);
    assert_eq!(narrowed.body["success"], true);
    assert_eq!(narrowed.body["allBrands"], false);
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), key)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/v1/brands/{other_brand}"), key)
            .await
            .status,
        200
    );

    let widened = app
        .patch(&path, &tenant.key, json!({"allBrands": true}))
        .await;
    assert_eq!(widened.status, 200);
    assert_eq!(widened.body["brandIds"], json!([]));
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), key)
            .await
            .status,
        200
    );

    for (body, field) in [
        (json!({}), "allBrands"),
        (json!({"brandIds": []}), "brandIds"),
        (
            json!({"brandIds": ["br_00000000000000000000000000"]}),
            "brandIds",
        ),
        (json!({"allBrands": "yes"}), "allBrands"),
    ] {
        let res = app.patch(&path, &tenant.key, body.clone()).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.error_fields(), [field], "{body}");
    }
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), key)
            .await
            .status,
        200,
        "failed updates changed nothing"
    );

    app.delete(&format!("/v1/accounts/me/api-keys/{id}"), &tenant.key)
        .await;
    let revoked = app
        .patch(&path, &tenant.key, json!({"allBrands": true}))
        .await;
    assert_eq!(revoked.status, 409);
    assert_eq!(revoked.body["code"], "api_key_inactive");
    assert_eq!(
        app.patch(
            "/v1/accounts/me/api-keys/key_nope/scope",
            &tenant.key,
            json!({"allBrands": true})
        )
        .await
        .status,
        404
    );
}
