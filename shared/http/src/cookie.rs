//! The session cookie.

use crate::config::AuthConfig;
use lambda_http::Request;
use lambda_http::http::HeaderValue;
use lambda_http::http::header::{COOKIE, SET_COOKIE};

/// `__Host-` binds the cookie to this exact host, over HTTPS, for path `/`: no subdomain
/// can set or shadow it. Browsers refuse the prefix without `Secure`, so local HTTP uses
/// a plain name.
pub fn cookie_name(config: &AuthConfig) -> &'static str {
    if config.cookie_secure {
        "__Host-dispatch_session"
    } else {
        "dispatch_session"
    }
}

/// The session token from the `Cookie` header(s), if present.
pub fn session_cookie<'a>(req: &'a Request, config: &AuthConfig) -> Option<&'a str> {
    let name = cookie_name(config);
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn attributes(config: &AuthConfig) -> &'static str {
    if config.cookie_secure {
        "Path=/; HttpOnly; Secure; SameSite=Lax"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

/// `Set-Cookie` for a new session lasting `max_age_secs`.
pub fn set_session_cookie(
    token: &str,
    max_age_secs: i64,
    config: &AuthConfig,
) -> (lambda_http::http::HeaderName, HeaderValue) {
    let value = format!(
        "{}={token}; Max-Age={max_age_secs}; {}",
        cookie_name(config),
        attributes(config)
    );
    (
        SET_COOKIE,
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_session_cookie(config: &AuthConfig) -> (lambda_http::http::HeaderName, HeaderValue) {
    let value = format!(
        "{}=; Max-Age=0; {}",
        cookie_name(config),
        attributes(config)
    );
    (
        SET_COOKIE,
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_use_the_host_prefix_and_all_flags() {
        let (_, v) = set_session_cookie("sess_abc", 60, &AuthConfig::default());
        assert_eq!(
            v.to_str().unwrap(),
            "__Host-dispatch_session=sess_abc; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
    }

    #[test]
    fn local_http_cookies_drop_secure_and_the_prefix_only_when_configured() {
        let local = AuthConfig {
            cookie_secure: false,
            ..AuthConfig::default()
        };
        let (_, v) = set_session_cookie("sess_abc", 60, &local);
        assert_eq!(
            v.to_str().unwrap(),
            "dispatch_session=sess_abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
        );
        let (_, cleared) = clear_session_cookie(&local);
        assert!(cleared.to_str().unwrap().contains("Max-Age=0"));
    }
}
