//! Tickets, numbered per brand in the same transaction that writes them.

use crate::attachments::attachment_item;
use crate::item::{Item, Reader, list, n, s, ts};
use crate::ops::{Index, PageOptions};
use crate::{
    CommentStore, CustomerTicketQuery, DynamoStore, MergePlan, Page, StoreError, TicketStore, keys,
    tx,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValue, TransactWriteItem, Update,
};
use dispatch_domain::attachment::{Attachment, AttachmentStatus};
use dispatch_domain::brand::{Brand, Metadata};
use dispatch_domain::ticket::{AuthorType, Comment, Link, Priority, Status, Ticket, search_text};
use dispatch_domain::{
    AttachmentId, BrandId, CategoryId, CommentId, CustomerId, Email, Mode, OrgId, TicketId,
    Timestamp,
};
use std::collections::HashMap;

/// Changes to a ticket; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketPatch {
    pub title: Option<String>,
    /// `Some(None)` clears it.
    pub body: Option<Option<String>>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub custom_fields: Option<Metadata>,
    pub metadata: Option<Metadata>,
    pub tags: Option<Vec<String>>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<String>>,
    pub links: Option<Vec<Link>>,
    pub is_spam: Option<bool>,
    /// Moves the ticket between categories (either side `None`: uncategorized).
    pub category: Option<CategoryMove>,
    /// The new `searchText`, whenever the title or the body changes
    /// (`dispatch_domain::ticket::search_text` of the ticket after the change).
    pub search_text: Option<String>,
}

/// A ticket's move from the category it was read in to another.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryMove {
    pub from: Option<CategoryId>,
    pub to: Option<CategoryId>,
}

/// List filters, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFilter {
    /// Any of these (empty: any status).
    pub status: Vec<Status>,
    pub priority: Option<Priority>,
    pub customer_id: Option<CustomerId>,
    pub source: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub newest_first: bool,
    /// `Some(true)`: only spam; `Some(false)` or `None`: spam left out (the default).
    pub is_spam: Option<bool>,
    pub category_id: Option<CategoryId>,
    pub assignee_id: Option<String>,
    pub created_by: Option<String>,
    /// `Some(true)`: only tickets with a confirmed attachment; `Some(false)`: only those
    /// without.
    pub has_attachments: Option<bool>,
    /// Lower-cased: a substring of the title, the body's first 2 KiB or the customer's
    /// email.
    pub search: Option<String>,
    /// Tickets naming any of these tags (empty: no tag filter).
    pub tags_any: Vec<String>,
    pub sort: TicketSort,
}

/// The ticket list's orders (each newest first, or reversed by `newest_first: false`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketSort {
    /// The table's own order (ids are time-sortable).
    #[default]
    CreatedAt,
    /// The `tickets-by-updated` index; tickets changed in the same second in no fixed order.
    UpdatedAt,
    /// The `tickets-by-priority` index: urgent first, then newest.
    Priority,
}

impl TicketSort {
    pub fn parse(raw: &str) -> Result<TicketSort, String> {
        match raw {
            "createdAt" => Ok(TicketSort::CreatedAt),
            "updatedAt" => Ok(TicketSort::UpdatedAt),
            "priority" => Ok(TicketSort::Priority),
            _ => Err("must be createdAt, updatedAt or priority".into()),
        }
    }
}

/// The list's cursor in the `tickets-by-updated` index: `{updatedAt}#{ticket}`.
fn updated_cursor(key: &Item) -> Option<String> {
    let updated = key.get(keys::UPDATED_AT)?.as_n().ok()?;
    let id = key
        .get(keys::SK)?
        .as_s()
        .ok()?
        .strip_prefix(keys::TICKET_SK_PREFIX)?;
    Some(format!("{updated}#{id}"))
}

/// The list's cursor in the `tickets-by-priority` index: the `prioritySk`.
fn priority_cursor(key: &Item) -> Option<String> {
    key.get(keys::PRIORITY_SK)?.as_s().ok().cloned()
}

/// Where a page of `sort` resumes after `cursor`: the table's key of the last ticket, and
/// the index's when the order is one. `None`: not a cursor of this order.
fn list_start(partition: &str, sort: TicketSort, cursor: &str) -> Option<Item> {
    let (ticket, index_sk): (TicketId, Option<(&str, AttributeValue)>) = match sort {
        TicketSort::CreatedAt => (
            TicketId::parse(cursor.strip_prefix(keys::TICKET_SK_PREFIX)?)?,
            None,
        ),
        TicketSort::UpdatedAt => {
            let (secs, id) = cursor.split_once('#')?;
            secs.parse::<i64>().ok()?;
            (
                TicketId::parse(id)?,
                Some((keys::UPDATED_AT, AttributeValue::N(secs.to_string()))),
            )
        }
        TicketSort::Priority => (
            keys::ticket_of_priority_sk(cursor)?,
            Some((keys::PRIORITY_SK, s(cursor))),
        ),
    };
    let mut key: Item = [
        (keys::PK.to_string(), s(partition)),
        (keys::SK.to_string(), s(keys::ticket_sk(&ticket))),
    ]
    .into();
    if let Some((attr, value)) = index_sk {
        key.insert(keys::TICKETS_PK.to_string(), s(partition));
        key.insert(attr.to_string(), value);
    }
    Some(key)
}

/// Query calls a page of the ticket list may make (each reads at most 1 MB): the cost
/// bound of a filtered list (docs/api.md).
pub const TICKET_LIST_MAX_READS: u32 = 4;

fn json(m: &Metadata) -> AttributeValue {
    s(m.to_value().to_string())
}

fn ticket_item(org: &OrgId, mode: Mode, t: &Ticket) -> Item {
    let mut item: Item = [
        (
            keys::PK.into(),
            s(keys::brand_partition(org, mode, &t.brand_id)),
        ),
        (keys::SK.into(), s(keys::ticket_sk(&t.id))),
        ("type".into(), s("ticket")),
        ("id".into(), s(t.id.as_str())),
        ("brandId".into(), s(t.brand_id.as_str())),
        ("ticketNumber".into(), n(t.number)),
        ("displayNumber".into(), s(&t.display_number)),
        ("title".into(), s(&t.title)),
        ("status".into(), s(t.status.as_str())),
        ("priority".into(), s(t.priority.as_str())),
        ("source".into(), s(&t.source)),
        ("customFields".into(), json(&t.custom_fields)),
        ("metadata".into(), json(&t.metadata)),
        ("tags".into(), list(t.tags.iter().cloned())),
        ("commentCount".into(), n(t.comment_count)),
        ("attachmentCount".into(), n(t.attachment_count)),
        ("createdAt".into(), ts(t.created_at)),
        ("updatedAt".into(), ts(t.updated_at)),
        // The keys of the two ticket-order indexes (`updatedAt` is the other one).
        (
            keys::TICKETS_PK.into(),
            s(keys::brand_partition(org, mode, &t.brand_id)),
        ),
        (
            keys::PRIORITY_SK.into(),
            s(keys::priority_sk(t.priority, &t.id)),
        ),
    ]
    .into();
    if let Some(b) = &t.body {
        item.insert("body".into(), s(b));
    }
    if let Some(c) = &t.customer_id {
        item.insert("customerId".into(), s(c.as_str()));
        if t.customer_verified {
            item.insert(
                keys::GSI1_PK.into(),
                s(keys::customer_tickets(org, mode, &t.brand_id, c)),
            );
        } else {
            // Under its own key of the index: the customer's portal never lists it.
            item.insert("customerVerified".into(), AttributeValue::Bool(false));
            item.insert(
                keys::GSI1_PK.into(),
                s(keys::unverified_customer_tickets(org, mode, &t.brand_id, c)),
            );
        }
        item.insert(keys::GSI1_SK.into(), s(keys::ticket_sk(&t.id)));
    }
    if let Some(a) = &t.assignee_id {
        item.insert("assigneeId".into(), s(a));
    }
    if let Some(c) = &t.category_id {
        item.insert("categoryId".into(), s(c.as_str()));
    }
    item.insert(
        "searchText".into(),
        s(search_text(&t.title, t.body.as_deref())),
    );
    if let Some(email) = &t.customer_email {
        item.insert("customerEmail".into(), s(email.to_lowercase()));
    }
    if let Some(by) = &t.created_by {
        item.insert("createdBy".into(), s(by));
    }
    if !t.links.is_empty() {
        item.insert("links".into(), links_attr(&t.links));
    }
    if let Some(id) = &t.source_id {
        item.insert("sourceId".into(), s(id));
    }
    if let Some(data) = &t.source_data {
        item.insert("sourceData".into(), json(data));
    }
    item.insert(
        "notifyCustomer".into(),
        AttributeValue::Bool(t.notify_customer),
    );
    item.insert("isSpam".into(), AttributeValue::Bool(t.is_spam));
    if let Some(target) = &t.merged_into_id {
        item.insert("mergedIntoId".into(), s(target.as_str()));
    }
    item
}

/// A boolean attribute that older items lack: `false` then.
fn flag(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        None => Ok(false),
        Some(AttributeValue::Bool(b)) => Ok(*b),
        Some(_) => Err(StoreError::Corrupt(name.into())),
    }
}

fn metadata_field(r: &Reader<'_>, name: &str) -> Result<Metadata, StoreError> {
    match r.opt_string(name)? {
        None => Ok(Metadata::default()),
        Some(raw) => serde_json::from_str(&raw)
            .ok()
            .and_then(|v| Metadata::parse(v).ok())
            .ok_or_else(|| StoreError::Corrupt(name.into())),
    }
}

pub(crate) fn ticket_from(item: &Item) -> Result<Ticket, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    Ok(Ticket {
        id: r.parsed("id", TicketId::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        number: r.u64("ticketNumber")?,
        display_number: r.string("displayNumber")?,
        title: r.string("title")?,
        body: r.opt_string("body")?,
        status: Status::parse(&r.string("status")?).map_err(|_| corrupt("status"))?,
        priority: Priority::parse(&r.string("priority")?).map_err(|_| corrupt("priority"))?,
        source: r.string("source")?,
        customer_id: r
            .opt_string("customerId")?
            .map(|c| CustomerId::parse(&c).ok_or_else(|| corrupt("customerId")))
            .transpose()?,
        customer_verified: !matches!(
            item.get("customerVerified"),
            Some(AttributeValue::Bool(false))
        ),
        custom_fields: metadata_field(&r, "customFields")?,
        metadata: metadata_field(&r, "metadata")?,
        tags: r.strings("tags")?,
        assignee_id: r.opt_string("assigneeId")?,
        customer_email: r.opt_string("customerEmail")?,
        category_id: r
            .opt_string("categoryId")?
            .map(|c| CategoryId::parse(&c).ok_or_else(|| corrupt("categoryId")))
            .transpose()?,
        created_by: r.opt_string("createdBy")?,
        links: links_from(item, "links")?,
        source_id: r.opt_string("sourceId")?,
        source_data: match item.get("sourceData") {
            None => None,
            Some(_) => Some(metadata_field(&r, "sourceData")?),
        },
        notify_customer: flag(item, "notifyCustomer")?,
        is_spam: flag(item, "isSpam")?,
        merged_into_id: r
            .opt_string("mergedIntoId")?
            .map(|m| TicketId::parse(&m).ok_or_else(|| corrupt("mergedIntoId")))
            .transpose()?,
        comment_count: r.u64("commentCount")?,
        attachment_count: r.u64("attachmentCount")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
        deleted_at: r.opt_timestamp("deletedAt")?,
    })
}

/// The index read of a customer's tickets: live ones, of one status when asked.
fn customer_ticket_options(query: &CustomerTicketQuery) -> PageOptions {
    let mut options = PageOptions {
        newest_first: query.newest_first,
        index: Some(Index {
            name: keys::CUSTOMER_TICKETS_INDEX,
            pk: keys::GSI1_PK,
            sk: keys::GSI1_SK,
        }),
        filter: Some("attribute_not_exists(deletedAt)".into()),
        ..PageOptions::default()
    };
    if let Some(status) = query.status {
        options.filter = Some("attribute_not_exists(deletedAt) AND #status = :status".into());
        options.names.insert("#status".into(), "status".into());
        options.values.insert(":status".into(), s(status.as_str()));
    }
    options
}

impl TicketStore for DynamoStore {
    async fn create_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &Brand,
        ticket: &Ticket,
        attachments: &[Attachment],
        claimed_pending: &[AttachmentId],
    ) -> Result<(), StoreError> {
        // The number is the brand's next one, taken in the same transaction as the ticket:
        // a concurrent create fails the condition and retries with the next number, so
        // numbers are unique, sequential and never skipped.
        let counter = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::tenant(org, mode)))
            .key(keys::SK, s(keys::brand_sk(&brand.id)))
            .update_expression(
                "SET nextTicketNumber = :next, ticketCount = ticketCount + :one, \
                 #month = if_not_exists(#month, :zero) + :one",
            )
            .condition_expression("attribute_exists(pk) AND nextTicketNumber = :number")
            .expression_attribute_names(
                "#month",
                keys::tickets_in_month(&ticket.created_at.month()),
            )
            .expression_attribute_values(":next", n(ticket.number + 1))
            .expression_attribute_values(":number", n(ticket.number))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0));
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(counter.build())?)
                    .build(),
            )
            .transact_items(tx::put_new(&self.table, ticket_item(org, mode, ticket))?);
        // Files that arrived with the ticket (intake uploads) are recorded with it.
        for a in attachments {
            request =
                request.transact_items(tx::put_new(&self.table, attachment_item(org, mode, a))?);
        }
        // Its customer still exists (a portal token outlives a customer's delete, and the
        // stream that detaches the customer's tickets has already run): else `NotFound`.
        if let Some(customer) = &ticket.customer_id {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::brand_partition(org, mode, &brand.id)))
                .key(keys::SK, s(keys::customer_sk(customer)))
                .condition_expression("attribute_exists(pk)");
            request = request.transact_items(
                TransactWriteItem::builder()
                    .condition_check(tx::build(check.build())?)
                    .build(),
            );
        }
        // Its category still exists, and counts it.
        let category_at = request.get_transact_items().as_ref().map_or(0, Vec::len);
        if let Some(category) = &ticket.category_id {
            request = request.transact_items(tx::category_tickets(
                &self.table,
                keys::brand_partition(org, mode, &brand.id),
                keys::category_sk(category),
                1,
            )?);
        }
        // Pending uploads move under the ticket: their waiting records go in the same
        // transaction, and only while they are uploaded (a concurrent create that claimed
        // one first fails this one as a whole).
        for id in claimed_pending {
            let remove = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::brand_partition(org, mode, &brand.id)))
                .key(keys::SK, s(keys::pending_attachment_sk(id)))
                .condition_expression("#status = :uploaded")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":uploaded", s(AttachmentStatus::Uploaded.as_str()));
            request = request.transact_items(
                TransactWriteItem::builder()
                    .delete(tx::build(remove.build())?)
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if ticket.category_id.is_some() && tx::failed_at(&e) == Some(category_at) => {
                Err(StoreError::Conflict("category"))
            }
            Err(e) => Err(tx::classify(e, &[0], "number")),
        }
    }

    async fn list_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        query: &CustomerTicketQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Ticket>, StoreError> {
        let index_pk = keys::customer_tickets(org, mode, brand, &query.customer);
        let options = customer_ticket_options(query);
        // An index page resumes from the table key and the index key of the last item.
        let start = after.map(|sk| {
            HashMap::from([
                (
                    keys::PK.to_string(),
                    s(keys::brand_partition(org, mode, brand)),
                ),
                (keys::SK.to_string(), s(sk)),
                (keys::GSI1_PK.to_string(), s(index_pk.clone())),
                (keys::GSI1_SK.to_string(), s(sk)),
            ])
        });
        let (items, next) = self
            .query_page(index_pk, keys::TICKET_SK_PREFIX, start, limit, &options)
            .await?;
        Ok(Page {
            items: items.iter().map(ticket_from).collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn all_customer_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        query: &CustomerTicketQuery,
        max: usize,
    ) -> Result<Option<Vec<Ticket>>, StoreError> {
        let index_pk = keys::customer_tickets(org, mode, brand, &query.customer);
        let options = customer_ticket_options(query);
        // One more than `max`: "more than max" is then exact.
        let (items, _) = self
            .query_page(index_pk, keys::TICKET_SK_PREFIX, None, max + 1, &options)
            .await?;
        if items.len() > max {
            return Ok(None);
        }
        Ok(Some(
            items.iter().map(ticket_from).collect::<Result<_, _>>()?,
        ))
    }

    async fn tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ids: &[TicketId],
    ) -> Result<Vec<Ticket>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let wanted: Vec<(String, String)> = ids
            .iter()
            .map(|id| (partition.clone(), keys::ticket_sk(id)))
            .collect();
        let mut out = Vec::new();
        for item in self.batch_get(&wanted).await? {
            let ticket = ticket_from(&item)?;
            if ticket.deleted_at.is_none() {
                out.push(ticket);
            }
        }
        Ok(out)
    }

    async fn merge_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        plan: &MergePlan,
    ) -> Result<(), StoreError> {
        let (target, sources, notes, now) = (&plan.target, &plan.sources, &plan.notes, plan.at);
        let partition = keys::brand_partition(org, mode, brand);
        let live_unmerged = "attribute_exists(pk) AND attribute_not_exists(deletedAt) AND attribute_not_exists(mergedIntoId)";
        let mut writes = Vec::with_capacity(1 + sources.len() * 3);
        let target_update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::ticket_sk(target)))
            .update_expression("SET commentCount = commentCount + :n, updatedAt = :now")
            .condition_expression(live_unmerged)
            .expression_attribute_values(":n", n(sources.len()))
            .expression_attribute_values(":now", ts(now));
        writes.push(
            TransactWriteItem::builder()
                .update(tx::build(target_update.build())?)
                .build(),
        );
        for (source, (on_source, on_target)) in sources.iter().zip(notes) {
            let close = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(partition.clone()))
                .key(keys::SK, s(keys::ticket_sk(source)))
                .update_expression(
                    "SET #status = :closed, mergedIntoId = :target, \
                     commentCount = commentCount + :one, updatedAt = :now",
                )
                .condition_expression(live_unmerged)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":closed", s(Status::Closed.as_str()))
                .expression_attribute_values(":target", s(target.as_str()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", ts(now));
            writes.push(
                TransactWriteItem::builder()
                    .update(tx::build(close.build())?)
                    .build(),
            );
            writes.push(tx::put_new(
                &self.table,
                comment_item(org, mode, brand, on_source),
            )?);
            writes.push(tx::put_new(
                &self.table,
                comment_item(org, mode, brand, on_target),
            )?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        let item = self
            .get_in_brand(org, mode, brand, keys::ticket_sk(id))
            .await?;
        // Soft-deleted tickets are gone as far as the API is concerned.
        Ok(item
            .as_ref()
            .map(ticket_from)
            .transpose()?
            .filter(|t| t.deleted_at.is_none()))
    }

    async fn update_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
        patch: &TicketPatch,
        now: Timestamp,
    ) -> Result<Ticket, StoreError> {
        let mut sets = vec!["#updatedAt = :updatedAt".to_string()];
        let mut names = HashMap::from([("#updatedAt".to_string(), "updatedAt".to_string())]);
        let mut values: HashMap<String, AttributeValue> =
            HashMap::from([(":updatedAt".to_string(), ts(now))]);
        let mut field = |name: &str, value: Option<AttributeValue>| {
            if let Some(v) = value {
                sets.push(format!("#{name} = :{name}"));
                names.insert(format!("#{name}"), name.to_string());
                values.insert(format!(":{name}"), v);
            }
        };
        // A move to the category it is already in is no move.
        let moved = patch.category.as_ref().filter(|m| m.from != m.to);
        field("title", patch.title.as_deref().map(s));
        field("body", patch.body.clone().flatten().map(s));
        field("status", patch.status.map(|v| s(v.as_str())));
        field("priority", patch.priority.map(|v| s(v.as_str())));
        field(
            keys::PRIORITY_SK,
            patch.priority.map(|v| s(keys::priority_sk(v, id))),
        );
        field("customFields", patch.custom_fields.as_ref().map(json));
        field("metadata", patch.metadata.as_ref().map(json));
        field("tags", patch.tags.as_ref().map(|t| list(t.iter().cloned())));
        field("assigneeId", patch.assignee_id.clone().flatten().map(s));
        field("links", patch.links.as_deref().map(links_attr));
        field("isSpam", patch.is_spam.map(AttributeValue::Bool));
        field("searchText", patch.search_text.as_deref().map(s));
        field(
            "categoryId",
            moved.and_then(|m| m.to.as_ref()).map(|c| s(c.as_str())),
        );
        // What is cleared goes: a later read sees it absent, as a new ticket without it.
        let uncategorized = moved.is_some_and(|m| m.to.is_none());
        let mut removes: Vec<&str> = [("body", &patch.body), ("assigneeId", &patch.assignee_id)]
            .into_iter()
            .filter(|(_, change)| matches!(change, Some(None)))
            .map(|(name, _)| name)
            .collect();
        if uncategorized {
            removes.push("categoryId");
        }
        for name in &removes {
            names.insert(format!("#{name}"), (*name).to_string());
        }
        let remove = if removes.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = removes.iter().map(|n| format!("#{n}")).collect();
            format!(" REMOVE {}", list.join(", "))
        };
        let partition = keys::brand_partition(org, mode, brand);
        let live = "attribute_exists(pk) AND attribute_not_exists(deletedAt)";
        let Some(moved) = moved else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(keys::ticket_sk(id)))
                .update_expression(format!("SET {}{remove}", sets.join(", ")))
                .condition_expression(live)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::AllNew)
                .customize()
                .config_override(crate::retry::answer_or_nothing())
                .send()
                .await;
            return match result {
                Ok(out) => ticket_from(&out.attributes.unwrap_or_default()),
                Err(e) if tx::condition_failed(&e) => Err(StoreError::NotFound),
                Err(e) => Err(StoreError::backend(e)),
            };
        };
        // A move: the ticket (still in the category it was read in) and both counts in one
        // transaction. The old category may be gone (deleted, its tickets not yet cleared
        // by the stream): then only the new one counts.
        let condition = match &moved.from {
            Some(from) => {
                names.insert("#categoryId".into(), "categoryId".into());
                values.insert(":from".into(), s(from.as_str()));
                format!("{live} AND #categoryId = :from")
            }
            None => {
                names.insert("#categoryId".into(), "categoryId".into());
                format!("{live} AND attribute_not_exists(#categoryId)")
            }
        };
        let ticket = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::ticket_sk(id)))
            .update_expression(format!("SET {}{remove}", sets.join(", ")))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        let ticket = TransactWriteItem::builder()
            .update(tx::build(ticket.build())?)
            .build();
        let mut count_old = moved.from.is_some();
        loop {
            let mut writes = vec![ticket.clone()];
            if let Some(to) = &moved.to {
                writes.push(tx::category_tickets(
                    &self.table,
                    partition.clone(),
                    keys::category_sk(to),
                    1,
                )?);
            }
            if let (true, Some(from)) = (count_old, &moved.from) {
                writes.push(tx::category_tickets(
                    &self.table,
                    partition.clone(),
                    keys::category_sk(from),
                    -1,
                )?);
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await;
            match result {
                Ok(_) => break,
                Err(e) => match tx::failed_at(&e) {
                    Some(1) if moved.to.is_some() => return Err(StoreError::Conflict("category")),
                    Some(i) if i > 0 && count_old => count_old = false,
                    Some(0) => return Err(self.why_not_live(org, mode, brand, id).await),
                    _ => return Err(tx::classify(e, &[], "")),
                },
            }
        }
        self.ticket(org, mode, brand, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_ticket(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
        category: Option<&CategoryId>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let live = "attribute_exists(pk) AND attribute_not_exists(deletedAt)";
        let Some(category) = category else {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(keys::ticket_sk(id)))
                .update_expression("SET deletedAt = :now, updatedAt = :now")
                .condition_expression(format!("{live} AND attribute_not_exists(categoryId)"))
                .expression_attribute_values(":now", ts(now))
                .customize()
                .config_override(crate::retry::answer_or_nothing())
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(e) if tx::condition_failed(&e) => {
                    Err(self.why_not_live(org, mode, brand, id).await)
                }
                Err(e) => Err(StoreError::backend(e)),
            };
        };
        // A deleted ticket leaves its category's count, in the same transaction.
        let soft = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::ticket_sk(id)))
            .update_expression("SET deletedAt = :now, updatedAt = :now")
            .condition_expression(format!("{live} AND categoryId = :category"))
            .expression_attribute_values(":now", ts(now))
            .expression_attribute_values(":category", s(category.as_str()));
        let soft = TransactWriteItem::builder()
            .update(tx::build(soft.build())?)
            .build();
        let mut count = true;
        loop {
            let mut writes = vec![soft.clone()];
            if count {
                writes.push(tx::category_tickets(
                    &self.table,
                    partition.clone(),
                    keys::category_sk(category),
                    -1,
                )?);
            }
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => return Ok(()),
                // The category went (its tickets not yet cleared): nothing to count down.
                Err(e) if count && tx::failed_at(&e) == Some(1) => count = false,
                Err(e) if tx::failed_at(&e) == Some(0) => {
                    return Err(self.why_not_live(org, mode, brand, id).await);
                }
                Err(e) => return Err(tx::classify(e, &[], "")),
            }
        }
    }

    async fn list_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        filter: &TicketFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Ticket>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let mut conditions = vec!["attribute_not_exists(deletedAt)".to_string()];
        let mut options = PageOptions {
            newest_first: filter.newest_first,
            max_reads: Some(TICKET_LIST_MAX_READS),
            ..PageOptions::default()
        };
        if !filter.status.is_empty() {
            let mut any = Vec::with_capacity(filter.status.len());
            for (i, status) in filter.status.iter().enumerate() {
                any.push(format!(":f_status{i}"));
                options
                    .values
                    .insert(format!(":f_status{i}"), s(status.as_str()));
            }
            conditions.push(format!("#f_status IN ({})", any.join(", ")));
            options.names.insert("#f_status".into(), "status".into());
        }
        if let Some(q) = &filter.search {
            // Tickets written before `searchText` existed match by their customer only.
            conditions
                .push("(contains(#f_searchText, :f_q) OR contains(#f_customerEmail, :f_q))".into());
            options
                .names
                .insert("#f_searchText".into(), "searchText".into());
            options
                .names
                .insert("#f_customerEmail".into(), "customerEmail".into());
            options.values.insert(":f_q".into(), s(q));
        }
        if !filter.tags_any.is_empty() {
            let mut any = Vec::with_capacity(filter.tags_any.len());
            for (i, name) in filter.tags_any.iter().enumerate() {
                any.push(format!("contains(#f_tags, :f_tag{i})"));
                options.values.insert(format!(":f_tag{i}"), s(name));
            }
            conditions.push(format!("({})", any.join(" OR ")));
            options.names.insert("#f_tags".into(), "tags".into());
        }
        let mut add = |attr: &str, op: &str, value: AttributeValue| {
            let name = format!("#f_{attr}");
            let placeholder = format!(":f_{attr}{}", options.values.len());
            conditions.push(format!("{name} {op} {placeholder}"));
            options.names.insert(name, attr.to_string());
            options.values.insert(placeholder, value);
        };
        if let Some(v) = &filter.assignee_id {
            add("assigneeId", "=", s(v));
        }
        if let Some(v) = &filter.created_by {
            add("createdBy", "=", s(v));
        }
        match filter.has_attachments {
            Some(true) => add("attachmentCount", ">", n(0)),
            Some(false) => add("attachmentCount", "=", n(0)),
            None => {}
        }
        if let Some(v) = filter.priority {
            add("priority", "=", s(v.as_str()));
        }
        if let Some(v) = &filter.customer_id {
            add("customerId", "=", s(v.as_str()));
        }
        if let Some(v) = &filter.source {
            add("source", "=", s(v));
        }
        if let Some(v) = filter.created_after {
            add("createdAt", ">", ts(v));
        }
        if let Some(v) = filter.created_before {
            add("createdAt", "<", ts(v));
        }
        if let Some(v) = &filter.category_id {
            add("categoryId", "=", s(v.as_str()));
        }
        if filter.is_spam == Some(true) {
            add("isSpam", "=", AttributeValue::Bool(true));
        } else {
            // Tickets written before the flag existed are not spam.
            conditions.push("(attribute_not_exists(#f_spam) OR #f_spam = :f_notspam)".into());
            options.names.insert("#f_spam".into(), "isSpam".into());
            options
                .values
                .insert(":f_notspam".into(), AttributeValue::Bool(false));
        }
        options.filter = Some(conditions.join(" AND "));
        // The table reads `TICKET#` items; an order index holds tickets only.
        let prefix = match filter.sort {
            TicketSort::CreatedAt => keys::TICKET_SK_PREFIX,
            TicketSort::UpdatedAt => {
                options.index = Some(Index {
                    name: keys::TICKETS_BY_UPDATED_INDEX,
                    pk: keys::TICKETS_PK,
                    sk: keys::UPDATED_AT,
                });
                options.cursor = Some(updated_cursor);
                ""
            }
            TicketSort::Priority => {
                options.index = Some(Index {
                    name: keys::TICKETS_BY_PRIORITY_INDEX,
                    pk: keys::TICKETS_PK,
                    sk: keys::PRIORITY_SK,
                });
                options.cursor = Some(priority_cursor);
                ""
            }
        };
        let start = match after {
            Some(cursor) => Some(
                list_start(&partition, filter.sort, cursor)
                    .ok_or_else(|| StoreError::Corrupt("a ticket list cursor".into()))?,
            ),
            None => None,
        };
        let (items, next) = self
            .query_page(partition.clone(), prefix, start, limit, &options)
            .await
            .map_err(|e| match e {
                // An order index still being built (a stack upgrade adds one at a time,
                // docs/deployment.md) or not there yet: the list can be asked again later.
                StoreError::Backend(m) if options.index.is_some() && m.contains("index") => {
                    StoreError::Unavailable(m)
                }
                e => e,
            })?;
        Ok(Page {
            items: items.iter().map(ticket_from).collect::<Result<_, _>>()?,
            next,
        })
    }
}

impl DynamoStore {
    /// Why a conditional write to a ticket failed: gone (`NotFound`), or live but changed
    /// in the attribute the write was conditional on (`Contended`).
    async fn why_not_live(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TicketId,
    ) -> StoreError {
        match self.ticket(org, mode, brand, id).await {
            Ok(Some(_)) => StoreError::Contended,
            Ok(None) => StoreError::NotFound,
            Err(e) => e,
        }
    }
}

/// Links as a list of maps (`url`, and `title`/`type` when set).
pub(crate) fn links_attr(links: &[Link]) -> AttributeValue {
    AttributeValue::L(
        links
            .iter()
            .map(|l| {
                let mut m: Item = [("url".to_string(), s(l.url.as_str()))].into();
                if let Some(title) = &l.title {
                    m.insert("title".into(), s(title.as_str()));
                }
                if let Some(kind) = &l.kind {
                    m.insert("type".into(), s(kind.as_str()));
                }
                AttributeValue::M(m)
            })
            .collect(),
    )
}

pub(crate) fn links_from(item: &Item, name: &str) -> Result<Vec<Link>, StoreError> {
    let corrupt = || StoreError::Corrupt(name.into());
    let Some(value) = item.get(name) else {
        return Ok(Vec::new());
    };
    let AttributeValue::L(entries) = value else {
        return Err(corrupt());
    };
    entries
        .iter()
        .map(|entry| {
            let AttributeValue::M(m) = entry else {
                return Err(corrupt());
            };
            let r = Reader(m);
            Ok(Link {
                url: r.string("url")?,
                title: r.opt_string("title")?,
                kind: r.opt_string("type")?,
            })
        })
        .collect()
}

fn comment_item(org: &OrgId, mode: Mode, brand: &BrandId, c: &Comment) -> Item {
    let mut item: Item = [
        (keys::PK.into(), s(keys::brand_partition(org, mode, brand))),
        (keys::SK.into(), s(keys::comment_sk(&c.ticket_id, &c.id))),
        ("type".into(), s("comment")),
        ("id".into(), s(c.id.as_str())),
        ("ticketId".into(), s(c.ticket_id.as_str())),
        ("body".into(), s(&c.body)),
        ("authorType".into(), s(c.author_type.as_str())),
        ("metadata".into(), json(&c.metadata)),
        ("links".into(), links_attr(&c.links)),
        ("source".into(), s(&c.source)),
        ("cc".into(), list(c.cc.iter().map(|e| e.to_string()))),
        ("createdAt".into(), ts(c.created_at)),
        ("updatedAt".into(), ts(c.updated_at)),
    ]
    .into();
    let mut opt = |name: &str, value: Option<AttributeValue>| {
        if let Some(v) = value {
            item.insert(name.into(), v);
        }
    };
    opt("authorName", c.author_name.as_deref().map(s));
    opt("authorId", c.author_id.as_deref().map(s));
    opt("parentId", c.parent_id.as_ref().map(|p| s(p.as_str())));
    opt("sourceId", c.source_id.as_deref().map(s));
    opt("sourceData", c.source_data.as_ref().map(json));
    opt("deletedAt", c.deleted_at.map(ts));
    item
}

pub(crate) fn comment_from(item: &Item) -> Result<Comment, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    let author_type =
        AuthorType::parse(&r.string("authorType")?).map_err(|_| corrupt("authorType"))?;
    let created_at = r.timestamp("createdAt")?;
    Ok(Comment {
        id: r.parsed("id", CommentId::parse)?,
        ticket_id: r.parsed("ticketId", TicketId::parse)?,
        body: r.string("body")?,
        author_type,
        author_name: r.opt_string("authorName")?,
        author_id: r.opt_string("authorId")?,
        parent_id: r
            .opt_string("parentId")?
            .map(|p| CommentId::parse(&p).ok_or_else(|| corrupt("parentId")))
            .transpose()?,
        links: links_from(item, "links")?,
        metadata: metadata_field(&r, "metadata")?,
        // Comments written before `source` existed: the portal's customers, or the API.
        source: r.opt_string("source")?.unwrap_or_else(|| {
            if author_type == AuthorType::Customer {
                "portal".into()
            } else {
                "api".into()
            }
        }),
        source_id: r.opt_string("sourceId")?,
        source_data: match item.get("sourceData") {
            None => None,
            Some(_) => Some(metadata_field(&r, "sourceData")?),
        },
        cc: r
            .strings("cc")?
            .iter()
            .map(|e| Email::parse(e).ok_or_else(|| corrupt("cc")))
            .collect::<Result<_, _>>()?,
        created_at,
        updated_at: r.opt_timestamp("updatedAt")?.unwrap_or(created_at),
        deleted_at: r.opt_timestamp("deletedAt")?,
    })
}

/// A comment's changes: `None` leaves a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentPatch {
    pub body: Option<String>,
    pub links: Option<Vec<Link>>,
    pub metadata: Option<Metadata>,
}

impl CommentStore for DynamoStore {
    async fn add_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        set_status: Option<Status>,
        files: &[Attachment],
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        // The comment and the ticket's count (and status, when asked) change together, and
        // only on a live ticket.
        let mut count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::ticket_sk(&comment.ticket_id)))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", ts(comment.created_at));
        let mut set = "SET commentCount = commentCount + :one, updatedAt = :now".to_string();
        if let Some(status) = set_status {
            set.push_str(", #status = :status");
            count = count
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if !files.is_empty() {
            set.push_str(", attachmentCount = attachmentCount + :files");
            count = count.expression_attribute_values(":files", n(files.len()));
        }
        count = count.update_expression(set);
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(count.build())?)
                    .build(),
            )
            .transact_items(tx::put_new(
                &self.table,
                comment_item(org, mode, brand, comment),
            )?);
        // Index 2: a reply's parent is a live top-level comment of the same ticket.
        if let Some(parent) = &comment.parent_id {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .key(keys::PK, s(partition))
                .key(keys::SK, s(keys::comment_sk(&comment.ticket_id, parent)))
                .condition_expression(
                    "attribute_exists(pk) AND attribute_not_exists(parentId) \
                     AND attribute_not_exists(deletedAt)",
                );
            request = request.transact_items(
                TransactWriteItem::builder()
                    .condition_check(tx::build(check.build())?)
                    .build(),
            );
        }
        for a in files {
            request =
                request.transact_items(tx::put_new(&self.table, attachment_item(org, mode, a))?);
        }
        request
            .send()
            .await
            .map_err(|e| tx::classify(e, &[2], "parent"))?;
        Ok(())
    }

    async fn comments(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
    ) -> Result<Vec<Comment>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .query(
                keys::brand_partition(org, mode, brand),
                &keys::comment_prefix(ticket),
            )
            .await?
        {
            let comment = comment_from(&item)?;
            if comment.deleted_at.is_none() {
                out.push(comment);
            }
        }
        Ok(out)
    }

    async fn comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ticket: &TicketId,
        id: &CommentId,
    ) -> Result<Option<Comment>, StoreError> {
        let item = self
            .get(
                keys::brand_partition(org, mode, brand),
                keys::comment_sk(ticket, id),
            )
            .await?;
        Ok(item
            .as_ref()
            .map(comment_from)
            .transpose()?
            .filter(|c| c.deleted_at.is_none()))
    }

    async fn update_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        patch: &CommentPatch,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Only the fields sent: two PATCHes of different fields both land.
        let mut sets = vec!["updatedAt = :now"];
        let mut values: Item = [(":now".to_string(), ts(now))].into();
        if let Some(body) = &patch.body {
            sets.push("body = :body");
            values.insert(":body".into(), s(body.as_str()));
        }
        if let Some(links) = &patch.links {
            sets.push("links = :links");
            values.insert(":links".into(), links_attr(links));
        }
        if let Some(metadata) = &patch.metadata {
            sets.push("metadata = :metadata");
            values.insert(":metadata".into(), json(metadata));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::brand_partition(org, mode, brand)))
            .key(
                keys::SK,
                s(keys::comment_sk(&comment.ticket_id, &comment.id)),
            )
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt)")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if tx::condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn delete_comment(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        comment: &Comment,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let soft = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(
                keys::SK,
                s(keys::comment_sk(&comment.ticket_id, &comment.id)),
            )
            .update_expression("SET deletedAt = :now, updatedAt = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(deletedAt)")
            .expression_attribute_values(":now", ts(now));
        let count = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition))
            .key(keys::SK, s(keys::ticket_sk(&comment.ticket_id)))
            .update_expression("SET commentCount = commentCount - :one, updatedAt = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(deletedAt) AND commentCount >= :one",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", ts(now));
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(soft.build())?)
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
}
