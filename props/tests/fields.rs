//! Every other field a request carries: ids in paths, emails, names, slugs, portal origins,
//! an intake form's success URL, metadata, tags and timestamps. Each is parsed once at the
//! edge, and inner code trusts what the parser let through.

use dispatch_domain::brand::{BrandName, Metadata, PortalOrigin, Slug, TicketPrefix};
use dispatch_domain::customer::CustomerName;
use dispatch_domain::intake::{parse_name, parse_success_url};
use dispatch_domain::ticket::{parse_source, parse_tags};
use dispatch_domain::{Email, IntakeToken, OrgId, TicketId, Timestamp};
use dispatch_props::{config, json_value, one_edit, string_of, text, text_near, tricky_char};
use proptest::prelude::*;
use serde_json::Value;

const CROCKFORD: &str = "0123456789abcdefghjkmnpqrstvwxyz";

/// The id layout written out: `{prefix}_` and 26 Crockford characters, the first at most
/// `7` (128 bits).
fn is_well_formed_id(prefix: &str, raw: &str) -> bool {
    raw.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|body| {
            body.len() == 26
                && body.bytes().all(|b| CROCKFORD.as_bytes().contains(&b))
                && body.as_bytes()[0] <= b'7'
        })
}

fn id_candidates(prefix: &'static str) -> impl Strategy<Value = String> {
    let valid = format!("{prefix}_[0-7][0-9a-hjkmnp-tv-z]{{25}}");
    let valid = proptest::string::string_regex(&valid)
        .expect("a valid regex")
        .boxed();
    prop_oneof![
        valid.clone(),
        valid.prop_flat_map(move |id| one_edit(id, "0123456789abcdefghijklmnopqrstuvwxyzABC_")),
        text_near("orgtkftbr_0189abhijloquvz", 0..40),
        text(),
    ]
}

/// Text with the characters that trimming and control checks care about.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        string_of(
            prop_oneof![4 => proptest::char::range('a', 'z'), 1 => tricky_char()],
            90..210
        ),
    ]
}

/// A trimmed, non-empty name of at most `max` characters and no control characters.
fn check_name(raw: &str, parsed: Result<&str, &String>, max: usize) -> Result<(), TestCaseError> {
    let trimmed = raw.trim();
    let valid = !trimmed.is_empty()
        && trimmed.chars().count() <= max
        && !trimmed.chars().any(char::is_control);
    prop_assert_eq!(parsed.is_ok(), valid, "{:?}", raw);
    if let Ok(name) = parsed {
        prop_assert_eq!(name, trimmed);
    }
    Ok(())
}

/// `host[:port]` of an `http://` URL that points at this machine.
fn is_local_authority(authority: &str) -> bool {
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    host == "localhost" || host == "127.0.0.1"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_id_parses_exactly_when_prefix_and_26_crockford_characters_say_so(
        org in id_candidates("org"),
        ticket in id_candidates("tkt"),
        token in id_candidates("ft"),
    ) {
        prop_assert_eq!(OrgId::parse(&org).is_some(), is_well_formed_id("org", &org), "{:?}", org);
        prop_assert_eq!(TicketId::parse(&ticket).is_some(), is_well_formed_id("tkt", &ticket), "{:?}", ticket);
        prop_assert_eq!(IntakeToken::parse(&token).is_some(), is_well_formed_id("ft", &token), "{:?}", token);
        if let Some(id) = OrgId::parse(&org) {
            prop_assert_eq!(id.as_str(), org.as_str());
        }
    }

    /// Sorting ids as strings sorts them by creation time, as the module promises.
    #[test]
    fn generated_ids_parse_back_and_sort_by_time(
        earlier in 0i64..(1 << 48) - 1,
        later_by in 1i64..1_000_000_000,
    ) {
        let later = (earlier + later_by).min((1 << 48) - 1);
        prop_assume!(later > earlier);
        let (a, b) = (TicketId::generate(earlier), TicketId::generate(later));
        prop_assert_eq!(TicketId::parse(a.as_str()), Some(a.clone()));
        prop_assert!(a < b, "{} sorts after {}", a, b);
    }

    #[test]
    fn an_accepted_email_is_normalized_and_cannot_break_a_header(
        raw in prop_oneof![
            "[ ]?[A-Za-z0-9._%+'-]{1,70}@[A-Za-z0-9.-]{1,30}\\.[A-Za-z]{2,6}[ ]?",
            text_near("ab.@<>\",\\# \r\nxyz", 0..40),
            text(),
        ],
    ) {
        if let Some(email) = Email::parse(&raw) {
            let email = email.as_str();
            prop_assert_eq!(email, raw.trim().to_ascii_lowercase());
            prop_assert!(email.len() <= 254 && email.matches('@').count() == 1, "{:?}", email);
            prop_assert!(
                email.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>,\\#".contains(&b)),
                "{:?}", email
            );
            let (local, domain) = email.split_once('@').unwrap_or_default();
            prop_assert!((1..=64).contains(&local.len()) && domain.contains('.'), "{:?}", email);
            prop_assert_eq!(Email::parse(email).map(|e| e.as_str().to_string()), Some(email.to_string()));
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters(raw in name_text()) {
        let brand = BrandName::parse(&raw);
        check_name(&raw, brand.as_ref().map(BrandName::as_str), 100)?;
        let customer = CustomerName::parse(&raw);
        check_name(&raw, customer.as_ref().map(CustomerName::as_str), 200)?;
        let endpoint = parse_name(&raw);
        check_name(&raw, endpoint.as_deref(), 100)?;
    }

    #[test]
    fn slugs_prefixes_and_sources_keep_to_their_alphabets(
        raw in prop_oneof![text_near("abz09-AZ ", 0..70), text()],
    ) {
        if let Ok(slug) = Slug::parse(&raw) {
            let s = slug.as_str();
            prop_assert!(!s.is_empty() && s.len() <= 64 && !s.contains("--"), "{:?}", s);
            prop_assert!(!s.starts_with('-') && !s.ends_with('-'), "{:?}", s);
            prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
        if let Ok(prefix) = TicketPrefix::parse(&raw) {
            let p = prefix.as_str();
            prop_assert!((1..=10).contains(&p.len()), "{:?}", p);
            prop_assert!(p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
        if let Ok(source) = parse_source(&raw) {
            prop_assert!((1..=32).contains(&source.len()) && source == raw, "{:?}", source);
        }
        // The slug a brand gets from its name is always one `Slug::parse` accepts.
        if let Ok(name) = BrandName::parse(&raw) {
            let derived = Slug::from_name(&name);
            prop_assert_eq!(Slug::parse(derived.as_str()), Ok(derived.clone()));
        }
    }

    #[test]
    fn an_accepted_portal_origin_is_https_or_local_http_and_has_no_path(
        raw in prop_oneof![
            "(https?|HTTPS|ftp)://(localhost|127\\.0\\.0\\.1|[a-z0-9.-]{1,20})(:[0-9]{1,6})?(/[a-z]{0,5})?",
            text_near("https://localhost127.0.:/@?#a-", 0..40),
            text(),
        ],
    ) {
        if let Ok(origin) = PortalOrigin::parse(&raw) {
            let o = origin.as_str();
            prop_assert_eq!(o, raw.trim().to_ascii_lowercase());
            let (scheme, authority) = o.split_once("://").unwrap_or_default();
            prop_assert!(
                scheme == "https" || (scheme == "http" && is_local_authority(authority)),
                "{:?}", o
            );
            prop_assert!(!authority.is_empty() && !authority.contains(['/', '?', '#', '@', ' ']), "{:?}", o);
            prop_assert_eq!(PortalOrigin::parse(o), Ok(origin.clone()));
        }
    }

    /// Where a browser is sent after posting a form: `https://`, or plain `http://` only
    /// to this machine (development), as the function's documentation says.
    #[test]
    fn an_accepted_success_url_is_https_or_plain_http_to_this_machine_only(
        raw in prop_oneof![
            // Hosts that start like this machine's, and lookalikes that go on.
            "(https?|HTTP)://(localhost|127\\.0\\.0\\.1)?[a-z0-9.-]{0,12}(:[0-9]{1,5})?(/[a-z]{0,5})?",
            text_near("https://localhost127.0.:/@?#a-", 0..40),
            text(),
        ],
    ) {
        if let Ok(url) = parse_success_url(&raw) {
            prop_assert_eq!(url.as_str(), raw.trim());
            prop_assert!(url.len() <= 2048 && !url.contains(char::is_whitespace));
            let authority = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://").filter(|rest| {
                    is_local_authority(rest.split(['/', '?', '#']).next().unwrap_or_default())
                }));
            prop_assert!(authority.is_some(), "{:?} is neither https nor local http", url);
            let host = authority.unwrap_or_default().split(['/', '?', '#']).next().unwrap_or_default();
            prop_assert!(!host.is_empty() && !host.contains('@'), "{:?}", url);
        }
    }

    #[test]
    fn metadata_is_an_object_within_its_limits_kept_as_sent(
        value in prop_oneof![
            json_value(),
            // Near each limit: key counts around 50, key lengths around 40, sizes around 16 KiB.
            prop::collection::vec(
                ("[a-z]{0,42}", prop_oneof![Just(Value::Null), "[a-z]{0,500}".prop_map(Value::from)]),
                0..60,
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ],
    ) {
        if let Ok(metadata) = Metadata::parse(value.clone()) {
            let map = metadata.as_map();
            prop_assert!(map.len() <= 50);
            prop_assert!(map.keys().all(|k| (1..=40).contains(&k.chars().count())));
            prop_assert!(metadata.to_value().to_string().len() <= 16 * 1024);
            prop_assert_eq!(metadata.to_value(), value);
        } else if let Value::Object(map) = &value {
            prop_assert!(
                map.len() > 50
                    || map.keys().any(|k| !(1..=40).contains(&k.chars().count()))
                    || value.to_string().len() > 16 * 1024,
                "refused {}", value
            );
        }
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_bounded(
        raw in prop::collection::vec(
            prop_oneof![
                "[ ]?(bug|billing|urgent|vip)[ ]?",
                string_of(prop_oneof![proptest::char::range('a', 'c'), tricky_char()], 0..55),
            ],
            0..24,
        ),
    ) {
        if let Ok(tags) = parse_tags(&raw) {
            prop_assert!(raw.len() <= 20);
            for (i, tag) in tags.iter().enumerate() {
                prop_assert_eq!(tag.trim(), tag.as_str());
                prop_assert!((1..=50).contains(&tag.chars().count()), "{:?}", tag);
                prop_assert!(!tag.chars().any(char::is_control), "{:?}", tag);
                prop_assert!(!tags[..i].contains(tag), "{:?} twice", tag);
            }
            for sent in &raw {
                prop_assert!(tags.iter().any(|t| t == sent.trim()), "{:?} was dropped", sent);
            }
        }
    }

    #[test]
    fn a_timestamp_reads_back_from_what_the_api_prints(
        raw in prop_oneof![
            "[0-9]{4}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,9})?(Z|z|[+-][01][0-9]:[0-5][0-9])",
            text_near("0123456789-:TZ+.", 0..30),
            text(),
        ],
    ) {
        if let Some(t) = Timestamp::parse(&raw) {
            prop_assert_eq!(Timestamp::parse(&t.to_rfc3339()), Some(t), "{:?}", raw);
        }
    }
}

mod regressions {
    use super::*;

    /// Found by `an_accepted_success_url_is_https_or_plain_http_to_this_machine_only`
    /// (minimal input `http://127.0.0.1-`). `parse_success_url` takes any `http://` URL
    /// whose host merely starts with `127.0.0.1`, so an endpoint can send its form's
    /// submitters over plain HTTP to another host, e.g. `127.0.0.1.attacker.example`.
    #[test]
    fn a_plain_http_success_url_to_a_lookalike_of_127_0_0_1_is_refused() {
        for url in [
            "http://127.0.0.1-",
            "http://127.0.0.1.attacker.example/thanks",
        ] {
            assert!(parse_success_url(url).is_err(), "{url} was accepted");
        }
        assert!(parse_success_url("http://127.0.0.1:8080/thanks").is_ok());
    }
}
