//! Dashboard sign-in: magic links by email, sessions, organizations and switching.
//!
//! - `POST /v1/auth/magic-link` → [`request_magic_link`]
//! - `GET /v1/auth/verify` → [`verify_page`] (a confirm page; consumes nothing)
//! - `POST /v1/auth/verify` → [`verify`]
//! - `GET /v1/auth/session` → [`current_session`]
//! - `POST /v1/auth/logout` → [`logout`]
//! - `GET /v1/auth/organizations` → [`organizations`]
//! - `POST /v1/auth/switch-organization` → [`switch_organization`]

mod magic_link;
mod page;
mod session;
mod settings;
mod views;

pub use magic_link::request_magic_link;
pub use page::verify_page;
pub use session::{current_session, logout, organizations, switch_organization, verify};
pub use settings::SignInSettings;

use dispatch_http::Context;

/// What the sign-in functions need: the shared context, a mailer and sign-in settings.
pub struct SignIn<S, M> {
    pub ctx: Context<S>,
    pub mailer: M,
    pub settings: SignInSettings,
}
