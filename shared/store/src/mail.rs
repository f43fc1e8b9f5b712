//! The email channel's records: the route from a brand's inbound address to its tenant,
//! and quarantined mail.

use crate::item::{Item, Reader, n, s, ts};
use crate::{DynamoStore, MailStore, StoreError, keys};
use dispatch_domain::{BrandId, Mode, OrgId, Timestamp};

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
}
