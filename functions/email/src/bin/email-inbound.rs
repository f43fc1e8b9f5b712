use aws_lambda_events::event::ses::SimpleEmailEvent;
use dispatch_email::{Inbound, MailConfig, receive};
use dispatch_files::S3Files;
use dispatch_http::Context;
use dispatch_store::DynamoStore;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    dispatch_http::init_tracing();
    let deps = Inbound {
        ctx: Context::from_env(DynamoStore::from_env().await?)?,
        files: S3Files::from_env().await?,
        config: MailConfig::from_env()?,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SimpleEmailEvent>| async move {
            let mut outcomes = Vec::new();
            for record in &event.payload.records {
                outcomes.extend(receive(deps, record).await?);
            }
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "outcomes": outcomes }))
        },
    ))
    .await
}
