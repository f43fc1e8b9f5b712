//! Sign-in settings, read once at init.

use dispatch_http::config::{ConfigError, env_var, parse_flag};
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
    pub fn from_env() -> Result<SignInSettings, ConfigError> {
        SignInSettings::from_vars(env_var)
    }

    /// Reads the variables through `var` (the process environment in production). A
    /// malformed value fails the init instead of quietly meaning something else.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<SignInSettings, ConfigError> {
        let url = |name: &str| -> Result<Option<String>, ConfigError> {
            match var(name) {
                None => Ok(None),
                Some(v) => {
                    let v = v.trim().trim_end_matches('/');
                    let rest = v
                        .strip_prefix("https://")
                        .or_else(|| v.strip_prefix("http://"))
                        .unwrap_or_default();
                    if rest.is_empty()
                        || rest.starts_with('/')
                        || rest.contains(char::is_whitespace)
                    {
                        return Err(ConfigError(format!(
                            "{name} must be an http(s) URL, not {v:?}"
                        )));
                    }
                    Ok(Some(v.to_string()))
                }
            }
        };
        let min_response = match var("MAGIC_LINK_MIN_RESPONSE_MS") {
            None => 400,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= 5_000)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "MAGIC_LINK_MIN_RESPONSE_MS must be 0-5000 milliseconds, not {v:?}"
                    ))
                })?,
        };
        Ok(SignInSettings {
            public_url: url("PUBLIC_URL")?,
            dashboard_url: url("DASHBOARD_URL")?,
            allow_signup: parse_flag("ALLOW_SIGNUP", var("ALLOW_SIGNUP").as_deref(), false)?,
            min_response: Duration::from_millis(min_response),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<SignInSettings, ConfigError> {
        SignInSettings::from_vars(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.public_url, None);
        assert!(!s.allow_signup);
        assert_eq!(s.min_response, Duration::from_millis(400));
    }

    #[test]
    fn well_formed_values_are_read() {
        let s = settings(&[
            ("PUBLIC_URL", "https://api.example.com/prod/"),
            ("ALLOW_SIGNUP", "true"),
            ("MAGIC_LINK_MIN_RESPONSE_MS", "0"),
        ])
        .unwrap();
        assert_eq!(
            s.public_url.as_deref(),
            Some("https://api.example.com/prod")
        );
        assert!(s.allow_signup);
        assert_eq!(s.min_response, Duration::ZERO);
    }

    #[test]
    fn malformed_values_fail_the_init_naming_the_variable() {
        for (name, value) in [
            ("PUBLIC_URL", "api.example.com"),
            ("DASHBOARD_URL", "https://"),
            ("ALLOW_SIGNUP", "yes"),
            ("MAGIC_LINK_MIN_RESPONSE_MS", "400ms"),
            ("MAGIC_LINK_MIN_RESPONSE_MS", "60000"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert!(err.0.contains(name), "{name}={value}: {err}");
        }
    }
}
