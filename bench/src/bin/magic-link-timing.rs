//! How long `POST /v1/auth/magic-link` takes for a known member's address versus an
//! unknown one, against the local emulators: the answer must not tell them apart.
//!
//! Runs the real handler (the same code the Lambda runs) with the production timing floor
//! (`MAGIC_LINK_MIN_RESPONSE_MS`, default 400 ms), then with the floor off to show what
//! the floor hides. Prints a table; asserts nothing.

use dispatch_domain::brand::BrandName;
use dispatch_domain::{Email, Mode, SystemClock};
use dispatch_http::{AuthConfig, Context, Endpoint, dispatch};
use dispatch_mail::SesMailer;
use dispatch_sessions::{SignIn, SignInSettings};
use dispatch_store::DynamoStore;
use dispatch_xtask::events::v2_event;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SAMPLES: usize = 30;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn time_requests(app: &SignIn<DynamoStore, SesMailer>, emails: &[String]) -> Vec<Duration> {
    let mut out = Vec::with_capacity(emails.len());
    for (i, email) in emails.iter().enumerate() {
        let body = serde_json::json!({ "email": email }).to_string();
        // A distinct documentation-range client IP per request keeps the per-IP limit out of it.
        let ip = format!("2001:db8::{:x}", i + 1 + emails.len() * 2);
        let event = v2_event(
            "POST",
            "/v1/auth/magic-link",
            "/v1/auth/magic-link",
            "",
            &[],
            Some(&body),
            &ip,
        );
        let req = lambda_http::request::from_str(&event.to_string()).expect("valid event");
        let started = Instant::now();
        let endpoint =
            Endpoint::new("auth-magic-link", &app.ctx.auth).expect("a declared function");
        let response = dispatch(req, &endpoint, |r| {
            dispatch_sessions::request_magic_link(app, r)
        })
        .await;
        out.push(started.elapsed());
        assert_eq!(response.status(), 202, "the benchmark needs 202 answers");
    }
    out.sort();
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = DynamoStore::from_env().await?;
    let clock = Arc::new(SystemClock);
    println!("POST /v1/auth/magic-link, {SAMPLES} requests each, against the local emulators\n");
    println!("| floor | addresses | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    let settings = SignInSettings::from_env()?;
    for floor in [settings.min_response, Duration::ZERO] {
        let app = SignIn {
            ctx: Context::new(store.clone(), clock.clone(), AuthConfig::from_env()?),
            mailer: SesMailer::from_env().await?,
            settings: SignInSettings {
                public_url: Some("https://api.bench.example.com".into()),
                min_response: floor,
                ..settings.clone()
            },
        };
        // Fresh addresses per run, so the per-address limit never triggers.
        let tag = dispatch_domain::random::base62(6).to_ascii_lowercase();
        let mut known = Vec::new();
        for i in 0..SAMPLES {
            let email = format!("known-{tag}-{i}@bench.example.com");
            let parsed = Email::parse(&email).ok_or("bad email")?;
            dispatch_admin::bootstrap(
                &store,
                clock.as_ref(),
                "Bench",
                &parsed,
                Mode::Test,
                None::<BrandName>,
            )
            .await?;
            known.push(email);
        }
        let unknown: Vec<String> = (0..SAMPLES)
            .map(|i| format!("unknown-{tag}-{i}@bench.example.com"))
            .collect();
        let k = time_requests(&app, &known).await;
        let u = time_requests(&app, &unknown).await;
        for (label, t) in [("known", &k), ("unknown", &u)] {
            println!(
                "| {} ms | {label} | {:.1} | {:.1} | {:.1} |",
                floor.as_millis(),
                ms(percentile(t, 0.5)),
                ms(percentile(t, 0.95)),
                ms(*t.last().unwrap_or(&Duration::ZERO)),
            );
        }
        println!(
            "| {} ms | median difference (known - unknown) | {:.1} | | |",
            floor.as_millis(),
            ms(percentile(&k, 0.5)) - ms(percentile(&u, 0.5))
        );
    }
    Ok(())
}
