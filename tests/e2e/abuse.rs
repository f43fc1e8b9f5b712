//! Regression tests for what abuse testing found (issue 11): each failed before its fix.

use crate::helpers::{Tenant, TestApp, TestResponse, unique_email};
use crate::portal::token_for;
use dispatch_domain::Mode;
use serde_json::json;

/// The declarations a downloaded file would turn into something runnable or disguised.
const DISGUISED: &[(&str, &str)] = &[
    ("invoice.html", "text/plain"),
    ("setup.exe", "application/pdf"),
    ("pic.svg", "image/png"),
    ("run.hta", "text/plain"),
    ("invoice_\u{202E}fdp.exe", "application/pdf"),
    ("report.pdf.", "application/pdf"),
];

async fn form_with_file(
    app: &TestApp,
    t: &Tenant,
    filename: &str,
    content_type: &str,
) -> TestResponse {
    let e = app
        .post(
            &format!("/v1/brands/{}/intake", t.brand_id),
            &t.key,
            json!({"name": "Upload form"}),
        )
        .await;
    let token = e.body["token"].as_str().unwrap();
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nSee attached\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n<script>alert(1)</script>\r\n--XyZ--\r\n"
    );
    let headers = vec![(
        "content-type".to_string(),
        "multipart/form-data; boundary=XyZ".to_string(),
    )];
    app.send_with_headers("POST", &format!("/v1/forms/{token}"), &headers, Some(body))
        .await
}

#[tokio::test]
async fn a_file_name_must_carry_its_declared_types_extension_and_no_disguise() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = format!("/v1/brands/{}", t.brand_id);
    let ticket = app
        .post(
            &format!("{brand}/tickets"),
            &t.key,
            json!({"title": "Files"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let portal = token_for(&app, &t, &unique_email("cus")).await;
    for (filename, content_type) in DISGUISED {
        let declaration = json!({"filename": filename, "contentType": content_type, "size": 25});
        for (route, credential) in [
            (format!("{brand}/tickets/{ticket}/attachments"), &t.key),
            (format!("{brand}/attachments"), &t.key),
            (
                "/v1/portal/tickets/attachments/pending".to_string(),
                &portal,
            ),
        ] {
            let res = app.post(&route, credential, declaration.clone()).await;
            assert_eq!(
                res.status, 400,
                "{route}: {filename} as {content_type}: {}",
                res.body
            );
            assert_eq!(res.error_fields(), vec!["filename"], "{route}: {filename}");
        }
        let res = form_with_file(&app, &t, filename, content_type).await;
        assert_eq!(
            res.status, 400,
            "form: {filename} as {content_type}: {}",
            res.body
        );
    }
    // Nothing was declared, and the anonymous form opened no ticket.
    let list = app
        .get(&format!("{brand}/tickets/{ticket}/attachments"), &t.key)
        .await;
    assert_eq!(list.body, json!([]));
    let tickets = app.get(&format!("{brand}/tickets"), &t.key).await;
    assert_eq!(tickets.body["data"].as_array().unwrap().len(), 1);
    // A name that matches its type still goes through, in any letter case.
    let fine = json!({"filename": "Scan.PDF", "contentType": "application/pdf", "size": 25});
    let res = app
        .post(
            &format!("{brand}/tickets/{ticket}/attachments"),
            &t.key,
            fine,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
}
