//! Signed intake deliveries: `X-Dispatch-Signature: sha256=<hex>` over the body (or over
//! `"{timestamp}.{body}"` with `X-Dispatch-Timestamp`). Both headers come from whoever
//! posts to a public form URL.

use dispatch_auth::intake_signature::{MAX_CLOCK_SKEW_SECS, SignatureError, sign, verify};
use dispatch_props::{config, one_edit, same_hmac_key, text, text_near};
use proptest::prelude::*;

const PREFIX: &str = "sha256=";
/// Timestamps `verify` reads: plain unix seconds of at most 12 digits.
const TIMESTAMPS: std::ops::Range<i64> = 0..1_000_000_000_000;

fn secret() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..80)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        text().prop_map(String::into_bytes),
    ]
}

/// Where `now` lands relative to the timestamp: within the allowed skew, or beyond it.
fn skew(within: bool) -> BoxedStrategy<i64> {
    if within {
        (-MAX_CLOCK_SKEW_SECS..=MAX_CLOCK_SKEW_SECS).boxed()
    } else {
        prop_oneof![
            (MAX_CLOCK_SKEW_SECS + 1)..1_000_000_000,
            -1_000_000_000..-MAX_CLOCK_SKEW_SECS,
        ]
        .boxed()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_signature_verifies_with_or_without_a_timestamp_within_five_minutes(
        secret in secret(),
        body in body(),
        timestamp in prop::option::of(TIMESTAMPS),
        skew in skew(true),
        untimed_now in any::<i64>(),
    ) {
        let signature = sign(&secret, &body, timestamp);
        prop_assert!(signature.starts_with(PREFIX) && signature.len() == PREFIX.len() + 64);
        let now = timestamp.map_or(untimed_now, |t| t + skew);
        let timestamp = timestamp.map(|t| t.to_string());
        prop_assert_eq!(
            verify(&secret, &body, Some(&signature), timestamp.as_deref(), now),
            Ok(())
        );
    }

    #[test]
    fn a_genuine_signature_more_than_five_minutes_off_is_stale(
        secret in secret(),
        body in body(),
        timestamp in TIMESTAMPS,
        skew in skew(false),
    ) {
        let signature = sign(&secret, &body, Some(timestamp));
        prop_assert_eq!(
            verify(&secret, &body, Some(&signature), Some(&timestamp.to_string()), timestamp + skew),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn hostile_headers_never_verify(
        secret in secret(),
        body in body(),
        signature in prop::option::of(prop_oneof![
            text(),
            text_near("sha256=0123456789abcdefABCDEF+", 60..80),
            "sha256=[0-9a-fA-F]{64}",
        ]),
        timestamp in prop::option::of(prop_oneof![text(), "[0-9]{1,14}", text_near("0123456789+-. ", 0..15)]),
        now in any::<i64>(),
    ) {
        let result = verify(&secret, &body, signature.as_deref(), timestamp.as_deref(), now);
        prop_assert!(result.is_err());
        if signature.is_none() {
            prop_assert_eq!(result, Err(SignatureError::Missing));
        }
    }

    /// Hex digits may come in either case (documented); every other edit of the
    /// signature, and any edit of the timestamp, fails.
    #[test]
    fn one_edited_character_fails_unless_it_only_changes_a_hex_digit_case(
        (secret, body, timestamp, signature, edited_signature, edited_timestamp) in (
            secret(), body(), TIMESTAMPS,
        ).prop_flat_map(|(secret, body, timestamp)| {
            let signature = sign(&secret, &body, Some(timestamp));
            (
                Just(secret), Just(body), Just(timestamp), Just(signature.clone()),
                one_edit(signature, "0123456789abcdefABCDEF"),
                one_edit(timestamp.to_string(), "0123456789"),
            )
        }),
    ) {
        let now = timestamp;
        let same_mac = edited_signature.len() == signature.len()
            && edited_signature.starts_with(PREFIX)
            && edited_signature[PREFIX.len()..].eq_ignore_ascii_case(&signature[PREFIX.len()..]);
        prop_assert_eq!(
            verify(&secret, &body, Some(&edited_signature), Some(&timestamp.to_string()), now).is_ok(),
            same_mac,
            "{:?}", edited_signature
        );
        prop_assert!(verify(&secret, &body, Some(&signature), Some(&edited_timestamp), now).is_err());
    }

    #[test]
    fn another_secret_or_an_edited_body_is_a_mismatch(
        secret in secret(),
        other_secret in secret(),
        body in body(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let signature = sign(&secret, &body, None);
        if !same_hmac_key(&other_secret, &secret) {
            prop_assert_eq!(
                verify(&other_secret, &body, Some(&signature), None, 0),
                Err(SignatureError::Mismatch)
            );
        }
        if !body.is_empty() {
            let mut tampered = body.clone();
            tampered[flip.index(body.len())] ^= 1 << bit;
            prop_assert_eq!(
                verify(&secret, &tampered, Some(&signature), None, 0),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
