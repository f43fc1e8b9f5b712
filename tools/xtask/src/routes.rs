//! `routes.toml`: the one declared list of the API's routes and what each function may do.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The whole table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    #[serde(rename = "route")]
    pub routes: Vec<Route>,
}

/// One route, served by one function (its own binary).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The binary's name: `functions/<package>/src/bin/<function>.rs`.
    pub function: String,
    /// `METHOD /path`, as API Gateway's route key spells it.
    pub route: String,
    /// The handler call, as the test harness makes it (`r` is the request).
    pub call: String,
    /// Answers without a credential (sign-in, public forms, preflights, health).
    #[serde(default)]
    pub public: bool,
    /// The query parameters the handler reads; any other is a 400 before it runs.
    #[serde(default)]
    pub query: Vec<String>,
    /// What the function may do (see the header of routes.toml).
    #[serde(default)]
    pub iam: Vec<String>,
    /// Signing keys it reads at init: `cursor`, `portal`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The example event in `events/<function>.json`.
    #[serde(default)]
    pub event: Event,
    /// API Gateway's throttle for this route, instead of the stage's default.
    #[serde(default)]
    pub throttle: Option<Throttle>,
}

/// A route's throttle at API Gateway: a token bucket of `burst` requests refilled at
/// `rate` per second, shared by every caller of the route (the functions' own per-caller
/// limits come on top).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    pub rate: u32,
    pub burst: u32,
}

/// What the example event carries beyond the route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The requested path with placeholders; the route's path when it has no parameters.
    pub path: Option<String>,
    #[serde(default)]
    pub query: String,
    /// The placeholder sent as `Authorization: Bearer {{…}}`.
    pub auth: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The secrets a route may name: for each, the template's secrets (logical id) and the
/// variable that hands the function a secret's ARN (`dispatch_secrets` reads them).
pub const SECRETS: &[(&str, &[(&str, &str)])] = &[
    ("cursor", &[("CursorSecret", "CURSOR_SECRET_ARN")]),
    (
        "portal",
        &[
            ("PortalKeyA", "PORTAL_KEY_A_ARN"),
            ("PortalKeyB", "PORTAL_KEY_B_ARN"),
        ],
    ),
];

/// The route every `OPTIONS` goes to.
pub const PREFLIGHT_PATH: &str = "/{proxy+}";

impl Route {
    pub fn method(&self) -> &str {
        self.route.split_once(' ').map_or("", |(m, _)| m)
    }

    pub fn path(&self) -> &str {
        self.route.split_once(' ').map_or("", |(_, p)| p)
    }

    /// `brands-get` → `BrandsGetFunction`.
    pub fn logical_id(&self) -> String {
        let mut id: String = self
            .function
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        id.push_str("Function");
        id
    }

    /// The handler's path (`dispatch_brands::get`), the part of `call` before its arguments.
    pub fn handler(&self) -> &str {
        self.call.split('(').next().unwrap_or_default()
    }

    /// The crate the handler lives in (`dispatch_brands`) → its package directory name.
    pub fn package(&self) -> String {
        self.handler()
            .split("::")
            .next()
            .unwrap_or_default()
            .trim_start_matches("dispatch_")
            .to_string()
    }

    pub fn is_preflight(&self) -> bool {
        self.method() == "OPTIONS" && self.path() == PREFLIGHT_PATH
    }
}

impl RouteTable {
    pub fn parse(text: &str) -> Result<RouteTable, String> {
        let table: RouteTable = toml::from_str(text).map_err(|e| e.to_string())?;
        table.validate()?;
        Ok(table)
    }

    pub fn load(root: &Path) -> Result<RouteTable, String> {
        let path = root.join("routes.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        RouteTable::parse(&text).map_err(|e| format!("routes.toml: {e}"))
    }

    /// The preflight function (the one `OPTIONS /{proxy+}` route).
    pub fn preflight(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.is_preflight())
    }

    fn validate(&self) -> Result<(), String> {
        let mut functions = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for r in &self.routes {
            let ok_name = !r.function.is_empty()
                && r.function
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok_name {
                return Err(format!(
                    "{}: function names are lowercase-kebab",
                    r.function
                ));
            }
            if !functions.insert(r.function.clone()) {
                return Err(format!("{}: one route per function", r.function));
            }
            if !keys.insert(r.route.clone()) {
                return Err(format!("{}: route declared twice", r.route));
            }
            // Anyone can call a public write: it gets a budget of its own, so a flood of
            // one cannot spend the stage's whole throttle (every route's) on its own.
            if r.public && r.method() == "POST" && r.throttle.is_none() {
                return Err(format!(
                    "{}: a public POST route needs a throttle",
                    r.function
                ));
            }
            if let Some(t) = r.throttle
                && (t.rate == 0 || t.burst < t.rate || t.rate > 100 || t.burst > 200)
            {
                return Err(format!(
                    "{}: a throttle is 1-100 per second with a burst of rate-200 (the stage's default)",
                    r.function
                ));
            }
            if !matches!(
                r.method(),
                "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
            ) || !r.path().starts_with('/')
            {
                return Err(format!("{}: route must be `METHOD /path`", r.function));
            }
            if r.method() == "OPTIONS" && !r.is_preflight() {
                return Err(format!(
                    "{}: OPTIONS only as `OPTIONS {PREFLIGHT_PATH}`",
                    r.function
                ));
            }
            for grant in &r.iam {
                crate::iam::statement_for(grant).map_err(|e| format!("{}: {e}", r.function))?;
            }
            for s in &r.secrets {
                if !SECRETS.iter().any(|(name, _)| name == s) {
                    return Err(format!("{}: unknown secret {s}", r.function));
                }
            }
            if !r.call.starts_with("dispatch_") || !r.call.ends_with(')') {
                return Err(format!(
                    "{}: call is `dispatch_<package>::handler(…, r)`",
                    r.function
                ));
            }
            if r.is_preflight() && !r.query.is_empty() {
                return Err(format!(
                    "{}: the preflight takes any query; it declares none",
                    r.function
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for q in &r.query {
                let ok = !q.is_empty() && q.bytes().all(|b| b.is_ascii_alphanumeric());
                if !ok || !seen.insert(q) {
                    return Err(format!(
                        "{}: query names are distinct camelCase words, not {q:?}",
                        r.function
                    ));
                }
            }
            for pair in r.event.query.split('&').filter(|p| !p.is_empty()) {
                let name = pair.split('=').next().unwrap_or_default();
                if !r.query.iter().any(|q| q == name) {
                    return Err(format!(
                        "{}: the event's query sends {name}, which query does not declare",
                        r.function
                    ));
                }
            }
            let params = r.path().matches('{').count();
            if params > 0 && r.event.path.is_none() && !r.is_preflight() {
                return Err(format!(
                    "{}: a route with parameters needs event.path",
                    r.function
                ));
            }
        }
        if self.preflight().is_none() {
            return Err(format!("no OPTIONS {PREFLIGHT_PATH} route"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(function: &str, key: &str) -> String {
        format!(
            "[[route]]\nfunction = \"{function}\"\nroute = \"{key}\"\ncall = \"dispatch_x::y(&self.ctx, r)\"\n"
        )
    }

    #[test]
    fn names_and_handlers_come_from_the_entry() {
        let text =
            route("brands-get", "GET /v1/brands") + &route("cors-preflight", "OPTIONS /{proxy+}");
        let table = RouteTable::parse(&text).unwrap();
        let r = &table.routes[0];
        assert_eq!(r.logical_id(), "BrandsGetFunction");
        assert_eq!((r.method(), r.path()), ("GET", "/v1/brands"));
        assert_eq!(r.handler(), "dispatch_x::y");
        assert_eq!(r.package(), "x");
    }

    #[test]
    fn a_table_that_contradicts_itself_is_refused() {
        let pre = route("cors-preflight", "OPTIONS /{proxy+}");
        let twice = route("a", "GET /v1/a") + &route("a", "GET /v1/b") + &pre;
        assert!(
            RouteTable::parse(&twice)
                .unwrap_err()
                .contains("one route per function")
        );
        let same_key = route("a", "GET /v1/a") + &route("b", "GET /v1/a") + &pre;
        assert!(RouteTable::parse(&same_key).unwrap_err().contains("twice"));
        let no_event = route("a", "GET /v1/a/{id}") + &pre;
        assert!(
            RouteTable::parse(&no_event)
                .unwrap_err()
                .contains("event.path")
        );
        let bad_grant = route("a", "GET /v1/a") + "iam = [\"dynamodb:Scan@nowhere\"]\n" + &pre;
        assert!(RouteTable::parse(&bad_grant).is_err());
        assert!(
            RouteTable::parse(&route("a", "GET /v1/a"))
                .unwrap_err()
                .contains("OPTIONS")
        );
    }

    #[test]
    fn public_writes_carry_a_throttle_within_the_stages() {
        let pre = route("cors-preflight", "OPTIONS /{proxy+}");
        let open = route("a", "POST /v1/a") + "public = true\n" + &pre;
        assert!(RouteTable::parse(&open).unwrap_err().contains("throttle"));
        let fine = route("a", "POST /v1/a")
            + "public = true\nthrottle = { rate = 5, burst = 20 }\n"
            + &pre;
        let table = RouteTable::parse(&fine).unwrap();
        assert_eq!(
            table.routes[0].throttle,
            Some(Throttle { rate: 5, burst: 20 })
        );
        let settings = crate::generate::route_settings(&table);
        assert!(settings.contains("\"POST /v1/a\":\n          ThrottlingBurstLimit: 20\n          ThrottlingRateLimit: 5\n"), "{settings}");
        for bad in [
            "{ rate = 0, burst = 1 }",
            "{ rate = 10, burst = 5 }",
            "{ rate = 500, burst = 500 }",
        ] {
            let text =
                route("a", "POST /v1/a") + &format!("public = true\nthrottle = {bad}\n") + &pre;
            assert!(RouteTable::parse(&text).is_err(), "{bad}");
        }
        let real =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../routes.toml"))
                .expect("routes.toml");
        let table = RouteTable::parse(&real).unwrap();
        let forms = table
            .routes
            .iter()
            .find(|r| r.route == "POST /v1/forms/{token}")
            .unwrap();
        assert!(forms.throttle.is_some());
    }
}
