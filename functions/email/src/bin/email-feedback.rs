use aws_lambda_events::event::sns::SnsEvent;
use dispatch_domain::SystemClock;
use dispatch_email::feedback::on_sns;
use dispatch_store::DynamoStore;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    dispatch_http::init_tracing();
    let store = DynamoStore::from_env().await?;
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        let feedback = on_sns(store, &SystemClock, event.payload).await?;
        Ok::<_, lambda_runtime::Error>(serde_json::json!({ "feedback": feedback }))
    }))
    .await
}
