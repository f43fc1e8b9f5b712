//! The authorization matrix of every brand-scoped route, generated from one table.
//!
//! [`ROUTES`] lists each route under `/v1/brands/{brandId}` with a request that succeeds for
//! its owner and what an agent gets. The first test fails when the router map has a brand
//! route the table lacks, so a new route cannot skip the matrix. The second runs every row
//! as: another organization, the same organization's other mode, a key scoped to another
//! brand (all 404, nothing changed), each id malformed (404, no scan), an agent session,
//! and the owner's org-wide key.

use crate::helpers::{Tenant, TestApp, http_request, router_routes, unique_email};
use crate::iam::as_function;
use dispatch_cleanup::{Cleanup, on_stream};
use dispatch_domain::Mode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// One row: method, path, body (`{email}` becomes a fresh address), the owner's status,
/// and the agent's status.
struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    owner: u16,
    agent: u16,
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    owner: u16,
    agent: u16,
) -> Row {
    Row {
        method,
        path,
        body,
        owner,
        agent,
    }
}

const T: &str = "/v1/brands/{brandId}/tickets/{ticketId}";
const W: &str = "/v1/brands/{brandId}/webhooks/{webhookId}";

const ROUTES: &[Row] = &[
    row("GET", "/v1/brands/{brandId}", None, 200, 200),
    row(
        "PATCH",
        "/v1/brands/{brandId}",
        Some(r#"{"name":"Renamed"}"#),
        200,
        403,
    ),
    row("DELETE", "/v1/brands/{brandId}", None, 204, 403),
    row("GET", "/v1/brands/{brandId}/schema", None, 200, 200),
    row(
        "PUT",
        "/v1/brands/{brandId}/schema",
        Some(r#"{"fields":[]}"#),
        200,
        403,
    ),
    row("GET", "/v1/brands/{brandId}/categories", None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/categories",
        Some(r#"{"name":"Matrix"}"#),
        201,
        403,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/categories/stats",
        None,
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/categories/reorder",
        Some(r#"{"categoryIds":["{categoryId}"]}"#),
        200,
        403,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/categories/{categoryId}",
        None,
        200,
        200,
    ),
    row(
        "PATCH",
        "/v1/brands/{brandId}/categories/{categoryId}",
        Some(r##"{"color":"#16a34a"}"##),
        200,
        403,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/categories/{categoryId}",
        None,
        204,
        403,
    ),
    row("GET", "/v1/brands/{brandId}/tags", None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/tags",
        Some(r#"{"name":"matrix"}"#),
        201,
        403,
    ),
    row(
        "PATCH",
        "/v1/brands/{brandId}/tags/{tagId}",
        Some(r##"{"color":"#16a34a"}"##),
        200,
        403,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/tags/{tagId}",
        None,
        204,
        403,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tags/{tagId}/merge",
        Some(r#"{"sourceTagIds":["{secondTagId}"]}"#),
        200,
        403,
    ),
    row("GET", "/v1/brands/{brandId}/fields", None, 200, 200),
    row(
        "GET",
        "/v1/brands/{brandId}/fields/{entity}",
        None,
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/fields/{entity}",
        Some(r#"{"key":"plan","label":"Plan","type":"text"}"#),
        201,
        403,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/fields/{entity}/reorder",
        Some(r#"{"keys":["orderId"]}"#),
        200,
        403,
    ),
    row(
        "PATCH",
        "/v1/brands/{brandId}/fields/{entity}/{key}",
        Some(r#"{"label":"Order number"}"#),
        200,
        403,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/fields/{entity}/{key}",
        None,
        204,
        403,
    ),
    row("GET", "/v1/brands/{brandId}/customers", None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/customers",
        Some(r#"{"email":"{email}"}"#),
        201,
        201,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/customers/{customerId}",
        None,
        200,
        200,
    ),
    row(
        "PATCH",
        "/v1/brands/{brandId}/customers/{customerId}",
        Some(r#"{"name":"Renamed"}"#),
        200,
        200,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/customers/{customerId}",
        None,
        200,
        200,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/customers/search?q=c",
        None,
        200,
        200,
    ),
    row("GET", "/v1/brands/{brandId}/tickets", None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets",
        Some(r#"{"title":"Matrix"}"#),
        201,
        201,
    ),
    row("GET", T, None, 200, 200),
    row("PATCH", T, Some(r#"{"status":"pending"}"#), 200, 200),
    row("DELETE", T, None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/{ticketId}/merge",
        Some(r#"{"sourceTicketIds":["{secondTicketId}"]}"#),
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/bulk",
        Some(r#"{"action":"resolve","ticketIds":["{ticketId}"]}"#),
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/{ticketId}/spam",
        Some(r#"{"isSpam":true}"#),
        200,
        200,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/tickets/{ticketId}/comments",
        None,
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/{ticketId}/comments",
        Some(r#"{"body":"Hi"}"#),
        201,
        201,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}",
        None,
        200,
        200,
    ),
    row(
        "PATCH",
        "/v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}",
        Some(r#"{"body":"Edited"}"#),
        200,
        200,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/tickets/{ticketId}/comments/{commentId}",
        None,
        200,
        200,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/tickets/{ticketId}/attachments",
        None,
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/{ticketId}/attachments",
        Some(r#"{"filename":"m.txt","contentType":"text/plain","size":2}"#),
        201,
        201,
    ),
    row(
        "GET",
        "/v1/brands/{brandId}/tickets/{ticketId}/attachments/{attachmentId}",
        None,
        200,
        200,
    ),
    row(
        "DELETE",
        "/v1/brands/{brandId}/tickets/{ticketId}/attachments/{attachmentId}",
        None,
        204,
        204,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/tickets/{ticketId}/attachments/{attachmentId}/confirm",
        None,
        200,
        200,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/portal/token",
        Some(r#"{"email":"{email}"}"#),
        201,
        403,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/portal/magic-link",
        Some(r#"{"email":"{email}","portalUrl":"https://help.matrix.test/p"}"#),
        202,
        403,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/attachments",
        Some(r#"{"filename":"m.txt","contentType":"text/plain","size":2}"#),
        201,
        201,
    ),
    row(
        "POST",
        "/v1/brands/{brandId}/attachments/{pendingId}/confirm",
        None,
        200,
        200,
    ),
    row("GET", "/v1/brands/{brandId}/intake", None, 200, 403),
    row(
        "POST",
        "/v1/brands/{brandId}/intake",
        Some(r#"{"name":"Form"}"#),
        201,
        403,
    ),
    row("DELETE", "/v1/brands/{brandId}/intake/{id}", None, 204, 403),
    row("GET", "/v1/brands/{brandId}/webhooks", None, 200, 200),
    row(
        "POST",
        "/v1/brands/{brandId}/webhooks",
        Some(
            r#"{"url":"https://203.0.113.7/h","events":["ticket.created"],"secret":"matrix-secret-0123456789"}"#,
        ),
        201,
        403,
    ),
    row("GET", W, None, 200, 200),
    row("PATCH", W, Some(r#"{"enabled":false}"#), 200, 403),
    row("DELETE", W, None, 204, 403),
    row(
        "GET",
        "/v1/brands/{brandId}/webhooks/{webhookId}/deliveries",
        None,
        200,
        200,
    ),
];

#[test]
fn every_brand_route_is_in_the_matrix() {
    let routed: BTreeSet<(String, String)> = router_routes()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/brands/{brandId}"))
        .map(|r| (r.method, r.path))
        .collect();
    let covered: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path
                    .replace("{pendingId}", "{attachmentId}")
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        routed, covered,
        "add the new route to ROUTES in tests/e2e/matrix.rs"
    );
}

/// The objects a row's path names, made fresh in a brand of its own.
struct Fixture {
    ids: Vec<(&'static str, String)>,
}

impl Fixture {
    async fn new(app: &TestApp, t: &Tenant) -> Fixture {
        let brand = app.create_brand(&t.key, &unique_email("brand")).await;
        let b = format!("/v1/brands/{brand}");
        let origins = app
            .patch(
                &b,
                &t.key,
                json!({"portalOrigins": ["https://help.matrix.test"]}),
            )
            .await;
        assert_eq!(origins.status, 200, "{}", origins.body);
        // Fixture writes, not the rows under test: a 503 (the one-request-at-a-time emulator
        // busy under the suite's load, seen in CI) is retried once after its Retry-After,
        // with the same X-Idempotency-Key, as the API tells clients to: a write that landed
        // after all is answered from the first try instead of made twice.
        let post = |path: String, body: Value| async move {
            let headers = [
                ("content-type".to_string(), "application/json".to_string()),
                ("authorization".to_string(), format!("Bearer {}", t.key)),
                ("x-idempotency-key".to_string(), unique_email("fixture")),
            ];
            let body = Some(body.to_string());
            let mut res = app
                .send_with_headers("POST", &path, &headers, body.clone())
                .await;
            if res.status == 503 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                res = app.send_with_headers("POST", &path, &headers, body).await;
            }
            assert!(res.status == 201, "{path}: {}", res.body);
            res.body
        };
        let ticket = post(format!("{b}/tickets"), json!({"title": "Fixture"})).await;
        let ticket = ticket["id"].as_str().unwrap().to_string();
        let second = post(format!("{b}/tickets"), json!({"title": "Fixture, too"})).await;
        let second = second["id"].as_str().unwrap().to_string();
        let customer = post(
            format!("{b}/customers"),
            json!({"email": unique_email("c")}),
        )
        .await;
        let declared = post(
            format!("{b}/tickets/{ticket}/attachments"),
            json!({"filename": "f.txt", "contentType": "text/plain", "size": 2}),
        )
        .await;
        let put = http_request(
            "PUT",
            declared["uploadUrl"].as_str().unwrap(),
            &[("Content-Type", "text/plain"), ("Content-Length", "2")],
            b"ok",
        )
        .await;
        assert_eq!(put.status, 200);
        let comment = post(
            format!("{b}/tickets/{ticket}/comments"),
            json!({"body": "Fixture"}),
        )
        .await;
        let intake = post(format!("{b}/intake"), json!({"name": "Fixture"})).await;
        let field = post(
            format!("{b}/fields/ticket"),
            json!({"key": "orderId", "label": "Order", "type": "text"}),
        )
        .await;
        let category = post(format!("{b}/categories"), json!({"name": "Billing"})).await;
        let tag = post(format!("{b}/tags"), json!({"name": "vip"})).await;
        let second_tag = post(format!("{b}/tags"), json!({"name": "gold"})).await;
        let pending = post(
            format!("{b}/attachments"),
            json!({"filename": "p.txt", "contentType": "text/plain", "size": 2}),
        )
        .await;
        let put = http_request(
            "PUT",
            pending["uploadUrl"].as_str().unwrap(),
            &[("Content-Type", "text/plain"), ("Content-Length", "2")],
            b"ok",
        )
        .await;
        assert_eq!(put.status, 200);
        let webhook = post(
            format!("{b}/webhooks"),
            json!({"url": "https://203.0.113.8/hook", "events": ["ticket.updated"]}),
        )
        .await;
        Fixture {
            ids: vec![
                ("{brandId}", brand),
                ("{ticketId}", ticket),
                ("{customerId}", customer["id"].as_str().unwrap().to_string()),
                (
                    "{attachmentId}",
                    declared["attachmentId"].as_str().unwrap().to_string(),
                ),
                ("{id}", intake["token"].as_str().unwrap().to_string()),
                (
                    "{pendingId}",
                    pending["attachmentId"].as_str().unwrap().to_string(),
                ),
                ("{webhookId}", webhook["id"].as_str().unwrap().to_string()),
                ("{commentId}", comment["id"].as_str().unwrap().to_string()),
                ("{entity}", "ticket".to_string()),
                ("{secondTicketId}", second),
                ("{key}", field["key"].as_str().unwrap().to_string()),
                ("{categoryId}", category["id"].as_str().unwrap().to_string()),
                ("{tagId}", tag["id"].as_str().unwrap().to_string()),
                (
                    "{secondTagId}",
                    second_tag["id"].as_str().unwrap().to_string(),
                ),
            ],
        }
    }

    /// The row's path with real ids, and `?confirm=true` for a brand delete (the preview
    /// would prove nothing).
    fn path(&self, row: &Row) -> String {
        let mut path = row.path.to_string();
        for (placeholder, id) in &self.ids {
            path = path.replace(placeholder, id);
        }
        if row.method == "DELETE" && row.path == "/v1/brands/{brandId}" {
            path.push_str("?confirm=true");
        }
        path
    }

    /// One path per id in the row, with that id malformed.
    fn malformed_paths(&self, row: &Row) -> Vec<String> {
        self.ids
            .iter()
            .filter(|(placeholder, _)| row.path.contains(placeholder))
            .map(|(placeholder, _)| {
                // `nope_0` is a well-formed field key: a key starts with a letter.
                let bad = if *placeholder == "{key}" {
                    "0-nope"
                } else {
                    "nope_0"
                };
                let mut path = row.path.replace(placeholder, bad);
                for (other, id) in &self.ids {
                    path = path.replace(other, id);
                }
                path
            })
            .collect()
    }
}

async fn send(app: &TestApp, row: &Row, fixture: &Fixture, path: &str, credential: &str) -> u16 {
    let body = row.body.map(|b| {
        let mut b = b.replace("{email}", &unique_email("m"));
        for (placeholder, id) in &fixture.ids {
            b = b.replace(placeholder, id);
        }
        b
    });
    app.send(row.method, path, Some(credential), body)
        .await
        .status
}

/// Rows per table: each chunk of the matrix gets an app (a table) of its own. The
/// emulator copies a whole table on every transaction, so one table for every row's
/// fixtures made each write slower than the last (minutes of stalls for the whole suite).
const ROWS_PER_TABLE: usize = 12;

#[tokio::test]
async fn every_brand_route_answers_each_kind_of_caller_as_the_matrix_says() {
    for rows in ROUTES.chunks(ROWS_PER_TABLE) {
        matrix_rows(rows).await;
    }
}

async fn matrix_rows(rows: &[Row]) {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let other_org = app.tenant(Mode::Live).await.key;
    let other_mode = app.key_in_mode(&t, Mode::Test).await;
    let elsewhere = app.create_brand(&t.key, "Elsewhere").await;
    let scoped = app
        .create_key(&t.key, json!({"name": "scoped", "brandIds": [elsewhere]}))
        .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let owner = app.sign_in_with_bearer(&t.owner_email).await;
    let (_, agent) = app
        .member_session(&owner, &unique_email("agent"), "agent")
        .await;

    for row in rows {
        let label = format!("{} {}", row.method, row.path);
        let fixture = Fixture::new(&app, &t).await;
        let path = fixture.path(row);
        for (who, credential) in [
            ("another organization", &other_org),
            ("the other mode", &other_mode),
            ("a key scoped to another brand", &scoped),
        ] {
            assert_eq!(
                send(&app, row, &fixture, &path, credential).await,
                404,
                "{label}: {who}"
            );
        }
        for bad in fixture.malformed_paths(row) {
            app.take_ops();
            assert_eq!(
                send(&app, row, &fixture, &bad, &t.key).await,
                404,
                "{label}: {bad}"
            );
            let (ops, writes) = app.take_ops();
            assert!(
                !ops.iter().any(|o| o.contains("Scan")) && ops.len() <= 2 && writes == 0,
                "{label}: a malformed id cost {ops:?}"
            );
        }
        // Nothing the refused callers sent changed anything: the owner's request still
        // does exactly what it should on the same objects.
        assert_eq!(
            send(&app, row, &fixture, &path, &agent).await,
            row.agent,
            "{label}: agent"
        );
        let fixture = if row.agent < 300 && row.method != "GET" {
            Fixture::new(&app, &t).await
        } else {
            fixture
        };
        assert_eq!(
            send(&app, row, &fixture, &fixture.path(row), &t.key).await,
            row.owner,
            "{label}: owner"
        );
    }
}

#[tokio::test]
async fn a_deleted_brands_tickets_customers_and_files_are_gone() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Test).await;
    let fixture = Fixture::new(&app, &t).await;
    // Confirm the file so it can be downloaded, and remember from where.
    let confirm = ROUTES
        .iter()
        .find(|r| r.path.ends_with("/confirm"))
        .unwrap();
    let confirmed = app.post(&fixture.path(confirm), &t.key, json!({})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let download = confirmed.body["downloadUrl"].as_str().unwrap().to_string();
    assert_eq!(http_request("GET", &download, &[], &[]).await.status, 200);
    let before: Vec<String> = ROUTES
        .iter()
        .filter(|r| r.method == "GET" && r.path != "/v1/brands/{brandId}")
        .map(|r| fixture.path(r))
        .collect();
    for path in &before {
        assert_eq!(app.get(path, &t.key).await.status, 200, "{path}");
    }
    let brand = fixture.path(&ROUTES[0]);
    let deleted = app.delete(&format!("{brand}?confirm=true"), &t.key).await;
    assert_eq!(deleted.status, 204);
    for path in &before {
        assert_eq!(
            app.get(path, &t.key).await.status,
            404,
            "{path} after delete"
        );
    }
    for row in ROUTES.iter().filter(|r| r.method != "GET") {
        assert_eq!(
            send(&app, row, &fixture, &fixture.path(row), &t.key).await,
            404,
            "{} {} after delete",
            row.method,
            row.path
        );
    }

    // The table's stream then hands the removal to the cleanup, which deletes the items
    // (the intake token's lookup too) and the files. The event is what the local
    // event-source poller makes of the stream's records with the template's filters: of
    // everything this test wrote, only the brand's removal.
    let brand_id = fixture.ids[0].1.clone();
    let intake_token = fixture.ids[4].1.clone();
    assert!(!app.raw_items_containing(&brand_id).await.is_empty());
    let batches = app.stream_batches("brand-cleanup");
    assert_eq!(batches.len(), 1, "{batches:?}");
    let event = batches[0].clone();
    assert_eq!(event["Records"].as_array().unwrap().len(), 1, "{event}");
    assert_eq!(event["Records"][0]["eventName"], "REMOVE");
    assert_eq!(
        event["Records"][0]["dynamodb"]["OldImage"]["id"]["S"],
        brand_id.as_str()
    );
    let cleanup = Cleanup {
        store: app.ctx.store.clone(),
        files: app.attachments.files.clone(),
    };
    let typed: dispatch_store::stream::StreamEvent = serde_json::from_value(event).unwrap();
    let result = as_function("brand-cleanup", on_stream(&cleanup, typed.clone()))
        .await
        .unwrap();
    assert_eq!(result["purged"][0]["files"], 2, "{result}");
    // Everything but the fixture's stored create answers, which live in the tenant's
    // partition until their 24-hour TTL (docs/data-model.md, "Items outside the partition").
    let app = &app;
    let left = |needle: String| async move {
        app.raw_items_containing(&needle)
            .await
            .into_iter()
            .filter(|item| !item.contains("IDEMPOTENCY#"))
            .collect::<Vec<String>>()
    };
    assert_eq!(left(brand_id.clone()).await, Vec::<String>::new());
    assert_eq!(left(intake_token.clone()).await, Vec::<String>::new());
    // S3 answers 403 or 404 for a missing key, depending on the caller's list permission.
    let gone = http_request("GET", &download, &[], &[]).await.status;
    assert!(
        gone == 403 || gone == 404,
        "the file is still served: {gone}"
    );
    // A retried batch is harmless.
    let again = as_function("brand-cleanup", on_stream(&cleanup, typed))
        .await
        .unwrap();
    assert_eq!(again["purged"][0]["items"], 0);
}

/// The portal's matrix: each route under `/v1/portal/` with what the token's own customer
/// gets and what any other customer gets (404 for this customer's objects; their own
/// lists and creates work, without this customer's data).
const PORTAL_ROUTES: &[Row] = &[
    row("GET", "/v1/portal/tickets", None, 200, 200),
    row(
        "POST",
        "/v1/portal/tickets",
        Some(r#"{"title":"Matrix"}"#),
        201,
        201,
    ),
    row("GET", "/v1/portal/tickets/{ticketId}", None, 200, 404),
    row(
        "POST",
        "/v1/portal/tickets/{ticketId}/comments",
        Some(r#"{"body":"Hi"}"#),
        201,
        404,
    ),
    row(
        "POST",
        "/v1/portal/tickets/{ticketId}/attachments",
        Some(r#"{"filename":"m.txt","contentType":"text/plain","size":2}"#),
        201,
        404,
    ),
    row(
        "GET",
        "/v1/portal/tickets/{ticketId}/attachments",
        None,
        200,
        404,
    ),
    row(
        "GET",
        "/v1/portal/tickets/{ticketId}/attachments/{attachmentId}",
        None,
        200,
        404,
    ),
    row(
        "POST",
        "/v1/portal/tickets/{ticketId}/attachments/{attachmentId}/confirm",
        None,
        200,
        404,
    ),
    row(
        "POST",
        "/v1/portal/tickets/attachments/pending",
        Some(r#"{"filename":"m.txt","contentType":"text/plain","size":2}"#),
        201,
        201,
    ),
    row(
        "POST",
        "/v1/portal/tickets/attachments/pending/{pendingId}/confirm",
        None,
        200,
        404,
    ),
    row("POST", "/v1/portal/refresh", None, 201, 201),
];

#[test]
fn every_portal_route_is_in_the_portal_matrix() {
    let routed: BTreeSet<(String, String)> = router_routes()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/portal/") && r.function != "portal-verify")
        .map(|r| (r.method, r.path))
        .collect();
    let covered: BTreeSet<(String, String)> = PORTAL_ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path
                    .replace("pending/{pendingId}", "pending/{attachmentId}"),
            )
        })
        .collect();
    assert_eq!(
        routed, covered,
        "add the new route to PORTAL_ROUTES in tests/e2e/matrix.rs"
    );
}

/// A portal customer's objects: a ticket, an uploaded (unconfirmed) attachment on it and
/// an uploaded (unconfirmed) pending upload.
async fn portal_fixture(app: &TestApp, t: &Tenant, brand: &str) -> (String, Fixture) {
    let token = app
        .post(
            &format!("/v1/brands/{brand}/portal/token"),
            &t.key,
            json!({"email": unique_email("pc")}),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ticket = app
        .post("/v1/portal/tickets", &token, json!({"title": "Fixture"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut uploaded = Vec::new();
    for path in [
        format!("/v1/portal/tickets/{ticket}/attachments"),
        "/v1/portal/tickets/attachments/pending".to_string(),
    ] {
        let declared = app
            .post(
                &path,
                &token,
                json!({"filename": "f.txt", "contentType": "text/plain", "size": 2}),
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
        uploaded.push(declared.body["attachmentId"].as_str().unwrap().to_string());
    }
    let fixture = Fixture {
        ids: vec![
            ("{ticketId}", ticket),
            ("{attachmentId}", uploaded[0].clone()),
            ("{pendingId}", uploaded[1].clone()),
        ],
    };
    (token, fixture)
}

#[tokio::test]
async fn every_portal_route_answers_each_kind_of_caller_as_the_matrix_says() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let other_brand = app.create_brand(&t.key, "Other brand").await;
    let other_org = app.tenant(Mode::Test).await;
    let live_key = app.key_in_mode(&t, Mode::Live).await;
    let live_brand = app.create_brand(&live_key, "Live brand").await;
    let live = Tenant {
        key: live_key,
        ..t.clone()
    };
    let others = [
        ("another customer", portal_fixture(&app, &t, &brand).await.0),
        (
            "another brand",
            portal_fixture(&app, &t, &other_brand).await.0,
        ),
        (
            "another organization",
            portal_fixture(&app, &other_org, other_org.brand_id.as_str())
                .await
                .0,
        ),
        (
            "the other mode",
            portal_fixture(&app, &live, &live_brand).await.0,
        ),
    ];
    let session = app.sign_in_with_bearer(&t.owner_email).await;

    for row in PORTAL_ROUTES {
        let label = format!("{} {}", row.method, row.path);
        let (token, fixture) = portal_fixture(&app, &t, &brand).await;
        let path = fixture.path(row);
        let mut tampered = token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        for (who, credential) in [
            ("a tampered token", tampered.as_str()),
            ("the brand's API key", t.key.as_str()),
            ("the owner's session", session.as_str()),
        ] {
            assert_eq!(
                send(&app, row, &fixture, &path, credential).await,
                401,
                "{label}: {who}"
            );
        }
        for (who, credential) in &others {
            let status = send(&app, row, &fixture, &path, credential).await;
            assert_eq!(status, row.agent, "{label}: {who}");
        }
        for bad in fixture.malformed_paths(row) {
            assert_eq!(
                send(&app, row, &fixture, &bad, &token).await,
                404,
                "{label}: {bad}"
            );
        }
        // Nothing the others sent touched this customer's ticket.
        let ticket = &fixture.ids[0].1;
        let admin = app
            .get(&format!("/v1/brands/{brand}/tickets/{ticket}"), &t.key)
            .await;
        assert_eq!(admin.body["commentCount"], 0, "{label}");
        assert_eq!(admin.body["attachmentCount"], 0, "{label}");
        let list = app.get("/v1/portal/tickets", &others[0].1).await;
        assert!(!list.body.to_string().contains(ticket.as_str()), "{label}");
        assert_eq!(
            send(&app, row, &fixture, &path, &token).await,
            row.owner,
            "{label}: owner"
        );
        // The same token, expired.
        app.clock.advance(3600);
        assert_eq!(
            send(&app, row, &fixture, &path, &token).await,
            401,
            "{label}: expired"
        );
        app.clock.advance(-3600);
    }
}
