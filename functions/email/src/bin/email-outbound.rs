use dispatch_domain::SystemClock;
use dispatch_email::outbound::{Outbound, on_stream};
use dispatch_http::config::{env_var, parse_domain};
use dispatch_mail::SesMailer;
use dispatch_store::DynamoStore;
use dispatch_store::stream::StreamEvent;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    dispatch_http::init_tracing();
    let deps = Outbound {
        store: DynamoStore::from_env().await?,
        mailer: SesMailer::from_env().await?,
        clock: Arc::new(SystemClock),
        inbound_domain: env_var("INBOUND_DOMAIN")
            .map(|d| parse_domain("INBOUND_DOMAIN", &d))
            .transpose()?,
    };
    let deps = &deps;
    // A failed batch is an error: Lambda retries it, and nothing sent is sent again.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            let outcomes = on_stream(deps, event.payload).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "outcomes": outcomes }))
        },
    ))
    .await
}
