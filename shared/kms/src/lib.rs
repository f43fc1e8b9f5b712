//! Webhook signing secrets, sealed with a KMS key (docs/decisions.md, 80).
//!
//! Signing a delivery needs the secret itself, so it cannot be hashed like an API key. It is
//! stored as KMS ciphertext instead, bound by the encryption context to the one webhook it
//! belongs to (organization, mode, brand, webhook id): ciphertext copied onto another
//! webhook's item does not decrypt. The functions that take a secret from a client may only
//! `kms:Encrypt` with the key; only the delivery function may `kms:Decrypt`. No API route
//! can read a secret back, whatever its code does.

use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use dispatch_domain::{BrandId, Mode, OrgId, WebhookId};

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("KMS: {0}")]
    Backend(String),
    /// KMS could not serve the call right now (throttled, a 5xx, a timeout, no connection).
    #[error("KMS unavailable: {0}")]
    Unavailable(String),
}

impl KmsError {
    fn backend<E>(e: SdkError<E, HttpResponse>) -> KmsError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        if dispatch_aws::is_transient(&e) {
            KmsError::Unavailable(DisplayErrorContext(e).to_string())
        } else {
            KmsError::Backend(DisplayErrorContext(e).to_string())
        }
    }

    /// True for KMS's transient trouble (the request may be retried later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, KmsError::Unavailable(_))
    }
}

/// Whose secret it is: the encryption context a secret is sealed under and must be opened
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext<'a> {
    pub org: &'a OrgId,
    pub mode: Mode,
    pub brand: &'a BrandId,
    pub webhook: &'a WebhookId,
}

impl SealContext<'_> {
    fn pairs(&self) -> [(&'static str, String); 4] {
        [
            ("dispatch:org", self.org.to_string()),
            ("dispatch:mode", self.mode.as_str().to_string()),
            ("dispatch:brand", self.brand.to_string()),
            ("dispatch:webhook", self.webhook.to_string()),
        ]
    }
}

/// The webhook secrets key (`WEBHOOK_KEY_ARN`).
#[derive(Debug, Clone)]
pub struct Secrets {
    client: Client,
    key_id: String,
}

impl Secrets {
    /// The production wiring: the standard AWS configuration and `WEBHOOK_KEY_ARN`.
    pub async fn from_env() -> Result<Secrets, KmsError> {
        let key_id = std::env::var("WEBHOOK_KEY_ARN")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| KmsError::Config("WEBHOOK_KEY_ARN is not set".into()))?;
        Ok(Secrets::new(&dispatch_aws::load().await, key_id))
    }

    pub fn new(config: &aws_config::SdkConfig, key_id: impl Into<String>) -> Secrets {
        Secrets {
            client: Client::new(config),
            key_id: key_id.into(),
        }
    }

    /// The same key through another client (the test harness's, with its interceptors).
    pub fn with_client(client: Client, key_id: impl Into<String>) -> Secrets {
        Secrets {
            client,
            key_id: key_id.into(),
        }
    }

    /// Encrypts `secret` under `context` (KMS `Encrypt`; a secret is at most 256 characters,
    /// far below its 4 KiB limit).
    pub async fn seal(&self, secret: &str, context: &SealContext<'_>) -> Result<Vec<u8>, KmsError> {
        let mut request = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(secret.as_bytes()));
        for (k, v) in context.pairs() {
            request = request.encryption_context(k, v);
        }
        let out = request.send().await.map_err(KmsError::backend)?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| KmsError::Backend("Encrypt returned no ciphertext".into()))
    }

    /// Decrypts what [`Secrets::seal`] made under the same `context` (KMS `Decrypt`, held to
    /// this key: ciphertext of any other key is refused).
    pub async fn open(
        &self,
        ciphertext: &[u8],
        context: &SealContext<'_>,
    ) -> Result<String, KmsError> {
        let mut request = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext));
        for (k, v) in context.pairs() {
            request = request.encryption_context(k, v);
        }
        let out = request.send().await.map_err(KmsError::backend)?;
        let plaintext = out
            .plaintext
            .ok_or_else(|| KmsError::Backend("Decrypt returned no plaintext".into()))?;
        String::from_utf8(plaintext.into_inner())
            .map_err(|_| KmsError::Backend("a sealed secret is not UTF-8".into()))
    }
}
