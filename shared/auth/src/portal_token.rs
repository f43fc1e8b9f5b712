//! Portal tokens: `pt_` + base64url(claims JSON) + `.` + base64url(HMAC-SHA256).
//!
//! A backend mints one for one customer of one brand; the customer's browser sends it.
//! Verifying costs no storage read: the claims say who the customer is, the MAC says we
//! issued them. The MAC covers `pt_` and the encoded claims, with the key named by the
//! claims' `kid`; several keys can verify at once (the first signs), so a key can be
//! rotated without downtime and removing a key revokes every token it signed.

use crate::hash::constant_time_eq;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dispatch_domain::{BrandId, CustomerId, Mode, OrgId};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const PREFIX: &str = "pt_";
/// Default lifetime: one hour.
pub const DEFAULT_TTL_SECS: i64 = 60 * 60;
/// Longest lifetime: 24 hours.
pub const MAX_TTL_SECS: i64 = 24 * 60 * 60;
/// How long refreshes can extend one minting or sign-in (then the application mints anew
/// or the customer signs in again): 7 days, the dashboard session's absolute limit.
pub const MAX_REFRESH_SECS: i64 = 7 * 24 * 60 * 60;
/// Tokens issued this far "in the future" are refused (clock skew allowance).
const MAX_FUTURE_SKEW_SECS: i64 = 60;
/// A token larger than this is refused before decoding.
pub(crate) const MAX_TOKEN_LEN: usize = 8192;
const TYPE: &str = "portal";
const ALGORITHM: &str = "HS256";

/// What a portal token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalClaims {
    /// Always `portal`: a token of another type is refused.
    pub typ: String,
    /// Always `HS256`.
    pub alg: String,
    /// The signing key's id.
    pub kid: String,
    pub org: OrgId,
    pub mode: Mode,
    pub brand: BrandId,
    pub cus: CustomerId,
    pub email: String,
    pub name: Option<String>,
    /// The brand's portal origins when the token was minted (CORS without a read).
    pub origins: Vec<String>,
    /// Issued at / expires at, Unix seconds.
    pub iat: i64,
    pub exp: i64,
    /// When the customer was first let in (minted or signed in by link); refreshes keep
    /// it, and stop after [`MAX_REFRESH_SECS`].
    pub auth: i64,
}

/// Why a token was refused. Callers answer 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PortalTokenError {
    #[error("the portal token is malformed")]
    Malformed,
    #[error("the portal token's signature is not valid")]
    BadSignature,
    #[error("the portal token has expired")]
    Expired,
    #[error("the portal token is not valid yet")]
    NotYetValid,
}

/// One signing key.
#[derive(Clone)]
struct SigningKey {
    id: String,
    secret: Vec<u8>,
}

/// The keys portal tokens are signed and verified with, loaded once at init.
#[derive(Clone)]
pub struct PortalKeys {
    /// The first key signs; every key verifies.
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for PortalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(f, "PortalKeys({ids:?})")
    }
}

impl PortalKeys {
    /// Parses `kid:secret[,kid:secret]` (the `PORTAL_SIGNING_KEYS` setting). Key ids are
    /// 1–16 letters or digits; secrets at least 32 bytes. `None` when malformed.
    pub fn parse(config: &str) -> Option<PortalKeys> {
        let mut pairs = Vec::new();
        for entry in config.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, secret) = entry.split_once(':')?;
            pairs.push((id, secret.as_bytes()));
        }
        PortalKeys::from_pairs(&pairs)
    }

    /// The keys `(kid, secret)`, the signing key first, with the rules of [`parse`]
    /// (`PortalKeys::parse`); the secrets may hold any byte.
    pub fn from_pairs(pairs: &[(&str, &[u8])]) -> Option<PortalKeys> {
        let mut keys = Vec::new();
        for (id, secret) in pairs {
            let id_ok =
                !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric());
            if !id_ok || secret.len() < 32 || keys.iter().any(|k: &SigningKey| k.id == *id) {
                return None;
            }
            keys.push(SigningKey {
                id: id.to_string(),
                secret: secret.to_vec(),
            });
        }
        (!keys.is_empty()).then_some(PortalKeys { keys })
    }

    fn mac(secret: &[u8], signed: &str) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length"); // ok-unwrap: HMAC accepts keys of any length
        mac.update(signed.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The id of the key that signs new tokens.
    pub fn signing_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// A token for `claims`, signed with the first key (whose id replaces `claims.kid`).
    pub fn sign(&self, mut claims: PortalClaims) -> String {
        let key = &self.keys[0];
        claims.kid = key.id.clone();
        claims.typ = TYPE.into();
        claims.alg = ALGORITHM.into();
        let json = serde_json::to_vec(&claims).unwrap_or_default();
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let mac = URL_SAFE_NO_PAD.encode(Self::mac(&key.secret, &signed));
        format!("{signed}.{mac}")
    }

    /// The claims of a token this server signed, whatever its times (to let an expired
    /// token's own origins read the 401 that says so). Never use it to authorize.
    pub fn claims_if_signed(&self, token: &str) -> Option<PortalClaims> {
        self.check_signature(token).ok()
    }

    fn check_signature(&self, token: &str) -> Result<PortalClaims, PortalTokenError> {
        use PortalTokenError::*;
        if token.len() > MAX_TOKEN_LEN {
            return Err(Malformed);
        }
        let (signed, mac) = token.rsplit_once('.').ok_or(Malformed)?;
        let payload = signed.strip_prefix(PREFIX).ok_or(Malformed)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Malformed)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| Malformed)?;
        let claims: PortalClaims = serde_json::from_slice(&json).map_err(|_| Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == claims.kid)
            .ok_or(BadSignature)?;
        if !constant_time_eq(&mac, &Self::mac(&key.secret, signed)) {
            return Err(BadSignature);
        }
        if claims.typ != TYPE || claims.alg != ALGORITHM {
            return Err(Malformed);
        }
        Ok(claims)
    }

    /// The claims of a token this server issued that is valid at `now` (Unix seconds).
    /// Checks, in order: shape, known key id, MAC (constant time), type and algorithm,
    /// then time. No I/O.
    pub fn verify(&self, token: &str, now: i64) -> Result<PortalClaims, PortalTokenError> {
        use PortalTokenError::*;
        let claims = self.check_signature(token)?;
        if claims.iat > now + MAX_FUTURE_SKEW_SECS
            || claims.exp - claims.iat > MAX_TTL_SECS
            || claims.auth > claims.iat
        {
            return Err(NotYetValid);
        }
        if now >= claims.exp {
            return Err(Expired);
        }
        Ok(claims)
    }
}

/// `expiresIn` as the API accepts it: whole seconds, or a duration string `"90s"`,
/// `"30m"`, `"24h"`; 1 second to 24 hours. `None` means the default hour.
pub fn parse_expires_in(value: Option<&serde_json::Value>) -> Result<i64, String> {
    let seconds = match value {
        None | Some(serde_json::Value::Null) => return Ok(DEFAULT_TTL_SECS),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            // The unit is the last character, which may be any character (not a byte).
            let (digits, unit) = match s.char_indices().last() {
                Some((at, _)) => s.split_at(at),
                None => ("", ""),
            };
            let factor = match unit {
                "s" => Some(1),
                "m" => Some(60),
                "h" => Some(3600),
                _ => None,
            };
            factor.and_then(|f| {
                (!digits.is_empty()
                    && digits.len() <= 6
                    && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<i64>().ok().map(|d| d * f))
                .flatten()
            })
        }
        Some(_) => None,
    };
    match seconds {
        Some(s) if (1..=MAX_TTL_SECS).contains(&s) => Ok(s),
        _ => Err("must be seconds (1-86400) or a duration such as \"30m\" or \"24h\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn keys(config: &str) -> PortalKeys {
        PortalKeys::parse(config).unwrap()
    }

    fn claims(iat: i64, exp: i64) -> PortalClaims {
        PortalClaims {
            typ: String::new(),
            alg: String::new(),
            kid: String::new(),
            org: OrgId::generate(1),
            mode: Mode::Live,
            brand: BrandId::generate(1),
            cus: CustomerId::generate(1),
            email: "jo@example.com".into(),
            name: Some("Jo".into()),
            origins: vec!["https://shop.example".into()],
            iat,
            exp,
            auth: iat,
        }
    }

    fn a() -> PortalKeys {
        keys("a:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    }

    /// Re-signs a token whose claims were edited, as an attacker with the key would.
    fn forge(keys: &PortalKeys, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let token = keys.sign(claims(NOW, NOW + 60));
        let (signed, _) = token.rsplit_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(signed.strip_prefix(PREFIX).unwrap())
            .unwrap();
        let mut value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        edit(&mut value);
        let signed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(value.to_string()));
        let mac = URL_SAFE_NO_PAD.encode(PortalKeys::mac(&keys.keys[0].secret, &signed));
        format!("{signed}.{mac}")
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let token = a().sign(claims(NOW, NOW + 3600));
        assert!(token.starts_with("pt_"));
        let got = a().verify(&token, NOW + 10).unwrap();
        assert_eq!(got.kid, "a");
        assert_eq!(got.email, "jo@example.com");
        assert_eq!(got.typ, "portal");
    }

    #[test]
    fn expired_tokens_are_refused() {
        let token = a().sign(claims(NOW, NOW + 60));
        assert_eq!(a().verify(&token, NOW + 60), Err(PortalTokenError::Expired));
    }

    #[test]
    fn future_dated_and_overlong_tokens_are_refused() {
        let future = a().sign(claims(NOW + 3600, NOW + 7200));
        assert_eq!(a().verify(&future, NOW), Err(PortalTokenError::NotYetValid));
        let long = a().sign(claims(NOW, NOW + MAX_TTL_SECS + 1));
        assert_eq!(a().verify(&long, NOW), Err(PortalTokenError::NotYetValid));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let token = a().sign(claims(NOW, NOW + 60));
        let (signed, mac) = token.rsplit_once('.').unwrap();
        // Another customer's id in the claims, the old MAC.
        let other = a().sign(PortalClaims {
            cus: CustomerId::generate(2),
            ..claims(NOW, NOW + 60)
        });
        let (other_signed, _) = other.rsplit_once('.').unwrap();
        assert_eq!(
            a().verify(&format!("{other_signed}.{mac}"), NOW),
            Err(PortalTokenError::BadSignature)
        );
        let mut flipped = mac.to_string();
        flipped.replace_range(0..1, if mac.starts_with('A') { "B" } else { "A" });
        assert_eq!(
            a().verify(&format!("{signed}.{flipped}"), NOW),
            Err(PortalTokenError::BadSignature)
        );
        assert_eq!(a().verify(signed, NOW), Err(PortalTokenError::Malformed));
        assert_eq!(
            a().verify("pt_!!.!!", NOW),
            Err(PortalTokenError::Malformed)
        );
    }

    #[test]
    fn wrong_algorithm_or_type_is_refused_even_when_signed() {
        let none = forge(&a(), |v| v["alg"] = json!("none"));
        assert_eq!(a().verify(&none, NOW), Err(PortalTokenError::Malformed));
        let session = forge(&a(), |v| v["typ"] = json!("session"));
        assert_eq!(a().verify(&session, NOW), Err(PortalTokenError::Malformed));
        let extra = forge(&a(), |v| v["admin"] = json!(true));
        assert_eq!(a().verify(&extra, NOW), Err(PortalTokenError::Malformed));
    }

    #[test]
    fn two_keys_rotate_without_downtime_and_removing_one_revokes_its_tokens() {
        let old = a().sign(claims(NOW, NOW + 600));
        let both =
            keys("b:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,a:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(
            both.verify(&old, NOW).is_ok(),
            "old tokens survive the switch"
        );
        let new = both.sign(claims(NOW, NOW + 600));
        assert_eq!(both.verify(&new, NOW).unwrap().kid, "b");
        let only_b = keys("b:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assert_eq!(
            only_b.verify(&old, NOW),
            Err(PortalTokenError::BadSignature)
        );
        assert!(only_b.verify(&new, NOW).is_ok());
    }

    #[test]
    fn key_configuration_is_strict() {
        assert!(PortalKeys::parse("").is_none());
        assert!(PortalKeys::parse("a:short").is_none());
        assert!(PortalKeys::parse("a-b:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_none());
        assert!(
            PortalKeys::parse(
                "a:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,a:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            )
            .is_none()
        );
    }

    #[test]
    fn expires_in_takes_seconds_or_durations_up_to_a_day() {
        assert_eq!(parse_expires_in(None), Ok(3600));
        assert_eq!(parse_expires_in(Some(&json!(120))), Ok(120));
        assert_eq!(parse_expires_in(Some(&json!("30m"))), Ok(1800));
        assert_eq!(parse_expires_in(Some(&json!("24h"))), Ok(86400));
        assert_eq!(parse_expires_in(Some(&json!("45s"))), Ok(45));
        for bad in [
            json!(0),
            json!(86401),
            json!("25h"),
            json!("1d"),
            json!("m"),
            json!("-5m"),
            json!(1.5),
            json!(true),
        ] {
            assert!(parse_expires_in(Some(&bad)).is_err(), "{bad} accepted");
        }
    }
}
