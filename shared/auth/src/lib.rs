//! The auth crate: every credential Dispatch accepts, and what it grants.
//!
//! - [`credential`]: parse an `Authorization: Bearer …` value by prefix, refusing malformed
//!   tokens before any I/O.
//! - [`api_key`]: generate, checksum, hash and preview `sk_live_`/`sk_test_` secrets.
//! - [`principal`]: who is calling (organization, mode, role, brand scope) and what they may do.
//! - [`grant`]: the stored facts about a credential, turned into a [`Principal`] with expiry
//!   and revocation checked in code.
//!
//! Pure logic only: storage lives in `dispatch-store`, HTTP in `dispatch-http`.

pub mod api_key;
pub mod checksum;
pub mod credential;
pub mod csrf;
pub mod cursor;
pub mod grant;
pub mod hash;
pub mod intake_signature;
pub mod portal_token;
pub mod principal;
pub mod session;
pub mod token;

pub use api_key::ApiKeySecret;
pub use credential::{Credential, CredentialError};
pub use grant::{ApiKeyGrant, AuthError};
pub use hash::{SecretHash, constant_time_eq};
pub use principal::{Actor, BrandScope, Principal, Role};
pub use session::SessionGrant;
pub use token::{OpaqueToken, TokenKind};
