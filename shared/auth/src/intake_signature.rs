//! Signed intake deliveries: `X-Dispatch-Signature: sha256=<hex>` over the raw body.
//!
//! An intake endpoint with a signing secret accepts a POST only when the sender proves it
//! holds the secret: the signature is HMAC-SHA256 of the raw request body, keyed with the
//! secret. A sender that also sends `X-Dispatch-Timestamp` (unix seconds) signs
//! `"{timestamp}.{body}"` instead, and the timestamp must be within
//! [`MAX_CLOCK_SKEW_SECS`] of the server clock, so a captured delivery cannot be replayed
//! later.

use crate::hash::constant_time_eq;
use dispatch_domain::random;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far `X-Dispatch-Timestamp` may be from the server clock, in either direction.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

const SIGNATURE_PREFIX: &str = "sha256=";
const SECRET_PREFIX: &str = "whsec_";
/// 43 base62 characters carry 256 random bits.
const SECRET_RANDOM_LEN: usize = 43;
/// Unix seconds stay below 12 digits for the next 30 000 years; anything longer is junk.
const MAX_TIMESTAMP_DIGITS: usize = 12;

/// Why a delivery's signature was refused. Every variant is a 401; the message is safe to
/// show the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Dispatch-Signature header is required")]
    Missing,
    #[error(
        "X-Dispatch-Signature must be sha256=<64 hex digits> and X-Dispatch-Timestamp unix seconds"
    )]
    Malformed,
    #[error("X-Dispatch-Signature does not match the request body")]
    Mismatch,
    #[error("X-Dispatch-Timestamp is more than 5 minutes from the server clock")]
    Stale,
}

/// Checks an intake delivery's `X-Dispatch-Signature` (`signature`) against `body`.
///
/// - No signature header: [`SignatureError::Missing`].
/// - Not exactly `sha256=` followed by 64 hex digits (either case), or a timestamp that is
///   not plain unix seconds: [`SignatureError::Malformed`]. A MAC of the wrong length is
///   malformed rather than a mismatch: it cannot be an HMAC-SHA256 at all, and saying so
///   helps a sender who used the wrong algorithm.
/// - The MAC differs (compared in constant time over the decoded bytes):
///   [`SignatureError::Mismatch`].
/// - The MAC is right but the timestamp is more than [`MAX_CLOCK_SKEW_SECS`] from
///   `now_secs`: [`SignatureError::Stale`]. The MAC is checked first so that `Stale` only
///   ever describes a genuine, old delivery.
pub fn verify(
    secret: &[u8],
    body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    now_secs: i64,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let claimed = signature
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(decode_mac)
        .ok_or(SignatureError::Malformed)?;
    let timestamp = timestamp
        .map(|raw| parse_timestamp(raw).map(|secs| (raw, secs)))
        .transpose()?;

    let expected = hmac_sha256(secret, timestamp.map(|(raw, _)| raw), body);
    if !constant_time_eq(&claimed, &expected) {
        return Err(SignatureError::Mismatch);
    }
    if let Some((_, secs)) = timestamp
        && now_secs.abs_diff(secs) > MAX_CLOCK_SKEW_SECS.unsigned_abs()
    {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Whether an `X-Dispatch-Signature` value has its form (`sha256=<64 hex digits>`),
/// whatever it signs: what an unsigned endpoint still checks of one it is sent.
pub fn signature_well_formed(signature: &str) -> bool {
    signature
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(decode_mac)
        .is_some()
}

/// Whether an `X-Dispatch-Timestamp` value has its form (unix seconds).
pub fn timestamp_well_formed(timestamp: &str) -> bool {
    parse_timestamp(timestamp).is_ok()
}

/// The `X-Dispatch-Signature` value a sender computes: `sha256=<lowercase hex>` over `body`,
/// or over `"{timestamp}.{body}"` when it also sends `X-Dispatch-Timestamp: {timestamp}`.
pub fn sign(secret: &[u8], body: &[u8], timestamp: Option<i64>) -> String {
    let timestamp = timestamp.map(|t| t.to_string());
    let mac = hmac_sha256(secret, timestamp.as_deref(), body);
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * mac.len());
    out.push_str(SIGNATURE_PREFIX);
    for b in mac {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A fresh intake signing secret: `whsec_` + 43 base62 characters (256 random bits).
///
/// Unlike API keys, this secret is stored server-side in clear, deliberately: verifying an
/// HMAC needs the key itself, so a hash would be useless. It is encrypted at rest by the
/// table's server-side encryption, and API responses show it once, at creation.
pub fn new_signing_secret() -> String {
    format!("{SECRET_PREFIX}{}", random::base62(SECRET_RANDOM_LEN))
}

fn hmac_sha256(secret: &[u8], timestamp: Option<&str>, body: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length"); // ok-unwrap: HMAC accepts keys of any length
    if let Some(timestamp) = timestamp {
        mac.update(timestamp.as_bytes());
        mac.update(b".");
    }
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// 64 hex digits, either case, into the 32 MAC bytes. Stricter than `u8::from_str_radix`,
/// which would also take a `+` sign.
fn decode_mac(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *slot = u8::try_from(high << 4 | low).ok()?;
    }
    Some(out)
}

/// Plain unix seconds: ASCII digits only (no sign, no spaces), as the sender signed them.
fn parse_timestamp(raw: &str) -> Result<i64, SignatureError> {
    if raw.is_empty()
        || raw.len() > MAX_TIMESTAMP_DIGITS
        || !raw.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    raw.parse().map_err(|_| SignatureError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_forms_are_checked_without_a_secret() {
        assert!(signature_well_formed(&sign(b"k", b"body", None)));
        assert!(signature_well_formed(&format!(
            "sha256={}",
            "aB".repeat(32)
        )));
        for bad in [
            "",
            "sha256=",
            "sha1=00",
            &format!("sha256={}", "0".repeat(63)),
            &format!("sha256={}g", "0".repeat(63)),
        ] {
            assert!(!signature_well_formed(bad), "{bad:?}");
        }
        assert!(timestamp_well_formed("1764583200"));
        for bad in ["", "-1", "1.5", "12345678901234567890123"] {
            assert!(!timestamp_well_formed(bad), "{bad:?}");
        }
    }

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"subject":"Printer on fire","email":"ada@example.com"}"#;
    const NOW: i64 = 1_760_000_000;

    fn verify_at_now(
        signature: Option<&str>,
        timestamp: Option<&str>,
    ) -> Result<(), SignatureError> {
        verify(SECRET, BODY, signature, timestamp, NOW)
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_body_in_lowercase_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?", None),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_correct_signature_is_accepted() {
        let signature = sign(SECRET, BODY, None);
        assert_eq!(verify_at_now(Some(&signature), None), Ok(()));
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let signature = sign(SECRET, BODY, None);
        let upper = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
        assert_eq!(verify_at_now(Some(&upper), None), Ok(()));
    }

    #[test]
    fn a_signature_with_one_flipped_digit_is_a_mismatch() {
        let signature = sign(SECRET, BODY, None);
        let last = signature.chars().last().unwrap();
        let flipped = if last == '0' { '1' } else { '0' };
        let forged = format!("{}{flipped}", &signature[..signature.len() - 1]);
        assert_eq!(
            verify_at_now(Some(&forged), None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_body_with_one_flipped_byte_is_a_mismatch() {
        let signature = sign(SECRET, BODY, None);
        let mut tampered = BODY.to_vec();
        tampered[2] ^= 0x01;
        assert_eq!(
            verify(SECRET, &tampered, Some(&signature), None, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_signature_made_with_another_secret_is_a_mismatch() {
        let signature = sign(b"another secret", BODY, None);
        assert_eq!(
            verify_at_now(Some(&signature), None),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_missing_signature_header_is_refused() {
        assert_eq!(verify_at_now(None, None), Err(SignatureError::Missing));
        assert_eq!(
            SignatureError::Missing.to_string(),
            "X-Dispatch-Signature header is required"
        );
    }

    #[test]
    fn a_signature_without_the_sha256_prefix_is_malformed() {
        let signature = sign(SECRET, BODY, None);
        let bare = &signature["sha256=".len()..];
        for bad in [
            bare.to_string(),
            format!("sha1={bare}"),
            format!("SHA256={bare}"),
            format!(" {signature}"),
        ] {
            assert_eq!(
                verify_at_now(Some(&bad), None),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_signature_that_is_not_64_hex_digits_is_malformed() {
        let signature = sign(SECRET, BODY, None);
        for bad in [
            "sha256=".to_string(),
            format!("sha256={}", "zz".repeat(32)),
            format!("sha256=+{}", &signature["sha256=".len() + 1..]),
            format!("{signature}00"),
            signature[..signature.len() - 2].to_string(),
            format!("sha256={}", "é".repeat(32)),
        ] {
            assert_eq!(
                verify_at_now(Some(&bad), None),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_fresh_timestamped_signature_is_accepted() {
        for sent_at in [NOW, NOW - MAX_CLOCK_SKEW_SECS, NOW + MAX_CLOCK_SKEW_SECS] {
            let signature = sign(SECRET, BODY, Some(sent_at));
            assert_eq!(
                verify_at_now(Some(&signature), Some(&sent_at.to_string())),
                Ok(()),
                "{sent_at}"
            );
        }
    }

    #[test]
    fn a_timestamp_301_seconds_away_is_stale_in_either_direction() {
        for sent_at in [NOW - 301, NOW + 301] {
            let signature = sign(SECRET, BODY, Some(sent_at));
            assert_eq!(
                verify_at_now(Some(&signature), Some(&sent_at.to_string())),
                Err(SignatureError::Stale),
                "{sent_at}"
            );
        }
    }

    #[test]
    fn a_timestamp_that_is_not_unix_seconds_is_malformed() {
        let signature = sign(SECRET, BODY, Some(NOW));
        for bad in [
            "",
            "yesterday",
            "1760000000.5",
            "-1",
            "+1760000000",
            " 1760000000",
            "99999999999999999999",
        ] {
            assert_eq!(
                verify_at_now(Some(&signature), Some(bad)),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_timestamp_the_signature_does_not_cover_is_a_mismatch() {
        let signed_without_timestamp = sign(SECRET, BODY, None);
        assert_eq!(
            verify_at_now(Some(&signed_without_timestamp), Some(&NOW.to_string())),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_changed_after_signing_is_a_mismatch() {
        let signature = sign(SECRET, BODY, Some(NOW - 400));
        assert_eq!(
            verify_at_now(Some(&signature), Some(&NOW.to_string())),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signing_secrets_are_whsec_and_43_base62_characters() {
        let secret = new_signing_secret();
        let random_part = secret.strip_prefix("whsec_").unwrap();
        assert_eq!(random_part.len(), 43);
        assert!(random_part.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(secret, new_signing_secret());
    }
}
