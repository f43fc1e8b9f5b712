//! Bearer credentials, told apart by prefix before any I/O.

use crate::api_key::ApiKeySecret;
use crate::token::{OpaqueToken, TokenKind};

/// Why a credential was refused before it reached storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("no credential was sent")]
    Missing,
    #[error("the credential is malformed")]
    Malformed,
}

/// A parsed bearer credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `sk_live_…` / `sk_test_…`: a server's API key.
    ApiKey(ApiKeySecret),
    /// `sess_…`: a dashboard session (accepted as Bearer for non-browser clients).
    Session(OpaqueToken),
    /// `pt_…`: a portal token, verified by signature.
    Portal(PortalTokenText),
}

/// The raw text of a portal token. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct PortalTokenText(pub String);

impl std::fmt::Debug for PortalTokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortalTokenText(pt_…)")
    }
}

/// Longest bearer value we look at; anything longer is malformed without further work.
const MAX_CREDENTIAL_LEN: usize = 4096;
/// Portal tokens carry their brand's origins (up to 20 of up to 253-character hosts), so
/// they may be longer: up to the portal verifier's own cap.
const MAX_PORTAL_CREDENTIAL_LEN: usize = crate::portal_token::MAX_TOKEN_LEN;

impl Credential {
    /// Parses the value of an `Authorization` header (`Bearer <token>`, scheme
    /// case-insensitive).
    pub fn from_authorization_header(header: Option<&str>) -> Result<Credential, CredentialError> {
        let header = header.ok_or(CredentialError::Missing)?.trim();
        if header.is_empty() {
            return Err(CredentialError::Missing);
        }
        let (scheme, token) = header.split_once(' ').ok_or(CredentialError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(CredentialError::Malformed);
        }
        Credential::parse(token.trim())
    }

    /// Parses a bare token by its prefix.
    pub fn parse(token: &str) -> Result<Credential, CredentialError> {
        let limit = if token.starts_with("pt_") {
            MAX_PORTAL_CREDENTIAL_LEN
        } else {
            MAX_CREDENTIAL_LEN
        };
        if token.is_empty() || token.len() > limit || !token.is_ascii() {
            return Err(CredentialError::Malformed);
        }
        if token.starts_with("sk_") {
            ApiKeySecret::parse(token).map(Credential::ApiKey)
        } else if token.starts_with("sess_") {
            OpaqueToken::parse(TokenKind::Session, token).map(Credential::Session)
        } else if token.starts_with("pt_") {
            Ok(Credential::Portal(PortalTokenText(token.to_string())))
        } else {
            Err(CredentialError::Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispatch_domain::Mode;

    #[test]
    fn dispatches_on_prefix() {
        let key = ApiKeySecret::generate(Mode::Live);
        let header = format!("Bearer {}", key.expose());
        assert_eq!(
            Credential::from_authorization_header(Some(&header)),
            Ok(Credential::ApiKey(key))
        );

        let session = OpaqueToken::generate(TokenKind::Session);
        assert_eq!(
            Credential::parse(session.expose()),
            Ok(Credential::Session(session.clone()))
        );
        assert!(matches!(
            Credential::parse("pt_abc.def"),
            Ok(Credential::Portal(_))
        ));
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let key = ApiKeySecret::generate(Mode::Test);
        let header = format!("bearer {}", key.expose());
        assert!(Credential::from_authorization_header(Some(&header)).is_ok());
    }

    #[test]
    fn missing_and_malformed_are_told_apart() {
        assert_eq!(
            Credential::from_authorization_header(None),
            Err(CredentialError::Missing)
        );
        assert_eq!(
            Credential::from_authorization_header(Some("  ")),
            Err(CredentialError::Missing)
        );
        for bad in [
            "Basic abc",
            "Bearer",
            "Bearer xyz_123",
            "Bearer sk_live_short",
            "Bearer sess_short",
            "Bearer sk_livé",
        ] {
            assert_eq!(
                Credential::from_authorization_header(Some(bad)),
                Err(CredentialError::Malformed),
                "{bad}"
            );
        }
        let huge = format!("Bearer sk_live_{}", "a".repeat(5000));
        assert_eq!(
            Credential::from_authorization_header(Some(&huge)),
            Err(CredentialError::Malformed)
        );
        // Portal tokens carry their brand's origins and may run to 8 KiB, not further.
        let long_portal = format!("Bearer pt_{}", "a".repeat(5000));
        assert!(Credential::from_authorization_header(Some(&long_portal)).is_ok());
        let huge_portal = format!("Bearer pt_{}", "a".repeat(8200));
        assert_eq!(
            Credential::from_authorization_header(Some(&huge_portal)),
            Err(CredentialError::Malformed)
        );
    }
}
