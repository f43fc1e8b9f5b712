//! Sign-in settings, read once at init.

use std::time::Duration;

/// How magic links are sent and who may sign in.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    /// Base URL the emailed link points at (`PUBLIC_URL`, e.g. `https://api.example.com/prod`).
    /// When unset, the link uses the domain and stage API Gateway reports for the request
    /// (never the client's `Host` header, which an attacker controls).
    pub public_url: Option<String>,
    /// Where the confirm page sends the browser after signing in (`DASHBOARD_URL`).
    pub dashboard_url: Option<String>,
    /// `ALLOW_SIGNUP=true` lets unknown addresses sign in, creating an organization on
    /// first verify. Off by default: only members can sign in.
    pub allow_signup: bool,
    /// Every magic-link request takes at least this long (`MAGIC_LINK_MIN_RESPONSE_MS`,
    /// default 400), so the time taken does not tell a known address from an unknown one.
    pub min_response: Duration,
}

impl SignInSettings {
    pub fn from_env() -> SignInSettings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        SignInSettings {
            public_url: var("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            dashboard_url: var("DASHBOARD_URL"),
            allow_signup: var("ALLOW_SIGNUP").is_some_and(|v| v == "true"),
            min_response: Duration::from_millis(
                var("MAGIC_LINK_MIN_RESPONSE_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(400),
            ),
        }
    }
}
