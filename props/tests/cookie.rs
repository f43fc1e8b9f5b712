//! The session cookie, read from whatever `Cookie` headers a browser (or anyone) sends.

use dispatch_http::AuthConfig;
use dispatch_http::cookie::{cookie_name, session_cookie};
use dispatch_props::{config, header_bytes, request};
use lambda_http::Body;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// RFC 6265 `cookie-octet`s: what a server may put in a cookie value.
const COOKIE_VALUE: &str = "[!#-+\\--:<-\\[\\]-~]{0,60}";
/// RFC 7230 `token`s: what a cookie name may be.
const COOKIE_NAME: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,30}";

fn auth_config() -> impl Strategy<Value = AuthConfig> {
    any::<bool>().prop_map(|cookie_secure| AuthConfig {
        cookie_secure,
        ..AuthConfig::default()
    })
}

/// Names a careless match would take for the session cookie: the other configuration's
/// name, other cases, prefixes, suffixes, and the name inside another one.
fn decoy_name() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "dispatch_session",
            "__Host-dispatch_session",
            "__host-dispatch_session",
            "Dispatch_Session",
            "DISPATCH_SESSION",
            "__Secure-dispatch_session",
            "dispatch_session_old",
            "old_dispatch_session",
            "x__Host-dispatch_session",
            "__Host-dispatch_sessio",
            "dispatch",
            "session",
        ])
        .prop_map(str::to_string),
        COOKIE_NAME,
    ]
}

/// `name=value` pairs that are not the session cookie of `config`.
fn other_cookies(config: &AuthConfig) -> impl Strategy<Value = Vec<(String, String)>> + use<> {
    let ours = cookie_name(config);
    prop::collection::vec(
        (decoy_name(), COOKIE_VALUE).prop_map(move |(name, value)| {
            let name = if name == ours {
                format!("{name}_old")
            } else {
                name
            };
            (name, value)
        }),
        0..8,
    )
}

/// Joins pairs as a browser does (`a=1; b=2`), or with the sloppier separators servers see.
fn cookie_header(pairs: &[(String, String)], separator: &str) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(separator)
}

/// A request whose cookies are split over `headers` `Cookie` headers.
fn request_with_cookies(
    pairs: &[(String, String)],
    separator: &str,
    headers: usize,
) -> lambda_http::Request {
    let per_header = pairs.len().div_ceil(headers.max(1)).max(1);
    let values: Vec<String> = pairs
        .chunks(per_header)
        .map(|chunk| cookie_header(chunk, separator))
        .collect();
    let headers: Vec<(&str, &[u8])> = values.iter().map(|v| ("cookie", v.as_bytes())).collect();
    request(&headers, Body::Empty)
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the headers hold, a value found was sent as `name=value` between `;`s.
    #[test]
    fn any_cookie_headers_yield_at_most_a_value_sent_under_the_session_name(
        config in auth_config(),
        headers in prop::collection::vec(
            prop_oneof![
                header_bytes(0..200),
                prop::collection::vec(
                    prop_oneof![
                        decoy_name(),
                        COOKIE_VALUE,
                        select(vec!["=", ";", "; ", " ", "\t", "dispatch_session=", "__Host-dispatch_session="])
                            .prop_map(str::to_string),
                    ],
                    0..12,
                )
                .prop_map(|parts| parts.concat().into_bytes()),
            ],
            0..4,
        ),
    ) {
        let named: Vec<(&str, &[u8])> = headers.iter().map(|h| ("cookie", h.as_slice())).collect();
        let req = request(&named, Body::Empty);
        if let Some(value) = session_cookie(&req, &config) {
            let pair = format!("{}={value}", cookie_name(&config));
            let sent = headers.iter().any(|h| {
                String::from_utf8_lossy(h).split(';').any(|p| p.trim() == pair)
            });
            prop_assert!(sent, "{:?} was not sent", pair);
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_any_others(
        (config, others) in auth_config().prop_flat_map(|c| (Just(c.clone()), other_cookies(&c))),
        value in "[!#-+\\--:<-\\[\\]-~]{1,60}",
        at in any::<Index>(),
        separator in select(vec!["; ", ";", " ; ", ";  "]),
        headers in 1usize..4,
    ) {
        let mut pairs = others;
        pairs.insert(at.index(pairs.len() + 1), (cookie_name(&config).to_string(), value.clone()));
        let req = request_with_cookies(&pairs, separator, headers);
        prop_assert_eq!(session_cookie(&req, &config), Some(value.as_str()));
    }

    #[test]
    fn without_the_session_cookie_nothing_is_found(
        (config, others) in auth_config().prop_flat_map(|c| (Just(c.clone()), other_cookies(&c))),
        separator in select(vec!["; ", ";", " ; "]),
        headers in 1usize..4,
    ) {
        let req = request_with_cookies(&others, separator, headers);
        prop_assert_eq!(session_cookie(&req, &config), None);
    }
}
