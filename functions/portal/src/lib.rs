//! Portal tokens and the customer portal API (spec §4.4, §4.5).
//!
//! Tokens ([`tokens`]):
//! - `POST /v1/brands/{brandId}/portal/token` → [`tokens::mint`] (API key or owner/admin session)
//! - `POST /v1/brands/{brandId}/portal/magic-link` → [`tokens::magic_link`] (API key)
//! - `POST /v1/portal/verify` → [`tokens::verify`] (a `pml_` link token, once)
//! - `POST /v1/portal/refresh` → [`tokens::refresh`] (portal token)
//!
//! What a customer can do with a portal token ([`tickets`], [`attachments`]):
//! - `GET` / `POST /v1/portal/tickets`, `GET /v1/portal/tickets/{ticketId}`
//! - `POST /v1/portal/tickets/{ticketId}/comments`
//! - `POST /v1/portal/tickets/{ticketId}/attachments`, `POST /v1/portal/tickets/attachments/pending`,
//!   `POST …/{attachmentId}/confirm` (both forms), `GET …/attachments[/{attachmentId}]`
//!
//! And `OPTIONS` on every path → [`preflight::preflight`].

pub mod attachments;
pub mod preflight;
pub mod tickets;
pub mod tokens;

use dispatch_http::Context;

/// The attachment routes' dependencies.
pub struct Portal<S, F> {
    pub ctx: Context<S>,
    pub files: F,
}

/// The portal sign-in link route's dependencies.
pub struct PortalMail<S, M> {
    pub ctx: Context<S>,
    pub mailer: M,
}
