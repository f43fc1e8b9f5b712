//! Webhooks and their delivery log, in the brand's partition. A brand's count of webhooks is
//! its own item, written in the same transaction as every create and delete, so the cap
//! holds under concurrent creates (and ticket creates, which write the brand item, never
//! contend with it).

use crate::item::{Item, Reader, b, list, n, s, ts};
use crate::{DynamoStore, StoreError, WebhookChange, WebhookStore, keys, tx};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};
use dispatch_domain::webhook::{
    DeliveryStatus, MAX_IN_FLIGHT, MAX_WEBHOOKS_PER_BRAND, Webhook, WebhookDelivery, WebhookEvent,
    WebhookUrl,
};
use dispatch_domain::{BrandId, DeliveryId, Mode, OrgId, Timestamp, WebhookId};
use std::collections::HashMap;

fn events_attr(events: &[WebhookEvent]) -> AttributeValue {
    list(events.iter().map(|e| e.as_str().to_string()))
}

fn fields(w: &Webhook, sealed_secret: &[u8]) -> Item {
    let mut item: Item = [
        (
            keys::PK.into(),
            s(keys::brand_partition(&w.org_id, w.mode, &w.brand_id)),
        ),
        (keys::SK.into(), s(keys::webhook_sk(&w.id))),
        ("type".into(), s("webhook")),
        ("id".into(), s(w.id.as_str())),
        ("orgId".into(), s(w.org_id.as_str())),
        ("mode".into(), s(w.mode.as_str())),
        ("brandId".into(), s(w.brand_id.as_str())),
        ("url".into(), s(w.url.as_str())),
        ("events".into(), events_attr(&w.events)),
        ("enabled".into(), b(w.enabled)),
        ("failureCount".into(), n(w.failure_count)),
        (
            "secret".into(),
            AttributeValue::B(Blob::new(sealed_secret.to_vec())),
        ),
        ("createdAt".into(), ts(w.created_at)),
        ("updatedAt".into(), ts(w.updated_at)),
    ]
    .into();
    if let Some(t) = w.last_triggered {
        item.insert("lastTriggered".into(), ts(t));
    }
    if let Some(t) = w.last_failure {
        item.insert("lastFailure".into(), ts(t));
    }
    item
}

fn webhook_from(item: &Item) -> Result<Webhook, StoreError> {
    let r = Reader(item);
    let events = r
        .strings("events")?
        .iter()
        .map(|e| WebhookEvent::parse(e))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::Corrupt("events".into()))?;
    Ok(Webhook {
        id: r.parsed("id", WebhookId::parse)?,
        org_id: r.parsed("orgId", OrgId::parse)?,
        mode: r.parsed("mode", Mode::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        url: r.parsed("url", |u| WebhookUrl::parse(u).ok())?,
        events,
        enabled: r.bool("enabled")?,
        failure_count: u32::try_from(r.u64("failureCount")?)
            .map_err(|_| StoreError::Corrupt("failureCount".into()))?,
        last_triggered: r.opt_timestamp("lastTriggered")?,
        last_failure: r.opt_timestamp("lastFailure")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
    })
}

fn delivery_from(item: &Item) -> Result<WebhookDelivery, StoreError> {
    let r = Reader(item);
    let small = |name: &str| -> Result<Option<u32>, StoreError> {
        r.opt_i64(name)?
            .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt(name.into())))
            .transpose()
    };
    Ok(WebhookDelivery {
        id: r.parsed("id", DeliveryId::parse)?,
        webhook_id: r.parsed("webhookId", WebhookId::parse)?,
        event: r.parsed("event", WebhookEvent::parse)?,
        payload: r.string("payload")?,
        status: r.parsed("status", DeliveryStatus::parse)?,
        attempts: small("attempts")?.unwrap_or(0),
        last_attempt: r.opt_timestamp("lastAttempt")?,
        response_code: small("responseCode")?
            .map(|c| u16::try_from(c).map_err(|_| StoreError::Corrupt("responseCode".into())))
            .transpose()?,
        response_body: r.opt_string("responseBody")?,
        error: r.opt_string("error")?,
        next_attempt_at: r.opt_timestamp("nextAttemptAt")?,
        created_at: r.timestamp("createdAt")?,
    })
}

impl WebhookStore for DynamoStore {
    async fn create_webhook(
        &self,
        webhook: &Webhook,
        sealed_secret: &[u8],
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(&webhook.org_id, webhook.mode, &webhook.brand_id);
        let count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition))
            .key(keys::SK, s(keys::WEBHOOK_COUNT_SK))
            .update_expression("SET #count = if_not_exists(#count, :zero) + :one")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(MAX_WEBHOOKS_PER_BRAND));
        self.client
            .transact_write_items()
            .transact_items(tx::put_new(&self.table, fields(webhook, sealed_secret))?)
            .transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(count.build())?)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| tx::classify(e, &[1], "webhook_limit"))?;
        Ok(())
    }

    async fn webhooks(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<Vec<Webhook>, StoreError> {
        self.query(
            keys::brand_partition(org, mode, brand),
            keys::WEBHOOK_SK_PREFIX,
        )
        .await?
        .iter()
        .map(webhook_from)
        .collect()
    }

    async fn webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> Result<Option<Webhook>, StoreError> {
        // One GetItem: the handlers have read the brand already (`reachable_brand`).
        self.get(
            keys::brand_partition(org, mode, brand),
            keys::webhook_sk(id),
        )
        .await?
        .as_ref()
        .map(webhook_from)
        .transpose()
    }

    async fn update_webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        change: &WebhookChange,
    ) -> Result<Webhook, StoreError> {
        let mut sets = vec!["updatedAt = :updatedAt".to_string()];
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":updatedAt".to_string(), ts(change.updated_at))]);
        let mut names: HashMap<String, String> = HashMap::new();
        let mut set = |name: &str, value: AttributeValue| {
            sets.push(format!("#{name} = :{name}"));
            names.insert(format!("#{name}"), name.to_string());
            values.insert(format!(":{name}"), value);
        };
        if let Some(url) = &change.url {
            set("url", s(url.as_str()));
        }
        if let Some(events) = &change.events {
            set("events", events_attr(events));
        }
        if let Some(enabled) = change.enabled {
            set("enabled", b(enabled));
            if enabled {
                // Turned back on: the count of consecutive failures starts again.
                set("failureCount", n(0));
            }
        }
        if let Some(sealed) = &change.sealed_secret {
            set("secret", AttributeValue::B(Blob::new(sealed.clone())));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
            .key(keys::SK, s(keys::webhook_sk(id)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => webhook_from(&out.attributes.unwrap_or_default()),
            Err(e) if tx::condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn delete_webhook(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::webhook_sk(id)))
            .condition_expression("attribute_exists(pk)");
        let count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition))
            .key(keys::SK, s(keys::WEBHOOK_COUNT_SK))
            .update_expression("ADD #count :minus")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":minus", n(-1));
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .delete(tx::build(delete.build())?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(count.build())?)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn deliveries(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        webhook: &WebhookId,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let (items, _) = self
            .query_page(
                keys::brand_partition(org, mode, brand),
                &keys::delivery_prefix(webhook),
                None,
                limit,
                &crate::ops::PageOptions {
                    newest_first: true,
                    ..Default::default()
                },
            )
            .await?;
        items.iter().map(delivery_from).collect()
    }

    async fn create_delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        delivery: &WebhookDelivery,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(org, mode, brand, delivery)))
            .condition_expression("attribute_not_exists(pk)")
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if tx::condition_failed(&e) => Ok(false),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        webhook: &WebhookId,
        id: &DeliveryId,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        self.get(
            keys::brand_partition(org, mode, brand),
            keys::delivery_sk(webhook, id),
        )
        .await?
        .as_ref()
        .map(delivery_from)
        .transpose()
    }

    async fn webhook_with_secret(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
    ) -> Result<Option<(Webhook, Vec<u8>)>, StoreError> {
        let Some(item) = self
            .get(
                keys::brand_partition(org, mode, brand),
                keys::webhook_sk(id),
            )
            .await?
        else {
            return Ok(None);
        };
        match item.get("secret") {
            Some(AttributeValue::B(blob)) => {
                Ok(Some((webhook_from(&item)?, blob.as_ref().to_vec())))
            }
            _ => Err(StoreError::Corrupt("secret".into())),
        }
    }

    async fn count_attempt(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        success: bool,
        now: Timestamp,
    ) -> Result<Webhook, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
            .key(keys::SK, s(keys::webhook_sk(id)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", ts(now))
            .return_values(ReturnValue::AllNew);
        let request = if success {
            request
                .update_expression("SET failureCount = :zero, lastTriggered = :now")
                .expression_attribute_values(":zero", n(0))
        } else {
            request
                .update_expression(
                    "ADD failureCount :one SET lastFailure = :now, lastTriggered = :now",
                )
                .expression_attribute_values(":one", n(1))
        };
        match request.send().await {
            Ok(out) => webhook_from(&out.attributes.unwrap_or_default()),
            Err(e) if tx::condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn acquire_delivery_slot(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<u8>, StoreError> {
        for slot in 0..MAX_IN_FLIGHT {
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
                .key(keys::SK, s(keys::webhook_sk(id)))
                .update_expression("SET #slot = :until")
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(#slot) OR #slot <= :now)",
                )
                .expression_attribute_names("#slot", format!("slot{slot}"))
                .expression_attribute_values(":until", ts(until))
                .expression_attribute_values(":now", ts(now))
                .customize()
                .config_override(crate::retry::answer_or_nothing())
                .send()
                .await;
            match out {
                Ok(_) => return Ok(Some(slot)),
                Err(e) if tx::condition_failed(&e) => continue,
                Err(e) => return Err(StoreError::backend(e)),
            }
        }
        Ok(None)
    }

    async fn release_delivery_slot(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &WebhookId,
        slot: u8,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
            .key(keys::SK, s(keys::webhook_sk(id)))
            .update_expression("REMOVE #slot")
            .condition_expression("#slot = :until")
            .expression_attribute_names("#slot", format!("slot{slot}"))
            .expression_attribute_values(":until", ts(until))
            .send()
            .await;
        match out {
            // Taken over after its expiry, or the webhook is gone: nothing to give back.
            Ok(_) => Ok(()),
            Err(e) if tx::condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn put_delivery(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        delivery: &WebhookDelivery,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(org, mode, brand, delivery)))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}

fn delivery_item(org: &OrgId, mode: Mode, brand: &BrandId, delivery: &WebhookDelivery) -> Item {
    {
        let mut item: Item = [
            (keys::PK.into(), s(keys::brand_partition(org, mode, brand))),
            (
                keys::SK.into(),
                s(keys::delivery_sk(&delivery.webhook_id, &delivery.id)),
            ),
            ("type".into(), s("webhookDelivery")),
            ("id".into(), s(delivery.id.as_str())),
            ("webhookId".into(), s(delivery.webhook_id.as_str())),
            ("event".into(), s(delivery.event.as_str())),
            ("payload".into(), s(&delivery.payload)),
            ("status".into(), s(delivery.status.as_str())),
            ("attempts".into(), n(delivery.attempts)),
            ("createdAt".into(), ts(delivery.created_at)),
            (
                keys::TTL.into(),
                ts(Timestamp::from_unix(
                    delivery.created_at.unix() + dispatch_domain::webhook::DELIVERY_RETENTION_SECS,
                )),
            ),
        ]
        .into();
        let mut opt = |name: &str, value: Option<AttributeValue>| {
            if let Some(v) = value {
                item.insert(name.into(), v);
            }
        };
        opt("lastAttempt", delivery.last_attempt.map(ts));
        opt("responseCode", delivery.response_code.map(n));
        opt("responseBody", delivery.response_body.as_deref().map(s));
        opt("error", delivery.error.as_deref().map(s));
        opt("nextAttemptAt", delivery.next_attempt_at.map(ts));
        item
    }
}
