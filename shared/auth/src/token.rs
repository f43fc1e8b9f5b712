//! Opaque random tokens: magic links (`ml_`), sessions (`sess_`), portal magic links
//! (`pml_`). Each is a prefix plus 43 base62 characters (256 random bits); storage sees
//! only its SHA-256.

use crate::credential::CredentialError;
use crate::hash::SecretHash;
use dispatch_domain::random;

const BODY_LEN: usize = 43;

/// Which kind of opaque token, by prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    MagicLink,
    Session,
    PortalMagicLink,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::MagicLink => "ml_",
            TokenKind::Session => "sess_",
            TokenKind::PortalMagicLink => "pml_",
        }
    }
}

/// A token secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken {
    kind: TokenKind,
    value: String,
}

impl OpaqueToken {
    pub fn generate(kind: TokenKind) -> OpaqueToken {
        OpaqueToken {
            kind,
            value: format!("{}{}", kind.prefix(), random::base62(BODY_LEN)),
        }
    }

    /// Accepts only a well-formed token of `kind`.
    pub fn parse(kind: TokenKind, raw: &str) -> Result<OpaqueToken, CredentialError> {
        let body = raw
            .strip_prefix(kind.prefix())
            .ok_or(CredentialError::Malformed)?;
        if body.len() == BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(OpaqueToken {
                kind,
                value: raw.to_string(),
            })
        } else {
            Err(CredentialError::Malformed)
        }
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.value)
    }

    /// The token itself, for the one place it is handed out (an email, a cookie).
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpaqueToken({}…)", self.kind.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_back_only_as_their_kind() {
        for kind in [
            TokenKind::MagicLink,
            TokenKind::Session,
            TokenKind::PortalMagicLink,
        ] {
            let t = OpaqueToken::generate(kind);
            assert!(t.expose().starts_with(kind.prefix()));
            assert_eq!(OpaqueToken::parse(kind, t.expose()), Ok(t.clone()));
        }
        let ml = OpaqueToken::generate(TokenKind::MagicLink);
        assert!(OpaqueToken::parse(TokenKind::Session, ml.expose()).is_err());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "ml_",
            "ml_short",
            &format!("ml_{}", "a".repeat(44)),
            &format!("ml_{}!", "a".repeat(42)),
        ] {
            assert!(
                OpaqueToken::parse(TokenKind::MagicLink, bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens_carry_256_bits_and_do_not_repeat() {
        assert!(43.0 * 62f64.log2() >= 256.0);
        assert_ne!(
            OpaqueToken::generate(TokenKind::Session),
            OpaqueToken::generate(TokenKind::Session)
        );
    }

    #[test]
    fn debug_does_not_leak_the_token() {
        let t = OpaqueToken::generate(TokenKind::Session);
        assert!(!format!("{t:?}").contains(&t.expose()[5..]));
    }
}
