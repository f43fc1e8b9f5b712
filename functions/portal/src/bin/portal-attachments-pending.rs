use dispatch_files::S3Files;
use dispatch_http::Context;
use dispatch_portal::Portal;
use dispatch_secrets::SigningKeys;
use dispatch_store::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let keys = SigningKeys::from_env().await?;
    let deps = Portal {
        ctx: Context::from_env(DynamoStore::from_env().await?)?.with_keys(keys.cursor, keys.portal),
        files: S3Files::from_env().await?,
    };
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_portal::attachments::create_pending(&deps, req)
    })
    .await
}
