//! The webhook delivery queue (SQS): what the stream's event function hands each delivery
//! to, and what the delivery function re-enqueues a retry on.

pub use aws_lambda_events::event::sqs::{
    SqsBatchResponse as QueueBatchResponse, SqsEvent as QueueEvent,
};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// SQS's longest delay for one message: a retry due later is re-enqueued until it is due.
pub const MAX_DELAY_SECS: u32 = 900;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("SQS: {0}")]
    Backend(String),
    /// SQS could not serve the call right now (throttled, a 5xx, a timeout, no connection).
    #[error("SQS unavailable: {0}")]
    Unavailable(String),
}

impl QueueError {
    fn backend<E>(e: SdkError<E, HttpResponse>) -> QueueError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        if dispatch_aws::is_transient(&e) {
            QueueError::Unavailable(DisplayErrorContext(e).to_string())
        } else {
            QueueError::Backend(DisplayErrorContext(e).to_string())
        }
    }
}

/// One queue, by URL (`WEBHOOK_QUEUE_URL`).
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    /// The production wiring: the standard AWS configuration and `WEBHOOK_QUEUE_URL`.
    pub async fn from_env() -> Result<Queue, QueueError> {
        let url = std::env::var("WEBHOOK_QUEUE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| QueueError::Config("WEBHOOK_QUEUE_URL is not set".into()))?;
        Ok(Queue::new(Client::new(&dispatch_aws::load().await), url))
    }

    pub fn new(client: Client, url: impl Into<String>) -> Queue {
        Queue {
            client,
            url: url.into(),
        }
    }

    /// Sends `body`, to be received no sooner than `delay_secs` from now (at most 900).
    pub async fn send(&self, body: &str, delay_secs: u32) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(i32::try_from(delay_secs.min(MAX_DELAY_SECS)).unwrap_or(0))
            .send()
            .await
            .map_err(QueueError::backend)?;
        Ok(())
    }
}
