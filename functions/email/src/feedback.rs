//! `email-feedback`: SES's bounce and complaint events for customers' mail (the
//! configuration set publishes them to an SNS topic this function is subscribed to) put
//! the address on the organization's suppression list, which every send checks.
//!
//! A permanent bounce (no such mailbox, a dead domain) and a complaint (the customer marked
//! our mail as spam) suppress; a transient bounce (a full mailbox, a greylisting server)
//! does not. Messages carry the organization as an SES message tag (`org`), which the
//! event returns.

use crate::Retry;
use crate::outbound::email_of;
use aws_lambda_events::event::sns::SnsEvent;
use dispatch_domain::{Clock, OrgId};
use dispatch_store::MailStore;
use serde::Serialize;
use serde_json::Value;

/// What one event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// `Bounce`, `Complaint`, or what else the event said.
    pub event: String,
    /// Addresses put on the list.
    pub suppressed: usize,
}

/// One SES event, read: its type, the organization its mail was sent for, and the
/// addresses it says to stop mailing, each with why.
pub type SesEvent = (String, Option<OrgId>, Vec<(String, &'static str)>);

/// Reads one SES event (the SNS message's text); `None` when it is not one.
pub fn read_event(message: &str) -> Option<SesEvent> {
    let v: Value = serde_json::from_str(message).ok()?;
    let kind = v["eventType"]
        .as_str()
        .or_else(|| v["notificationType"].as_str())?
        .to_string();
    let org = v["mail"]["tags"]["org"][0].as_str().and_then(OrgId::parse);
    let recipients = |list: &Value, reason: &'static str| -> Vec<(String, &'static str)> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["emailAddress"].as_str())
            .map(|a| (a.to_string(), reason))
            .collect()
    };
    let stop = match kind.as_str() {
        "Bounce" if v["bounce"]["bounceType"] == "Permanent" => {
            recipients(&v["bounce"]["bouncedRecipients"], "bounce")
        }
        "Complaint" => recipients(&v["complaint"]["complainedRecipients"], "complaint"),
        _ => Vec::new(),
    };
    Some((kind, org, stop))
}

/// Handles one SNS delivery. A record that is not an SES event is logged and skipped
/// (retrying cannot make it one); a store error fails the invocation (SNS retries).
pub async fn on_sns<S: MailStore>(
    store: &S,
    clock: &dyn Clock,
    event: SnsEvent,
) -> Result<Vec<Feedback>, Retry> {
    let mut out = Vec::new();
    for record in &event.records {
        let Some((kind, org, stop)) = read_event(&record.sns.message) else {
            tracing::warn!(sns_message_id = %record.sns.message_id, "not an SES event; skipped");
            continue;
        };
        let mut suppressed = 0;
        match org {
            Some(org) => {
                for (address, reason) in stop {
                    if let Some(email) = email_of(&address) {
                        store.suppress(&org, &email, reason, clock.now()).await?;
                        suppressed += 1;
                    }
                }
            }
            // Mail sent without our tag (not a customer's): nothing of ours to suppress.
            None if !stop.is_empty() => {
                tracing::warn!(event = %kind, "feedback for mail without an org tag; skipped");
            }
            None => {}
        }
        tracing::info!(event = %kind, suppressed, "mail feedback");
        out.push(Feedback {
            event: kind,
            suppressed,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, detail: Value) -> String {
        let mut v = json!({
            "eventType": kind,
            "mail": {"tags": {"org": ["org_01jq3v5x7b9d2f4h6k8m0n2p4r"], "mode": ["live"]}},
        });
        v.as_object_mut()
            .unwrap()
            .extend(detail.as_object().unwrap().clone());
        v.to_string()
    }

    #[test]
    fn permanent_bounces_and_complaints_suppress_and_nothing_else_does() {
        let hard = event(
            "Bounce",
            json!({"bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "gone@example.com"}]}}),
        );
        let (kind, org, stop) = read_event(&hard).unwrap();
        assert_eq!(kind, "Bounce");
        assert_eq!(org.unwrap().as_str(), "org_01jq3v5x7b9d2f4h6k8m0n2p4r");
        assert_eq!(stop, vec![("gone@example.com".to_string(), "bounce")]);
        let soft = event(
            "Bounce",
            json!({"bounce": {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "full@example.com"}]}}),
        );
        assert!(read_event(&soft).unwrap().2.is_empty());
        let complaint = event(
            "Complaint",
            json!({"complaint": {"complainedRecipients": [{"emailAddress": "Angry <angry@example.com>"}]}}),
        );
        assert_eq!(read_event(&complaint).unwrap().2.len(), 1);
        let delivery = event("Delivery", json!({}));
        assert!(read_event(&delivery).unwrap().2.is_empty());
        assert!(read_event("not json").is_none());
    }
}
