use dispatch_domain::SystemClock;
use dispatch_kms::Secrets;
use dispatch_mail::SesMailer;
use dispatch_queue::{Queue, QueueBatchResponse, QueueEvent};
use dispatch_store::DynamoStore;
use dispatch_webhooks::deliver::{Deliver, on_queue};
use dispatch_webhooks::local_allowance_from_env;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = Deliver {
        store: DynamoStore::from_env().await?,
        mailer: SesMailer::from_env().await?,
        secrets: Secrets::from_env().await?,
        queue: Queue::from_env().await?,
        clock: Arc::new(SystemClock),
        local: local_allowance_from_env()?,
        tls: dispatch_webhooks::http::tls_config()?,
        schedule: Deliver::<DynamoStore, SesMailer>::schedule_from_env()?,
    };
    let deps = &deps;
    // Failed messages are reported one by one (ReportBatchItemFailures).
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<QueueEvent>| async move {
            Ok::<QueueBatchResponse, lambda_runtime::Error>(on_queue(deps, event.payload).await)
        },
    ))
    .await
}
