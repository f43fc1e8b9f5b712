use dispatch_sessions::SignInSettings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    let next = SignInSettings::from_env()?.dashboard_url;
    dispatch_http::serve(env!("CARGO_BIN_NAME"), |req| {
        dispatch_sessions::verify_page(next.as_deref(), req)
    })
    .await
}
