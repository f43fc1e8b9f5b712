use dispatch_queue::Queue;
use dispatch_store::DynamoStore;
use dispatch_store::stream::StreamEvent;
use dispatch_webhooks::events::{Events, on_stream};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = Events {
        store: DynamoStore::from_env().await?,
        queue: Queue::from_env().await?,
    };
    let deps = &deps;
    // A failed batch is an error: Lambda retries it, and nothing is recorded twice.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            on_stream(deps, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
