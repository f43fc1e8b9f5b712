//! Removing what a deleted brand leaves behind (run after the delete, from the table's
//! stream; the API already answers 404 for all of it).

use crate::item::{Item, s};
use crate::{BrandPurge, DynamoStore, StoreError, keys};
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use dispatch_domain::{BrandId, Mode, OrgId};

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
