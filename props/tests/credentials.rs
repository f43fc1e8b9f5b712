//! Bearer credentials: the `Authorization` header, API key secrets (prefix, 43 base62
//! characters, a base62 CRC-32) and opaque tokens. Every request with a credential goes
//! through these before any storage read.

use dispatch_auth::api_key::ApiKeySecret;
use dispatch_auth::checksum::base62_checksum;
use dispatch_auth::credential::{Credential, CredentialError};
use dispatch_auth::token::{OpaqueToken, TokenKind};
use dispatch_domain::Mode;
use dispatch_props::{config, one_edit, text, text_near};
use proptest::prelude::*;
use proptest::sample::{Index, select};

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// `shared/auth/src/credential.rs`: longer bearer values are malformed unread.
const MAX_CREDENTIAL_LEN: usize = 4096;
/// Portal tokens carry their brand's origins: up to the portal verifier's 8 KiB.
const MAX_PORTAL_CREDENTIAL_LEN: usize = 8192;
/// `sk_live_` / `sk_test_`, 43 random base62 characters, 6 of checksum.
const KEY_LEN: usize = 8 + 43 + 6;
const SIGNED_LEN: usize = KEY_LEN - 6;

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Live), Just(Mode::Test)]
}

fn kind() -> impl Strategy<Value = TokenKind> {
    prop_oneof![
        Just(TokenKind::MagicLink),
        Just(TokenKind::Session),
        Just(TokenKind::PortalMagicLink),
    ]
}

fn key_prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Live => "sk_live_",
        Mode::Test => "sk_test_",
    }
}

/// A well-formed key drawn from proptest's randomness, so that a failure replays.
fn api_key() -> impl Strategy<Value = String> {
    (mode(), "[0-9A-Za-z]{43}").prop_map(|(mode, random)| {
        let signed = format!("{}{random}", key_prefix(mode));
        let checksum = base62_checksum(signed.as_bytes());
        format!("{signed}{checksum}")
    })
}

fn opaque_token(kind: TokenKind) -> impl Strategy<Value = String> {
    "[0-9A-Za-z]{43}".prop_map(move |body| format!("{}{body}", kind.prefix()))
}

/// Bearer values worth trying: valid ones of each kind, one edit away from valid, near
/// misses in the formats' alphabets, and hostile text.
fn token_candidates() -> impl Strategy<Value = String> {
    prop_oneof![
        api_key(),
        api_key().prop_flat_map(|k| one_edit(k, BASE62)),
        opaque_token(TokenKind::Session),
        opaque_token(TokenKind::Session).prop_flat_map(|t| one_edit(t, BASE62)),
        "pt_[A-Za-z0-9_.-]{0,80}",
        text_near("sk_livetesmlp0aZ", 0..70),
        text(),
    ]
}

/// The format an API key must have, written out independently of the parser.
fn is_well_formed_key(raw: &str) -> bool {
    let Some(body) = raw
        .strip_prefix("sk_live_")
        .or_else(|| raw.strip_prefix("sk_test_"))
    else {
        return false;
    };
    body.len() == KEY_LEN - 8
        && body.bytes().all(|b| b.is_ascii_alphanumeric())
        && base62_checksum(&raw.as_bytes()[..SIGNED_LEN]) == raw[SIGNED_LEN..]
}

fn is_well_formed_token(kind: TokenKind, raw: &str) -> bool {
    raw.strip_prefix(kind.prefix())
        .is_some_and(|body| body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Which credential a bare token should parse to, if any.
fn expected_kind(token: &str) -> Option<&'static str> {
    let limit = if token.starts_with("pt_") {
        MAX_PORTAL_CREDENTIAL_LEN
    } else {
        MAX_CREDENTIAL_LEN
    };
    if token.is_empty() || token.len() > limit || !token.is_ascii() {
        None
    } else if token.starts_with("sk_") {
        is_well_formed_key(token).then_some("api key")
    } else if token.starts_with("sess_") {
        is_well_formed_token(TokenKind::Session, token).then_some("session")
    } else if token.starts_with("pt_") {
        Some("portal")
    } else {
        None
    }
}

/// The kind and text of a parsed credential.
fn kind_and_text(credential: &Credential) -> (&'static str, &str) {
    match credential {
        Credential::ApiKey(key) => ("api key", key.expose()),
        Credential::Session(token) => ("session", token.expose()),
        Credential::Portal(text) => ("portal", text.0.as_str()),
    }
}

/// `word` with each letter's case chosen by `upper`.
fn recase(word: &str, upper: &[bool]) -> String {
    word.chars()
        .zip(upper.iter().chain(std::iter::repeat(&false)))
        .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_authorization_header_is_missing_only_when_blank_and_accepted_only_as_bearer(
        header in prop::option::of(prop_oneof![
            text(),
            token_candidates().prop_map(|t| format!("Bearer {t}")),
        ]),
    ) {
        let result = Credential::from_authorization_header(header.as_deref());
        let blank = header.as_deref().is_none_or(|h| h.trim().is_empty());
        prop_assert_eq!(result == Err(CredentialError::Missing), blank);
        if let Ok(credential) = &result {
            let header = header.as_deref().unwrap_or_default().trim();
            let (scheme, token) = header.split_once(' ').unwrap_or_default();
            prop_assert!(scheme.eq_ignore_ascii_case("bearer"), "scheme {:?}", scheme);
            prop_assert_eq!(kind_and_text(credential).1, token.trim());
        }
    }

    #[test]
    fn a_bare_token_parses_exactly_when_its_prefix_and_format_say_so(
        token in token_candidates(),
    ) {
        let parsed = Credential::parse(&token);
        let got = parsed.as_ref().ok().map(kind_and_text);
        prop_assert_eq!(got.map(|(kind, _)| kind), expected_kind(&token));
        if let Some((_, text)) = got {
            prop_assert_eq!(text, token.as_str());
        } else {
            prop_assert_eq!(parsed, Err(CredentialError::Malformed));
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_spacing_is_forgiven(
        key in api_key(),
        upper in prop::collection::vec(any::<bool>(), 6),
        before in "[ \t]{0,3}",
        between in " {1,3}",
        after in "[ \t]{0,3}",
    ) {
        let header = format!("{before}{}{between}{key}{after}", recase("bearer", &upper));
        let parsed = Credential::from_authorization_header(Some(&header));
        prop_assert!(
            matches!(&parsed, Ok(Credential::ApiKey(k)) if k.expose() == key),
            "{:?} gave {:?}", header, parsed
        );
    }

    #[test]
    fn any_other_scheme_is_malformed(
        key in api_key(),
        scheme in "[A-Za-z-]{0,12}",
        separator in select(vec![" ", "", ":", "\t"]),
    ) {
        prop_assume!(!(scheme.eq_ignore_ascii_case("bearer") && separator == " "));
        let header = format!("{scheme}{separator}{key}");
        prop_assert_eq!(
            Credential::from_authorization_header(Some(&header)),
            Err(CredentialError::Malformed)
        );
    }

    #[test]
    fn a_bearer_value_is_refused_past_its_kinds_limit(
        len in prop_oneof![4000usize..4200, 8100usize..8300],
        portal in any::<bool>(),
    ) {
        // A session token of the right shape is 48 characters: padding makes it malformed
        // by shape anyway, so the API-key side uses `sk_` text, malformed by length first.
        let (prefix, limit) = if portal { ("pt_", MAX_PORTAL_CREDENTIAL_LEN) } else { ("sk_live_", MAX_CREDENTIAL_LEN) };
        let token = format!("{prefix}{}", "a".repeat(len - prefix.len()));
        let parsed = Credential::from_authorization_header(Some(&format!("Bearer {token}")));
        if portal {
            prop_assert_eq!(parsed.is_ok(), len <= limit, "length {}", len);
        } else {
            prop_assert!(parsed.is_err(), "length {}", len);
        }
    }

    #[test]
    fn a_generated_key_parses_back_with_its_mode_and_hash(mode in mode()) {
        let key = ApiKeySecret::generate(mode);
        prop_assert!(is_well_formed_key(key.expose()));
        let parsed = ApiKeySecret::parse(key.expose());
        prop_assert_eq!(&parsed, &Ok(key.clone()));
        if let Ok(parsed) = parsed {
            prop_assert_eq!(parsed.mode(), mode);
            prop_assert!(parsed.hash().matches(&key.hash()));
            prop_assert_eq!(&parsed.expose()[..8], key_prefix(mode));
        }
    }

    #[test]
    fn a_key_parses_exactly_when_prefix_format_and_checksum_hold(key in token_candidates()) {
        let parsed = ApiKeySecret::parse(&key);
        prop_assert_eq!(parsed.is_ok(), is_well_formed_key(&key), "{:?}", key);
        if let Ok(parsed) = parsed {
            let mode = if key.starts_with("sk_live_") { Mode::Live } else { Mode::Test };
            prop_assert_eq!(parsed.mode(), mode);
            prop_assert_eq!(parsed.expose(), key.as_str());
        }
    }

    /// One character replaced, inserted or deleted anywhere: a replacement lies wholly in
    /// the signed part or wholly in the checksum, and CRC-32 catches every change of up to
    /// 32 consecutive bits, so no such typo can pass.
    #[test]
    fn one_mistyped_character_anywhere_in_a_key_is_refused(
        typo in api_key().prop_flat_map(|k| one_edit(k, BASE62)),
    ) {
        prop_assert_eq!(ApiKeySecret::parse(&typo), Err(CredentialError::Malformed));
    }

    /// CRC-32's guarantee in full: any change confined to 4 consecutive characters (32
    /// bits) of the signed part, such as a transposition or a mode swapped for the other, is
    /// refused. (A change that spans the checksum too is caught only with odds 2^-32, so
    /// it is not asserted.)
    #[test]
    fn any_change_within_four_consecutive_characters_of_the_signed_part_is_refused(
        key in api_key(),
        width in 1usize..=4,
        start in any::<Index>(),
        replacement in "[0-9A-Za-z_]{4}",
    ) {
        let start = start.index(SIGNED_LEN - width + 1);
        let mut changed = key.clone();
        changed.replace_range(start..start + width, &replacement[..width]);
        prop_assume!(changed != key);
        prop_assert_eq!(ApiKeySecret::parse(&changed), Err(CredentialError::Malformed));
    }

    #[test]
    fn an_opaque_token_is_its_prefix_and_43_base62_characters(
        kind in kind(),
        raw in prop_oneof![
            kind().prop_flat_map(opaque_token),
            kind().prop_flat_map(opaque_token).prop_flat_map(|t| one_edit(t, BASE62)),
            text_near("mlpsession_0aZ", 0..60),
            text(),
        ],
    ) {
        let parsed = OpaqueToken::parse(kind, &raw);
        prop_assert_eq!(parsed.is_ok(), is_well_formed_token(kind, &raw), "{:?}", raw);
        if let Ok(token) = parsed {
            prop_assert_eq!(token.kind(), kind);
            prop_assert_eq!(token.expose(), raw.as_str());
        }
    }

    #[test]
    fn a_generated_token_parses_only_as_its_own_kind(made in kind(), asked in kind()) {
        let token = OpaqueToken::generate(made);
        prop_assert_eq!(OpaqueToken::parse(asked, token.expose()).is_ok(), made == asked);
    }
}
