//! routes.toml is the one place a route is declared: what is generated from it must be
//! current, every function in it must have its binary (calling its handler), and nothing
//! may be routed or deployed that it does not declare.

use crate::helpers::{TestApp, route_table, workspace_root};
use serde_yaml::Value;
use std::collections::BTreeSet;

/// The headroom the limits test keeps: routes beyond today's, each with a role of its own.
/// 60 until the email channel; 50 since (decisions.md, 100): today's routes cover the SDK,
/// and the channel's eleven resources took the rest.
const MORE_ROUTES: usize = 50;

/// The functions not on a route (hand-written in template.yaml): on the table's stream or
/// the delivery queue, `ticket-backfill`, run by hand, `email-inbound`, invoked by SES, and
/// `email-feedback`, on SES's feedback topic.
const STREAM_FUNCTIONS: &[&str] = &[
    "brand-cleanup",
    "webhook-events",
    "webhook-deliver",
    "ticket-backfill",
    "email-inbound",
    "email-outbound",
    "email-feedback",
];

#[test]
fn everything_generated_from_routes_toml_is_current() {
    let root = workspace_root();
    let outputs = dispatch_xtask::generate::outputs(&root, &route_table()).unwrap();
    let stale = dispatch_xtask::generate::stale(&root, &outputs);
    assert!(
        stale.is_empty(),
        "stale, run `cargo xtask routes`: {stale:?}"
    );
}

/// (function, source) of every `src/bin/*.rs` under `functions/`.
fn function_binaries() -> Vec<(String, String)> {
    let mut bins = Vec::new();
    for package in std::fs::read_dir(workspace_root().join("functions")).unwrap() {
        let bin_dir = package.unwrap().path().join("src/bin");
        for file in std::fs::read_dir(bin_dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let name = path.file_stem().unwrap().to_string_lossy().to_string();
                bins.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    bins.sort();
    bins
}

#[test]
fn every_function_has_its_binary_and_every_binary_is_declared() {
    let table = route_table();
    let bins = function_binaries();
    let mut expected: BTreeSet<String> = table.routes.iter().map(|r| r.function.clone()).collect();
    expected.extend(STREAM_FUNCTIONS.iter().map(|f| f.to_string()));
    let found: BTreeSet<String> = bins.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(found, expected, "functions/*/src/bin/ against routes.toml");
    for route in &table.routes {
        let path = workspace_root().join(format!(
            "functions/{}/src/bin/{}.rs",
            route.package(),
            route.function
        ));
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} has no {}", route.function, path.display()));
        // `dispatch_portal::tickets::list(` or, passed as is, `…::health)`.
        let handler = route.handler();
        assert!(
            source.contains(&format!("{handler}(")) || source.contains(&format!("{handler})")),
            "{}: the binary does not call {} as routes.toml says",
            route.function,
            route.handler()
        );
        // It serves as itself: its route and query parameters are its own entry's.
        assert!(
            source.contains("dispatch_http::serve(env!(\"CARGO_BIN_NAME\"),"),
            "{}: the binary serves with dispatch_http::serve(env!(\"CARGO_BIN_NAME\"), …)",
            route.function
        );
        // The template hands the secrets' ARNs exactly to the functions that declare them;
        // those read them at init.
        assert_eq!(
            source.contains("SigningKeys::from_env()"),
            !route.secrets.is_empty(),
            "{}: reads signing keys at init if and only if routes.toml gives it secrets",
            route.function
        );
    }
}

/// A function package is a leaf: what two functions share lives in `shared/`, so
/// changing one function's package never rebuilds or relinks another's.
#[test]
fn function_packages_depend_on_no_other_function_package() {
    let root = workspace_root();
    let packages: Vec<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    for package in &packages {
        let manifest =
            std::fs::read_to_string(root.join(format!("functions/{package}/Cargo.toml"))).unwrap();
        let manifest: toml::Value = toml::from_str(&manifest).unwrap();
        let deps = manifest
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        for other in &packages {
            assert!(
                !deps.contains_key(&format!("dispatch-{other}")),
                "functions/{package} depends on the function package dispatch-{other}"
            );
        }
    }
}

/// The functions in template.yaml are the declared ones plus the stream functions; a
/// function added by hand outside the generated block would show here.
#[test]
fn the_template_deploys_exactly_the_declared_functions() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let mut deployed = BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let code = resource["Properties"]["CodeUri"].as_str().unwrap();
        let function = code
            .strip_prefix("target/lambda/")
            .and_then(|c| c.strip_suffix("/bootstrap.zip"))
            .unwrap_or_else(|| panic!("CodeUri {code} is not a zip scripts/package builds"));
        deployed.insert(function.to_string());
    }
    let mut expected: BTreeSet<String> = route_table()
        .routes
        .iter()
        .map(|r| r.function.clone())
        .collect();
    expected.extend(STREAM_FUNCTIONS.iter().map(|f| f.to_string()));
    assert_eq!(deployed, expected);
}

/// Every non-public route refuses a request without a credential; the public ones
/// (routes.toml `public = true`) answer it.
#[tokio::test]
async fn every_route_is_wired_and_only_the_declared_ones_are_public() {
    let app = TestApp::new().await;
    for route in route_table().routes.iter().filter(|r| !r.is_preflight()) {
        let path = route
            .path()
            .replace("{brandId}", "br_00000000000000000000000000")
            .replace("{keyId}", "key_00000000000000000000000000");
        let res = app.send(route.method(), &path, None, None).await;
        if route.public {
            // Without a body or token: 200 (health, the sign-in page), 400 (validation),
            // 401 (no sign-in token) or 404 (an unknown form token), never an auth wall.
            assert!(
                matches!(res.status, 200 | 400 | 401 | 404),
                "{} answered {}",
                route.route,
                res.status
            );
            assert_ne!(
                res.body["code"], "authentication_required",
                "{}",
                route.route
            );
        } else {
            assert_eq!(
                res.status, 401,
                "{} answered without a credential",
                route.route
            );
            assert_eq!(res.body["code"], "authentication_required");
        }
    }
}

/// docs/api.md's table of error codes is exactly `ErrorCode`: every code the API can
/// answer is documented, and nothing documented is a code it never answers.
#[test]
fn every_error_code_is_in_the_documented_table() {
    let codes: BTreeSet<String> = dispatch_http::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let root = workspace_root();
    let api = std::fs::read_to_string(root.join("docs/api.md")).unwrap();
    let table_start = api.find("| status | `code` | when |").unwrap();
    let table = &api[table_start..];
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    let documented: BTreeSet<String> = table
        .lines()
        .skip(2) // the header and its rule
        .filter_map(|line| line.split('|').nth(2))
        .flat_map(|cell| {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let missing: Vec<&String> = codes.iter().filter(|c| !documented.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "error codes missing from docs/api.md: {missing:?}"
    );
    let unknown: Vec<&String> = documented.iter().filter(|c| !codes.contains(*c)).collect();
    assert!(
        unknown.is_empty(),
        "docs/api.md documents codes the API never answers: {unknown:?}"
    );
}

/// The local allowance for webhook targets and the short retry schedule are for
/// `scripts/dev` and the suite only: the deployed template never sets (nor mentions) them.
#[test]
fn the_template_never_allows_local_webhook_targets() {
    let template = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    assert!(!template.contains("WEBHOOK_ALLOW_LOCAL"));
    assert!(!template.contains("WEBHOOK_RETRY_SCHEDULE_SECS"));
    let dev = std::fs::read_to_string(workspace_root().join("scripts/dev")).unwrap();
    assert!(
        dev.contains("\nWEBHOOK_ALLOW_LOCAL=true\n"),
        "scripts/dev turns it on"
    );
    assert!(
        dev.contains("\nWEBHOOK_RETRY_SCHEDULE_SECS="),
        "scripts/dev shortens the retries"
    );
}

/// `cargo lambda watch` runs a function by its binary name: a name used twice in the
/// workspace (a tool or a benchmark named like a function) makes that route fail.
#[test]
fn binary_names_are_unique_across_the_workspace() {
    let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for member in manifest["workspace"]["members"].as_array().unwrap() {
        let dir = workspace_root().join(member.as_str().unwrap());
        let mut names = Vec::new();
        if let Ok(files) = std::fs::read_dir(dir.join("src/bin")) {
            for file in files {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "rs") {
                    names.push(path.file_stem().unwrap().to_string_lossy().to_string());
                }
            }
        }
        let package: toml::Value =
            toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        for bin in package
            .get("bin")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            names.push(bin["name"].as_str().unwrap().to_string());
        }
        if dir.join("src/main.rs").exists() && package.get("bin").is_none() {
            names.push(package["package"]["name"].as_str().unwrap().to_string());
        }
        for name in names {
            assert!(seen.insert(name.clone()), "binary {name} is defined twice");
        }
    }
}

/// The template stays well under CloudFormation's limits, counted on the processed
/// template (SAM transform, offline): today, and with [`MORE_ROUTES`] more routes as heavy
/// as any (a function, a role and an API permission each).
#[test]
fn the_template_stays_well_under_cloudformation_limits_with_more_routes() {
    let root = workspace_root();
    let dir = root.join("target/template-limits");
    std::fs::create_dir_all(&dir).unwrap();
    let grown = dispatch_xtask::generate::with_synthetic_routes(&route_table(), MORE_ROUTES);
    let synthetic = dir.join(format!("template-plus-{MORE_ROUTES}-routes.yaml"));
    std::fs::write(
        &synthetic,
        dispatch_xtask::generate::template_with(&root, &grown).unwrap(),
    )
    .unwrap();
    let python = root.join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root.join("scripts/template_limits.py"))
        .arg(root.join("template.yaml"))
        .arg(&synthetic)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/test installs it)", python.display()));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "{report}");
    // Every route's function and the event-source functions, then the more.
    let functions = route_table().routes.len() + STREAM_FUNCTIONS.len() + MORE_ROUTES;
    assert!(
        report.contains(&format!("functions {functions}")),
        "{report}"
    );
}

/// The project's docs stand alone: no path outside the repository, and every relative
/// link names a file that is here.
#[test]
fn docs_point_at_nothing_outside_the_repository() {
    let root = workspace_root();
    let mut pages = vec![
        root.join("README.md"),
        root.join("events/README.md"),
        root.join("examples/portal/README.md"),
    ];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    for page in pages
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(page).unwrap();
        for outside in ["/work/", "../shared/", "shared/spec"] {
            assert!(
                !text.contains(outside),
                "{} mentions {outside}",
                page.display()
            );
        }
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap_or(0)];
            let file = target.split('#').next().unwrap_or_default();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            let resolved = page.parent().unwrap().join(file);
            assert!(
                resolved.exists(),
                "{}: the link {target} names no file in the repository",
                page.display()
            );
            if let Some(anchor) = target.split_once('#').map(|(_, a)| a)
                && resolved.extension().is_some_and(|e| e == "md")
            {
                let heads = anchors(&std::fs::read_to_string(&resolved).unwrap());
                assert!(
                    heads.contains(anchor),
                    "{}: the link {target} names no heading",
                    page.display()
                );
            }
        }
        // Links within the page.
        let heads = anchors(&text);
        for (i, _) in text.match_indices("](#") {
            let anchor = &text[i + 3..];
            let anchor = &anchor[..anchor.find(')').unwrap_or(0)];
            assert!(
                heads.contains(anchor),
                "{}: the link #{anchor} names no heading",
                page.display()
            );
        }
    }
}

/// The anchors a Markdown page's headings get (GitHub's rule: lowercase, punctuation
/// dropped, spaces become hyphens).
fn anchors(page: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut found = BTreeSet::new();
    for line in page.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let slug: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        found.insert(slug);
    }
    found
}
