//! The two reads every adapter makes, written once: a strongly consistent GetItem by key,
//! and a strongly consistent, fully paginated Query of one partition.

use crate::item::{Item, s};
use crate::{DynamoStore, StoreError, keys};

impl DynamoStore {
    /// The item at (`pk`, `sk`), read strongly consistently.
    pub(crate) async fn get(
        &self,
        pk: String,
        sk: impl Into<String>,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(out.item)
    }

    /// Every item of partition `pk` whose sort key starts with `prefix` ("" for all),
    /// strongly consistent, across all pages.
    pub(crate) async fn query(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true);
        request = if prefix.is_empty() {
            request.key_condition_expression("pk = :pk")
        } else {
            request
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix))
        };
        let mut pages = request.into_paginator().items().send();
        let mut out = Vec::new();
        while let Some(item) = pages.next().await {
            out.push(item.map_err(StoreError::backend)?);
        }
        Ok(out)
    }
}
