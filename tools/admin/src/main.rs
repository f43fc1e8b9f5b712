//! `dispatch-admin`: operator commands that run outside the API.
//!
//! ```text
//! dispatch-admin bootstrap --org-name "Acme" --owner-email owner@acme.test [--mode test|live] [--brand "Acme Support"] [--json]
//! ```
//!
//! `bootstrap` creates an organization, its owner member and a first API key (all in one
//! DynamoDB transaction), optionally a first brand, and prints the key once. It reads the
//! same environment as the functions: `TABLE_NAME`, `AWS_REGION`, credentials, and
//! `AWS_ENDPOINT_URL` for the local emulator.

use dispatch_admin::bootstrap;
use dispatch_domain::brand::BrandName;
use dispatch_domain::{Email, Mode, SystemClock};
use dispatch_store::DynamoStore;
use std::process::ExitCode;

const USAGE: &str = "usage: dispatch-admin bootstrap --org-name NAME --owner-email EMAIL [--mode test|live] [--brand NAME] [--json]";

struct BootstrapArgs {
    org_name: String,
    owner_email: Email,
    mode: Mode,
    brand: Option<BrandName>,
    json: bool,
}

fn parse_args(args: &[String]) -> Result<BootstrapArgs, String> {
    let mut org_name = None;
    let mut owner_email = None;
    let mut mode = Mode::Test;
    let mut brand = None;
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--org-name" => org_name = Some(value()?),
            "--owner-email" => {
                let raw = value()?;
                owner_email =
                    Some(Email::parse(&raw).ok_or(format!("{raw} is not an email address"))?);
            }
            "--mode" => {
                let raw = value()?;
                mode = Mode::parse(&raw).ok_or("--mode must be test or live")?;
            }
            "--brand" => {
                brand = Some(BrandName::parse(&value()?).map_err(|e| format!("--brand {e}"))?)
            }
            "--json" => json = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let org_name = org_name
        .filter(|n| !n.trim().is_empty())
        .ok_or("--org-name is required")?;
    let owner_email = owner_email.ok_or("--owner-email is required")?;
    Ok(BootstrapArgs {
        org_name: org_name.trim().to_string(),
        owner_email,
        mode,
        brand,
        json,
    })
}

async fn run_bootstrap(args: BootstrapArgs) -> Result<(), String> {
    let store = DynamoStore::from_env().await.map_err(|e| e.to_string())?;
    let made = bootstrap(
        &store,
        &SystemClock,
        &args.org_name,
        &args.owner_email,
        args.mode,
        args.brand,
    )
    .await
    .map_err(|e| e.to_string())?;
    let (org, secret, brand) = (made.org, made.api_key, made.brand);
    if args.json {
        let out = serde_json::json!({
            "organizationId": org.id,
            "ownerEmail": args.owner_email.as_str(),
            "mode": args.mode,
            "apiKey": secret.expose(),
            "brandId": brand.as_ref().map(|b| b.id.to_string()),
        });
        println!("{out}");
    } else {
        println!(
            "Organization {} ({}) created, owner {}.",
            org.id, org.name, args.owner_email
        );
        if let Some(b) = &brand {
            println!(
                "Brand {} ({}) created in {} mode.",
                b.id,
                b.name.as_str(),
                args.mode
            );
        }
        println!("First {} API key (shown once, store it now):", args.mode);
        println!("{}", secret.expose());
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bootstrap") => match parse_args(&args[1..]) {
            Ok(parsed) => run_bootstrap(parsed).await,
            Err(e) => Err(format!("{e}\n{USAGE}")),
        },
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dispatch-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
