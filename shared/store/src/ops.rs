//! The two reads every adapter makes, written once: a strongly consistent GetItem by key,
//! and a strongly consistent, fully paginated Query of one partition.

use crate::item::{Item, s};
use crate::{DynamoStore, StoreError, keys};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use dispatch_domain::{BrandId, Mode, OrgId};

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

    /// The item at (`brand`'s partition, `sk`), but only while the brand itself exists:
    /// both are read in one `BatchGetItem` round trip, so a deleted brand's tickets and
    /// customers are gone the moment the brand is (their items are cleaned up later).
    pub(crate) async fn get_in_brand(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        sk: String,
    ) -> Result<Option<Item>, StoreError> {
        let brand_key: Item = [
            (keys::PK.to_string(), s(keys::tenant(org, mode))),
            (keys::SK.to_string(), s(keys::brand_sk(brand))),
        ]
        .into();
        let item_key: Item = [
            (
                keys::PK.to_string(),
                s(keys::brand_partition(org, mode, brand)),
            ),
            (keys::SK.to_string(), s(sk)),
        ]
        .into();
        let mut wanted = KeysAndAttributes::builder()
            .keys(brand_key.clone())
            .keys(item_key.clone())
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut found: Vec<Item> = Vec::new();
        // DynamoDB may leave keys unprocessed under load; ask again for those (bounded).
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .await
                .map_err(StoreError::backend)?;
            if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                found.extend(items);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => wanted = rest,
                _ => {
                    let has = |key: &Item| {
                        found.iter().any(|i| {
                            i.get(keys::PK) == key.get(keys::PK)
                                && i.get(keys::SK) == key.get(keys::SK)
                        })
                    };
                    if !has(&brand_key) {
                        return Ok(None);
                    }
                    return Ok(found.into_iter().find(|i| {
                        i.get(keys::PK) == item_key.get(keys::PK)
                            && i.get(keys::SK) == item_key.get(keys::SK)
                    }));
                }
            }
        }
        // Only load leaves keys unprocessed: the table is throttling us.
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed".into(),
        ))
    }

    /// Deletes and returns the item at (`pk`, `sk`) if it exists and its `expiresAt` is
    /// after `now`: one conditional delete, so of two concurrent callers exactly one gets
    /// it (single-use tokens), and an expired item is refused even before TTL removes it.
    pub(crate) async fn take_unexpired(
        &self,
        pk: String,
        sk: &str,
        now: dispatch_domain::Timestamp,
    ) -> Result<Option<Item>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .condition_expression("attribute_exists(pk) AND expiresAt > :now")
            .expression_attribute_values(":now", crate::item::n(now.unix()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes),
            Err(e) if crate::tx::condition_failed(&e) => Ok(None),
            Err(e) => Err(StoreError::backend(e)),
        }
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

impl DynamoStore {
    /// The tickets of `partition` that `filter` (over `values`) keeps, with the attributes
    /// `projection` names: one filtered pass over every page of the brand's tickets (billed
    /// per ticket read). The stream's fan-out passes read tickets through this.
    pub(crate) async fn tickets_where(
        &self,
        partition: String,
        filter: &str,
        values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
        projection: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .filter_expression(filter)
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":prefix", s(keys::TICKET_SK_PREFIX))
            .projection_expression(projection);
        for (name, value) in values {
            request = request.expression_attribute_values(*name, value.clone());
        }
        let mut pages = request.into_paginator().items().send();
        let mut out = Vec::new();
        while let Some(item) = pages.next().await {
            out.push(item.map_err(StoreError::backend)?);
        }
        Ok(out)
    }

    /// The items at `wanted` (`(pk, sk)` pairs), strongly consistent, in one BatchGetItem
    /// per 100 keys; missing items are simply absent. Keys DynamoDB leaves unprocessed
    /// under load are asked for again (bounded).
    pub(crate) async fn batch_get(
        &self,
        wanted: &[(String, String)],
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(100) {
            let key_list: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| {
                    [
                        (keys::PK.to_string(), s(pk.as_str())),
                        (keys::SK.to_string(), s(sk.as_str())),
                    ]
                    .into()
                })
                .collect();
            let mut request = Some(crate::tx::build(
                KeysAndAttributes::builder()
                    .set_keys(Some(key_list))
                    .consistent_read(true)
                    .build(),
            )?);
            let mut tries = 0;
            while let Some(keys_and_attributes) = request.take() {
                tries += 1;
                if tries > 5 {
                    // Only load leaves keys unprocessed: the table is throttling us.
                    return Err(StoreError::Unavailable(
                        "BatchGetItem left keys unprocessed".into(),
                    ));
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys_and_attributes)
                    .send()
                    .await
                    .map_err(StoreError::backend)?;
                found.extend(
                    out.responses
                        .unwrap_or_default()
                        .remove(&self.table)
                        .unwrap_or_default(),
                );
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(found)
    }

    /// Up to `limit` items of partition `pk` whose sort key starts with `prefix`, after the
    /// `start` key; plus the sort key to continue after when more exist. Asks for one item
    /// more than the page, so "more exist" is exact rather than DynamoDB's "maybe".
    pub(crate) async fn query_page(
        &self,
        pk: String,
        prefix: &str,
        start: Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
        limit: usize,
        options: &PageOptions,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let mut out: Vec<Item> = Vec::with_capacity(limit + 1);
        let mut start = start;
        let mut reads: u32 = 0;
        // A page can come back short of the limit (1 MB responses, or a filter that left
        // items out): keep reading, up to `max_reads`.
        loop {
            // Index reads are eventually consistent (DynamoDB offers nothing else there).
            let (pk_attr, sk_attr, consistent) = match options.index {
                Some(index) => (index.pk, index.sk, false),
                None => (keys::PK, keys::SK, true),
            };
            let key_condition = if prefix.is_empty() {
                format!("{pk_attr} = :pk")
            } else {
                format!("{pk_attr} = :pk AND begins_with({sk_attr}, :prefix)")
            };
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(options.index.map(|i| i.name.to_string()))
                .key_condition_expression(key_condition)
                .consistent_read(consistent)
                .scan_index_forward(!options.newest_first)
                .limit(read_limit(limit + 1 - out.len(), reads, options))
                .set_exclusive_start_key(start)
                .set_filter_expression(options.filter.clone())
                .set_expression_attribute_names(
                    (!options.names.is_empty()).then(|| options.names.clone()),
                )
                .set_expression_attribute_values(Some({
                    let mut values = options.values.clone();
                    values.insert(":pk".into(), s(pk.clone()));
                    if !prefix.is_empty() {
                        values.insert(":prefix".into(), s(prefix));
                    }
                    values
                }))
                .send()
                .await
                .map_err(StoreError::backend)?;
            reads += 1;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if out.len() > limit || start.is_none() {
                break;
            }
            // The read budget is spent: a short (even empty) page, continued from where
            // the reading stopped.
            if options.max_reads.is_some_and(|max| reads >= max) {
                let next = start.as_ref().and_then(|key| options.cursor_of(key));
                return Ok((out, next));
            }
        }
        if out.len() > limit {
            out.truncate(limit);
            let next = out.last().and_then(|item| options.cursor_of(item));
            Ok((out, next))
        } else {
            Ok((out, None))
        }
    }
}

/// How to read a page: a filter applied after the key condition (DynamoDB reads, then
/// filters; the loop in `query_page` keeps reading until the page is full), and the order.
#[derive(Debug, Clone, Default)]
pub(crate) struct PageOptions {
    pub filter: Option<String>,
    pub names: std::collections::HashMap<String, String>,
    pub values: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    pub newest_first: bool,
    /// Read this global secondary index instead of the table.
    pub index: Option<Index>,
    /// What a page's `next` says, from the last item's keys (the table's, and an index's
    /// when one is read); `None`: its sort key `sk`.
    pub cursor: Option<fn(&Item) -> Option<String>>,
    /// At most this many Query calls per page (each reads at most 1 MB): a filter that
    /// matches little then answers a short page and a cursor instead of reading on.
    pub max_reads: Option<u32>,
}

impl PageOptions {
    fn cursor_of(&self, key: &Item) -> Option<String> {
        match self.cursor {
            Some(cursor) => cursor(key),
            None => key.get(keys::SK).and_then(|v| v.as_s().ok()).cloned(),
        }
    }
}

/// A global secondary index: its name and key attributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    /// Matched by `begins_with` when a page asks for a prefix (an empty one: the whole
    /// partition, in this key's order).
    pub sk: &'static str,
}

/// The `Limit` of a page's next Query, which caps the items it *reads* (a filter drops
/// some afterwards): what the page still needs, and with a filter four times more on each
/// further read, so a filter that matches little reaches far within the read budget while
/// one that matches most reads little more than the page.
fn read_limit(need: usize, reads: u32, options: &PageOptions) -> i32 {
    let limit = if options.filter.is_some() {
        need.saturating_mul(4usize.saturating_pow(reads))
    } else {
        need
    };
    i32::try_from(limit).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_reads_grow_fourfold_and_unfiltered_ones_ask_for_what_is_missing() {
        let filtered = PageOptions {
            filter: Some("x = :x".into()),
            ..PageOptions::default()
        };
        let plain = PageOptions::default();
        assert_eq!(
            (0..4)
                .map(|r| read_limit(21, r, &filtered))
                .collect::<Vec<_>>(),
            [21, 84, 336, 1344]
        );
        assert_eq!(read_limit(21, 3, &plain), 21);
        assert_eq!(read_limit(usize::MAX, 2, &filtered), i32::MAX);
    }
}
