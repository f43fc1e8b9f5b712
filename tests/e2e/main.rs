//! The end-to-end suite. Run it with `scripts/test`, which starts the local AWS emulator
//! and exports its endpoint; the handlers here talk to it over DynamoDB's real wire protocol.

mod helpers;

mod abuse;
mod accounts;
mod api_keys;
mod attachments;
mod auth;
mod brands;
mod categories;
mod comments;
mod consistency;
mod customers;
mod email;
mod faults;
mod fields;
mod iam;
mod intake;
mod invoke;
mod matrix;
mod members;
mod outbound_mail;
mod portal;
mod replay;
#[rustfmt::skip]
mod routes;
mod sessions;
mod storage;
mod tags;
mod tickets;
mod webhooks;
