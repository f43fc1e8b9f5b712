//! What lands in the table.

use crate::helpers::TestApp;
use dispatch_auth::SecretHash;
use dispatch_domain::Mode;
use serde_json::json;

#[tokio::test]
async fn no_secret_is_stored_in_clear() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Test).await;
    let created = app.create_key(&tenant.key, json!({"name": "stored"})).await;
    let secret = created["secret"].as_str().unwrap();
    // Neither secret, nor its random body without the prefix, appears in any item.
    for needle in [secret, &secret[8..], tenant.key.as_str(), &tenant.key[8..]] {
        assert!(
            app.raw_items_containing(needle).await.is_empty(),
            "a secret is stored in clear"
        );
    }
    // What is stored is its SHA-256.
    let hash = SecretHash::of(secret).to_hex();
    assert_eq!(
        app.raw_items_containing(&hash).await.len(),
        2,
        "the auth item and the listing record"
    );
}

#[tokio::test]
async fn tenant_items_are_keyed_by_organization_and_mode() {
    let app = TestApp::new().await;
    let tenant = app.tenant(Mode::Live).await;
    let items = app.raw_items_containing(tenant.brand_id.as_str()).await;
    assert!(!items.is_empty());
    let pk = format!("ORG#{}#live", tenant.org_id);
    // The one item outside: the inbound mail route, found by the brand id an address
    // carries, which names its tenant and mode.
    let route = format!("BRANDMAIL#{}", tenant.brand_id);
    let (routes, tenant_items): (Vec<&String>, Vec<&String>) =
        items.iter().partition(|i| i.contains(&route));
    assert!(
        tenant_items.iter().all(|i| i.contains(&pk)),
        "brand items live under {pk}: {tenant_items:?}"
    );
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert!(routes[0].contains(tenant.org_id.as_str()) && routes[0].contains("\"live\""));
}

#[tokio::test]
async fn an_idempotency_claim_left_pending_by_a_dead_request_frees_itself_after_its_lease() {
    use dispatch_domain::Clock;
    use dispatch_store::{Claim, IDEMPOTENCY_LEASE_SECS, IdempotencyStore};
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let org = t.org_id.clone();
    let store = &app.ctx.store;
    let now = app.clock.now();
    // A request claimed the key and died (Lambda's timeout) without finishing or releasing.
    let first = store
        .claim_idempotency(&org, Mode::Live, "key-hash", "request-hash", now)
        .await
        .unwrap();
    assert_eq!(first, Claim::New);
    let during = store
        .claim_idempotency(
            &org,
            Mode::Live,
            "key-hash",
            "request-hash",
            now.plus_seconds(5),
        )
        .await
        .unwrap();
    assert_eq!(during, Claim::InProgress, "a live claim is respected");
    let after = store
        .claim_idempotency(
            &org,
            Mode::Live,
            "key-hash",
            "request-hash",
            now.plus_seconds(IDEMPOTENCY_LEASE_SECS + 1),
        )
        .await
        .unwrap();
    assert_eq!(
        after,
        Claim::New,
        "the client's retry runs instead of waiting a day"
    );
}
