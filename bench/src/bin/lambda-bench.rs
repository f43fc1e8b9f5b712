//! The performance benchmark: for a representative set of functions (one per SDK
//! combination, plus the hot read paths) it prints binary and zip sizes, init time (process
//! start until the first poll of the Runtime API, over 20 cold starts), first-invocation
//! latency, warm latency over 1,000 invocations, peak RSS, and DynamoDB requests per call;
//! then the same for a Node.js + AWS SDK v3 peer of `GET /v1/brands`, under the same
//! Runtime API emulator. It prints figures and asserts nothing.
//!
//! Run it with `scripts/bench perf` (which builds release binaries and starts the emulators).

use dispatch_domain::brand::BrandName;
use dispatch_domain::{Email, Mode, SystemClock};
use dispatch_http::{AuthConfig, Context, Endpoint, dispatch};
use dispatch_runtime_emulator::{Emulator, Invocation, Outcome, peak_rss_kib};
use dispatch_store::DynamoStore;
use dispatch_store::counter::{OperationCounter, is_write};
use dispatch_xtask::events::v2_event;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const COLD_STARTS: usize = 20;
const WARM_INVOCATIONS: usize = 1000;

struct Target {
    name: &'static str,
    method: &'static str,
    route: &'static str,
    path: String,
    body: Option<String>,
    sdks: &'static str,
    /// The credential sent (the API key when `None`).
    bearer: Option<String>,
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn event(t: &Target, key: &str, i: usize) -> String {
    let headers = vec![
        (
            "authorization".to_string(),
            format!("Bearer {}", t.bearer.as_deref().unwrap_or(key)),
        ),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let ip = format!("2001:db8:1::{:x}", i + 1);
    v2_event(
        t.method,
        t.route,
        &t.path,
        "",
        &headers,
        t.body.as_deref(),
        &ip,
    )
    .to_string()
}

fn status_of(inv: &Invocation) -> u64 {
    match &inv.outcome {
        Outcome::Response(r) => r["statusCode"].as_u64().unwrap_or(0),
        Outcome::Error(_) => 0,
    }
}

struct Measured {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    rss_kib: u64,
    statuses: Vec<u64>,
}

async fn measure(
    program: &Path,
    args: &[&str],
    name: &str,
    events: &dyn Fn(usize) -> String,
    env: &[(String, String)],
) -> Measured {
    let mut init = Vec::new();
    let mut first = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..COLD_STARTS {
        let emulator = Emulator::start_command(program, args, name, vec![events(i)], env)
            .await
            .expect("start");
        init.push(
            emulator
                .init_duration(Duration::from_secs(30))
                .await
                .expect("the function polled"),
        );
        let done = emulator
            .wait_for(1, Duration::from_secs(30))
            .await
            .expect("an answer");
        first.push(done[0].latency);
        statuses.push(status_of(&done[0]));
        emulator.stop().await;
    }
    let warm_events: Vec<String> = (0..=WARM_INVOCATIONS)
        .map(|i| events(COLD_STARTS + i))
        .collect();
    let emulator = Emulator::start_command(program, args, name, warm_events, env)
        .await
        .expect("start");
    let done = emulator
        .wait_for(WARM_INVOCATIONS + 1, Duration::from_secs(600))
        .await
        .expect("warm answers");
    let rss_kib = emulator.pid().and_then(peak_rss_kib).unwrap_or(0);
    emulator.stop().await;
    statuses.extend(done.iter().map(status_of));
    // The first invocation of the warm process is its cold one: leave it out.
    let mut warm: Vec<Duration> = done.iter().skip(1).map(|d| d.latency).collect();
    init.sort();
    first.sort();
    warm.sort();
    Measured {
        init,
        first,
        warm,
        rss_kib,
        statuses,
    }
}

fn zip_size(binary: &Path) -> u64 {
    // What a Lambda zip holds: the binary, named bootstrap, deflated.
    let script = "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED,compresslevel=9)\nz.write(sys.argv[1],'bootstrap')\nz.close()\nprint(len(b.getvalue()))";
    std::process::Command::new("python3")
        .args(["-c", script, &binary.to_string_lossy()])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn mib(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / (1024.0 * 1024.0))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let release = target.join("release");
    let store = DynamoStore::from_env().await?;
    let clock = SystemClock;
    let owner = Email::parse("bench-owner@bench.example.com").ok_or("email")?;
    let made = dispatch_admin::bootstrap(
        &store,
        &clock,
        "Bench",
        &owner,
        Mode::Test,
        Some(BrandName::parse("Bench Brand")?),
    )
    .await?;
    let brand = made.brand.ok_or("brand")?;
    let key = made.api_key.expose().to_string();
    // A portal token signed with the keys the portal functions read at init.
    let keys = dispatch_secrets::SigningKeys::from_env().await?;
    let portal_token = {
        let now = dispatch_domain::Clock::now(&clock).unix();
        let customer =
            dispatch_domain::CustomerId::generate(dispatch_domain::Clock::now_millis(&clock));
        keys.portal
            .as_ref()
            .ok_or("portal keys")?
            .sign(dispatch_auth::portal_token::PortalClaims {
                typ: String::new(),
                alg: String::new(),
                kid: String::new(),
                org: made.org.id.clone(),
                mode: Mode::Test,
                brand: brand.id.clone(),
                cus: customer,
                email: "portal@bench.example.com".into(),
                name: None,
                origins: vec![],
                iat: now,
                exp: now + 24 * 3600,
                auth: now,
            })
    };
    let env: Vec<(String, String)> = vec![("MAGIC_LINK_MIN_RESPONSE_MS".into(), "0".into())];

    let targets = vec![
        Target {
            name: "health",
            method: "GET",
            route: "/v1/health",
            path: "/v1/health".into(),
            body: None,
            sdks: "none",
            bearer: None,
        },
        Target {
            name: "accounts-me",
            method: "GET",
            route: "/v1/accounts/me",
            path: "/v1/accounts/me".into(),
            body: None,
            sdks: "DynamoDB",
            bearer: None,
        },
        Target {
            name: "brands-list",
            method: "GET",
            route: "/v1/brands",
            path: "/v1/brands".into(),
            body: None,
            sdks: "DynamoDB",
            bearer: None,
        },
        Target {
            name: "brands-get",
            method: "GET",
            route: "/v1/brands/{brandId}",
            path: format!("/v1/brands/{}", brand.id),
            body: None,
            sdks: "DynamoDB",
            bearer: None,
        },
        Target {
            name: "auth-magic-link",
            method: "POST",
            route: "/v1/auth/magic-link",
            path: "/v1/auth/magic-link".into(),
            body: Some(r#"{"email":"nobody@bench.example.com"}"#.into()),
            sdks: "DynamoDB + SESv2",
            bearer: None,
        },
        Target {
            name: "tickets-list",
            method: "GET",
            route: "/v1/brands/{brandId}/tickets",
            path: format!("/v1/brands/{}/tickets", brand.id),
            body: None,
            sdks: "DynamoDB + Secrets Manager (1 key at init)",
            bearer: None,
        },
        Target {
            name: "portal-tickets-list",
            method: "GET",
            route: "/v1/portal/tickets",
            path: "/v1/portal/tickets".into(),
            body: None,
            sdks: "DynamoDB + Secrets Manager (3 keys at init)",
            bearer: Some(portal_token),
        },
    ];

    println!("## Sizes (release, stripped, host target)\n");
    println!("| function | SDK clients | binary MiB | zip MiB |");
    println!("|---|---|---|---|");
    for t in &targets {
        let bin = release.join(t.name);
        let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        println!(
            "| {} | {} | {} | {} |",
            t.name,
            t.sdks,
            mib(size),
            mib(zip_size(&bin))
        );
    }

    println!(
        "\n## Runtime ({COLD_STARTS} cold starts, {WARM_INVOCATIONS} warm invocations, local Runtime API emulator)\n"
    );
    println!(
        "| function | init median ms | init p95 ms | first invocation median ms | warm median ms | warm p99 ms | peak RSS MiB | answers |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut results = Vec::new();
    for t in &targets {
        let bin = release.join(t.name);
        let m = measure(&bin, &[], t.name, &|i| event(t, &key, i), &env).await;
        print_row(t.name, &m);
        results.push((t.name, m));
    }

    let peer_dir = root.join("bench/peer");
    let peer_target = &targets[2];
    // NODE_BIN: the peer's Node.js (scripts/bench fetches Node 22 from the npm registry).
    let node = PathBuf::from(std::env::var("NODE_BIN").unwrap_or_else(|_| "node".into()));
    let node_version = std::process::Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let peer = measure(
        &node,
        &[&peer_dir.join("index.mjs").to_string_lossy()],
        "peer-brands-list",
        &|i| event(peer_target, &key, i),
        &env,
    )
    .await;
    print_row(
        &format!("Node.js {node_version} peer: GET /v1/brands"),
        &peer,
    );

    if let Some((_, ours)) = results.iter().find(|(n, _)| *n == "brands-list") {
        let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        println!("\n## brands-list vs the Node.js peer (same emulator, same table)\n");
        println!("| measure | ours | peer | peer / ours |");
        println!("|---|---|---|---|");
        let (oi, pi) = (percentile(&ours.init, 0.5), percentile(&peer.init, 0.5));
        println!(
            "| init median ms | {} | {} | {:.1}x |",
            ms(oi),
            ms(pi),
            ratio(oi, pi)
        );
        let (ow, pw) = (percentile(&ours.warm, 0.5), percentile(&peer.warm, 0.5));
        println!(
            "| warm median ms | {} | {} | {:.1}x |",
            ms(ow),
            ms(pw),
            ratio(ow, pw)
        );
        println!(
            "| peak RSS MiB | {} | {} | {:.1}x |",
            mib(ours.rss_kib * 1024),
            mib(peer.rss_kib * 1024),
            peer.rss_kib as f64 / ours.rss_kib.max(1) as f64
        );
    }

    requests_per_call(&brand.id.to_string(), &key).await?;
    Ok(())
}

fn print_row(name: &str, m: &Measured) {
    let mut codes: Vec<String> = m.statuses.iter().map(|s| s.to_string()).collect();
    codes.sort();
    codes.dedup();
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} |",
        ms(percentile(&m.init, 0.5)),
        ms(percentile(&m.init, 0.95)),
        ms(percentile(&m.first, 0.5)),
        ms(percentile(&m.warm, 0.5)),
        ms(percentile(&m.warm, 0.99)),
        mib(m.rss_kib * 1024),
        codes.join("/"),
    );
}

/// DynamoDB requests per call, counted by an SDK interceptor on the handlers themselves.
async fn requests_per_call(brand_id: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ops = OperationCounter::new();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(ops.clone())
            .build(),
    );
    let table = std::env::var("TABLE_NAME")?;
    let ctx = Context::new(
        DynamoStore::new(client, table),
        Arc::new(SystemClock),
        AuthConfig::from_env()?,
    );
    let endpoint = |function: &str| Endpoint::new(function, &ctx.auth);
    println!("\n## DynamoDB requests per call (warm key: lastUsedAt already recorded)\n");
    println!("| endpoint | requests | reads | writes | budget |");
    println!("|---|---|---|---|---|");
    let brand_path = format!("/v1/brands/{brand_id}");
    let cases: Vec<(&str, &str, &str, String, &str)> = vec![
        (
            "GET /v1/accounts/me",
            "GET",
            "/v1/accounts/me",
            "/v1/accounts/me".into(),
            "auth 1 read + 1 read",
        ),
        (
            "GET /v1/brands",
            "GET",
            "/v1/brands",
            "/v1/brands".into(),
            "auth 1 read + 1 query",
        ),
        (
            "GET /v1/brands/{id}",
            "GET",
            "/v1/brands/{brandId}",
            brand_path,
            "≤ 2 round trips",
        ),
        (
            "GET /v1/accounts/me/api-keys",
            "GET",
            "/v1/accounts/me/api-keys",
            "/v1/accounts/me/api-keys".into(),
            "auth 1 read + 1 query",
        ),
    ];
    for (label, method, route, path, budget) in cases {
        let headers = vec![("authorization".to_string(), format!("Bearer {key}"))];
        let ev = v2_event(method, route, &path, "", &headers, None, "2001:db8::1");
        let req = lambda_http::request::from_str(&ev.to_string())?;
        ops.take();
        let res = match route {
            "/v1/accounts/me" => {
                let e = endpoint("accounts-me")?;
                dispatch(req, &e, |r| dispatch_accounts::me(&ctx, r)).await
            }
            "/v1/brands" => {
                let e = endpoint("brands-list")?;
                dispatch(req, &e, |r| dispatch_brands::list(&ctx, r)).await
            }
            "/v1/brands/{brandId}" => {
                let e = endpoint("brands-get")?;
                dispatch(req, &e, |r| dispatch_brands::get(&ctx, r)).await
            }
            _ => {
                let e = endpoint("api-keys-list")?;
                dispatch(req, &e, |r| dispatch_accounts::list_api_keys(&ctx, r)).await
            }
        };
        let seen = ops.take();
        let writes = seen.iter().filter(|o| is_write(o)).count();
        println!(
            "| {label} ({}) | {} | {} | {writes} | {budget} |",
            res.status().as_u16(),
            seen.join(", "),
            seen.len() - writes
        );
    }
    Ok(())
}
