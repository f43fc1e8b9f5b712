//! Attachments: real bytes through presigned requests to the emulator's S3.
//!
//! The emulator does not check presigned signatures, expiry or signed headers, so these
//! tests prove the limits where they are decided: the URL we hand out signs
//! `content-length` and `content-type` and carries a short expiry, and confirm refuses an
//! object whose real size or type differs from the declaration.

use crate::helpers::{Tenant, TestApp, TestResponse, http_request};
use dispatch_domain::Mode;
use serde_json::{Value, json};

async fn ticket(app: &TestApp, t: &Tenant) -> String {
    let res = app
        .post(
            &format!("/v1/brands/{}/tickets", t.brand_id),
            &t.key,
            json!({"title": "Printer on fire"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

fn attachments_path(t: &Tenant, ticket: &str) -> String {
    format!("/v1/brands/{}/tickets/{ticket}/attachments", t.brand_id)
}

async fn declare(app: &TestApp, t: &Tenant, ticket: &str, body: Value) -> TestResponse {
    app.post(&attachments_path(t, ticket), &t.key, body).await
}

/// The query parameters of a URL (still percent-encoded).
fn query(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// PUTs `bytes` to the presigned upload with the given headers.
async fn upload(url: &str, content_type: &str, bytes: &[u8]) -> u16 {
    let length = bytes.len().to_string();
    http_request(
        "PUT",
        url,
        &[("Content-Type", content_type), ("Content-Length", &length)],
        bytes,
    )
    .await
    .status
}

#[tokio::test]
async fn a_file_goes_up_through_the_presigned_url_and_comes_back_byte_for_byte() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = ticket(&app, &t).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();

    let created = declare(
        &app,
        &t,
        &ticket,
        json!({"filename": "logs/printer log.txt", "contentType": "text/plain", "size": bytes.len()}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["attachmentId"].as_str().unwrap().to_string();
    assert!(id.starts_with("att_"));
    assert_eq!(created.body["attachment"]["id"], id.as_str());
    assert_eq!(created.body["attachment"]["status"], "PENDING");
    assert_eq!(created.body["attachment"]["filename"], "printer log.txt");
    assert_eq!(created.body["expiresIn"], 600);
    let url = created.body["uploadUrl"].as_str().unwrap().to_string();
    // The key is organization / mode / brand / ticket / attachment.
    let path = url.split('?').next().unwrap();
    assert!(
        path.ends_with(&format!("/{}/test/{}/{ticket}/{id}", t.org_id, t.brand_id)),
        "{path}"
    );
    // Size and type are signed (S3 refuses any other), the URL lives ten minutes.
    let signed = param(&url, "X-Amz-SignedHeaders").unwrap();
    assert_eq!(signed, "content-length%3Bcontent-type%3Bhost", "{url}");
    assert_eq!(param(&url, "X-Amz-Expires").as_deref(), Some("600"));
    assert!(param(&url, "X-Amz-Signature").is_some());
    assert_eq!(created.body["uploadHeaders"]["content-length"], "3000");
    assert_eq!(created.body["uploadHeaders"]["content-type"], "text/plain");

    // Confirming before the upload changes nothing.
    let confirm_path = format!("{}/{id}/confirm", attachments_path(&t, &ticket));
    let early = app.post(&confirm_path, &t.key, json!({})).await;
    assert_eq!(early.status, 422, "{}", early.body);
    assert_eq!(early.body["code"], "upload_missing");

    assert_eq!(upload(&url, "text/plain", &bytes).await, 200);
    let confirmed = app.post(&confirm_path, &t.key, json!({})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "UPLOADED");
    // Confirming again is harmless and counts once.
    let again = app.post(&confirm_path, &t.key, json!({})).await;
    assert_eq!(again.status, 200);
    let ticket_now = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(ticket_now.body["attachmentCount"], 1);

    let one = app
        .get(&format!("{}/{id}", attachments_path(&t, &ticket)), &t.key)
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    let download = one.body["downloadUrl"].as_str().unwrap().to_string();
    assert_eq!(param(&download, "X-Amz-Expires").as_deref(), Some("300"));
    assert!(
        param(&download, "response-content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let got = http_request("GET", &download, &[], &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bytes, "the bytes come back unchanged");
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"printer log.txt\"; filename*=UTF-8''printer%20log.txt")
    );

    let list = app.get(&attachments_path(&t, &ticket), &t.key).await;
    assert_eq!(list.status, 200);
    let items = list.body.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert!(items[0]["downloadUrl"].is_string());
}

#[tokio::test]
async fn confirm_refuses_an_object_that_is_not_what_was_declared() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = ticket(&app, &t).await;
    for (real_type, real_bytes) in [
        // Bigger than declared (the emulator does not enforce the signed length; S3 does).
        ("image/png", vec![7u8; 2048]),
        // The declared size, another type.
        ("text/html", vec![7u8; 1024]),
    ] {
        let created = declare(
            &app,
            &t,
            &ticket,
            json!({"filename": "shot.png", "contentType": "image/png", "size": 1024}),
        )
        .await;
        let id = created.body["attachmentId"].as_str().unwrap().to_string();
        let url = created.body["uploadUrl"].as_str().unwrap();
        assert_eq!(upload(url, real_type, &real_bytes).await, 200);
        let confirm_path = format!("{}/{id}/confirm", attachments_path(&t, &ticket));
        let refused = app.post(&confirm_path, &t.key, json!({})).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert_eq!(refused.body["code"], "upload_mismatch");
        let one = app
            .get(&format!("{}/{id}", attachments_path(&t, &ticket)), &t.key)
            .await;
        assert_eq!(one.body["status"], "PENDING");
        assert!(one.body.get("downloadUrl").is_none());
        // The wrong object was discarded: confirming again finds nothing.
        let after = app.post(&confirm_path, &t.key, json!({})).await;
        assert_eq!(after.body["code"], "upload_missing");
    }
    let ticket_now = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(ticket_now.body["attachmentCount"], 0);
}

#[tokio::test]
async fn dangerous_or_oversized_declarations_are_refused_and_create_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = ticket(&app, &t).await;
    for (body, field) in [
        (
            json!({"filename": "x.html", "contentType": "text/html", "size": 10}),
            "contentType",
        ),
        (
            json!({"filename": "x.svg", "contentType": "image/svg+xml", "size": 10}),
            "contentType",
        ),
        (
            json!({"filename": "x.bin", "contentType": "application/octet-stream", "size": 10}),
            "contentType",
        ),
        (
            json!({"filename": "big.zip", "contentType": "application/zip", "size": 50 * 1024 * 1024 + 1}),
            "size",
        ),
        (
            json!({"filename": "empty.txt", "contentType": "text/plain", "size": 0}),
            "size",
        ),
        (
            json!({"filename": "nosize.txt", "contentType": "text/plain"}),
            "size",
        ),
        (
            json!({"filename": "", "contentType": "text/plain", "size": 1}),
            "filename",
        ),
        (
            json!({"filename": "a.txt", "contentType": "text/plain", "size": -1}),
            "size",
        ),
    ] {
        let res = declare(&app, &t, &ticket, body.clone()).await;
        assert_eq!(res.status, 400, "{body} → {}", res.body);
        assert!(
            res.error_fields().contains(&field.to_string()),
            "{body} → {}",
            res.body
        );
    }
    let list = app.get(&attachments_path(&t, &ticket), &t.key).await;
    assert_eq!(list.body, json!([]));
}

#[tokio::test]
async fn attachments_of_other_tenants_modes_scopes_and_deleted_tickets_are_not_found() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = ticket(&app, &t).await;
    let created = declare(
        &app,
        &t,
        &ticket,
        json!({"filename": "a.txt", "contentType": "text/plain", "size": 3}),
    )
    .await;
    let id = created.body["attachmentId"].as_str().unwrap().to_string();
    upload(
        created.body["uploadUrl"].as_str().unwrap(),
        "text/plain",
        b"abc",
    )
    .await;
    let base = attachments_path(&t, &ticket);
    let one = format!("{base}/{id}");
    let confirm = format!("{one}/confirm");

    let outsiders = app.outsiders(&t).await;
    for key in outsiders.keys() {
        assert_eq!(app.get(&base, key).await.status, 404);
        assert_eq!(app.get(&one, key).await.status, 404);
        assert_eq!(app.post(&confirm, key, json!({})).await.status, 404);
        let declared = app
            .post(
                &base,
                key,
                json!({"filename": "b.txt", "contentType": "text/plain", "size": 1}),
            )
            .await;
        assert_eq!(declared.status, 404);
    }
    // Malformed ids are plain 404s.
    assert_eq!(
        app.get(&format!("{base}/att_nope"), &t.key).await.status,
        404
    );
    // The owner still sees it; after the ticket is deleted nobody does.
    assert_eq!(app.post(&confirm, &t.key, json!({})).await.status, 200);
    let deleted = app
        .delete(
            &format!("/v1/brands/{}/tickets/{ticket}", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(app.get(&one, &t.key).await.status, 404);
    assert_eq!(app.get(&base, &t.key).await.status, 404);
    let declared = declare(
        &app,
        &t,
        &ticket,
        json!({"filename": "c.txt", "contentType": "text/plain", "size": 1}),
    )
    .await;
    assert_eq!(declared.status, 404);
}

#[tokio::test]
async fn files_uploaded_before_the_ticket_attach_by_id_once() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let declared = app
        .post(
            &format!("{brand}/attachments"),
            &t.key,
            json!({"filename": "contract.pdf", "contentType": "application/pdf", "size": 4}),
        )
        .await;
    assert_eq!(declared.status, 201, "{}", declared.body);
    assert!(declared.body["attachment"]["ticketId"].is_null());
    let id = declared.body["attachmentId"].as_str().unwrap().to_string();
    let url = declared.body["uploadUrl"].as_str().unwrap();
    assert!(url.contains(&format!("/{}/test/{}/pending/{id}", t.org_id, t.brand_id)));
    let create = |ids: Value| {
        let (app, brand, key) = (&app, brand.clone(), t.key.clone());
        async move {
            app.post(
                &format!("{brand}/tickets"),
                &key,
                json!({"title": "With the contract", "attachmentIds": ids}),
            )
            .await
        }
    };
    // Not uploaded and confirmed yet: refused, nothing created.
    let early = create(json!([id])).await;
    assert_eq!(early.status, 400, "{}", early.body);
    assert_eq!(early.error_fields(), ["attachmentIds[0]"]);
    assert_eq!(upload(url, "application/pdf", b"%PDF").await, 200);
    let confirmed = app
        .post(
            &format!("{brand}/attachments/{id}/confirm"),
            &t.key,
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    // A portal customer's pending upload is not the brand's to attach.
    let portal = app
        .post(
            &format!("{brand}/portal/token"),
            &t.key,
            json!({"email": "c@example.com"}),
        )
        .await;
    let customer_upload = app
        .post(
            "/v1/portal/tickets/attachments/pending",
            portal.body["token"].as_str().unwrap(),
            json!({"filename": "x.txt", "contentType": "text/plain", "size": 1}),
        )
        .await;
    let theirs = customer_upload.body["attachmentId"].as_str().unwrap();
    assert_eq!(create(json!([theirs])).await.status, 400);

    let created = create(json!([id])).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["attachmentCount"], 1);
    let ticket = created.body["id"].as_str().unwrap();
    let files = app
        .get(&format!("{brand}/tickets/{ticket}/attachments"), &t.key)
        .await;
    assert_eq!(files.body[0]["id"], id.as_str());
    let got = http_request(
        "GET",
        files.body[0]["downloadUrl"].as_str().unwrap(),
        &[],
        &[],
    )
    .await;
    assert_eq!(got.body, b"%PDF");
    // Attached once: the next ticket cannot take it.
    assert_eq!(create(json!([id])).await.status, 400);
    let bad = create(json!(["att_nope", id, id])).await;
    assert_eq!(bad.status, 400);
}

/// Declares and (when `bytes` is given) uploads and confirms a file; its attachment path.
async fn attached(app: &TestApp, t: &Tenant, ticket: &str, bytes: Option<&[u8]>) -> String {
    let size = bytes.map_or(3, <[u8]>::len);
    let created = declare(
        app,
        t,
        ticket,
        json!({"filename": "note.txt", "contentType": "text/plain", "size": size}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let one = format!(
        "{}/{}",
        attachments_path(t, ticket),
        created.body["attachmentId"].as_str().unwrap()
    );
    if let Some(bytes) = bytes {
        let url = created.body["uploadUrl"].as_str().unwrap();
        assert_eq!(upload(url, "text/plain", bytes).await, 200);
        let confirmed = app.post(&format!("{one}/confirm"), &t.key, json!({})).await;
        assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    }
    one
}

async fn attachment_count(app: &TestApp, t: &Tenant, ticket: &str) -> u64 {
    let got = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}", t.brand_id),
            &t.key,
        )
        .await;
    got.body["attachmentCount"].as_u64().unwrap()
}

/// A deleted upload leaves the record, the count and the bucket together; a pending one
/// never counted; outsiders and a second delete get 404; the SDK's `expiresAt` matches.
#[tokio::test]
async fn deleting_an_attachment_removes_record_count_and_file() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let ticket = ticket(&app, &t).await;
    let uploaded = attached(&app, &t, &ticket, Some(b"abc")).await;
    let pending = attached(&app, &t, &ticket, None).await;
    assert_eq!(attachment_count(&app, &t, &ticket).await, 1);

    let read = app.get(&uploaded, &t.key).await;
    assert_eq!(read.body["expiresAt"], read.body["downloadExpiresAt"]);
    assert!(read.body["expiresAt"].is_string(), "{}", read.body);
    let download = read.body["downloadUrl"].as_str().unwrap().to_string();
    assert_eq!(http_request("GET", &download, &[], &[]).await.status, 200);

    let outsiders = app.outsiders(&t).await;
    for key in outsiders.keys() {
        assert_eq!(app.delete(&uploaded, key).await.status, 404);
    }
    assert_eq!(app.get(&uploaded, &t.key).await.status, 200);

    app.take_ops();
    assert_eq!(app.delete(&uploaded, &t.key).await.status, 204);
    // Auth, the ticket with its brand (one batch), the attachment; then one transaction
    // (record and count).
    assert_eq!(
        app.take_ops(),
        (
            ["GetItem", "BatchGetItem", "GetItem", "TransactWriteItems"]
                .map(String::from)
                .to_vec(),
            1
        )
    );
    assert_eq!(app.get(&uploaded, &t.key).await.status, 404);
    assert_eq!(app.delete(&uploaded, &t.key).await.status, 404);
    assert_eq!(attachment_count(&app, &t, &ticket).await, 0);
    // The object is gone from the bucket (S3 answers 403 or 404 for a missing key).
    let gone = http_request("GET", &download, &[], &[]).await.status;
    assert!(
        gone == 403 || gone == 404,
        "the file is still served: {gone}"
    );

    assert_eq!(app.delete(&pending, &t.key).await.status, 204);
    assert_eq!(attachment_count(&app, &t, &ticket).await, 0);
    let listed = app.get(&attachments_path(&t, &ticket), &t.key).await;
    assert_eq!(listed.body, json!([]));
}
