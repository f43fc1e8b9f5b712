//! Email as a ticket channel, outbound: agent replies and autoresponses reach customers
//! through the SES emulator from the table's stream (as `email-outbound` runs in AWS), and
//! bounces and complaints (as SES publishes them) stop mail to an address.

use crate::helpers::{INBOUND_DOMAIN, Tenant, TestApp, emails_to, unique_email, workspace_root};
use aws_lambda_events::event::sns::SnsEvent;
use dispatch_domain::Mode;
use dispatch_email::feedback::on_sns;
use dispatch_store::MailStore;
use serde_json::{Value, json};

async fn live_app() -> (TestApp, Tenant) {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let t = app.tenant(Mode::Live).await;
    (app, t)
}

async fn open(app: &TestApp, t: &Tenant, customer: &str, notify: bool) -> String {
    let res = app
        .post(
            &format!("/v1/brands/{}/tickets", t.brand_id),
            &t.key,
            json!({
                "title": "Printer on fire",
                "customerEmail": customer,
                "customerName": "Pat Doe",
                "notifyCustomer": notify,
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    res.body["id"].as_str().unwrap().to_string()
}

async fn comment(app: &TestApp, t: &Tenant, ticket: &str, body: Value) {
    let res = app
        .post(
            &format!("/v1/brands/{}/tickets/{ticket}/comments", t.brand_id),
            &t.key,
            body,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
}

async fn turn_on_autoresponse(app: &TestApp, t: &Tenant) {
    let res = app
        .patch(
            &format!("/v1/brands/{}", t.brand_id),
            &t.key,
            json!({
                "fromName": "Acme Help",
                "autoresponseEnabled": true,
                "autoresponseSubject": "Got it: {{title}} [{{ticketNumber}}]",
                "autoresponseBody": "Hi {{customerName}}, we are on {{ticketNumber}}.",
            }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
}

/// SES's event for `address`, as the configuration set publishes it to SNS.
fn feedback_event(org: &str, address: &str, file: &str) -> SnsEvent {
    let text = std::fs::read_to_string(workspace_root().join("events/mail").join(file))
        .unwrap()
        .replace("{{ORG_ID}}", org)
        .replace("{{EMAIL}}", address);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_reply_reaches_the_customer_and_the_cc_threaded_to_the_ticket() {
    let (app, t) = live_app().await;
    let customer = unique_email("pat");
    let colleague = unique_email("colleague");
    let ticket = open(&app, &t, &customer, true).await;
    comment(
        &app,
        &t,
        &ticket,
        json!({"body": "We are sending a technician.\n\nHang on.", "cc": [colleague]}),
    )
    .await;
    // Not mailed: an internal note, and the customer's own words.
    comment(
        &app,
        &t,
        &ticket,
        json!({"body": "Customer sounds upset", "metadata": {"isInternal": true}}),
    )
    .await;
    comment(
        &app,
        &t,
        &ticket,
        json!({"body": "Thanks!", "authorType": "CUSTOMER"}),
    )
    .await;
    app.pump_until_idle().await;
    let mails = emails_to(&customer).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["subject"], "Re: Printer on fire [DT-1001]");
    assert!(
        mail["body"]
            .as_str()
            .unwrap()
            .contains("We are sending a technician.")
    );
    assert_eq!(
        mail["destinations"]["CcAddresses"][0],
        colleague.as_str(),
        "{mail}"
    );
    assert!(
        mail["source"]
            .as_str()
            .unwrap()
            .contains("<no-reply@dispatch.local>"),
        "{mail}"
    );
    // Kept for threading and to send it once: SES's message id.
    let comments = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}/comments", t.brand_id),
            &t.key,
        )
        .await;
    let first = comments
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["authorType"] == "AGENT" && c["metadata"]["isInternal"].is_null())
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_string();
    let id = dispatch_domain::TicketId::parse(&ticket).unwrap();
    let sent = app
        .ctx
        .store
        .sent_mail(&t.org_id, Mode::Live, &t.brand_id, &id, &first)
        .await
        .unwrap()
        .expect("the send is recorded");
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.to, customer);
    assert!(sent.ses_message_id.is_some_and(|m| !m.is_empty()));
    // A retried batch (Lambda re-reading the stream) sends nothing twice.
    app.rewind_stream();
    app.pump_until_idle().await;
    assert_eq!(emails_to(&customer).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_mailed_in_test_mode_without_notify_or_to_an_unproved_address() {
    let app = TestApp::new().await;
    app.enable_stream().await;
    let test = app.tenant(Mode::Test).await;
    let in_test = unique_email("test-mode");
    let ticket = open(&app, &test, &in_test, true).await;
    comment(
        &app,
        &test,
        &ticket,
        json!({"body": "Hello from test mode"}),
    )
    .await;
    let live = app.tenant(Mode::Live).await;
    let imported = unique_email("imported");
    let ticket = open(&app, &live, &imported, false).await;
    comment(
        &app,
        &live,
        &ticket,
        json!({"body": "An imported ticket's note"}),
    )
    .await;
    // Mail that failed DMARC: its claimed sender hears nothing, whatever agents write.
    let forged = unique_email("forged");
    let raw = crate::email::fixture("plain.eml", live.brand_id.as_str(), None);
    let raw = String::from_utf8(raw)
        .unwrap()
        .replace("Jane@Example.com", &forged)
        .into_bytes();
    let outcome = crate::email::deliver_raw(&app, raw, live.brand_id.as_str(), "FAIL").await;
    let dispatch_email::Outcome::Opened { ticket, .. } = outcome else {
        panic!("{outcome:?}");
    };
    comment(
        &app,
        &live,
        ticket.as_str(),
        json!({"body": "Did you write this?"}),
    )
    .await;
    app.pump_until_idle().await;
    for address in [&in_test, &imported, &forged] {
        assert!(emails_to(address).await.is_empty(), "{address}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_ticket_gets_the_brands_autoresponse_once_and_within_its_limit() {
    let (app, t) = live_app().await;
    turn_on_autoresponse(&app, &t).await;
    let customer = unique_email("auto");
    let first = open(&app, &t, &customer, true).await;
    // A ticket that does not ask for it (an import) gets none.
    open(&app, &t, &unique_email("quiet"), false).await;
    app.pump_until_idle().await;
    let mails = emails_to(&customer).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "Got it: Printer on fire [DT-1001]");
    // The emulator keeps the HTML part: the text, escaped, in a paragraph.
    assert_eq!(mails[0]["body"], "<p>Hi Pat Doe, we are on DT-1001.</p>");
    assert!(
        mails[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("\"Acme Help\""),
        "{}",
        mails[0]
    );
    let id = dispatch_domain::TicketId::parse(&first).unwrap();
    let sent = app
        .ctx
        .store
        .sent_mail(&t.org_id, Mode::Live, &t.brand_id, &id, "autoresponse")
        .await
        .unwrap();
    assert_eq!(sent.map(|s| s.status).as_deref(), Some("sent"));
    // One address opening ticket after ticket gets at most five answers an hour.
    let (_, per_hour) = dispatch_email::outbound::AUTORESPONSE_LIMITS[0];
    for _ in 0..per_hour + 2 {
        open(&app, &t, &customer, true).await;
    }
    app.pump_until_idle().await;
    assert_eq!(emails_to(&customer).await.len() as u64, per_hour);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hard_bounce_or_a_complaint_stops_mail_to_that_address_and_a_soft_bounce_does_not() {
    let (app, t) = live_app().await;
    let bounced = unique_email("bounced");
    let complained = unique_email("complained");
    let full = unique_email("full-mailbox");
    for (address, file) in [
        (&bounced, "bounce.json"),
        (&complained, "complaint.json"),
        (&full, "soft-bounce.json"),
    ] {
        let event = feedback_event(t.org_id.as_str(), address, file);
        let out = crate::iam::as_function(
            "email-feedback",
            on_sns(&app.ctx.store, app.clock.as_ref(), event),
        )
        .await
        .unwrap();
        assert_eq!(out.len(), 1);
    }
    let email = |a: &str| dispatch_domain::Email::parse(a).unwrap();
    let store = &app.ctx.store;
    assert_eq!(
        store
            .suppressed(&t.org_id, &email(&bounced))
            .await
            .unwrap()
            .as_deref(),
        Some("bounce")
    );
    assert_eq!(
        store
            .suppressed(&t.org_id, &email(&complained))
            .await
            .unwrap()
            .as_deref(),
        Some("complaint")
    );
    assert_eq!(
        store.suppressed(&t.org_id, &email(&full)).await.unwrap(),
        None
    );
    // Another organization still mails the address: the list is the organization's.
    let other = app.tenant(Mode::Live).await;
    assert_eq!(
        store
            .suppressed(&other.org_id, &email(&bounced))
            .await
            .unwrap(),
        None
    );
    for address in [&bounced, &complained, &full] {
        let ticket = open(&app, &t, address, true).await;
        comment(&app, &t, &ticket, json!({"body": "Any news?"})).await;
    }
    app.pump_until_idle().await;
    assert!(emails_to(&bounced).await.is_empty());
    assert!(emails_to(&complained).await.is_empty());
    assert_eq!(emails_to(&full).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_reply_to_our_mail_threads_back_onto_the_ticket() {
    let (app, t) = live_app().await;
    let customer = unique_email("threaded");
    let ticket = open(&app, &t, &customer, true).await;
    comment(&app, &t, &ticket, json!({"body": "Does it still smoke?"})).await;
    app.pump_until_idle().await;
    assert_eq!(emails_to(&customer).await.len(), 1);
    // The customer's client answers our mail: to its Reply-To (the ticket's address), with
    // our reference in References.
    let reply_to = format!("{}+{ticket}@{INBOUND_DOMAIN}", t.brand_id);
    let raw = format!(
        "From: Pat <{customer}>\r\nTo: {reply_to}\r\nSubject: Re: Printer on fire [DT-1001]\r\n\
         Message-ID: <pat-1@example.com>\r\nReferences: <{ticket}.ticket@{INBOUND_DOMAIN}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nNo, it stopped.\r\n"
    );
    let outcome = crate::email::deliver_raw_to(&app, raw.into_bytes(), &reply_to, "PASS").await;
    assert!(
        matches!(&outcome, dispatch_email::Outcome::Continued { ticket: id, .. } if id.as_str() == ticket),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suppressed_customer_gets_no_portal_sign_in_link_and_the_backend_is_told_the_same() {
    let (app, t) = live_app().await;
    let patched = app
        .patch(
            &format!("/v1/brands/{}", t.brand_id),
            &t.key,
            json!({"portalOrigins": ["https://help.acme.test"]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let bounced = unique_email("portal-bounced");
    let event = feedback_event(t.org_id.as_str(), &bounced, "bounce.json");
    on_sns(&app.ctx.store, app.clock.as_ref(), event)
        .await
        .unwrap();
    let fine = unique_email("portal-fine");
    for address in [&bounced, &fine] {
        let res = app
            .post(
                &format!("/v1/brands/{}/portal/magic-link", t.brand_id),
                &t.key,
                json!({"email": address, "portalUrl": "https://help.acme.test/support"}),
            )
            .await;
        assert_eq!(res.status, 202, "{}", res.body);
        assert_eq!(res.body, json!({"success": true}));
    }
    assert!(emails_to(&bounced).await.is_empty());
    assert_eq!(emails_to(&fine).await.len(), 1);
}
