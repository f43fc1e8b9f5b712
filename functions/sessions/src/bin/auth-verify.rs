use dispatch_http::Context;
use dispatch_sessions::{SignIn, SignInSettings};
use dispatch_store::DynamoStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let app = SignIn {
        ctx: Context::from_env(DynamoStore::from_env().await?)?,
        // Verifying sends no mail.
        mailer: (),
        settings: SignInSettings::from_env()?,
    };
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_sessions::verify(&app, req)
    })
    .await
}
