//! Time: one injectable clock, and timestamps that print as the API's ISO-8601 UTC.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time with second precision (what the API shows and expiry compares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub fn unix(self) -> i64 {
        self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds))
    }

    /// Parses an RFC 3339 timestamp (`2026-11-28T19:26:14Z`, offsets allowed).
    pub fn parse(s: &str) -> Option<Timestamp> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| Timestamp(t.unix_timestamp()))
    }

    /// The UTC calendar month it falls in, `2026-11`: usage counts tickets per month.
    pub fn month(self) -> String {
        self.to_rfc3339()[..7].to_string()
    }

    /// `2026-11-28T19:26:14Z`.
    pub fn to_rfc3339(self) -> String {
        match OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => {
                let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
                let (h, mi, s) = (t.hour(), t.minute(), t.second());
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            }
            // Out of range for time's calendar: only reachable from corrupted data.
            Err(_) => "1970-01-01T00:00:00Z".to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Where "now" comes from. Handlers take a clock so tests can move time without sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;

    /// Milliseconds since the epoch, for time-sortable ids.
    fn now_millis(&self) -> i64 {
        self.now().unix() * 1000
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }

    fn now_millis(&self) -> i64 {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// A clock tests set and advance by hand.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(t: Timestamp) -> FixedClock {
        FixedClock(AtomicI64::new(t.unix()))
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_utc_with_z() {
        assert_eq!(
            Timestamp::from_unix(1_795_893_974).to_rfc3339(),
            "2026-11-28T19:26:14Z"
        );
    }

    #[test]
    fn parse_round_trips_and_accepts_offsets() {
        let t = Timestamp::parse("2026-11-28T19:26:14Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-28T19:26:14Z");
        let offset = Timestamp::parse("2026-11-28T20:26:14+01:00").unwrap();
        assert_eq!(offset, t);
        assert!(Timestamp::parse("yesterday").is_none());
    }

    #[test]
    fn fixed_clock_advances() {
        let clock = FixedClock::at(Timestamp::from_unix(100));
        clock.advance(60);
        assert_eq!(clock.now().unix(), 160);
    }
}
