//! `webhook-deliver`: the delivery queue's consumer. Each message names one delivery; the
//! function tries it once, records the attempt, and either finishes it (`SUCCESS`,
//! `FAILED`) or schedules the next try on the queue (`RETRYING`).
//!
//! A message whose delivery is not due yet goes back on the queue with the remaining
//! delay (SQS delays by at most 15 minutes). A message that cannot be read, or whose
//! processing fails for our own reasons (the table, KMS or the queue unavailable), is
//! reported as a batch item failure: SQS offers it again, and after five receives moves it
//! to the dead-letter queue, which raises an alarm.

use crate::events::EventsError;
use crate::http::{self, Attempt};
use dispatch_auth::Role;
use dispatch_auth::intake_signature;
use dispatch_domain::webhook::{
    self as rules, DeliveryStatus, LocalAllowance, RETRY_SCHEDULE_SECS,
};
use dispatch_domain::{BrandId, Clock, DeliveryId, Mode, OrgId, WebhookId};
use dispatch_kms::{SealContext, Secrets};
use dispatch_mail::{Mail, Mailer};
use dispatch_queue::{Queue, QueueBatchResponse, QueueEvent};
use dispatch_store::{MemberStatus, MemberStore, StoreError, WebhookChange, WebhookStore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The delivery function's dependencies.
pub struct Deliver<S, M> {
    pub store: S,
    /// Tells the organization's owners and admins when a webhook is turned off.
    pub mailer: M,
    pub secrets: Secrets,
    pub queue: Queue,
    pub clock: Arc<dyn Clock>,
    pub local: LocalAllowance,
    /// TLS to receivers: the system's trust roots, loaded at init ([`http::tls_config`]).
    pub tls: Arc<rustls::ClientConfig>,
    /// The waits between tries (`RETRY_SCHEDULE_SECS`, or the local stack's shorter one).
    pub schedule: Vec<i64>,
}

impl<S, M> Deliver<S, M> {
    /// The schedule from `WEBHOOK_RETRY_SCHEDULE_SECS` when set (the local stack and the
    /// suite), else the contract's.
    pub fn schedule_from_env() -> Result<Vec<i64>, String> {
        match std::env::var("WEBHOOK_RETRY_SCHEDULE_SECS") {
            Ok(raw) => rules::parse_schedule(&raw),
            Err(_) => Ok(RETRY_SCHEDULE_SECS.to_vec()),
        }
    }
}

/// One queue message: which delivery to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub org: OrgId,
    pub mode: Mode,
    pub brand: BrandId,
    pub webhook: WebhookId,
    pub delivery: DeliveryId,
}

impl Job {
    pub fn parse(body: &str) -> Option<Job> {
        let v: Value = serde_json::from_str(body).ok()?;
        Some(Job {
            org: OrgId::parse(v["org"].as_str()?)?,
            mode: Mode::parse(v["mode"].as_str()?)?,
            brand: BrandId::parse(v["brand"].as_str()?)?,
            webhook: WebhookId::parse(v["webhook"].as_str()?)?,
            delivery: DeliveryId::parse(v["delivery"].as_str()?)?,
        })
    }

    pub fn body(&self) -> String {
        json!({
            "org": self.org.to_string(),
            "mode": self.mode.as_str(),
            "brand": self.brand.to_string(),
            "webhook": self.webhook.to_string(),
            "delivery": self.delivery.to_string(),
        })
        .to_string()
    }
}

/// `sha256=<lowercase hex HMAC-SHA256 of the exact body, keyed with the secret's bytes>`:
/// the intake's scheme without a timestamp, so the same signer.
pub fn signature(secret: &str, body: &str) -> String {
    intake_signature::sign(secret.as_bytes(), body.as_bytes(), None)
}

/// A batch of queue messages; answers which ones failed (`batchItemFailures`).
pub async fn on_queue<S, M>(deps: &Deliver<S, M>, event: QueueEvent) -> QueueBatchResponse
where
    S: WebhookStore + MemberStore,
    M: Mailer,
{
    let mut response = QueueBatchResponse::default();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match Job::parse(record.body.as_deref().unwrap_or_default()) {
            Some(job) => handle(deps, &job).await.map_err(|e| e.to_string()),
            None => Err("a message that names no delivery".to_string()),
        };
        if let Err(error) = outcome {
            tracing::warn!(message_id = %id, %error, "webhook delivery message failed");
            response.add_failure(id);
        }
    }
    response
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Already finished, or its brand or delivery is gone.
    Nothing,
    /// Not due yet: back on the queue.
    Postponed,
    Delivered,
    /// Tried and failed; tried again later.
    Retrying,
    Failed,
}

pub async fn handle<S, M>(deps: &Deliver<S, M>, job: &Job) -> Result<Handled, EventsError>
where
    S: WebhookStore + MemberStore,
    M: Mailer,
{
    let store = &deps.store;
    let Some(mut delivery) = store
        .delivery(&job.org, job.mode, &job.brand, &job.webhook, &job.delivery)
        .await?
    else {
        return Ok(Handled::Nothing);
    };
    if matches!(
        delivery.status,
        DeliveryStatus::Success | DeliveryStatus::Failed
    ) {
        return Ok(Handled::Nothing);
    }
    let now = deps.clock.now();
    if let Some(due) = delivery
        .next_attempt_at
        .filter(|due| due.unix() > now.unix())
    {
        let wait = u32::try_from(due.unix() - now.unix()).unwrap_or(u32::MAX);
        deps.queue.send(&job.body(), wait).await?;
        return Ok(Handled::Postponed);
    }
    // The webhook and its sealed secret, in one read.
    let found = store
        .webhook_with_secret(&job.org, job.mode, &job.brand, &job.webhook)
        .await?;
    let Some((webhook, sealed)) = found.filter(|(w, _)| w.enabled) else {
        delivery.status = DeliveryStatus::Failed;
        delivery.error = Some("the webhook is deleted or disabled".into());
        delivery.next_attempt_at = None;
        store
            .put_delivery(&job.org, job.mode, &job.brand, &delivery)
            .await?;
        return Ok(Handled::Failed);
    };
    let context = SealContext {
        org: &job.org,
        mode: job.mode,
        brand: &job.brand,
        webhook: &job.webhook,
    };
    let secret = deps
        .secrets
        .open(&sealed, &context)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let event_id = serde_json::from_str::<Value>(&delivery.payload)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    let headers = [
        (
            "x-dispatch-signature",
            signature(&secret, &delivery.payload),
        ),
        ("x-dispatch-event", delivery.event.as_str().to_string()),
        ("x-dispatch-delivery", delivery.id.to_string()),
        ("x-webhook-id", event_id),
    ];
    // At most five tries at once per webhook: a slot is held for the longest a try can
    // take, and given back after it.
    let held_until = now.plus_seconds(SLOT_SECS);
    let Some(slot) = store
        .acquire_delivery_slot(
            &job.org,
            job.mode,
            &job.brand,
            &job.webhook,
            now,
            held_until,
        )
        .await?
    else {
        deps.queue.send(&job.body(), BUSY_DELAY_SECS).await?;
        return Ok(Handled::Postponed);
    };
    let attempt: Attempt = http::post(
        &webhook.url,
        job.mode,
        deps.local,
        &deps.tls,
        &headers,
        &delivery.payload,
    )
    .await;
    store
        .release_delivery_slot(
            &job.org,
            job.mode,
            &job.brand,
            &job.webhook,
            slot,
            held_until,
        )
        .await?;
    let now = deps.clock.now();
    delivery.attempts += 1;
    delivery.last_attempt = Some(now);
    delivery.response_code = attempt.status;
    delivery.response_body = attempt.body.clone();
    delivery.error = attempt.error.clone();
    let counted = store
        .count_attempt(
            &job.org,
            job.mode,
            &job.brand,
            &job.webhook,
            attempt.succeeded(),
            now,
        )
        .await;
    let webhook = match counted {
        Ok(w) => Some(w),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let handled = if attempt.succeeded() {
        delivery.status = DeliveryStatus::Success;
        delivery.next_attempt_at = None;
        Handled::Delivered
    } else {
        let jitter = jitter(&delivery.id, delivery.attempts);
        match rules::next_attempt(&deps.schedule, delivery.attempts, now, jitter) {
            Some(due) => {
                delivery.status = DeliveryStatus::Retrying;
                delivery.next_attempt_at = Some(due);
                Handled::Retrying
            }
            None => {
                delivery.status = DeliveryStatus::Failed;
                delivery.next_attempt_at = None;
                Handled::Failed
            }
        }
    };
    store
        .put_delivery(&job.org, job.mode, &job.brand, &delivery)
        .await?;
    match handled {
        Handled::Retrying => {
            let wait = delivery
                .next_attempt_at
                .map_or(0, |due| due.unix() - now.unix());
            deps.queue
                .send(&job.body(), u32::try_from(wait).unwrap_or(0))
                .await?;
        }
        Handled::Failed => {
            // Every try of this delivery failed, and nothing succeeded in between (the
            // webhook's consecutive failures cover all of them): turn the webhook off.
            let straight = webhook
                .as_ref()
                .is_some_and(|w| w.failure_count >= delivery.attempts);
            if straight {
                let change = WebhookChange {
                    url: None,
                    events: None,
                    enabled: Some(false),
                    sealed_secret: None,
                    updated_at: now,
                };
                match store
                    .update_webhook(&job.org, job.mode, &job.brand, &job.webhook, &change)
                    .await
                {
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
                tracing::warn!(webhook = %job.webhook, "webhook disabled after a delivery failed every try");
                tell_admins(deps, job, &webhook_url(&webhook), delivery.attempts).await;
            }
        }
        _ => {}
    }
    Ok(handled)
}

/// How long a try holds its slot: the try's own limit, and a margin.
const SLOT_SECS: i64 = 15;
/// When all slots are taken, the message comes back this much later.
const BUSY_DELAY_SECS: u32 = 2;

fn webhook_url(webhook: &Option<dispatch_domain::webhook::Webhook>) -> String {
    webhook
        .as_ref()
        .map(|w| w.url.as_str().to_string())
        .unwrap_or_default()
}

/// Emails the organization's active owners and admins that a webhook was turned off. A
/// failure to send is logged, not retried: the webhook is off either way, and `GET
/// …/webhooks` says so.
async fn tell_admins<S, M>(deps: &Deliver<S, M>, job: &Job, url: &str, attempts: u32)
where
    S: MemberStore,
    M: Mailer,
{
    let members = match deps.store.members(&job.org).await {
        Ok(members) => members,
        Err(error) => {
            tracing::warn!(%error, "could not list the admins of a disabled webhook");
            return;
        }
    };
    let subject = "A Dispatch webhook was turned off".to_string();
    let text = format!(
        "Every one of {attempts} tries to deliver an event to {url} failed, so the webhook \
         {webhook} (brand {brand}, {mode} mode) was turned off and gets no more events.\n\n\
         Fix the receiver, then turn it back on: PATCH /v1/brands/{brand}/webhooks/{webhook} \
         with {{\"enabled\": true}}. Its deliveries are at \
         GET /v1/brands/{brand}/webhooks/{webhook}/deliveries.\n",
        webhook = job.webhook,
        brand = job.brand,
        mode = job.mode.as_str(),
    );
    let html = format!("<p>{}</p>", html_escape(&text).replace("\n\n", "</p><p>"));
    for member in members
        .iter()
        .filter(|m| matches!(m.role, Role::Owner | Role::Admin) && m.status == MemberStatus::Active)
    {
        let mail = Mail {
            to: member.email.clone(),
            subject: subject.clone(),
            text: text.clone(),
            html: html.clone(),
        };
        if let Err(error) = deps.mailer.send(&mail).await {
            tracing::warn!(%error, "could not tell an admin about a disabled webhook");
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A delivery's jitter for its n-th retry, in [-1, 1]: derived, so a re-run agrees.
fn jitter(delivery: &DeliveryId, attempts: u32) -> f64 {
    let digest = Sha256::digest(format!("{delivery}#{attempts}").as_bytes());
    let n = u16::from_be_bytes([digest[0], digest[1]]);
    f64::from(n) / f64::from(u16::MAX) * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_exact_body() {
        // RFC 4231 test case 2: key "Jefe", "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(
            signature("Jefe", "what do ya want for nothing!"),
            signature("Jefe", "what do ya want for nothing?")
        );
    }

    #[test]
    fn jobs_read_back_and_refuse_anything_else() {
        let job = Job {
            org: OrgId::generate(1),
            mode: Mode::Test,
            brand: BrandId::generate(1),
            webhook: WebhookId::generate(1),
            delivery: DeliveryId::generate(1),
        };
        assert_eq!(Job::parse(&job.body()), Some(job));
        for bad in ["", "{}", "[]", r#"{"org":"x"}"#] {
            assert_eq!(Job::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn jitter_stays_within_one() {
        for n in 0..50 {
            let j = jitter(&DeliveryId::generate(n), 1);
            assert!((-1.0..=1.0).contains(&j));
        }
    }
}
