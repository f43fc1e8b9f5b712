//! The routes in template.yaml, the local router map, the function binaries and the events
//! must cover each other exactly: a route added in one place and not the others fails here.

use crate::helpers::{PREFLIGHT, Route, TestApp, router_map, router_routes, workspace_root};
use serde_yaml::Value;
use std::collections::BTreeSet;

/// Functions the table's stream calls, not API Gateway.
const STREAM_FUNCTIONS: &[&str] = &["brand-cleanup"];

/// (method, path, binary) of every HttpApi event of every function in template.yaml.
fn template_routes() -> BTreeSet<Route> {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let mut routes = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name:?} has no Metadata.BuildProperties.Binary"));
        if STREAM_FUNCTIONS.contains(&binary) {
            continue;
        }
        let events = resource["Properties"]["Events"].as_mapping().unwrap();
        for event in events.values() {
            assert_eq!(
                event["Type"].as_str(),
                Some("HttpApi"),
                "{name:?}: only HttpApi events are expected"
            );
            if event["Properties"]["Method"].as_str() == Some("OPTIONS") {
                continue; // the one preflight route, checked on its own
            }
            routes.insert(Route {
                method: event["Properties"]["Method"].as_str().unwrap().to_string(),
                path: event["Properties"]["Path"].as_str().unwrap().to_string(),
                function: binary.to_string(),
            });
        }
    }
    routes
}

/// Every `src/bin/*.rs` under `functions/`.
fn function_binaries() -> BTreeSet<String> {
    let mut bins = BTreeSet::new();
    for package in std::fs::read_dir(workspace_root().join("functions")).unwrap() {
        let bin_dir = package.unwrap().path().join("src/bin");
        for file in std::fs::read_dir(bin_dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                bins.insert(path.file_stem().unwrap().to_string_lossy().to_string());
            }
        }
    }
    bins
}

/// (method, path, file stem) of every event in events/.
fn event_routes() -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for file in std::fs::read_dir(workspace_root().join("events")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            event["version"],
            "2.0",
            "{}: events must be HTTP API payload v2",
            path.display()
        );
        let route_key = event["routeKey"].as_str().unwrap();
        assert_eq!(
            event["requestContext"]["routeKey"].as_str(),
            Some(route_key),
            "{}",
            path.display()
        );
        let (method, route_path) = route_key.split_once(' ').unwrap();
        if method == "OPTIONS" {
            continue; // the one preflight route, checked on its own
        }
        routes.insert(Route {
            method: method.to_string(),
            path: route_path.to_string(),
            function: path.file_stem().unwrap().to_string_lossy().to_string(),
        });
    }
    routes
}

#[test]
fn template_and_router_map_declare_the_same_routes() {
    let router: BTreeSet<Route> = router_routes().into_iter().collect();
    assert_eq!(
        template_routes(),
        router,
        "template.yaml routes differ from [workspace.metadata.lambda.watch.router]"
    );
}

#[test]
fn every_routed_function_has_a_binary_and_every_binary_a_route() {
    let mut expected: BTreeSet<String> = router_map().into_iter().map(|r| r.function).collect();
    expected.extend(STREAM_FUNCTIONS.iter().map(|f| f.to_string()));
    assert_eq!(function_binaries(), expected);
}

/// Each stream function is in the template with a DynamoDB stream event, and has a
/// recorded stream event under events/streams/.
#[test]
fn stream_functions_are_deployed_on_the_tables_stream() {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    for binary in STREAM_FUNCTIONS {
        let resource = template["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
            .unwrap_or_else(|| panic!("{binary} is not in template.yaml"));
        let events = resource["Properties"]["Events"].as_mapping().unwrap();
        assert!(
            events
                .values()
                .all(|e| e["Type"].as_str() == Some("DynamoDB")),
            "{binary}"
        );
    }
    assert!(
        workspace_root()
            .join("events/streams/brand-removed.json")
            .exists()
    );
}

/// Every path answers `OPTIONS` with the preflight function: per path in the router map,
/// as one `OPTIONS /{proxy+}` route in the template, and one event.
#[test]
fn every_path_answers_preflights_in_the_router_the_template_and_the_events() {
    let map = router_map();
    let paths: BTreeSet<&str> = map.iter().map(|r| r.path.as_str()).collect();
    for path in paths {
        assert!(
            map.iter()
                .any(|r| r.path == path && r.method == "OPTIONS" && r.function == PREFLIGHT),
            "{path} has no OPTIONS → {PREFLIGHT} in the router map"
        );
    }
    assert!(
        map.iter()
            .all(|r| (r.method == "OPTIONS") == (r.function == PREFLIGHT)),
        "only OPTIONS goes to {PREFLIGHT}"
    );
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    let template: Value = serde_yaml::from_str(&text).unwrap();
    let options: Vec<(String, String)> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str()?;
            let events = r["Properties"]["Events"].as_mapping()?;
            let e = events.values().next()?;
            (e["Properties"]["Method"].as_str() == Some("OPTIONS")).then(|| {
                (
                    binary.to_string(),
                    e["Properties"]["Path"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
        })
        .collect();
    assert_eq!(options, [(PREFLIGHT.to_string(), "/{proxy+}".to_string())]);
    let event = std::fs::read_to_string(workspace_root().join(format!("events/{PREFLIGHT}.json")))
        .expect("an event for the preflight function");
    assert!(event.contains("\"routeKey\": \"OPTIONS /{proxy+}\""));
}

#[test]
fn every_route_has_exactly_one_event() {
    let router: BTreeSet<Route> = router_routes().into_iter().collect();
    assert_eq!(
        event_routes(),
        router,
        "events/*.json must match the routes one to one"
    );
}

#[test]
fn one_function_per_route() {
    let routes = router_routes();
    let functions: BTreeSet<&str> = routes.iter().map(|r| r.function.as_str()).collect();
    assert_eq!(
        functions.len(),
        routes.len(),
        "a function serves more than one route"
    );
}

/// Every route is wired into the test harness, and every route but the public ones
/// (health, sign-in, intake forms, portal sign-in) refuses a request without a credential.
#[tokio::test]
async fn every_route_is_wired_and_only_health_is_public() {
    let app = TestApp::new().await;
    for route in router_routes() {
        let path = route
            .path
            .replace("{brandId}", "br_00000000000000000000000000")
            .replace("{keyId}", "key_00000000000000000000000000");
        let res = app.send(&route.method, &path, None, None).await;
        if route.function == "health"
            || route.function == "auth-magic-link"
            || route.function == "auth-verify"
        {
            // Public by design; without a body they answer 400 (validation) or 401 (no token).
            assert!(
                matches!(res.status, 200 | 400 | 401),
                "{} {}",
                route.method,
                route.path
            );
        } else if route.function == "portal-verify" {
            // Public: the body carries the one-time link token.
            assert_eq!(res.status, 400);
        } else if route.function == "forms-submit" {
            // Public: the token in the path is the address; an unknown one is not found.
            assert_eq!(res.status, 404);
        } else if route.function == "auth-verify-page" {
            assert_eq!(res.status, 200);
        } else {
            assert_eq!(
                res.status, 401,
                "{} {} answered without a credential",
                route.method, route.path
            );
            assert_eq!(res.body["code"], "authentication_required");
        }
    }
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
        if dir.join("src/main.rs").exists() {
            names.push(package["package"]["name"].as_str().unwrap().to_string());
        }
        for name in names {
            assert!(seen.insert(name.clone()), "binary {name} is defined twice");
        }
    }
}
