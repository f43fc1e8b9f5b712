//! Portal tokens (`pt_` + base64url claims + `.` + base64url HMAC): a customer's browser
//! sends them on every portal request, and nothing but the MAC stands between a forged
//! token and another customer's tickets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dispatch_auth::credential::Credential;
use dispatch_auth::portal_token::{
    DEFAULT_TTL_SECS, MAX_REFRESH_SECS, MAX_TTL_SECS, PortalClaims, PortalKeys, PortalTokenError,
    parse_expires_in,
};
use dispatch_domain::brand::PortalOrigin;
use dispatch_domain::customer::CustomerName;
use dispatch_domain::{BrandId, CustomerId, Email, Mode, OrgId};
use dispatch_props::{config, json_value, one_edit, same_hmac_key, string_of, text, text_near};
use proptest::prelude::*;
use serde_json::Value;

const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ID_BODY: &str = "[0-7][0-9a-hjkmnp-tv-z]{25}";
/// `verify` allows tokens issued this far ahead of its clock.
const FUTURE_SKEW_SECS: i64 = 60;

/// A key id and secret as `PORTAL_SIGNING_KEYS` holds them.
fn key_pair() -> impl Strategy<Value = (String, Vec<u8>)> {
    (
        "[A-Za-z0-9]{1,16}",
        prop::collection::vec(any::<u8>(), 32..80),
    )
}

fn keys_of(pairs: &[&(String, Vec<u8>)]) -> PortalKeys {
    let pairs: Vec<(&str, &[u8])> = pairs
        .iter()
        .map(|(id, secret)| (id.as_str(), secret.as_slice()))
        .collect();
    PortalKeys::from_pairs(&pairs).expect("the strategy makes valid keys")
}

fn keys() -> impl Strategy<Value = PortalKeys> {
    key_pair().prop_map(|pair| keys_of(&[&pair]))
}

/// How large the text in generated claims may grow.
#[derive(Clone, Copy)]
struct Sizes {
    origins: usize,
    host_chars: usize,
}

/// What a brand's customers see in practice: a few origins of ordinary length, with
/// emails and names up to the domain's own limits. (A brand's full allowance of origins
/// does not fit in a bearer header: see `regressions`.)
const ORDINARY: Sizes = Sizes {
    origins: 5,
    host_chars: 40,
};

/// Claims as `functions/portal` mints them: ids, an email that `Email::parse` accepted, a
/// name that `CustomerName::parse` accepted, origins that `PortalOrigin::parse` accepted.
fn claims(sizes: Sizes) -> impl Strategy<Value = PortalClaims> {
    let email = "[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,60}\\.[a-z0-9-]{1,60}\\.[a-z]{2,10}"
        .prop_filter_map("a valid email", |raw| {
            Email::parse(&raw).map(|e| e.as_str().to_string())
        });
    let name_char = prop_oneof![
        3 => proptest::char::range('a', 'z'),
        1 => any::<char>().prop_map(|c| if c.is_control() { '~' } else { c }),
    ];
    let name = string_of(name_char, 1..201).prop_filter_map("a valid name", |raw| {
        CustomerName::parse(&raw)
            .ok()
            .map(|n| n.as_str().to_string())
    });
    let host = proptest::string::string_regex(&format!(
        "[a-z0-9][a-z0-9.-]{{0,{}}}[a-z0-9]",
        sizes.host_chars
    ))
    .expect("a valid regex");
    let origin =
        (host, prop::option::of(1u16..)).prop_filter_map("a valid origin", |(host, port)| {
            let raw = match port {
                Some(port) => format!("https://{host}:{port}"),
                None => format!("https://{host}"),
            };
            PortalOrigin::parse(&raw)
                .ok()
                .map(|o| o.as_str().to_string())
        });
    (
        (ID_BODY, ID_BODY, ID_BODY),
        prop_oneof![Just(Mode::Live), Just(Mode::Test)],
        email,
        prop::option::of(name),
        prop::collection::vec(origin, 0..=sizes.origins),
        1_600_000_000i64..2_000_000_000,
        1..=MAX_TTL_SECS,
        0..=MAX_REFRESH_SECS,
    )
        .prop_map(
            |((org, brand, cus), mode, email, name, origins, iat, ttl, age)| PortalClaims {
                typ: String::new(),
                alg: String::new(),
                kid: String::new(),
                org: OrgId::parse(&format!("org_{org}")).expect("a valid id body"),
                mode,
                brand: BrandId::parse(&format!("br_{brand}")).expect("a valid id body"),
                cus: CustomerId::parse(&format!("cus_{cus}")).expect("a valid id body"),
                email,
                name,
                origins,
                iat,
                exp: iat + ttl,
                auth: iat - age,
            },
        )
}

/// The claims `verify` hands back for a token `keys` signed over `claims`.
fn as_signed(keys: &PortalKeys, claims: &PortalClaims) -> PortalClaims {
    PortalClaims {
        typ: "portal".into(),
        alg: "HS256".into(),
        kid: keys.signing_key_id().into(),
        ..claims.clone()
    }
}

/// `pt_` + base64url(`json`) + `.` + base64url(`mac`): a token in the right shape.
fn shaped_token(json: &[u8], mac: &[u8]) -> String {
    format!(
        "pt_{}.{}",
        URL_SAFE_NO_PAD.encode(json),
        URL_SAFE_NO_PAD.encode(mac)
    )
}

/// `expiresIn` as its documentation puts it: whole seconds, or digits and `s`, `m` or
/// `h` (surrounding spaces ignored), from 1 second to 24 hours.
fn documented_expires_in(value: &Value) -> Option<i64> {
    let seconds = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => {
            let s = s.trim();
            let factor = match s.chars().last()? {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                _ => return None,
            };
            let digits = &s[..s.len() - 1];
            if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            digits.parse::<i64>().ok()? * factor
        }
        _ => return None,
    };
    (1..=MAX_TTL_SECS).contains(&seconds).then_some(seconds)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hostile_text_never_verifies(
        keys in keys(),
        token in prop_oneof![
            text(),
            text_near("pt_.ABCxyz019-_=", 0..120),
            (text_near(BASE64URL, 0..200), text_near(BASE64URL, 0..60))
                .prop_map(|(claims, mac)| format!("pt_{claims}.{mac}")),
        ],
        now in any::<i64>(),
    ) {
        prop_assert!(keys.verify(&token, now).is_err());
        prop_assert!(keys.claims_if_signed(&token).is_none());
    }

    /// Well-formed claims naming the verifier's own key, with a MAC that is not theirs.
    #[test]
    fn well_formed_claims_with_a_made_up_mac_are_a_bad_signature(
        keys in keys(),
        claims in claims(ORDINARY),
        mac in prop::collection::vec(any::<u8>(), 0..48),
    ) {
        let claims = as_signed(&keys, &claims);
        let json = serde_json::to_vec(&claims).unwrap_or_default();
        let token = shaped_token(&json, &mac);
        prop_assert_eq!(keys.verify(&token, claims.iat), Err(PortalTokenError::BadSignature));
        prop_assert!(keys.claims_if_signed(&token).is_none());
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims_until_it_expires_and_never_after(
        keys in keys(),
        claims in claims(ORDINARY),
        before_expiry in any::<prop::sample::Index>(),
        after_expiry in 0i64..1_000_000_000,
        too_early in 1i64..1_000_000_000,
    ) {
        let token = keys.sign(claims.clone());
        let expected = as_signed(&keys, &claims);
        let lifetime = claims.exp - claims.iat + FUTURE_SKEW_SECS;
        let now = claims.iat - FUTURE_SKEW_SECS
            + before_expiry.index(usize::try_from(lifetime).unwrap_or(1)) as i64;
        prop_assert_eq!(keys.verify(&token, now), Ok(expected.clone()));
        prop_assert_eq!(
            keys.verify(&token, claims.exp + after_expiry),
            Err(PortalTokenError::Expired)
        );
        prop_assert_eq!(
            keys.verify(&token, claims.iat - FUTURE_SKEW_SECS - too_early),
            Err(PortalTokenError::NotYetValid)
        );
        prop_assert_eq!(keys.claims_if_signed(&token), Some(expected));
    }

    #[test]
    fn one_edited_character_anywhere_breaks_a_signed_token(
        (keys, now, edited) in (keys(), claims(ORDINARY)).prop_flat_map(|(keys, claims)| {
            let token = keys.sign(claims.clone());
            (Just(keys), Just(claims.iat), one_edit(token, BASE64URL))
        }),
    ) {
        prop_assert!(keys.verify(&edited, now).is_err());
        prop_assert!(keys.claims_if_signed(&edited).is_none());
    }

    #[test]
    fn a_token_signed_with_another_key_is_a_bad_signature_and_rotation_keeps_both(
        ours in key_pair(),
        theirs in key_pair(),
        same_id in any::<bool>(),
        claims in claims(ORDINARY),
    ) {
        prop_assume!(!same_hmac_key(&ours.1, &theirs.1));
        let theirs = if same_id { (ours.0.clone(), theirs.1) } else { theirs };
        let token = keys_of(&[&theirs]).sign(claims.clone());
        let verifier = keys_of(&[&ours]);
        prop_assert_eq!(verifier.verify(&token, claims.iat), Err(PortalTokenError::BadSignature));
        prop_assert!(verifier.claims_if_signed(&token).is_none());
        if ours.0 != theirs.0 {
            // While keys rotate, both verify: the new one signs, the old one's tokens live on.
            let both = keys_of(&[&ours, &theirs]);
            prop_assert!(both.verify(&token, claims.iat).is_ok());
            let new = both.sign(claims.clone());
            prop_assert!(verifier.verify(&new, claims.iat).is_ok());
        }
    }

    /// What a browser does with a minted token: send it as `Authorization: Bearer pt_…`.
    #[test]
    fn a_minted_token_passes_the_bearer_parser_and_verifies(
        keys in keys(),
        claims in claims(ORDINARY),
    ) {
        let token = keys.sign(claims.clone());
        let header = format!("Bearer {token}");
        let credential = Credential::from_authorization_header(Some(&header));
        prop_assert!(
            matches!(&credential, Ok(Credential::Portal(text)) if text.0 == token),
            "a {}-character token gave {:?}", token.len(), credential
        );
        prop_assert!(keys.verify(&token, claims.iat).is_ok());
    }

    /// Strings that end in a multi-byte character get an `m` appended until the panic in
    /// `regressions` is fixed; drop that then.
    #[test]
    fn expires_in_is_whole_seconds_or_a_duration_from_1_second_to_24_hours(
        value in prop::option::of(prop_oneof![
            json_value(),
            any::<i64>().prop_map(Value::from),
            (-10i64..=90_000).prop_map(Value::from),
            "[ \t]{0,2}[0-9]{0,8}[smhdSH]?[ \t]{0,2}".prop_map(Value::from),
            text_near("0123456789smh ", 0..10).prop_map(Value::from),
        ].prop_map(|v| match v {
            Value::String(s) if s.trim().chars().last().is_some_and(|c| !c.is_ascii()) => {
                Value::String(format!("{}m", s.trim()))
            }
            v => v,
        })),
    ) {
        let parsed = parse_expires_in(value.as_ref());
        match &value {
            None | Some(Value::Null) => prop_assert_eq!(parsed, Ok(DEFAULT_TTL_SECS)),
            Some(value) => prop_assert_eq!(parsed.ok(), documented_expires_in(value)),
        }
    }
}

mod regressions {
    use super::*;
    use dispatch_domain::brand::parse_portal_origins;
    use serde_json::json;

    /// Found by `expires_in_is_whole_seconds_or_a_duration_from_1_second_to_24_hours`
    /// (minimal input `"\u{80}"`). `POST /v1/brands/{brandId}/portal/token` with
    /// `{"expiresIn": "é"}` panics in the function instead of answering 400.
    #[test]
    fn expires_in_ending_in_a_multi_byte_character_is_refused_without_a_panic() {
        for raw in ["\u{80}", "é", "30分", "24ч"] {
            assert!(parse_expires_in(Some(&json!(raw))).is_err(), "{raw}");
        }
    }

    /// Found by a property over every limit the domain sets (minimal failure: 17 origins,
    /// a 4097-character token). A brand may save 20 portal origins with hosts of up to 253
    /// characters; a token carrying them is longer than the 4096 characters
    /// `Credential::from_authorization_header` reads, so every portal call with it is a 401.
    #[test]
    fn a_token_for_a_brand_with_twenty_long_origins_passes_the_bearer_parser() {
        let origins: Vec<String> = (0..20)
            .map(|i| format!("https://{}-{i:02}.example.com", "support".repeat(17)))
            .collect();
        assert_eq!(parse_portal_origins(&origins).map(|o| o.len()), Ok(20));
        let keys = keys_of(&[&("a".to_string(), vec![b'a'; 32])]);
        let iat = 1_800_000_000;
        let claims = PortalClaims {
            typ: String::new(),
            alg: String::new(),
            kid: String::new(),
            org: OrgId::parse("org_01jf0000000000000000000000").expect("an id"),
            mode: Mode::Live,
            brand: BrandId::parse("br_01jf0000000000000000000000").expect("an id"),
            cus: CustomerId::parse("cus_01jf0000000000000000000000").expect("an id"),
            email: "jo@example.com".into(),
            name: Some("Jo".into()),
            origins,
            iat,
            exp: iat + DEFAULT_TTL_SECS,
            auth: iat,
        };
        let token = keys.sign(claims);
        let header = format!("Bearer {token}");
        assert!(
            matches!(
                Credential::from_authorization_header(Some(&header)),
                Ok(Credential::Portal(_))
            ),
            "a {}-character token was refused",
            token.len()
        );
    }
}
