//! CSRF protection for cookie-authenticated requests.
//!
//! A browser attaches the session cookie to cross-site requests (for top-level navigations
//! with SameSite=Lax, and always for same-site subdomains), so an unsafe request that rides
//! on the cookie must prove it comes from the dashboard: its `Origin` must be one of the
//! configured dashboard origins. A missing `Origin` is refused, because every browser sends
//! one on cross-origin POST/PATCH/PUT/DELETE. Bearer requests carry their credential
//! explicitly and are exempt.

/// Methods that change state.
pub fn is_unsafe_method(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// True when a cookie-authenticated request with this method and `Origin` may proceed.
pub fn cookie_request_allowed(
    method: &str,
    origin: Option<&str>,
    dashboard_origins: &[String],
) -> bool {
    if !is_unsafe_method(method) {
        return true;
    }
    match origin {
        Some(o) => dashboard_origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(o.trim_end_matches('/'))),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["https://app.example.com".into()]
    }

    #[test]
    fn safe_methods_need_no_origin() {
        assert!(cookie_request_allowed("GET", None, &allowed()));
    }

    #[test]
    fn unsafe_methods_need_a_dashboard_origin() {
        assert!(cookie_request_allowed(
            "POST",
            Some("https://app.example.com"),
            &allowed()
        ));
        assert!(!cookie_request_allowed(
            "POST",
            Some("https://evil.example.com"),
            &allowed()
        ));
        assert!(!cookie_request_allowed("DELETE", None, &allowed()));
        assert!(!cookie_request_allowed("PATCH", Some("null"), &allowed()));
        assert!(!cookie_request_allowed(
            "POST",
            Some("https://app.example.com"),
            &[]
        ));
    }
}
