#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    dispatch_http::init_tracing();
    dispatch_http::serve(env!("CARGO_BIN_NAME"), dispatch_health::health).await
}
