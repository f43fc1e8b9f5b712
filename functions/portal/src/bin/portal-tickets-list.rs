use dispatch_http::Context;
use dispatch_secrets::SigningKeys;
use dispatch_store::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let keys = SigningKeys::from_env().await?;
    let ctx =
        Context::from_env(DynamoStore::from_env().await?)?.with_keys(keys.cursor, keys.portal);
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_portal::tickets::list(&ctx, req)
    })
    .await
}
