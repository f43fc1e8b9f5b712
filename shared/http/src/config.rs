//! Typed configuration of the HTTP layer, read once at init from the environment the
//! template sets.

/// How sessions travel and where cookie-authenticated writes may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Origins of the dashboard (`DASHBOARD_ORIGINS`, comma-separated). Cookie-authenticated
    /// POST/PATCH/PUT/DELETE must carry one of them in `Origin`.
    pub dashboard_origins: Vec<String>,
    /// `Secure` session cookies with the `__Host-` prefix. Only `COOKIE_SECURE=false`
    /// (local HTTP development) turns it off.
    pub cookie_secure: bool,
}

impl AuthConfig {
    pub fn from_env() -> AuthConfig {
        let origins = std::env::var("DASHBOARD_ORIGINS").unwrap_or_default();
        AuthConfig {
            dashboard_origins: parse_origins(&origins),
            cookie_secure: std::env::var("COOKIE_SECURE")
                .map(|v| v != "false")
                .unwrap_or(true),
        }
    }
}

fn parse_origins(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect()
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            dashboard_origins: vec![],
            cookie_secure: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_trimmed_and_empty_entries_dropped() {
        assert_eq!(
            parse_origins(" https://a.example.com/, ,http://localhost:3000"),
            ["https://a.example.com", "http://localhost:3000"]
        );
        assert!(parse_origins("").is_empty());
    }
}
