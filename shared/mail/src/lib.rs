//! Sending mail: the [`Mailer`] port and its SESv2 adapter. Only functions that send mail
//! link this crate (and the SESv2 client).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use dispatch_domain::Email;
use std::future::Future;

/// A message with a text and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("SES: {0}")]
    Send(String),
    /// SES could not take the message right now (throttled, a 5xx, a timeout, no
    /// connection): nothing was sent.
    #[error("SES unavailable: {0}")]
    Unavailable(String),
}

impl MailError {
    /// True for SES's transient trouble (sending may be retried later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, MailError::Unavailable(_))
    }
}

/// Sends mail.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// SESv2 `SendEmail` from a configured sender address.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> SesMailer {
        SesMailer {
            client,
            from: from.into(),
        }
    }

    /// Reads `SENDER_ADDRESS` and the standard AWS environment.
    pub async fn from_env() -> Result<SesMailer, MailError> {
        let from = std::env::var("SENDER_ADDRESS")
            .map_err(|_| MailError::Config("SENDER_ADDRESS is not set".into()))?;
        let sdk = dispatch_aws::load().await;
        Ok(SesMailer::new(Client::new(&sdk), from))
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Send(e.to_string()))
}

impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| {
                if dispatch_aws::is_transient(&e) {
                    // Not the SDK's text: SES messages can echo the recipient's address.
                    MailError::Unavailable("SES throttled, failed or did not answer".into())
                } else {
                    MailError::Send(DisplayErrorContext(e).to_string())
                }
            })?;
        Ok(())
    }
}
