//! API key secrets: `sk_live_` / `sk_test_` + 43 base62 characters (256 random bits) +
//! a 6-character base62 CRC-32 of everything before it.

use crate::checksum::base62_checksum;
use crate::credential::CredentialError;
use crate::hash::{SecretHash, constant_time_eq};
use dispatch_domain::{Mode, random};

const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;

/// A full API key secret. It exists in memory only while a request is handled, and is
/// shown to a user exactly once, at creation. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    mode: Mode,
    value: String,
}

fn prefix(mode: Mode) -> &'static str {
    match mode {
        Mode::Live => "sk_live_",
        Mode::Test => "sk_test_",
    }
}

impl ApiKeySecret {
    /// A fresh secret for `mode`.
    pub fn generate(mode: Mode) -> ApiKeySecret {
        let mut value = String::with_capacity(8 + RANDOM_LEN + CHECKSUM_LEN);
        value.push_str(prefix(mode));
        value.push_str(&random::base62(RANDOM_LEN));
        let checksum = base62_checksum(value.as_bytes());
        value.push_str(&checksum);
        ApiKeySecret { mode, value }
    }

    /// Accepts only a well-formed key whose checksum matches.
    pub fn parse(raw: &str) -> Result<ApiKeySecret, CredentialError> {
        let mode = if raw.starts_with("sk_live_") {
            Mode::Live
        } else if raw.starts_with("sk_test_") {
            Mode::Test
        } else {
            return Err(CredentialError::Malformed);
        };
        let body = &raw[8..];
        if body.len() != RANDOM_LEN + CHECKSUM_LEN
            || !body.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CredentialError::Malformed);
        }
        let (signed, checksum) = raw.split_at(raw.len() - CHECKSUM_LEN);
        if !constant_time_eq(
            base62_checksum(signed.as_bytes()).as_bytes(),
            checksum.as_bytes(),
        ) {
            return Err(CredentialError::Malformed);
        }
        Ok(ApiKeySecret {
            mode,
            value: raw.to_string(),
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The hash under which the key is stored and looked up.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.value)
    }

    /// What a list shows: the prefix and the last four characters (`sk_live_...a1B2`).
    pub fn preview(&self) -> String {
        format!(
            "{}...{}",
            prefix(self.mode),
            &self.value[self.value.len() - 4..]
        )
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({})", self.preview())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_format() {
        let key = ApiKeySecret::generate(Mode::Live);
        let s = key.expose();
        assert!(s.starts_with("sk_live_"));
        assert_eq!(s.len(), 8 + 43 + 6);
        assert!(s[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            ApiKeySecret::generate(Mode::Test)
                .expose()
                .starts_with("sk_test_")
        );
    }

    #[test]
    fn generated_keys_parse_back_with_their_mode() {
        for mode in [Mode::Live, Mode::Test] {
            let key = ApiKeySecret::generate(mode);
            let parsed = ApiKeySecret::parse(key.expose()).unwrap();
            assert_eq!(parsed.mode(), mode);
            assert!(parsed.hash().matches(&key.hash()));
        }
    }

    #[test]
    fn keys_do_not_repeat() {
        let keys: std::collections::HashSet<String> = (0..1000)
            .map(|_| ApiKeySecret::generate(Mode::Live).expose().to_string())
            .collect();
        assert_eq!(keys.len(), 1000);
    }

    #[test]
    fn random_part_carries_at_least_256_bits() {
        // 43 uniformly drawn base62 characters: 43 * log2(62) bits.
        assert!(43.0 * 62f64.log2() >= 256.0);
    }

    #[test]
    fn a_single_typo_fails_the_checksum() {
        let key = ApiKeySecret::generate(Mode::Live);
        let s = key.expose();
        for i in 8..s.len() {
            let mut bytes = s.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(bytes).unwrap();
            assert_eq!(
                ApiKeySecret::parse(&typo),
                Err(CredentialError::Malformed),
                "position {i}"
            );
        }
    }

    #[test]
    fn truncated_extended_or_foreign_keys_are_malformed() {
        let key = ApiKeySecret::generate(Mode::Test);
        let s = key.expose();
        assert!(ApiKeySecret::parse(&s[..s.len() - 1]).is_err());
        assert!(ApiKeySecret::parse(&format!("{s}x")).is_err());
        assert!(ApiKeySecret::parse(&s.replace("sk_test_", "sk_prod_")).is_err());
        assert!(
            ApiKeySecret::parse(&s.replace("sk_test_", "sk_live_")).is_err(),
            "mode is covered by the checksum"
        );
        assert!(ApiKeySecret::parse("sk_live_").is_err());
    }

    #[test]
    fn preview_shows_prefix_and_last_four_only() {
        let key = ApiKeySecret::generate(Mode::Live);
        let preview = key.preview();
        assert!(preview.starts_with("sk_live_..."));
        assert!(key.expose().ends_with(&preview[preview.len() - 4..]));
        assert_eq!(preview.len(), "sk_live_...".len() + 4);
        assert!(!format!("{key:?}").contains(key.expose()));
    }
}
