//! Members: invite, roles, removal, and what each role may do.

use crate::helpers::{Tenant, TestApp, unique_email};
use dispatch_domain::Mode;
use serde_json::{Value, json};

/// Invites `email` with `role` from the owner's session and signs them in (Bearer).
async fn owner_session(app: &TestApp) -> (Tenant, String) {
    let tenant = app.tenant(Mode::Live).await;
    let session = app.sign_in_with_bearer(&tenant.owner_email).await;
    (tenant, session)
}

fn emails(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn invited_members_are_pending_until_they_accept() {
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    let agent_email = unique_email("agent");
    let invited = app
        .post(
            "/v1/auth/members/invite",
            &owner,
            json!({"email": agent_email, "role": "agent"}),
        )
        .await;
    assert_eq!(invited.status, 201);
    let list = app.get("/v1/auth/members", &owner).await;
    assert_eq!(emails(&list.body["members"]), [tenant.owner_email.as_str()]);
    assert_eq!(emails(&list.body["invites"]), [agent_email.as_str()]);

    // A plain sign-in does not accept: it lists the invitation and keeps the link.
    let token = app.request_link(&agent_email).await;
    let plain = json!({"token": token, "delivery": "bearer"});
    let res = app
        .send("POST", "/v1/auth/verify", None, Some(plain.to_string()))
        .await;
    assert_eq!(res.status, 409, "{:?}", res.body);
    assert_eq!(res.body["code"], "organization_choice_required");
    assert_eq!(
        res.body["invitations"],
        json!([{"organizationId": tenant.org_id, "organizationName": res.body["invitations"][0]["organizationName"], "role": "agent"}])
    );
    let list = app.get("/v1/auth/members", &owner).await;
    assert_eq!(emails(&list.body["invites"]), [agent_email.as_str()]);
    // Naming an organization that is not theirs is 404, and the link still works.
    let elsewhere = app.tenant(Mode::Live).await;
    let wrong = json!({"token": token, "delivery": "bearer", "organizationId": elsewhere.org_id});
    let res = app
        .send("POST", "/v1/auth/verify", None, Some(wrong.to_string()))
        .await;
    assert_eq!(res.status, 404, "{:?}", res.body);
    // Choosing it accepts.
    let accept = json!({"token": token, "delivery": "bearer", "organizationId": tenant.org_id});
    let res = app
        .send("POST", "/v1/auth/verify", None, Some(accept.to_string()))
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
    let agent = res.body["session"]["token"].as_str().unwrap().to_string();
    let again = app
        .send("POST", "/v1/auth/verify", None, Some(accept.to_string()))
        .await;
    assert_eq!(again.status, 401, "the link worked once");
    let session = app.get("/v1/auth/session", &agent).await;
    assert_eq!(session.body["member"]["role"], "agent");
    assert_eq!(session.body["organization"]["id"], tenant.org_id.as_str());
    let list = app.get("/v1/auth/members", &owner).await;
    assert_eq!(list.body["members"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["invites"], json!([]));
}

#[tokio::test]
async fn agents_cannot_manage_keys_members_or_brands_but_can_read() {
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    let (_, agent) = app
        .member_session(&owner, &unique_email("agent"), "agent")
        .await;
    assert_eq!(app.get("/v1/brands", &agent).await.status, 200);
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), &agent)
            .await
            .status,
        200
    );
    for res in [
        app.get("/v1/accounts/me/api-keys", &agent).await,
        app.post("/v1/accounts/me/api-keys", &agent, json!({"name": "x"}))
            .await,
        app.get("/v1/auth/members", &agent).await,
        app.post(
            "/v1/auth/members/invite",
            &agent,
            json!({"email": unique_email("x"), "role": "agent"}),
        )
        .await,
        app.post("/v1/brands", &agent, json!({"name": "x"})).await,
        app.patch(
            &format!("/v1/brands/{}", tenant.brand_id),
            &agent,
            json!({"name": "x"}),
        )
        .await,
    ] {
        assert_eq!(res.status, 403, "{:?}", res.body);
    }
}

#[tokio::test]
async fn admins_manage_members_but_not_the_owner() {
    let app = TestApp::new().await;
    let (_, owner) = owner_session(&app).await;
    let (_, admin) = app
        .member_session(&owner, &unique_email("admin"), "admin")
        .await;
    let (agent_id, _) = app
        .member_session(&owner, &unique_email("agent"), "agent")
        .await;

    let promoted = app
        .patch(
            &format!("/v1/auth/members/{agent_id}"),
            &admin,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.status, 200);
    assert_eq!(promoted.body["role"], "admin");

    let members = app.get("/v1/auth/members", &admin).await;
    let owner_id = members.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "owner")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let demote_owner = app
        .patch(
            &format!("/v1/auth/members/{owner_id}"),
            &admin,
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(demote_owner.status, 403);
    let remove_owner = app
        .delete(&format!("/v1/auth/members/{owner_id}"), &admin)
        .await;
    assert_eq!(remove_owner.status, 403);
    assert_eq!(remove_owner.body["code"], "owner_cannot_be_removed");

    for bad in [
        json!({"role": "owner"}),
        json!({"role": "boss"}),
        json!({}),
        json!({"role": "agent", "x": 1}),
    ] {
        assert_eq!(
            app.patch(&format!("/v1/auth/members/{agent_id}"), &admin, bad.clone())
                .await
                .status,
            400,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_role_change_applies_to_open_sessions_at_once() {
    let app = TestApp::new().await;
    let (_, owner) = owner_session(&app).await;
    let (admin_id, admin) = app
        .member_session(&owner, &unique_email("admin"), "admin")
        .await;
    assert_eq!(
        app.get("/v1/accounts/me/api-keys", &admin).await.status,
        200
    );
    let demoted = app
        .patch(
            &format!("/v1/auth/members/{admin_id}"),
            &owner,
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(demoted.status, 200);
    assert_eq!(
        app.get("/v1/accounts/me/api-keys", &admin).await.status,
        403
    );
}

#[tokio::test]
async fn a_removed_members_sessions_stop_working() {
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    let email = unique_email("leaver");
    let (id, session) = app.member_session(&owner, &email, "admin").await;
    assert_eq!(app.get("/v1/brands", &session).await.status, 200);
    assert_eq!(
        app.delete(&format!("/v1/auth/members/{id}"), &owner)
            .await
            .status,
        204
    );
    let res = app.get("/v1/brands", &session).await;
    assert_eq!(res.status, 401);
    // And they cannot sign back in: no membership, so no link is sent.
    app.clock.advance(61);
    app.send(
        "POST",
        "/v1/auth/magic-link",
        None,
        Some(json!({"email": email}).to_string()),
    )
    .await;
    assert_eq!(
        crate::helpers::emails_to(&email).await.len(),
        1,
        "only the first sign-in's email"
    );
    let list = app.get("/v1/auth/members", &owner).await;
    assert!(!list.body.to_string().contains(&email));
    assert_eq!(
        app.get(&format!("/v1/brands/{}", tenant.brand_id), &owner)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn invites_are_validated_and_unique() {
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    for (body, field) in [
        (json!({"email": "nope", "role": "agent"}), "email"),
        (json!({"email": unique_email("x"), "role": "owner"}), "role"),
        (json!({"email": unique_email("x")}), "role"),
    ] {
        let res = app
            .post("/v1/auth/members/invite", &owner, body.clone())
            .await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.error_fields(), [field]);
    }
    let dup = app
        .post(
            "/v1/auth/members/invite",
            &owner,
            json!({"email": tenant.owner_email, "role": "agent"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "already_member");
}

#[tokio::test]
async fn members_of_another_organization_are_404() {
    let app = TestApp::new().await;
    let (_, owner_a) = owner_session(&app).await;
    let (_, owner_b) = owner_session(&app).await;
    let (b_agent, _) = app
        .member_session(&owner_b, &unique_email("agent"), "agent")
        .await;
    assert_eq!(
        app.patch(
            &format!("/v1/auth/members/{b_agent}"),
            &owner_a,
            json!({"role": "admin"})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.delete(&format!("/v1/auth/members/{b_agent}"), &owner_a)
            .await
            .status,
        404
    );
    assert_eq!(
        app.delete("/v1/auth/members/mem_bad", &owner_a)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_half_finished_removal_is_finished_by_retrying_it() {
    use dispatch_store::MemberStore;
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    let (id, session) = app
        .member_session(&owner, &unique_email("leaver"), "admin")
        .await;
    // Simulate a removal whose session cleanup never ran: the member is gone, the session not.
    let org = tenant.org_id.clone();
    let member_id = dispatch_domain::MemberId::parse(&id).unwrap();
    let member = app
        .ctx
        .store
        .member(&org, &member_id)
        .await
        .unwrap()
        .unwrap();
    app.ctx.store.remove_member(&member).await.unwrap();
    assert_eq!(
        app.get("/v1/brands", &session).await.status,
        200,
        "the stale session still works"
    );

    let retry = app.delete(&format!("/v1/auth/members/{id}"), &owner).await;
    assert_eq!(retry.status, 404);
    assert_eq!(
        app.get("/v1/brands", &session).await.status,
        401,
        "the retry ended it"
    );
}

#[tokio::test]
async fn a_half_finished_role_change_is_finished_by_retrying_it() {
    use dispatch_auth::Role;
    use dispatch_store::MemberStore;
    let app = TestApp::new().await;
    let (tenant, owner) = owner_session(&app).await;
    let (id, session) = app
        .member_session(&owner, &unique_email("admin"), "admin")
        .await;
    let org = tenant.org_id.clone();
    let member_id = dispatch_domain::MemberId::parse(&id).unwrap();
    let member = app
        .ctx
        .store
        .member(&org, &member_id)
        .await
        .unwrap()
        .unwrap();
    // The membership says agent, the session still says admin.
    app.ctx
        .store
        .change_member_role(&member, Role::Agent)
        .await
        .unwrap();
    assert_eq!(
        app.get("/v1/accounts/me/api-keys", &session).await.status,
        200
    );

    let retry = app
        .patch(
            &format!("/v1/auth/members/{id}"),
            &owner,
            json!({"role": "agent"}),
        )
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(
        app.get("/v1/accounts/me/api-keys", &session).await.status,
        403,
        "the session follows the membership"
    );
}
