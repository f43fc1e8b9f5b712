use dispatch_attachments::Attachments;
use dispatch_files::S3Files;
use dispatch_http::Context;
use dispatch_store::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let deps = Attachments {
        ctx: Context::from_env(DynamoStore::from_env().await?)?,
        files: S3Files::from_env().await?,
    };
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_attachments::delete(&deps, req)
    })
    .await
}
