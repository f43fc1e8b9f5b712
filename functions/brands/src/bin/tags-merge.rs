use dispatch_http::Context;
use dispatch_store::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let ctx = Context::from_env(DynamoStore::from_env().await?)?;
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_brands::tags::merge(&ctx, req)
    })
    .await
}
