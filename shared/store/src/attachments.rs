//! Attachment records. The bytes live in S3; these items say what was declared and whether
//! the upload was confirmed.

use crate::item::{Item, Reader, n, s, ts};
use crate::{AttachmentStore, DynamoStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use dispatch_domain::attachment::{Attachment, AttachmentStatus, PENDING_TTL_SECS};
use dispatch_domain::{AttachmentId, BrandId, CustomerId, Mode, OrgId, TicketId, Timestamp};

/// The sort key of an attachment: under its ticket, or among the brand's pending uploads.
fn attachment_sk(ticket: Option<&TicketId>, id: &AttachmentId) -> String {
    match ticket {
        Some(t) => keys::attachment_sk(t, id),
        None => keys::pending_attachment_sk(id),
    }
}

pub(crate) fn attachment_item(org: &OrgId, mode: Mode, a: &Attachment) -> Item {
    let mut item: Item = [
        (
            keys::PK.into(),
            s(keys::brand_partition(org, mode, &a.brand_id)),
        ),
        (
            keys::SK.into(),
            s(attachment_sk(a.ticket_id.as_ref(), &a.id)),
        ),
        ("type".into(), s("attachment")),
        ("id".into(), s(a.id.as_str())),
        ("brandId".into(), s(a.brand_id.as_str())),
        ("filename".into(), s(&a.filename)),
        ("contentType".into(), s(&a.content_type)),
        ("size".into(), n(a.size)),
        ("status".into(), s(a.status.as_str())),
        ("objectKey".into(), s(&a.object_key)),
        ("createdAt".into(), ts(a.created_at)),
        ("updatedAt".into(), ts(a.updated_at)),
    ]
    .into();
    match &a.ticket_id {
        Some(t) => {
            item.insert("ticketId".into(), s(t.as_str()));
        }
        // Never attached: DynamoDB may drop it after a day (code checks the age itself).
        None => {
            item.insert(keys::TTL.into(), n(a.created_at.unix() + PENDING_TTL_SECS));
        }
    }
    if let Some(c) = &a.customer_id {
        item.insert("customerId".into(), s(c.as_str()));
    }
    if let Some(u) = &a.uploaded_by {
        item.insert("uploadedBy".into(), s(u));
    }
    item
}

fn attachment_from(item: &Item) -> Result<Attachment, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    Ok(Attachment {
        id: r.parsed("id", AttachmentId::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        ticket_id: r
            .opt_string("ticketId")?
            .map(|t| TicketId::parse(&t).ok_or_else(|| corrupt("ticketId")))
            .transpose()?,
        customer_id: r
            .opt_string("customerId")?
            .map(|c| CustomerId::parse(&c).ok_or_else(|| corrupt("customerId")))
            .transpose()?,
        filename: r.string("filename")?,
        content_type: r.string("contentType")?,
        size: r.u64("size")?,
        status: AttachmentStatus::parse(&r.string("status")?).ok_or_else(|| corrupt("status"))?,
        object_key: r.string("objectKey")?,
        uploaded_by: r.opt_string("uploadedBy")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
    })
}

/// A transaction step that holds only while the ticket exists and is not deleted.
fn live_ticket_check(
    table: &str,
    org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    ticket: &TicketId,
) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
        .key(keys::SK, s(keys::ticket_sk(ticket)))
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt)");
    Ok(TransactWriteItem::builder()
        .condition_check(tx::build(check.build())?)
        .build())
}

impl AttachmentStore for DynamoStore {
    async fn create_attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
    ) -> Result<(), StoreError> {
        let put = tx::put_new(&self.table, attachment_item(org, mode, attachment))?;
        // Only into a brand that still exists (a deleted brand's tickets are gone).
        let brand = ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(org, mode)))
            .key(keys::SK, s(keys::brand_sk(&attachment.brand_id)))
            .condition_expression("attribute_exists(pk)");
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .condition_check(tx::build(brand.build())?)
                .build(),
        );
        if let Some(ticket) = &attachment.ticket_id {
            request = request.transact_items(live_ticket_check(
                &self.table,
                org,
                mode,
                &attachment.brand_id,
                ticket,
            )?);
        }
        request
            .transact_items(put)
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: Option<&TicketId>,
        id: &AttachmentId,
        now: Timestamp,
    ) -> Result<Option<Attachment>, StoreError> {
        let item = self
            .get(
                keys::brand_partition(org, mode, brand),
                attachment_sk(ticket, id),
            )
            .await?;
        Ok(item
            .as_ref()
            .map(attachment_from)
            .transpose()?
            // TTL deletion is lazy: an expired pending upload is gone.
            .filter(|a| {
                a.ticket_id.is_some() || now.unix() < a.created_at.unix() + PENDING_TTL_SECS
            }))
    }

    async fn attachments(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
    ) -> Result<Vec<Attachment>, StoreError> {
        self.query(
            keys::brand_partition(org, mode, brand),
            &keys::attachment_prefix(ticket),
        )
        .await?
        .iter()
        .map(attachment_from)
        .collect()
    }

    async fn mark_uploaded(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &attachment.brand_id);
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(
                keys::SK,
                s(attachment_sk(attachment.ticket_id.as_ref(), &attachment.id)),
            )
            .update_expression("SET #status = :uploaded, updatedAt = :now")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":uploaded", s(AttachmentStatus::Uploaded.as_str()))
            .expression_attribute_values(":pending", s(AttachmentStatus::Pending.as_str()))
            .expression_attribute_values(":now", ts(now));
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .update(tx::build(update.build())?)
                .build(),
        );
        // The ticket's count moves with the status, and only on a live ticket.
        if let Some(ticket) = &attachment.ticket_id {
            let count = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(keys::ticket_sk(ticket)))
                .update_expression("SET attachmentCount = attachmentCount + :one, updatedAt = :now")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt)")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", ts(now));
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(count.build())?)
                    .build(),
            );
        }
        request.send().await.map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn delete_attachment(
        &self,
        org: &OrgId,
        mode: Mode,
        attachment: &Attachment,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(ticket) = &attachment.ticket_id else {
            return Err(StoreError::NotFound);
        };
        let partition = keys::brand_partition(org, mode, &attachment.brand_id);
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(attachment_sk(Some(ticket), &attachment.id)))
            .condition_expression("attribute_exists(pk) AND #status = :status")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(attachment.status.as_str()));
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .delete(tx::build(delete.build())?)
                .build(),
        );
        let ticket_step = if attachment.status == AttachmentStatus::Uploaded {
            let count = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(keys::ticket_sk(ticket)))
                .update_expression("SET attachmentCount = attachmentCount - :one, updatedAt = :now")
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(deletedAt) AND attachmentCount >= :one",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", ts(now));
            TransactWriteItem::builder()
                .update(tx::build(count.build())?)
                .build()
        } else {
            live_ticket_check(&self.table, org, mode, &attachment.brand_id, ticket)?
        };
        request = request.transact_items(ticket_step);
        // A changed status (the first step's condition) is a conflict; a gone ticket, 404.
        request
            .send()
            .await
            .map_err(|e| tx::classify(e, &[0], "attachment status"))?;
        Ok(())
    }
}
