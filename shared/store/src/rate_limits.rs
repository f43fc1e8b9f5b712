//! Fixed-window rate-limit counters in DynamoDB (shared by every Lambda instance), removed
//! by TTL once their window has passed.

use crate::item::{Reader, n, s};
use crate::{DynamoStore, RateLimitStore, StoreError, keys};
use aws_sdk_dynamodb::types::ReturnValue;
use dispatch_domain::Timestamp;

impl RateLimitStore for DynamoStore {
    async fn count_hit(
        &self,
        bucket: &str,
        window_secs: i64,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let window_start = now.unix() - now.unix().rem_euclid(window_secs);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                keys::PK,
                s(keys::rate_limit(bucket, window_secs, window_start)),
            )
            .key(keys::SK, s(keys::RATE_LIMIT_SK))
            .update_expression("ADD hits :one SET #ttl = :ttl")
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(window_start + window_secs + 60))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let item = out.attributes.unwrap_or_default();
        Reader(&item).u64("hits")
    }
}
