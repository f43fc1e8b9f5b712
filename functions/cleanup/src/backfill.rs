//! `ticket-backfill`: run by hand after an upgrade (docs/deployment.md), never by an event.
//!
//! Tickets written before the ticket-order indexes and the list's `search` lack
//! `ticketsPk`, `prioritySk` and `searchText`, so `sort=updatedAt|priority` and `search`
//! miss them. This Scans the table and gives each such ticket what it lacks; it stops
//! before its time is up and answers where to go on, so it is run until `done`.

use dispatch_store::{BackfillPage, DynamoStore, StoreError};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Where to start: nothing on the first run, then the previous run's `after`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    pub after: Option<TableKey>,
}

/// A key of the table, as the Scan reported it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TableKey {
    pub pk: String,
    pub sk: String,
}

/// What one run did, and whether the table has been read to its end.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct BackfillReport {
    pub scanned: usize,
    pub updated: usize,
    pub done: bool,
    /// The next run's `after` (absent when done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<TableKey>,
}

/// Reads pages until the table ends or `budget` is spent (a page started is finished).
pub async fn run(
    store: &DynamoStore,
    request: BackfillRequest,
    budget: Duration,
) -> Result<BackfillReport, StoreError> {
    let started = Instant::now();
    let mut after = request.after.map(|k| (k.pk, k.sk));
    let mut report = BackfillReport {
        scanned: 0,
        updated: 0,
        done: false,
        after: None,
    };
    loop {
        let BackfillPage {
            scanned,
            updated,
            next,
        } = store.backfill_tickets(after).await?;
        report.scanned += scanned;
        report.updated += updated;
        after = next;
        match &after {
            None => {
                report.done = true;
                return Ok(report);
            }
            Some((pk, sk)) if started.elapsed() >= budget => {
                report.after = Some(TableKey {
                    pk: pk.clone(),
                    sk: sk.clone(),
                });
                return Ok(report);
            }
            Some(_) => {}
        }
    }
}
