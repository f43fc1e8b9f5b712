//! Typed configuration of the HTTP layer, read once at init from the environment the
//! template sets. Anything malformed fails the init with a message naming the variable,
//! so no request ever discovers it.

/// A variable that is set but malformed, or a function wired without what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A variable's value, `None` when unset or blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `true` or `false` exactly; `default` when unset. Anything else is an error rather
/// than a guess (`COOKIE_SECURE=flase` must not quietly mean either).
pub fn parse_flag(name: &str, value: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match value.map(str::trim) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}

/// How sessions travel and where cookie-authenticated writes may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Origins of the dashboard (`DASHBOARD_ORIGINS`, comma-separated). Cookie-authenticated
    /// POST/PATCH/PUT/DELETE must carry one of them in `Origin`.
    pub dashboard_origins: Vec<String>,
    /// `Secure` session cookies with the `__Host-` prefix. Only `COOKIE_SECURE=false`
    /// (local HTTP development) turns it off.
    pub cookie_secure: bool,
    /// The deployment's inbound mail domain (`INBOUND_DOMAIN`), lower-cased; `None`: no
    /// inbound email, so brands show `inboundEmailEnabled: false`.
    pub inbound_domain: Option<String>,
}

impl AuthConfig {
    pub fn from_env() -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_vars(env_var)
    }

    /// Reads the variables through `var` (the process environment in production).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
        Ok(AuthConfig {
            dashboard_origins: parse_origins(&var("DASHBOARD_ORIGINS").unwrap_or_default())?,
            cookie_secure: parse_flag("COOKIE_SECURE", var("COOKIE_SECURE").as_deref(), true)?,
            inbound_domain: var("INBOUND_DOMAIN")
                .map(|d| parse_domain("INBOUND_DOMAIN", &d))
                .transpose()?,
        })
    }
}

/// `scheme://host[:port]` origins, comma-separated: lower-cased, a trailing `/` dropped,
/// empty entries skipped. A path, query, credentials or another scheme is an error: the
/// browser's `Origin` never carries them, so such an entry could never match.
fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = entry.trim_end_matches('/').to_ascii_lowercase();
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let valid = authority.is_some_and(|a| {
            !a.is_empty()
                && !a.starts_with(':')
                && a.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        });
        if !valid {
            return Err(ConfigError(format!(
                "DASHBOARD_ORIGINS: {entry:?} is not an origin (https://host[:port])"
            )));
        }
        origins.push(origin);
    }
    Ok(origins)
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            dashboard_origins: vec![],
            cookie_secure: true,
            inbound_domain: None,
        }
    }
}

/// A domain name (`support.example.com`), lower-cased: dot-separated labels of letters,
/// digits and hyphens, at least two of them.
pub fn parse_domain(name: &str, raw: &str) -> Result<String, ConfigError> {
    let domain = raw.trim().to_ascii_lowercase();
    let valid = domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(ConfigError(format!("{name}: {raw:?} is not a domain name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_trimmed_and_empty_entries_dropped() {
        assert_eq!(
            parse_origins(" https://A.example.com/, ,http://localhost:3000").unwrap(),
            ["https://a.example.com", "http://localhost:3000"]
        );
        assert!(parse_origins("").unwrap().is_empty());
    }

    #[test]
    fn an_entry_that_is_not_an_origin_fails_the_init() {
        for bad in [
            "app.example.com",
            "https://app.example.com/dashboard",
            "ftp://app.example.com",
            "https://user@app.example.com",
            "https://",
            "https://app.example.com?x=1",
            "https://app.example.com, *",
        ] {
            let err = parse_origins(bad).unwrap_err();
            assert!(err.0.contains("DASHBOARD_ORIGINS"), "{bad}: {err}");
        }
    }

    #[test]
    fn cookie_secure_is_true_unless_exactly_false_and_a_typo_is_an_error() {
        let config = |v: Option<&str>| {
            AuthConfig::from_vars(|name| {
                (name == "COOKIE_SECURE")
                    .then(|| v.map(str::to_string))
                    .flatten()
            })
        };
        assert!(config(None).unwrap().cookie_secure);
        assert!(config(Some("true")).unwrap().cookie_secure);
        assert!(!config(Some("false")).unwrap().cookie_secure);
        assert!(config(Some("flase")).is_err());
        assert!(config(Some("0")).is_err());
    }
}
