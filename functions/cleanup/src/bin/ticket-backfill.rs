use dispatch_cleanup::backfill::{BackfillRequest, run};
use dispatch_store::DynamoStore;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::time::{Duration, SystemTime};

/// Time kept back from the invocation's deadline for the page in flight and the answer.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let store = DynamoStore::from_env().await?;
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Option<BackfillRequest>>| async move {
            let left = event
                .context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            let report = run(
                store,
                event.payload.unwrap_or_default(),
                left.saturating_sub(MARGIN),
            )
            .await?;
            tracing::info!(
                scanned = report.scanned,
                updated = report.updated,
                done = report.done,
                "ticket backfill"
            );
            Ok::<_, lambda_runtime::Error>(report)
        },
    ))
    .await
}
