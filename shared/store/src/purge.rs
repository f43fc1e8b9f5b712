//! Removing what a deleted brand leaves behind, and detaching a deleted customer's
//! tickets (run after the delete, from the table's stream; the API already answers 404
//! for the brand's data, and the customer's portal lists only what the index still holds).

use crate::item::{Item, s, ts};
use crate::{BrandPurge, CustomerCleanup, DynamoStore, StoreError, keys};
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use dispatch_domain::{BrandId, CustomerId, Mode, OrgId, Timestamp};

/// BatchWriteItem takes at most 25 requests.
const BATCH: usize = 25;

fn delete_request(pk: String, sk: String) -> Result<WriteRequest, StoreError> {
    let key: Item = [(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))].into();
    let delete = DeleteRequest::builder()
        .set_key(Some(key))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

impl DynamoStore {
    async fn delete_batch(&self, mut requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        // Unprocessed requests (throttling) are sent again, a bounded number of times.
        for attempt in 0..8u32 {
            if requests.is_empty() {
                return Ok(());
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(StoreError::backend)?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Err(StoreError::Backend(
            "BatchWriteItem kept leaving items unprocessed".into(),
        ))
    }
}

impl BrandPurge for DynamoStore {
    async fn purge_brand(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<usize, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let items = self.query(partition.clone(), "").await?;
        let mut requests = Vec::with_capacity(items.len() + 8);
        for item in &items {
            let Some(sk) = item.get(keys::SK).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            // An intake endpoint's token lookup lives outside the brand's partition.
            if let Some(token) = sk.strip_prefix(keys::INTAKE_SK_PREFIX) {
                requests.push(delete_request(
                    format!("INTAKE#{token}"),
                    keys::INTAKE_SK.to_string(),
                )?);
            }
            requests.push(delete_request(partition.clone(), sk.clone())?);
        }
        let count = requests.len();
        let mut chunks = requests.into_iter().peekable();
        while chunks.peek().is_some() {
            let batch: Vec<WriteRequest> = chunks.by_ref().take(BATCH).collect();
            self.delete_batch(batch).await?;
        }
        Ok(count)
    }
}

impl DynamoStore {
    /// Runs one UpdateItem (`update`, with `values`) on each ticket that the
    /// customer-tickets index lists under the customer (verified or not), on the condition
    /// that the ticket still names the customer (and so still exists: no stub is
    /// created). Returns how many tickets it changed.
    async fn update_customer_tickets(
        &self,
        (org, mode, brand): (&OrgId, Mode, &BrandId),
        customer: &CustomerId,
        update: &str,
        values: Item,
    ) -> Result<usize, StoreError> {
        let mut changed = 0;
        for index_pk in [
            keys::customer_tickets(org, mode, brand, customer),
            keys::unverified_customer_tickets(org, mode, brand, customer),
        ] {
            // The index holds keys only for what it needs; the table key is enough here.
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::CUSTOMER_TICKETS_INDEX)
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(index_pk))
                .projection_expression("pk, sk")
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                let item = item.map_err(StoreError::backend)?;
                let (Some(pk), Some(sk)) = (item.get(keys::PK), item.get(keys::SK)) else {
                    continue;
                };
                let mut all = values.clone();
                all.insert(":c".into(), s(customer.as_str()));
                let request = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(keys::PK, pk.clone())
                    .key(keys::SK, sk.clone())
                    .condition_expression("customerId = :c")
                    .update_expression(update)
                    .set_expression_attribute_values(Some(all));
                if crate::tx::update_if(request).await? {
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }
}

impl CustomerCleanup for DynamoStore {
    async fn detach_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        customer: &CustomerId,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        self.update_customer_tickets(
            (org, mode, brand),
            customer,
            "REMOVE customerId, customerVerified, customerEmail, gsi1pk, gsi1sk \
             SET updatedAt = :now",
            [(":now".to_string(), ts(now))].into(),
        )
        .await
    }

    async fn rewrite_customer_email(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        customer: &CustomerId,
        email: &str,
    ) -> Result<usize, StoreError> {
        // Only what `search` reads: the ticket itself did not change (no `updatedAt`).
        self.update_customer_tickets(
            (org, mode, brand),
            customer,
            "SET customerEmail = :email",
            [(":email".to_string(), s(email.to_lowercase()))].into(),
        )
        .await
    }
}
