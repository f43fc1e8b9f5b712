//! Email as a ticket channel, inbound: every fixture in tests/fixtures/ mailed to a brand's
//! address, as SES hands it over (the raw message in the bucket under `inbound/`, the
//! receipt event from events/mail/ with its verdicts), becomes the right ticket, comment,
//! quarantine record or nothing.

use crate::helpers::{INBOUND_DOMAIN, Tenant, TestApp, workspace_root};
use crate::iam::as_function;
use aws_lambda_events::event::ses::SimpleEmailEvent;
use dispatch_domain::Mode;
use dispatch_email::{Ignored, Outcome, receive};
use dispatch_files::Files;
use dispatch_store::MailStore;
use serde_json::{Value, json};

/// The ids the fixtures are written with, replaced by the test's own.
const FIXTURE_BRAND: &str = "br_01jq3v5x7b9d2f4h6k8m0n2p4r";
const FIXTURE_TICKET: &str = "tkt_01jq3v5x7b9d2f4h6k8m0n2p4s";

/// SES's verdicts for one delivery.
#[derive(Clone, Copy)]
pub(crate) struct Verdicts {
    dmarc: &'static str,
    spam: &'static str,
    virus: &'static str,
}

pub(crate) const AUTHENTIC: Verdicts = Verdicts {
    dmarc: "PASS",
    spam: "PASS",
    virus: "PASS",
};

impl Verdicts {
    fn dmarc(status: &'static str) -> Verdicts {
        Verdicts {
            dmarc: status,
            ..AUTHENTIC
        }
    }
}

fn replace(haystack: &[u8], from: &str, to: &str) -> Vec<u8> {
    let from = from.as_bytes();
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to.as_bytes());
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// A fixture as bytes (its charset untouched), addressed to `brand` and, where it names
/// our ticket, naming `ticket`.
pub(crate) fn fixture(name: &str, brand: &str, ticket: Option<&str>) -> Vec<u8> {
    let raw = std::fs::read(workspace_root().join("tests/fixtures").join(name)).unwrap();
    let raw = replace(&raw, FIXTURE_BRAND, brand);
    match ticket {
        Some(t) => replace(&raw, FIXTURE_TICKET, t),
        None => raw,
    }
}

pub(crate) fn address(brand: &str) -> String {
    format!("{brand}@{INBOUND_DOMAIN}")
}

/// The receipt event of events/mail/received.json for one message.
pub(crate) fn receipt_event(ses_id: &str, recipient: &str, v: Verdicts) -> String {
    std::fs::read_to_string(workspace_root().join("events/mail/received.json"))
        .unwrap()
        .replace("{{SES_MESSAGE_ID}}", ses_id)
        .replace("{{RECIPIENT}}", recipient)
        .replace("{{DMARC}}", v.dmarc)
        .replace("{{SPAM}}", v.spam)
        .replace("{{VIRUS}}", v.virus)
}

pub(crate) fn new_ses_id() -> String {
    format!(
        "{}-{}",
        dispatch_domain::random::base62(20).to_ascii_lowercase(),
        "000000"
    )
}

/// Stores the message where SES's S3 action puts it.
pub(crate) async fn store_raw(app: &TestApp, ses_id: &str, raw: Vec<u8>) {
    app.inbound
        .files
        .put(&format!("inbound/{ses_id}"), "message/rfc822", raw)
        .await
        .unwrap();
}

/// Delivers `raw` to `recipient` as SES would, with the given SES message id (a retry
/// reuses it).
async fn deliver_as(
    app: &TestApp,
    ses_id: &str,
    raw: Vec<u8>,
    recipient: &str,
    v: Verdicts,
) -> Vec<Outcome> {
    store_raw(app, ses_id, raw).await;
    let event: SimpleEmailEvent =
        serde_json::from_str(&receipt_event(ses_id, recipient, v)).unwrap();
    as_function("email-inbound", receive(&app.inbound, &event.records[0]))
        .await
        .unwrap()
}

/// `raw` mailed to `brand`'s address with SES's DMARC verdict `dmarc`.
pub(crate) async fn deliver_raw(
    app: &TestApp,
    raw: Vec<u8>,
    brand: &str,
    dmarc: &'static str,
) -> Outcome {
    deliver(app, raw, &address(brand), Verdicts::dmarc(dmarc)).await
}

/// `raw` mailed to `recipient` with SES's DMARC verdict `dmarc`.
pub(crate) async fn deliver_raw_to(
    app: &TestApp,
    raw: Vec<u8>,
    recipient: &str,
    dmarc: &'static str,
) -> Outcome {
    deliver(app, raw, recipient, Verdicts::dmarc(dmarc)).await
}

/// A fixture mailed to `brand`'s address.
async fn mail(app: &TestApp, name: &str, brand: &str, v: Verdicts) -> Outcome {
    deliver(app, fixture(name, brand, None), &address(brand), v).await
}

async fn deliver(app: &TestApp, raw: Vec<u8>, recipient: &str, v: Verdicts) -> Outcome {
    let mut outcomes = deliver_as(app, &new_ses_id(), raw, recipient, v).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.remove(0)
}

fn opened(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Opened { ticket, .. } => ticket.to_string(),
        other => panic!("no ticket opened: {other:?}"),
    }
}

/// The ticket a message opened for a sender it could not prove (DMARC did not pass).
fn opened_unverified(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Opened {
            ticket,
            verified: false,
            ..
        } => ticket.to_string(),
        other => panic!("no unverified ticket opened: {other:?}"),
    }
}

async fn ticket(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let res = app
        .get(&format!("/v1/brands/{}/tickets/{id}", t.brand_id), &t.key)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body
}

async fn ticket_count(app: &TestApp, t: &Tenant) -> usize {
    let res = app
        .get(&format!("/v1/brands/{}/tickets", t.brand_id), &t.key)
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["data"].as_array().unwrap().len()
}

async fn comments(app: &TestApp, t: &Tenant, ticket: &str) -> Vec<Value> {
    let res = app
        .get(
            &format!("/v1/brands/{}/tickets/{ticket}/comments", t.brand_id),
            &t.key,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_message_opens_a_ticket_for_its_sender() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = t.brand_id.to_string();
    let outcome = mail(&app, "plain.eml", &brand, AUTHENTIC).await;
    assert!(
        matches!(outcome, Outcome::Opened { verified: true, .. }),
        "{outcome:?}"
    );
    let ticket = ticket(&app, &t, &opened(&outcome)).await;
    assert_eq!(ticket["title"], "Cannot log in");
    assert_eq!(ticket["source"], "email");
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["customerVerified"], true);
    assert_eq!(ticket["sourceId"], "CAF1234567@mail.example.com");
    assert_eq!(ticket["sourceData"]["senderVerified"], true);
    assert_eq!(ticket["sourceData"]["authentication"]["dmarc"], "PASS");
    assert!(
        ticket["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi,\n\nThe reset link"),
        "{ticket}"
    );
    let customer = app
        .get(
            &format!(
                "/v1/brands/{brand}/customers/{}",
                ticket["customerId"].as_str().unwrap()
            ),
            &t.key,
        )
        .await;
    assert_eq!(customer.body["name"], "Jane Doe", "{}", customer.body);
    // `From: Jane Doe <Jane@Example.com>`: the address as the API keeps addresses.
    assert_eq!(customer.body["email"], "jane@example.com");
    // The brand says it receives mail (the deployment has an inbound domain).
    let shown = app.get(&format!("/v1/brands/{brand}"), &t.key).await;
    assert_eq!(shown.body["inboundEmailEnabled"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn html_only_and_non_utf8_messages_become_readable_tickets() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let html = opened(&mail(&app, "html-only.eml", &brand, AUTHENTIC).await);
    let html = ticket(&app, &t, &html).await;
    assert_eq!(html["title"], "Invoice €120 is wrong");
    let body = html["body"].as_str().unwrap();
    assert!(body.contains("agreed on €100"), "{body}");
    assert!(!body.contains('<') && !body.contains("alert(1)"), "{body}");
    let latin1 = opened(&mail(&app, "latin1.eml", &brand, AUTHENTIC).await);
    let latin1 = ticket(&app, &t, &latin1).await;
    assert_eq!(latin1["title"], "Facture erronée");
    assert!(
        latin1["body"]
            .as_str()
            .unwrap()
            .contains("février est erronée")
    );
    let japanese = opened(&mail(&app, "shift-jis.eml", &brand, AUTHENTIC).await);
    let japanese = ticket(&app, &t, &japanese).await;
    assert_eq!(japanese["title"], "請求書について");
    assert_eq!(japanese["body"], "請求書が間違っています。");
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_and_inline_images_are_stored_with_the_ticket() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let id = opened(&mail(&app, "multipart-attachments.eml", &brand, AUTHENTIC).await);
    let shown = ticket(&app, &t, &id).await;
    assert_eq!(shown["attachmentCount"], 2, "{shown}");
    assert_eq!(
        shown["body"],
        "The export fails, see the screenshot and the report."
    );
    let list = app
        .get(
            &format!("/v1/brands/{brand}/tickets/{id}/attachments"),
            &t.key,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mut names: Vec<(String, String, String)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["filename"].as_str().unwrap().to_string(),
                a["contentType"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            (
                "report.pdf".to_string(),
                "application/pdf".to_string(),
                "UPLOADED".to_string()
            ),
            (
                "shot.png".to_string(),
                "image/png".to_string(),
                "UPLOADED".to_string()
            ),
        ]
    );
    // The bytes are in the bucket, decoded, where the download URL points.
    let pdf = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == "report.pdf")
        .unwrap();
    let url = pdf["downloadUrl"].as_str().unwrap();
    let got = crate::helpers::http_request("GET", url, &[], b"").await;
    assert_eq!(got.status, 200);
    assert!(got.body.starts_with(b"%PDF-1.4"), "{:?}", got.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_attachment_is_left_out_and_named_not_the_message() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let raw = replace(
        &fixture("multipart-attachments.eml", &brand, None),
        "report.pdf",
        "report.exe",
    );
    let id = opened(&deliver(&app, raw, &address(&brand), AUTHENTIC).await);
    let shown = ticket(&app, &t, &id).await;
    assert_eq!(shown["attachmentCount"], 1, "{shown}");
    let skipped = &shown["sourceData"]["skippedAttachments"];
    assert_eq!(skipped[0]["filename"], "report.exe", "{shown}");
    assert!(skipped[0]["reason"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_threads_onto_its_ticket_as_a_customer_comment_and_reopens_it() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Live).await;
    let brand = t.brand_id.to_string();
    let to = address(&brand);
    let id = opened(&mail(&app, "plain.eml", &brand, AUTHENTIC).await);
    let resolved = app
        .patch(
            &format!("/v1/brands/{brand}/tickets/{id}"),
            &t.key,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    // By our reference in References / In-Reply-To.
    let outcome = deliver(
        &app,
        fixture("reply.eml", &brand, Some(&id)),
        &to,
        AUTHENTIC,
    )
    .await;
    assert!(
        matches!(&outcome, Outcome::Continued { ticket, .. } if ticket.as_str() == id),
        "{outcome:?}"
    );
    let shown = ticket(&app, &t, &id).await;
    assert_eq!(shown["status"], "open");
    assert_eq!(shown["commentCount"], 1);
    let list = comments(&app, &t, &id).await;
    assert_eq!(list.len(), 1);
    let comment = &list[0];
    assert_eq!(comment["authorType"], "CUSTOMER");
    assert_eq!(comment["authorId"], shown["customerId"]);
    assert_eq!(comment["body"], "That worked, thank you!");
    assert_eq!(comment["source"], "email");
    let original = comment["sourceData"]["originalText"].as_str().unwrap();
    assert!(original.contains("> We sent you a new link"), "{original}");
    // By the ticket's reply address, with no reference at all.
    let plus = format!("{brand}+{id}@{INBOUND_DOMAIN}");
    let outcome = deliver(&app, fixture("plain.eml", &brand, None), &plus, AUTHENTIC).await;
    assert!(matches!(outcome, Outcome::Continued { .. }), "{outcome:?}");
    assert_eq!(comments(&app, &t, &id).await.len(), 2);
    assert_eq!(ticket_count(&app, &t).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_from_someone_else_or_unproved_opens_a_ticket_of_its_own() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let to = address(&brand);
    let id = opened(&mail(&app, "plain.eml", &brand, AUTHENTIC).await);
    // Bob knows the ticket's reply address (a forwarded mail): his mail is his own ticket.
    let plus = format!("{brand}+{id}@{INBOUND_DOMAIN}");
    let bob = deliver(
        &app,
        fixture("html-only.eml", &brand, None),
        &plus,
        AUTHENTIC,
    )
    .await;
    assert_ne!(opened(&bob), id);
    // Jane's address, our reference, but DMARC failed: not threaded, and not hers.
    let forged = Verdicts::dmarc("FAIL");
    let spoof = deliver(&app, fixture("reply.eml", &brand, Some(&id)), &to, forged).await;
    opened_unverified(&spoof);
    assert!(comments(&app, &t, &id).await.is_empty());
    assert_eq!(ticket_count(&app, &t).await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_failing_authentication_is_ticketed_but_kept_out_of_the_senders_portal() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let forged = Verdicts::dmarc("FAIL");
    let outcome = mail(&app, "failed-dkim.eml", &brand, forged).await;
    let id = opened_unverified(&outcome);
    let shown = ticket(&app, &t, &id).await;
    assert_eq!(shown["sourceData"]["senderVerified"], false);
    assert_eq!(shown["customerVerified"], false);
    // Jane, signed in to the portal, does not see what someone sent in her name.
    let token = crate::portal::token_for(&app, &t, "jane@example.com").await;
    let mine = app.get("/v1/portal/tickets", &token).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(
        mine.body["data"].as_array().unwrap().len(),
        0,
        "{}",
        mine.body
    );
    // No DMARC record at all (GRAY) proves nothing either.
    let gray = Verdicts::dmarc("GRAY");
    let outcome = mail(&app, "plain.eml", &brand, gray).await;
    opened_unverified(&outcome);
}

#[tokio::test(flavor = "multi_thread")]
async fn automated_mail_and_our_own_mail_make_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let to = address(&brand);
    for name in ["auto-reply.eml", "bounce.eml", "mailing-list.eml"] {
        let outcome = deliver(&app, fixture(name, &brand, None), &to, AUTHENTIC).await;
        assert_eq!(
            outcome,
            Outcome::Ignored {
                why: Ignored::Automated
            },
            "{name}"
        );
    }
    // Our own sender coming back (a loop through a forwarding rule).
    let sender = std::env::var("SENDER_ADDRESS").unwrap();
    let ours = replace(
        &fixture("plain.eml", &brand, None),
        "Jane@Example.com",
        &sender,
    );
    let outcome = deliver(&app, ours, &to, AUTHENTIC).await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::OwnMail
        }
    );
    assert_eq!(ticket_count(&app, &t).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn spam_and_viruses_are_quarantined_not_ticketed() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let spam = Verdicts {
        spam: "FAIL",
        ..AUTHENTIC
    };
    let virus = Verdicts {
        virus: "FAIL",
        ..AUTHENTIC
    };
    let outcome = mail(&app, "plain.eml", &brand, spam).await;
    assert!(
        matches!(outcome, Outcome::Quarantined { reason: "spam", .. }),
        "{outcome:?}"
    );
    let outcome = mail(&app, "multipart-attachments.eml", &brand, virus).await;
    assert!(
        matches!(
            outcome,
            Outcome::Quarantined {
                reason: "virus",
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(ticket_count(&app, &t).await, 0);
    let kept = app
        .ctx
        .store
        .quarantined(&t.org_id, Mode::Test, &t.brand_id)
        .await
        .unwrap();
    let mut reasons: Vec<&str> = kept.iter().map(|q| q.reason.as_str()).collect();
    reasons.sort();
    assert_eq!(reasons, ["spam", "virus"]);
    assert!(
        kept.iter()
            .any(|q| q.subject == "Cannot log in" && q.from == "jane@example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_for_no_brand_of_ours_or_a_deleted_brand_makes_nothing() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let never = dispatch_domain::BrandId::generate(1).to_string();
    let outcome = deliver(
        &app,
        fixture("plain.eml", &never, None),
        &address(&never),
        AUTHENTIC,
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::UnknownBrand
        }
    );
    let elsewhere = format!("{brand}@example.com");
    let outcome = deliver(
        &app,
        fixture("plain.eml", &brand, None),
        &elsewhere,
        AUTHENTIC,
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::NotForUs
        }
    );
    let gone = app
        .delete(&format!("/v1/brands/{brand}?confirm=true"), &t.key)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    let outcome = mail(&app, "plain.eml", &brand, AUTHENTIC).await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::UnknownBrand
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_delivery_makes_nothing_twice() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let to = address(&brand);
    let ses_id = new_ses_id();
    let raw = fixture("multipart-attachments.eml", &brand, None);
    let first = deliver_as(&app, &ses_id, raw.clone(), &to, AUTHENTIC).await;
    assert!(matches!(first[0], Outcome::Opened { .. }), "{first:?}");
    let again = deliver_as(&app, &ses_id, raw, &to, AUTHENTIC).await;
    assert_eq!(
        again,
        vec![Outcome::Ignored {
            why: Ignored::AlreadyDone
        }]
    );
    assert_eq!(ticket_count(&app, &t).await, 1);
    let id = opened(&first[0]);
    assert_eq!(ticket(&app, &t, &id).await["attachmentCount"], 2);
    // A retried reply, too.
    let reply_id = new_ses_id();
    let reply = fixture("reply.eml", &brand, Some(&id));
    let raw_reply = replace(&reply, "jane@example.com", "carol@example.net");
    let first = deliver_as(&app, &reply_id, raw_reply.clone(), &to, AUTHENTIC).await;
    assert!(matches!(first[0], Outcome::Continued { .. }), "{first:?}");
    let again = deliver_as(&app, &reply_id, raw_reply, &to, AUTHENTIC).await;
    assert_eq!(
        again,
        vec![Outcome::Ignored {
            why: Ignored::AlreadyDone
        }]
    );
    assert_eq!(comments(&app, &t, &id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_sender_stops_at_the_limit_and_others_still_get_through() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    let (_, per_hour) = dispatch_email::SENDER_LIMITS[0];
    for _ in 0..per_hour {
        let outcome = mail(&app, "latin1.eml", &brand, AUTHENTIC).await;
        assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");
    }
    let outcome = mail(&app, "latin1.eml", &brand, AUTHENTIC).await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::RateLimited
        }
    );
    let other = mail(&app, "shift-jis.eml", &brand, AUTHENTIC).await;
    assert!(matches!(other, Outcome::Opened { .. }), "{other:?}");
    // An hour later the sender is heard again.
    app.clock.advance(3600);
    let later = mail(&app, "latin1.eml", &brand, AUTHENTIC).await;
    assert!(matches!(later, Outcome::Opened { .. }), "{later:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_brand_made_before_inbound_mail_gets_its_route_from_the_backfill() {
    let app = TestApp::new().await;
    let t = app.tenant(Mode::Test).await;
    let brand = t.brand_id.to_string();
    // As a brand written before routes existed: no route item.
    app.raw
        .delete_item()
        .table_name(&app.table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("BRANDMAIL#{brand}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("BRANDMAIL".into()),
        )
        .send()
        .await
        .unwrap();
    let outcome = mail(&app, "plain.eml", &brand, AUTHENTIC).await;
    assert_eq!(
        outcome,
        Outcome::Ignored {
            why: Ignored::UnknownBrand
        }
    );
    let mut after = None;
    loop {
        let page = app.ctx.store.backfill_tickets(after).await.unwrap();
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(
        app.ctx.store.mail_route(&t.brand_id).await.unwrap(),
        Some((t.org_id.clone(), Mode::Test))
    );
    let outcome = mail(&app, "plain.eml", &brand, AUTHENTIC).await;
    assert!(matches!(outcome, Outcome::Opened { .. }), "{outcome:?}");
}

/// What AWS does that the emulator does not: SES's receipt rule writes the raw message
/// under the prefix the function reads, may do so by the bucket's policy (this account's
/// rule only), and may invoke the function by its resource policy (this rule only).
#[test]
fn the_receipt_rule_the_bucket_policy_and_the_function_agree() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = &template["Resources"];
    let rule = &resources["InboundRule"];
    assert_eq!(rule["Condition"].as_str(), Some("InboundEmail"));
    let actions = rule["Properties"]["Rule"]["Actions"].as_sequence().unwrap();
    // The S3 action first: the function reads what it wrote.
    assert_eq!(
        actions[0]["S3Action"]["ObjectKeyPrefix"].as_str(),
        Some(dispatch_email::INBOUND_PREFIX)
    );
    let lambda = &actions[1]["LambdaAction"];
    assert_eq!(lambda["InvocationType"].as_str(), Some("Event"));
    let target = format!("{:?}", lambda["FunctionArn"]);
    assert!(target.contains("EmailInboundFunction.Arn"), "{target}");
    assert_eq!(
        rule["Properties"]["Rule"]["ScanEnabled"].as_bool(),
        Some(true)
    );
    let depends: Vec<&str> = rule["DependsOn"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        depends.contains(&"AttachmentsBucketPolicy") && depends.contains(&"EmailInboundPermission")
    );
    // The rule set and rule names the permission and the bucket policy are scoped to.
    let set_name = format!(
        "{:?}",
        resources["InboundRuleSet"]["Properties"]["RuleSetName"]
    );
    let rule_name = format!("{:?}", rule["Properties"]["Rule"]["Name"]);
    assert!(set_name.contains("${AWS::StackName}-inbound"), "{set_name}");
    assert!(
        rule_name.contains("${AWS::StackName}-inbound"),
        "{rule_name}"
    );
    let permission = &resources["EmailInboundPermission"]["Properties"];
    assert_eq!(permission["Principal"].as_str(), Some("ses.amazonaws.com"));
    let source = format!("{:?}", permission["SourceArn"]);
    assert!(
        source.contains(
            "receipt-rule-set/${AWS::StackName}-inbound:receipt-rule/${AWS::StackName}-inbound"
        ),
        "{source}"
    );
    assert!(!permission["SourceAccount"].is_null());
    let policy = format!(
        "{:?}",
        resources["AttachmentsBucketPolicy"]["Properties"]["PolicyDocument"]
    );
    assert!(policy.contains("ses.amazonaws.com"), "{policy}");
    assert!(policy.contains("/inbound/*"), "{policy}");
    assert!(policy.contains("AWS:SourceAccount"), "{policy}");
    assert!(
        policy.contains("receipt-rule-set/${AWS::StackName}-inbound:receipt-rule/*"),
        "{policy}"
    );
}
