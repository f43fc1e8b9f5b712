//! The email channel's records: the route from a brand's inbound address to its tenant,
//! and quarantined mail.

use crate::item::{Item, Reader, n, s, ts};
use crate::{DynamoStore, MailStore, StoreError, keys, tx};
use dispatch_domain::{BrandId, Email, Mode, OrgId, TicketId, Timestamp};

/// How long a quarantine record is kept (the raw message's lifecycle rule matches it).
pub const QUARANTINE_TTL_SECS: i64 = 30 * 24 * 60 * 60;

/// Inbound mail SES judged spam or a virus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedMail {
    pub brand_id: BrandId,
    /// SES's id of the message; also where the raw message is in the bucket.
    pub ses_message_id: String,
    /// The `From` header as sent (unproven).
    pub from: String,
    pub subject: String,
    /// `spam`, `virus`.
    pub reason: String,
    pub received_at: Timestamp,
}

/// A claim older than this is a send that died before it finished (Lambda's timeout): it
/// may be taken again.
pub const SEND_CLAIM_SECS: i64 = 300;

/// One message about a ticket, being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub brand_id: BrandId,
    pub ticket_id: TicketId,
    /// `autoresponse`, or the comment's id.
    pub what: String,
    pub to: Email,
    pub at: Timestamp,
}

/// What is kept of a sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMailRecord {
    pub to: String,
    /// `sending` while claimed, `sent` once SES took it.
    pub status: String,
    pub ses_message_id: Option<String>,
    pub at: Timestamp,
}

impl SentMail {
    fn key(
        &self,
        org: &OrgId,
        mode: Mode,
    ) -> [(String, aws_sdk_dynamodb::types::AttributeValue); 2] {
        [
            (
                keys::PK.into(),
                s(keys::brand_partition(org, mode, &self.brand_id)),
            ),
            (
                keys::SK.into(),
                s(keys::mail_sent_sk(&self.ticket_id, &self.what)),
            ),
        ]
    }
}

/// The item routing a brand's inbound address to its organization and mode.
pub(crate) fn route_item(org: &OrgId, mode: Mode, brand: &BrandId) -> Item {
    Item::from([
        (keys::PK.into(), s(keys::brand_mail(brand))),
        (keys::SK.into(), s(keys::BRAND_MAIL_SK)),
        ("type".into(), s("brandMail")),
        ("orgId".into(), s(org.as_str())),
        ("mode".into(), s(mode.as_str())),
    ])
}

impl MailStore for DynamoStore {
    async fn mail_route(&self, brand: &BrandId) -> Result<Option<(OrgId, Mode)>, StoreError> {
        let Some(item) = self
            .get(keys::brand_mail(brand), keys::BRAND_MAIL_SK.to_string())
            .await?
        else {
            return Ok(None);
        };
        let r = Reader(&item);
        let org = r.parsed("orgId", OrgId::parse)?;
        let mode = r.parsed("mode", Mode::parse)?;
        Ok(Some((org, mode)))
    }

    async fn quarantine(
        &self,
        org: &OrgId,
        mode: Mode,
        mail: &QuarantinedMail,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            (
                keys::PK.into(),
                s(keys::brand_partition(org, mode, &mail.brand_id)),
            ),
            (
                keys::SK.into(),
                s(keys::quarantine_sk(&mail.ses_message_id)),
            ),
            ("type".into(), s("quarantine")),
            ("sesMessageId".into(), s(&mail.ses_message_id)),
            ("from".into(), s(&mail.from)),
            ("subject".into(), s(&mail.subject)),
            ("reason".into(), s(&mail.reason)),
            ("receivedAt".into(), ts(mail.received_at)),
            (
                keys::TTL.into(),
                n(mail.received_at.unix() + QUARANTINE_TTL_SECS),
            ),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn quarantined(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<Vec<QuarantinedMail>, StoreError> {
        let items = self
            .query(keys::brand_partition(org, mode, brand), "QUARANTINE#")
            .await?;
        let mut out = items
            .iter()
            .map(|item| {
                let r = Reader(item);
                Ok(QuarantinedMail {
                    brand_id: brand.clone(),
                    ses_message_id: r.string("sesMessageId")?,
                    from: r.string("from")?,
                    subject: r.string("subject")?,
                    reason: r.string("reason")?,
                    received_at: r.timestamp("receivedAt")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|q| std::cmp::Reverse(q.received_at));
        Ok(out)
    }

    async fn claim_send(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
    ) -> Result<bool, StoreError> {
        let mut item = Item::from(sent.key(org, mode));
        item.insert("type".into(), s("mailSent"));
        item.insert("to".into(), s(sent.to.as_str()));
        item.insert("status".into(), s("sending"));
        item.insert("at".into(), ts(sent.at));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (#status = :sending AND #at < :stale)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":stale", n(sent.at.unix() - SEND_CLAIM_SECS))
            .send()
            .await;
        tx::written(put)
    }

    async fn mark_sent(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
        ses_message_id: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Item::from(sent.key(org, mode))))
            .update_expression("SET #status = :sent, sesMessageId = :id")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":id", s(ses_message_id))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn release_send(
        &self,
        org: &OrgId,
        mode: Mode,
        sent: &SentMail,
    ) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Item::from(sent.key(org, mode))))
            .condition_expression("#status = :sending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        // Already sent (or taken again): nothing to give back.
        tx::written(delete).map(|_| ())
    }

    async fn sent_mail(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
        what: &str,
    ) -> Result<Option<SentMailRecord>, StoreError> {
        let Some(item) = self
            .get(
                keys::brand_partition(org, mode, brand),
                keys::mail_sent_sk(ticket, what),
            )
            .await?
        else {
            return Ok(None);
        };
        let r = Reader(&item);
        Ok(Some(SentMailRecord {
            to: r.string("to")?,
            status: r.string("status")?,
            ses_message_id: r.opt_string("sesMessageId")?,
            at: r.timestamp("at")?,
        }))
    }

    async fn suppressed(&self, org: &OrgId, email: &Email) -> Result<Option<String>, StoreError> {
        let item = self.get(keys::org(org), keys::suppressed_sk(email)).await?;
        item.map(|i| Reader(&i).string("reason")).transpose()
    }

    async fn suppress(
        &self,
        org: &OrgId,
        email: &Email,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            (keys::PK.into(), s(keys::org(org))),
            (keys::SK.into(), s(keys::suppressed_sk(email))),
            ("type".into(), s("suppressed")),
            ("email".into(), s(email.as_str())),
            ("reason".into(), s(reason)),
            ("at".into(), ts(at)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        // Listed already: the first reason stays.
        tx::written(put).map(|_| ())
    }
}
