//! What items written before a feature lack, written once by `ticket-backfill`: the keys
//! of the two ticket-order indexes and `searchText` on tickets, and the inbound-mail route
//! of each brand.

use crate::item::{Item, Reader, s};
use crate::{DynamoStore, StoreError, keys, tx};
use dispatch_domain::ticket::{Priority, search_text};
use dispatch_domain::{BrandId, Mode, OrgId, TicketId};

/// One page of the backfill's Scan and what it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillPage {
    /// Items the Scan read (every type: a Scan filters after reading).
    pub scanned: usize,
    /// Tickets given what they lacked, and brands given their mail route.
    pub updated: usize,
    /// Where the next page starts (`pk`, `sk` of the last item read); `None`: done.
    pub next: Option<(String, String)>,
}

/// What a Scan page returns: tickets lacking one of the attributes, and brands (whose
/// route is written only where it is missing).
const LACKING: &str = "(#type = :ticket AND (attribute_not_exists(ticketsPk) \
     OR attribute_not_exists(prioritySk) OR attribute_not_exists(searchText))) \
     OR #type = :brand";

impl DynamoStore {
    /// Reads one page of the table (up to 1 MB) after `after`, and gives each ticket
    /// there what it lacks. Each write is conditional on the ticket being there with the
    /// priority it was read with: a ticket deleted meanwhile is not recreated, and one whose
    /// priority changed meanwhile already has its key from that change. Idempotent.
    pub async fn backfill_tickets(
        &self,
        after: Option<(String, String)>,
    ) -> Result<BackfillPage, StoreError> {
        let start =
            after.map(|(pk, sk)| Item::from([(keys::PK.into(), s(pk)), (keys::SK.into(), s(sk))]));
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .set_exclusive_start_key(start)
            .filter_expression(LACKING)
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":ticket", s("ticket"))
            .expression_attribute_values(":brand", s("brand"))
            .send()
            .await
            .map_err(StoreError::backend)?;
        let mut out = BackfillPage {
            scanned: usize::try_from(page.scanned_count).unwrap_or_default(),
            updated: 0,
            next: page.last_evaluated_key.and_then(|key| {
                let text = |k: &str| key.get(k).and_then(|v| v.as_s().ok()).cloned();
                Some((text(keys::PK)?, text(keys::SK)?))
            }),
        };
        for item in page.items.unwrap_or_default() {
            let is_brand = Reader(&item).string("type")? == "brand";
            let wrote = if is_brand {
                self.backfill_brand_route(&item).await?
            } else {
                self.backfill_ticket(&item).await?
            };
            if wrote {
                out.updated += 1;
            }
        }
        Ok(out)
    }

    /// Writes a brand's inbound-mail route unless it has one; false when it had.
    async fn backfill_brand_route(&self, item: &Item) -> Result<bool, StoreError> {
        let r = Reader(item);
        let pk = r.string(keys::PK)?;
        let (org, mode) = pk
            .strip_prefix("ORG#")
            .and_then(|rest| rest.split_once('#'))
            .and_then(|(org, mode)| Some((OrgId::parse(org)?, Mode::parse(mode)?)))
            .ok_or_else(|| StoreError::Corrupt(format!("brand partition {pk}")))?;
        let brand = r.parsed("id", BrandId::parse)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(crate::mail::route_item(&org, mode, &brand)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        tx::written(put)
    }

    /// Writes one ticket's missing attributes; false when it changed or went meanwhile.
    async fn backfill_ticket(&self, item: &Item) -> Result<bool, StoreError> {
        let r = Reader(item);
        let pk = r.string(keys::PK)?;
        let sk = r.string(keys::SK)?;
        let id = r.string("id")?;
        let id =
            TicketId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("ticket id {id}")))?;
        let priority_raw = r.string("priority")?;
        let priority = Priority::parse(&priority_raw).map_err(StoreError::Corrupt)?;
        let text = search_text(&r.string("title")?, r.opt_string("body")?.as_deref());
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(&pk))
            .key(keys::SK, s(&sk))
            .update_expression(
                "SET ticketsPk = :pk, prioritySk = :prioritySk, \
                 searchText = if_not_exists(searchText, :text)",
            )
            .condition_expression("attribute_exists(pk) AND #priority = :priority")
            .expression_attribute_names("#priority", "priority")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":prioritySk", s(keys::priority_sk(priority, &id)))
            .expression_attribute_values(":text", s(text))
            .expression_attribute_values(":priority", s(priority_raw));
        tx::update_if(request).await
    }
}
