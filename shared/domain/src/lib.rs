//! Dispatch's domain: the vocabulary every crate shares.
//!
//! Everything here is pure: no I/O, no AWS. Input becomes one of these typed values at the
//! edge (the HTTP layer) and inner code never re-validates strings.

pub mod attachment;
pub mod brand;
pub mod category;
pub mod clock;
pub mod customer;
pub mod email;
pub mod field;
pub mod ids;
pub mod intake;
pub mod mode;
pub mod random;
pub mod tag;
pub mod ticket;
pub mod validation;
pub mod webhook;

pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use email::Email;
pub use ids::{
    AccountId, AttachmentId, BrandId, CategoryId, CommentId, CustomerId, DeliveryId, EventId,
    IntakeToken, KeyId, MemberId, OrgId, SessionId, TagId, TicketId, WebhookId,
};
pub use mode::Mode;
pub use validation::{FieldError, FieldErrors};
