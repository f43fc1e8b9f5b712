use dispatch_cleanup::{Cleanup, on_stream};
use dispatch_files::S3Files;
use dispatch_store::DynamoStore;
use dispatch_store::stream::StreamEvent;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = Cleanup {
        store: DynamoStore::from_env().await?,
        files: S3Files::from_env().await?,
    };
    let deps = &deps;
    // A failed batch is an error: Lambda retries it (the cleanup is idempotent).
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            on_stream(deps, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
