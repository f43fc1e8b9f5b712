//! Fixed-window rate limits over shared counters (one `UpdateItem` per window checked), so
//! every Lambda instance sees the same counts. Every request counts, refused ones too.

use crate::ApiError;
use dispatch_domain::Timestamp;
use dispatch_store::RateLimitStore;

/// One limit: at most `limit` requests per `window_secs` in `bucket`. Buckets should hold
/// hashes rather than addresses, so the table never stores who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub bucket: String,
    pub window_secs: i64,
    pub limit: u64,
}

impl Limit {
    /// One limit per `(window in seconds, hits)` of `windows`, all counted in `bucket`.
    pub fn each(bucket: &str, windows: &[(i64, u64)]) -> Vec<Limit> {
        windows
            .iter()
            .map(|&(window_secs, limit)| Limit {
                bucket: bucket.to_string(),
                window_secs,
                limit,
            })
            .collect()
    }
}

/// Counts the request against every limit and answers 429 (with `Retry-After` for the
/// window that frees up last) if any is exceeded.
pub async fn enforce<S: RateLimitStore>(
    store: &S,
    limits: &[Limit],
    now: Timestamp,
) -> Result<(), ApiError> {
    let mut refused: Option<ApiError> = None;
    for l in limits {
        let hits = store.count_hit(&l.bucket, l.window_secs, now).await?;
        if hits > l.limit {
            let (retry_after, reset_at) = window_reset(now, l.window_secs);
            let later = match &refused {
                Some(ApiError::RateLimited { retry_after: r, .. }) => retry_after > *r,
                _ => true,
            };
            if later {
                refused = Some(ApiError::RateLimited {
                    limit: l.limit,
                    retry_after,
                    reset_at,
                });
            }
        }
    }
    refused.map_or(Ok(()), Err)
}

/// Seconds until the fixed window containing `now` ends, and when (unix seconds).
pub fn window_reset(now: Timestamp, window_secs: i64) -> (i64, i64) {
    let reset_at = now.unix() - now.unix().rem_euclid(window_secs) + window_secs;
    (reset_at - now.unix(), reset_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_resets_at_its_boundary() {
        let t = Timestamp::from_unix(1_000_030);
        assert_eq!(window_reset(t, 60), (50, 1_000_080));
        assert_eq!(
            window_reset(Timestamp::from_unix(1_000_020), 60),
            (60, 1_000_080)
        );
        assert_eq!(window_reset(t, 3600), (770, 1_000_800));
    }
}
