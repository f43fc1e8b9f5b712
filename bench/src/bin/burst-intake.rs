//! A burst on one intake form: N concurrent signed deliveries to one endpoint of one brand
//! (webhook-driven intake arrives like this), against the local emulators.
//!
//! Every post runs the real handler (the same code the Lambda runs). Prints whether every
//! delivery landed once with a distinct ticket number, how many ticket transactions were
//! attempted (each attempt beyond one per ticket is a conflict on the brand's counter,
//! answered by re-reading the brand and trying the next number), and the latencies.
//! Asserts nothing: scripts/bench prints the figures; docs/performance.md keeps them.
//!
//!     BURST=200 scripts/bench burst

use dispatch_auth::intake_signature::sign;
use dispatch_domain::brand::BrandName;
use dispatch_domain::{Email, Mode, SystemClock};
use dispatch_files::S3Files;
use dispatch_http::{AuthConfig, Context, Endpoint, dispatch};
use dispatch_intake::Intake;
use dispatch_store::DynamoStore;
use dispatch_store::counter::OperationCounter;
use dispatch_store::keys;
use dispatch_xtask::events::v2_event;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn request(
    method: &str,
    route: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> lambda_http::Request {
    let event = v2_event(method, route, path, "", headers, Some(body), "2001:db8::1");
    lambda_http::request::from_str(&event.to_string()).expect("a valid event")
}

/// What one burst did.
struct Outcome {
    statuses: std::collections::BTreeMap<u16, usize>,
    numbers: BTreeSet<u64>,
    stored: usize,
    transactions: usize,
    calls: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

async fn burst(
    sdk: &aws_config::SdkConfig,
    n: usize,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let ops = OperationCounter::new();
    let client = aws_sdk_dynamodb::Client::from_conf(
        DynamoStore::client_config(sdk)
            .interceptor(ops.clone())
            .build(),
    );
    let table = std::env::var("TABLE_NAME")?;
    let store = DynamoStore::new(client.clone(), &table);
    let clock = Arc::new(SystemClock);
    let tag = dispatch_domain::random::base62(6).to_ascii_lowercase();
    let owner = Email::parse(&format!("burst-{tag}@bench.example.com")).ok_or("email")?;
    let made = dispatch_admin::bootstrap(
        &store,
        clock.as_ref(),
        "Burst",
        &owner,
        Mode::Live,
        Some(BrandName::parse("Burst").map_err(|e| e.to_string())?),
    )
    .await?;
    let brand = made.brand.ok_or("no brand")?;
    let auth = AuthConfig::from_env()?;
    let ctx = Context::new(store.clone(), clock.clone(), auth.clone());

    // A signed endpoint: what a webhook sender uses (no per-address limit).
    let create_path = format!("/v1/brands/{}/intake", brand.id);
    let headers = vec![
        (
            "authorization".to_string(),
            format!("Bearer {}", made.api_key.expose()),
        ),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let created = dispatch(
        request(
            "POST",
            "/v1/brands/{brandId}/intake",
            &create_path,
            &headers,
            r#"{"name": "Burst", "requireSignature": true}"#,
        ),
        &Endpoint::new("intake-create", &auth)?,
        |r| dispatch_intake::create(&ctx, r),
    )
    .await;
    let endpoint: serde_json::Value = serde_json::from_slice(created.body().as_ref())?;
    let token = endpoint["token"].as_str().ok_or("no token")?.to_string();
    let secret = endpoint["signingSecret"]
        .as_str()
        .ok_or("no secret")?
        .to_string();

    let s3 = aws_sdk_s3::Client::from_conf(S3Files::client(sdk).config().to_builder().build());
    let deps = Arc::new(Intake {
        ctx: Context::new(store.clone(), clock.clone(), auth.clone()),
        files: S3Files::new(s3, std::env::var("BUCKET_NAME")?),
    });
    let submit = Arc::new(Endpoint::new("forms-submit", &auth)?);
    ops.take();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let deps = deps.clone();
        let token = token.clone();
        let secret = secret.clone();
        let submit = submit.clone();
        tasks.push(tokio::spawn(async move {
            let body =
                serde_json::json!({"subject": format!("Alert {i}"), "alertId": i}).to_string();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                (
                    "x-dispatch-signature".to_string(),
                    sign(secret.as_bytes(), body.as_bytes(), Some(now)),
                ),
                ("x-dispatch-timestamp".to_string(), now.to_string()),
            ];
            let path = format!("/v1/forms/{token}");
            let req = request("POST", "/v1/forms/{token}", &path, &headers, &body);
            let sent = Instant::now();
            let response =
                dispatch(req, &submit, |r| dispatch_intake::submit(deps.as_ref(), r)).await;
            let took = sent.elapsed();
            let answer: serde_json::Value =
                serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
            (response.status().as_u16(), answer, took)
        }));
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut numbers = BTreeSet::new();
    let mut latencies = Vec::with_capacity(n);
    for task in tasks {
        let (status, answer, took) = task.await?;
        *statuses.entry(status).or_default() += 1;
        if let Some(number) = answer["ticketNumber"].as_u64() {
            numbers.insert(number);
        }
        latencies.push(took);
    }
    let wall = started.elapsed();
    latencies.sort();
    let seen = ops.take();
    // What the table holds afterwards, whatever the answers said: read once the emulator
    // has worked through its queue (calls the functions gave up on still run there).
    let reader = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(600))
                    .operation_attempt_timeout(Duration::from_secs(600))
                    .build(),
            )
            .build(),
    );
    let stored = reader
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :t)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::brand_partition(
                &made.org.id,
                Mode::Live,
                &brand.id,
            )),
        )
        .expression_attribute_values(
            ":t",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::TICKET_SK_PREFIX.into()),
        )
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await?
        .count() as usize;
    Ok(Outcome {
        statuses,
        numbers,
        stored,
        transactions: seen
            .iter()
            .filter(|o| o.as_str() == "TransactWriteItems")
            .count(),
        calls: seen.len(),
        wall,
        latencies,
    })
}

fn print(label: &str, n: usize, o: &Outcome) {
    let created = o.statuses.get(&201).copied().unwrap_or_default();
    println!("\n{label}\n");
    println!("| figure | value |");
    println!("|---|---|");
    println!("| deliveries | {n} concurrent, signed, one form of one brand |");
    println!("| answers | {:?} |", o.statuses);
    println!(
        "| distinct ticket numbers answered | {} ({}..={}) |",
        o.numbers.len(),
        o.numbers.first().copied().unwrap_or_default(),
        o.numbers.last().copied().unwrap_or_default()
    );
    println!("| tickets in the table afterwards | {} |", o.stored);
    println!("| ticket transactions attempted | {} |", o.transactions);
    println!(
        "| counter conflicts (attempts beyond one per created ticket) | {} |",
        o.transactions.saturating_sub(o.stored)
    );
    println!(
        "| DynamoDB calls | {} ({:.1} per delivery) |",
        o.calls,
        o.calls as f64 / n as f64
    );
    println!("| wall time | {:.0} ms |", ms(o.wall));
    println!(
        "| latency p50 / p95 / max | {:.0} / {:.0} / {:.0} ms |",
        ms(percentile(&o.latencies, 0.5)),
        ms(percentile(&o.latencies, 0.95)),
        ms(*o.latencies.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "| tickets per second | {:.1} |",
        created as f64 / o.wall.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // The functions' own timeouts (dispatch_aws): against an emulator that answers one
    // request at a time, a burst queues behind itself.
    let production = dispatch_aws::load_with(dispatch_aws::timeouts()).await;
    let o = burst(&production, n).await?;
    print(
        "With the functions' timeouts (connect 1 s, attempt 2 s, operation 4 s)",
        n,
        &o,
    );
    // Calls the first burst gave up on may still sit in the emulator's queue.
    tokio::time::sleep(Duration::from_secs(20)).await;
    // The same burst with timeouts long enough for the queue: what the design does when
    // the store keeps up (conflicts on the brand's counter, distinct numbers).
    let patient = production
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(300))
                .operation_attempt_timeout(Duration::from_secs(300))
                .build(),
        )
        .build();
    let o = burst(&patient, n).await?;
    print("With timeouts long enough for the emulator's queue", n, &o);
    Ok(())
}
