//! `cargo xtask invoke <function>`: runs one function with its event from events/ against
//! a running `scripts/dev`, the way API Gateway would call it. The event's placeholders are
//! filled with objects made for it on the live stack (a fresh organization, and whatever
//! ticket, customer, upload or token the event names); the event goes to the function
//! through `cargo lambda watch`'s invoke endpoint, and the function's answer is printed.

use crate::fixtures::{self, Stack, Tenant};
use crate::http;
use dispatch_domain::brand::BrandName;
use dispatch_domain::{Email, Mode, SystemClock};
use dispatch_store::DynamoStore;
use serde_json::Value;
use std::path::Path;

/// The stack `scripts/dev` runs: its API over HTTP, its table for bootstrapping.
pub struct DevStack {
    pub api: String,
    pub store: DynamoStore,
}

impl Stack for DevStack {
    async fn call(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let url = format!("{}{path}", self.api);
        match http::request(method, &url, &headers, body.as_bytes()).await {
            Ok(res) => (
                res.status,
                serde_json::from_slice(&res.body).unwrap_or(Value::Null),
            ),
            Err(e) => (0, Value::String(format!("{url}: {e}"))),
        }
    }

    async fn tenant(&self, owner_email: &str) -> Tenant {
        let email = Email::parse(owner_email).unwrap_or_else(|| panic!("{owner_email}"));
        let brand = BrandName::parse("Invoke Brand").ok();
        let made = dispatch_admin::bootstrap(
            &self.store,
            &SystemClock,
            "Invoke",
            &email,
            Mode::Test,
            brand,
        )
        .await
        .unwrap_or_else(|e| panic!("bootstrap in the local table: {e}"));
        Tenant {
            org_id: made.org.id.to_string(),
            owner_email: owner_email.to_string(),
            key: made.api_key.expose().to_string(),
            brand_id: made.brand.map(|b| b.id.to_string()).unwrap_or_default(),
        }
    }

    async fn magic_link_token(&self, email: &str) -> Option<String> {
        crate::mail::latest_magic_link_token(email).await
    }

    async fn upload(&self, url: &str, headers: &[(String, String)], bytes: &[u8]) -> u16 {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http::request("PUT", url, &headers, bytes)
            .await
            .map_or(0, |r| r.status)
    }

    fn unique_email(&self, who: &str) -> String {
        format!(
            "{who}-{}@example.com",
            dispatch_domain::random::base62(10).to_ascii_lowercase()
        )
    }
}

/// Fills `function`'s event, sends it (from `stage`, if named) and prints the answer.
pub async fn run(root: &Path, function: &str, stage: Option<&str>) -> Result<(), String> {
    let path = root.join(format!("events/{function}.json"));
    let event = std::fs::read_to_string(&path)
        .map_err(|_| format!("no event for {function} (events/{function}.json)"))?;
    let api = std::env::var("PUBLIC_URL")
        .map_err(|_| "PUBLIC_URL is not set: run through scripts/invoke, with scripts/dev up")?;
    let store = DynamoStore::from_env()
        .await
        .map_err(|e| format!("the local table: {e}"))?;
    let stack = DevStack {
        api: api.trim_end_matches('/').to_string(),
        store,
    };
    let health = stack.call("GET", "/v1/health", None, None).await;
    if health.0 != 200 {
        return Err(format!(
            "the API at {} does not answer: is scripts/dev running?",
            stack.api
        ));
    }
    let filled = fixtures::fill(&stack, &event).await?;
    let mut event: Value = serde_json::from_str(&filled).map_err(|e| e.to_string())?;
    if let Some(stage) = stage {
        fixtures::on_stage(&mut event, stage);
    }
    eprintln!("==> {function} with events/{function}.json (filled):");
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&event).unwrap_or_default()
    );
    let url = format!("{}/2015-03-31/functions/{function}/invocations", stack.api);
    let body = event.to_string();
    let res = http::request(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
    .map_err(|e| format!("{url}: {e}"))?;
    let answer: Value = serde_json::from_slice(&res.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&res.body).to_string()));
    eprintln!("==> the answer ({} from the invoke endpoint):", res.status);
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    if res.status == 200 {
        Ok(())
    } else {
        Err(format!("the invoke endpoint answered {}", res.status))
    }
}
