//! Project tasks, run as `cargo xtask <task>`:
//!
//! - `routes`: renders everything routes.toml declares (template functions and their IAM,
//!   the local router map, events, the harness's handler calls, the docs' route table);
//!   `routes --check` only reports what is stale;
//! - `invoke <function> [--stage NAME]`: one function with its event against `scripts/dev`
//!   (through `scripts/invoke`, which loads the local environment).

pub mod events;
pub mod fixtures;
pub mod generate;
pub mod http;
pub mod iam;
pub mod invoke;
pub mod mail;
pub mod routes;

use std::path::PathBuf;

/// The workspace root (this crate lives in `tools/xtask`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}
