//! `POST /v1/auth/magic-link`: email a sign-in link to a known member.

use crate::SignIn;
use dispatch_auth::session::MAGIC_LINK_TTL_SECS;
use dispatch_auth::{OpaqueToken, SecretHash, TokenKind};
use dispatch_domain::{Email, Timestamp};
use dispatch_http::rate_limit::{self, Limit};
use dispatch_http::request::public_base_url;
use dispatch_http::{ApiError, Reply, client_ip, json, parse_json};
use dispatch_mail::{Mail, Mailer};
use dispatch_store::{MemberStore, RateLimitStore, SessionStore};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use std::time::Instant;

/// Per address: one link a minute, five an hour.
pub const EMAIL_LIMITS: [(i64, u64); 2] = [(60, 1), (3600, 5)];
/// Per client IP: thirty requests an hour, whatever the address.
pub const IP_LIMITS: [(i64, u64); 1] = [(3600, 30)];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MagicLinkInput {
    email: Option<String>,
}

/// Answers 202 `{success: true}` for every well-formed address, known or not, after the
/// same minimum time; sends a link only to known members (or anyone, with signup on).
/// Rate limits count every request, whether or not the address exists.
pub async fn request_magic_link<S, M>(app: &SignIn<S, M>, req: Request) -> Reply
where
    S: SessionStore + MemberStore + RateLimitStore,
    M: Mailer,
{
    let started = Instant::now();
    let input: MagicLinkInput = parse_json(&req)?;
    let email = Email::parse(input.email.as_deref().unwrap_or_default())
        .ok_or_else(|| ApiError::validation("email", "must be an email address"))?;
    let now = app.ctx.clock.now();
    let ip = client_ip(&req).unwrap_or_else(|| "unknown".into());
    enforce_limits(&app.ctx.store, &email, &ip, now).await?;

    let outcome = send_if_known(app, &req, &email, now).await;
    // Same answer, in about the same time, whether or not the address belongs to anyone.
    if let Some(rest) = app.settings.min_response.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    if let Err(err) = outcome {
        // A failure here must not answer differently from an unknown address.
        tracing::error!(error = %err, "magic link not sent");
    }
    json(StatusCode::ACCEPTED, &json!({"success": true}))
}

/// Counts the request against every window and refuses it if any is exceeded.
async fn enforce_limits<S: RateLimitStore>(
    store: &S,
    email: &Email,
    ip: &str,
    now: Timestamp,
) -> Result<(), ApiError> {
    // Buckets hold hashes, so the table never stores who asked.
    let email_bucket = format!("ml-email#{}", SecretHash::of(email.as_str()).to_hex());
    let ip_bucket = format!("ml-ip#{}", SecretHash::of(ip).to_hex());
    let limits: Vec<Limit> = EMAIL_LIMITS
        .iter()
        .map(|l| (&email_bucket, *l))
        .chain(IP_LIMITS.iter().map(|l| (&ip_bucket, *l)))
        .map(|(bucket, (window_secs, limit))| Limit {
            bucket: bucket.clone(),
            window_secs,
            limit,
        })
        .collect();
    rate_limit::enforce(store, &limits, now).await
}

#[derive(Debug)]
enum NotSent {
    Store(dispatch_store::StoreError),
    /// The mail error itself is dropped: its text can carry the recipient's address.
    Mail,
    NoLinkBase,
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::Store(e) => write!(f, "storage: {e}"),
            // SES messages can echo the recipient's address: keep them out of the logs.
            NotSent::Mail => f.write_str("mail"),
            NotSent::NoLinkBase => {
                f.write_str("no PUBLIC_URL and no API Gateway domain to build the link from")
            }
        }
    }
}

async fn send_if_known<S, M>(
    app: &SignIn<S, M>,
    req: &Request,
    email: &Email,
    now: Timestamp,
) -> Result<(), NotSent>
where
    S: SessionStore + MemberStore,
    M: Mailer,
{
    let memberships = app
        .ctx
        .store
        .memberships(email)
        .await
        .map_err(NotSent::Store)?;
    if memberships.is_empty() && !app.settings.allow_signup {
        return Ok(());
    }
    let base = app
        .settings
        .public_url
        .clone()
        .or_else(|| public_base_url(req))
        .ok_or(NotSent::NoLinkBase)?;
    let token = OpaqueToken::generate(TokenKind::MagicLink);
    app.ctx
        .store
        .issue_magic_link(email, &token.hash(), now)
        .await
        .map_err(NotSent::Store)?;
    let link = format!("{base}/v1/auth/verify?token={}", token.expose());
    app.mailer
        .send(&sign_in_mail(email, &link))
        .await
        .map_err(|_| NotSent::Mail)
}

/// The sign-in email. The link is ours (a base URL from configuration and a base62
/// token), so it needs no escaping beyond what HTML attributes require of it.
fn sign_in_mail(to: &Email, link: &str) -> Mail {
    let minutes = MAGIC_LINK_TTL_SECS / 60;
    Mail {
        to: to.clone(),
        subject: "Your Dispatch sign-in link".into(),
        text: format!(
            "Sign in to Dispatch:\n\n{link}\n\nThe link works once and expires in {minutes} minutes. \
             If you did not ask for it, you can ignore this email."
        ),
        html: format!(
            "<p>Sign in to Dispatch:</p><p><a href=\"{link}\">Sign in</a></p>\
             <p>The link works once and expires in {minutes} minutes. \
             If you did not ask for it, you can ignore this email.</p>"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_carries_the_link_in_both_bodies() {
        let mail = sign_in_mail(
            &Email::parse("a@example.com").unwrap(),
            "https://api.example.com/v1/auth/verify?token=ml_x",
        );
        assert!(
            mail.text
                .contains("https://api.example.com/v1/auth/verify?token=ml_x")
        );
        assert!(
            mail.html
                .contains("href=\"https://api.example.com/v1/auth/verify?token=ml_x\"")
        );
        assert!(mail.text.contains("15 minutes"));
    }
}
