//! The authorization matrix of every brand-scoped route, generated from one table.
//!
//! [`ROUTES`] lists each route under `/v1/brands/{brandId}` with a request that succeeds for
//! its owner and what an agent gets. The first test fails when the router map has a brand
//! route the table lacks, so a new route cannot skip the matrix. The second runs every row
//! as: another organization, the same organization's other mode, a key scoped to another
//! brand (all 404, nothing changed), each id malformed (404, no scan), an agent session,
//! and the owner's org-wide key.

use crate::helpers::{Tenant, TestApp, http_request, router_routes, unique_email};
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
    row("DELETE", T, None, 204, 204),
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
    row("GET", "/v1/brands/{brandId}/intake", None, 200, 403),
    row(
        "POST",
        "/v1/brands/{brandId}/intake",
        Some(r#"{"name":"Form"}"#),
        201,
        403,
    ),
    row("DELETE", "/v1/brands/{brandId}/intake/{id}", None, 204, 403),
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
        .map(|r| (r.method.to_string(), r.path.to_string()))
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
        let post = |path: String, body: Value| async move {
            let res = app.post(&path, &t.key, body).await;
            assert!(res.status == 201, "{path}: {}", res.body);
            res.body
        };
        let ticket = post(format!("{b}/tickets"), json!({"title": "Fixture"})).await;
        let ticket = ticket["id"].as_str().unwrap().to_string();
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
        let intake = post(format!("{b}/intake"), json!({"name": "Fixture"})).await;
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
                let mut path = row.path.replace(placeholder, "nope_0");
                for (other, id) in &self.ids {
                    path = path.replace(other, id);
                }
                path
            })
            .collect()
    }
}

async fn send(app: &TestApp, row: &Row, path: &str, credential: &str) -> u16 {
    let body = row.body.map(|b| b.replace("{email}", &unique_email("m")));
    app.send(row.method, path, Some(credential), body)
        .await
        .status
}

#[tokio::test]
async fn every_brand_route_answers_each_kind_of_caller_as_the_matrix_says() {
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

    for row in ROUTES {
        let label = format!("{} {}", row.method, row.path);
        let fixture = Fixture::new(&app, &t).await;
        let path = fixture.path(row);
        for (who, credential) in [
            ("another organization", &other_org),
            ("the other mode", &other_mode),
            ("a key scoped to another brand", &scoped),
        ] {
            assert_eq!(
                send(&app, row, &path, credential).await,
                404,
                "{label}: {who}"
            );
        }
        for bad in fixture.malformed_paths(row) {
            app.take_ops();
            assert_eq!(send(&app, row, &bad, &t.key).await, 404, "{label}: {bad}");
            let (ops, writes) = app.take_ops();
            assert!(
                !ops.iter().any(|o| o.contains("Scan")) && ops.len() <= 2 && writes == 0,
                "{label}: a malformed id cost {ops:?}"
            );
        }
        // Nothing the refused callers sent changed anything: the owner's request still
        // does exactly what it should on the same objects.
        assert_eq!(
            send(&app, row, &path, &agent).await,
            row.agent,
            "{label}: agent"
        );
        let fixture = if row.agent < 300 && row.method != "GET" {
            Fixture::new(&app, &t).await
        } else {
            fixture
        };
        assert_eq!(
            send(&app, row, &fixture.path(row), &t.key).await,
            row.owner,
            "{label}: owner"
        );
    }
}

#[tokio::test]
async fn a_deleted_brands_tickets_customers_and_files_are_gone() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let fixture = Fixture::new(&app, &t).await;
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
            send(&app, row, &fixture.path(row), &t.key).await,
            404,
            "{} {} after delete",
            row.method,
            row.path
        );
    }
}
