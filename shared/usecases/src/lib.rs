//! The use-cases more than one function package runs, so that every function package is
//! a leaf: opening a ticket (the API, the portal, intake) and declaring and confirming
//! uploads (the API and the portal).

pub mod tickets;
pub mod uploads;
