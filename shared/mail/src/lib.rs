//! Sending mail: the [`Mailer`] port and its SESv2 adapter. Only functions that send mail
//! link this crate (and the SESv2 client).

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message, MessageHeader, MessageTag,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
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

/// A message to a brand's customer: sent from the deployment's address under the brand's
/// name, with the ticket's threading headers, through the configuration set whose bounce
/// and complaint events feed the suppression list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerMail {
    pub to: Email,
    pub cc: Vec<Email>,
    /// The display name in `From` (the brand's `fromName`, else its name).
    pub from_name: String,
    /// Where replies go: the ticket's reply address, else the brand's `fromEmail`.
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `References`, `In-Reply-To`, `Auto-Submitted`: headers SES keeps as given.
    pub headers: Vec<(String, String)>,
    /// Message tags SES returns with the message's bounce and complaint events.
    pub tags: Vec<(String, String)>,
}

/// Sends mail.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<(), MailError>> + Send;

    /// Sends a customer's mail; answers SES's message id.
    fn send_to_customer(
        &self,
        mail: &CustomerMail,
    ) -> impl Future<Output = Result<String, MailError>> + Send;
}

/// SESv2 `SendEmail` from a configured sender address.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    /// `EMAIL_CONFIGURATION_SET`: customers' mail goes through it (sign-in mail does not:
    /// a bounce of it says nothing about a customer).
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> SesMailer {
        SesMailer {
            client,
            from: from.into(),
            configuration_set: None,
        }
    }

    pub fn with_configuration_set(mut self, name: Option<String>) -> SesMailer {
        self.configuration_set = name.filter(|n| !n.trim().is_empty());
        self
    }

    /// Reads `SENDER_ADDRESS`, `EMAIL_CONFIGURATION_SET` and the standard AWS environment.
    pub async fn from_env() -> Result<SesMailer, MailError> {
        let from = std::env::var("SENDER_ADDRESS")
            .map_err(|_| MailError::Config("SENDER_ADDRESS is not set".into()))?;
        let sdk = dispatch_aws::load().await;
        Ok(SesMailer::new(Client::new(&sdk), from)
            .with_configuration_set(std::env::var("EMAIL_CONFIGURATION_SET").ok()))
    }
}

/// `"Name" <address>`, the name quoted, or as an RFC 2047 encoded word when it is not
/// printable ASCII (SES refuses raw non-ASCII in headers).
pub fn mailbox(name: &str, address: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_string();
    }
    if name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{quoted}\" <{address}>")
    } else {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(name.as_bytes());
        format!("=?UTF-8?B?{encoded}?= <{address}>")
    }
}

fn send_error<E>(e: aws_sdk_sesv2::error::SdkError<E, HttpResponse>) -> MailError
where
    E: std::error::Error + aws_sdk_sesv2::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    if dispatch_aws::is_transient(&e) {
        // Not the SDK's text: SES messages can echo the recipient's address.
        MailError::Unavailable("SES throttled, failed or did not answer".into())
    } else {
        MailError::Send(DisplayErrorContext(e).to_string())
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
            .map_err(send_error)?;
        Ok(())
    }

    async fn send_to_customer(&self, mail: &CustomerMail) -> Result<String, MailError> {
        let mut message = Message::builder().subject(content(&mail.subject)?).body(
            Body::builder()
                .text(content(&mail.text)?)
                .html(content(&mail.html)?)
                .build(),
        );
        for (name, value) in &mail.headers {
            message = message.headers(
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Send(e.to_string()))?,
            );
        }
        let mut destination = Destination::builder().to_addresses(mail.to.as_str());
        for cc in &mail.cc {
            destination = destination.cc_addresses(cc.as_str());
        }
        let mut request = self
            .client
            .send_email()
            .from_email_address(mailbox(&mail.from_name, &self.from))
            .destination(destination.build())
            .content(EmailContent::builder().simple(message.build()).build())
            .set_reply_to_addresses(mail.reply_to.clone().map(|r| vec![r]))
            .set_configuration_set_name(self.configuration_set.clone());
        for (name, value) in &mail.tags {
            request = request.email_tags(
                MessageTag::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Send(e.to_string()))?,
            );
        }
        let out = request.send().await.map_err(send_error)?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_quoted_or_encoded() {
        assert_eq!(
            mailbox("Acme Support", "a@x.test"),
            "\"Acme Support\" <a@x.test>"
        );
        assert_eq!(
            mailbox("Say \"hi\"", "a@x.test"),
            "\"Say \\\"hi\\\"\" <a@x.test>"
        );
        assert_eq!(
            mailbox("Café\r\nBcc: x", "a@x.test"),
            "=?UTF-8?B?Q2Fmw6lCY2M6IHg=?= <a@x.test>"
        );
        assert_eq!(mailbox("  ", "a@x.test"), "a@x.test");
    }
}
