//! `webhook-events`: the table's stream → webhook events → one delivery per matching
//! webhook, handed to the delivery queue.
//!
//! Only committed writes reach the stream, so only committed changes become events. Ids
//! derive from the stream record (`evt_…` from its `eventID`, `whd_…` from the event and
//! the webhook) and delivery records are written only if absent, so a retried batch
//! records nothing twice. The queue message is sent again on a retry (a delivery may then
//! be tried twice: at-least-once, which receivers dedupe on `id`).

use crate::deliver::Job;
use dispatch_domain::ticket::{Comment, Ticket};
use dispatch_domain::webhook::{Webhook, WebhookDelivery, WebhookEvent};
use dispatch_domain::{BrandId, DeliveryId, EventId, Mode, OrgId, Timestamp, WebhookId};
use dispatch_queue::Queue;
use dispatch_store::stream::{self, Operation, StreamEvent, StreamRecord};
use dispatch_store::{CustomerStore, StoreError, TicketStore, WebhookStore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// The ticket attributes whose change is a `ticket.updated`, by the names the event
/// reports (the item's attribute names are the same).
pub const TRACKED: [&str; 12] = [
    "title",
    "body",
    "status",
    "priority",
    "assigneeId",
    "categoryId",
    "tags",
    "links",
    "customFields",
    "metadata",
    "isSpam",
    "mergedIntoId",
];

/// What one stream record means for webhooks.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    TicketCreated(Ticket),
    TicketUpdated(Ticket, Vec<&'static str>),
    CommentCreated(Comment),
}

impl Change {
    pub fn event(&self) -> WebhookEvent {
        match self {
            Change::TicketCreated(_) => WebhookEvent::TicketCreated,
            Change::TicketUpdated(..) => WebhookEvent::TicketUpdated,
            Change::CommentCreated(_) => WebhookEvent::TicketCommentCreated,
        }
    }
}

/// A record's event, before the lookups that complete its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: EventId,
    pub org: OrgId,
    pub mode: Mode,
    pub brand: BrandId,
    /// The commit time (the record's `ApproximateCreationDateTime`), in milliseconds.
    pub at_millis: i64,
    pub change: Change,
}

/// Reads one stream record (pure). `None` for records that are no event: other item
/// types, a ticket change that touches no tracked field (a counter, a soft delete),
/// internal comments, removals.
pub fn classify(record: &StreamRecord) -> Result<Option<Pending>, StoreError> {
    let operation = stream::operation(record);
    let new = match operation {
        Some(Operation::Insert | Operation::Modify) => stream::new_item(record),
        _ => return Ok(None),
    };
    let Some((org, mode, brand)) = stream::brand_of(&new) else {
        return Ok(None);
    };
    let change = match (operation, stream::kind(&new)) {
        (Some(Operation::Insert), Some("ticket")) => Change::TicketCreated(stream::ticket(&new)?),
        (Some(Operation::Modify), Some("ticket")) => {
            let old = stream::old_item(record);
            let changes: Vec<&'static str> = TRACKED
                .into_iter()
                .filter(|field| old.get(*field) != new.get(*field))
                .collect();
            let ticket = stream::ticket(&new)?;
            if changes.is_empty() || ticket.deleted_at.is_some() {
                return Ok(None);
            }
            Change::TicketUpdated(ticket, changes)
        }
        (Some(Operation::Insert), Some("comment")) => {
            let comment = stream::comment(&new)?;
            if comment.is_internal() {
                return Ok(None);
            }
            Change::CommentCreated(comment)
        }
        _ => return Ok(None),
    };
    if record.event_id.is_empty() {
        return Err(StoreError::Corrupt(
            "a stream record without eventID".into(),
        ));
    }
    let at_millis = stream::committed_at_millis(record);
    Ok(Some(Pending {
        id: EventId::derived(at_millis, first_bits(&[record.event_id.as_bytes()])),
        org,
        mode,
        brand,
        at_millis,
        change,
    }))
}

/// 80 bits of SHA-256 over `parts` (each length-prefixed, so parts cannot run together).
fn first_bits(parts: &[&[u8]]) -> [u8; 10] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut out = [0u8; 10];
    out.copy_from_slice(&digest[..10]);
    out
}

/// One delivery's id: the same event and webhook always give the same one.
pub fn delivery_id(event: &EventId, webhook: &WebhookId, at_millis: i64) -> DeliveryId {
    DeliveryId::derived(
        at_millis,
        first_bits(&[event.as_str().as_bytes(), webhook.as_str().as_bytes()]),
    )
}

/// `customerId`, `customerEmail`, `customerName` (`null` without a customer).
async fn customer_fields<S: CustomerStore>(
    store: &S,
    p: &Pending,
    ticket: &Ticket,
) -> Result<[(&'static str, Value); 3], StoreError> {
    let customer = match &ticket.customer_id {
        Some(id) => store.customer(&p.org, p.mode, &p.brand, id).await?,
        None => None,
    };
    Ok([
        (
            "customerId",
            json!(ticket.customer_id.as_ref().map(|c| c.to_string())),
        ),
        (
            "customerEmail",
            json!(customer.as_ref().map(|c| c.email.to_string())),
        ),
        (
            "customerName",
            json!(customer.and_then(|c| c.name.map(|n| n.as_str().to_string()))),
        ),
    ])
}

/// The envelope's compact JSON text: `{id, event, brand_id, data, timestamp}`, exactly. `None`
/// when what it is about is gone (a comment on a ticket deleted since).
pub async fn envelope<S>(store: &S, p: &Pending) -> Result<Option<String>, StoreError>
where
    S: CustomerStore + TicketStore,
{
    let mut data = serde_json::Map::new();
    match &p.change {
        Change::TicketCreated(t) => {
            data.insert("id".into(), json!(t.id.to_string()));
            data.insert("ticketNumber".into(), json!(t.number));
            data.insert("title".into(), json!(t.title));
            data.insert("status".into(), json!(t.status.as_str()));
            data.insert("priority".into(), json!(t.priority.as_str()));
            data.insert("source".into(), json!(t.source));
            data.insert("createdAt".into(), json!(t.created_at.to_rfc3339()));
            data.extend(
                customer_fields(store, p, t)
                    .await?
                    .map(|(k, v)| (k.to_string(), v)),
            );
        }
        Change::TicketUpdated(t, changes) => {
            data.insert("id".into(), json!(t.id.to_string()));
            data.insert("ticketNumber".into(), json!(t.number));
            data.insert("title".into(), json!(t.title));
            data.insert("status".into(), json!(t.status.as_str()));
            data.insert("priority".into(), json!(t.priority.as_str()));
            data.insert("assigneeId".into(), json!(t.assignee_id));
            data.insert("updatedAt".into(), json!(t.updated_at.to_rfc3339()));
            data.insert("changes".into(), json!(changes));
            data.extend(
                customer_fields(store, p, t)
                    .await?
                    .map(|(k, v)| (k.to_string(), v)),
            );
        }
        Change::CommentCreated(c) => {
            let Some(ticket) = store.ticket(&p.org, p.mode, &p.brand, &c.ticket_id).await? else {
                return Ok(None);
            };
            data.insert("ticketId".into(), json!(c.ticket_id.to_string()));
            data.insert("ticketNumber".into(), json!(ticket.display_number));
            data.extend(
                customer_fields(store, p, &ticket)
                    .await?
                    .map(|(k, v)| (k.to_string(), v)),
            );
            data.insert(
                "comment".into(),
                json!({
                    "id": c.id.to_string(),
                    "body": c.body,
                    // Comments record who wrote them by kind and name, not by id.
                    "authorId": null,
                    "authorType": c.author_type.as_str(),
                    "createdAt": c.created_at.to_rfc3339(),
                }),
            );
        }
    }
    let timestamp = Timestamp::from_unix(p.at_millis.div_euclid(1000)).to_rfc3339();
    let envelope = json!({
        "id": p.id.to_string(),
        "event": p.change.event().as_str(),
        "brand_id": p.brand.to_string(),
        "data": data,
        "timestamp": timestamp,
    });
    Ok(Some(envelope.to_string()))
}

/// The stream function's dependencies.
pub struct Events<S> {
    pub store: S,
    pub queue: Queue,
}

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] dispatch_queue::QueueError),
}

/// One batch of stream records. Any failure fails the batch (Lambda retries it, split in
/// halves); what was done before the failure is not done twice.
pub async fn on_stream<S>(deps: &Events<S>, event: StreamEvent) -> Result<Value, EventsError>
where
    S: CustomerStore + TicketStore + WebhookStore,
{
    let mut sent = 0usize;
    let mut events = Vec::new();
    // A batch holds many records of one brand: its webhooks are read once.
    let mut webhooks_of: HashMap<(OrgId, Mode, BrandId), Vec<Webhook>> = HashMap::new();
    for record in &event.records {
        let Some(pending) = classify(record)? else {
            continue;
        };
        let kind = pending.change.event();
        let brand = (pending.org.clone(), pending.mode, pending.brand.clone());
        let webhooks = match webhooks_of.entry(brand) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => {
                let read = deps
                    .store
                    .webhooks(&pending.org, pending.mode, &pending.brand)
                    .await?;
                slot.insert(read)
            }
        };
        let targets: Vec<Webhook> = webhooks
            .iter()
            .filter(|w| w.enabled && w.events.contains(&kind))
            .cloned()
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(payload) = envelope(&deps.store, &pending).await? else {
            continue;
        };
        for webhook in targets {
            let id = delivery_id(&pending.id, &webhook.id, pending.at_millis);
            let delivery = WebhookDelivery::pending(
                id.clone(),
                webhook.id.clone(),
                kind,
                payload.clone(),
                Timestamp::from_unix(pending.at_millis.div_euclid(1000)),
            );
            deps.store
                .create_delivery(&pending.org, pending.mode, &pending.brand, &delivery)
                .await?;
            let job = Job {
                org: pending.org.clone(),
                mode: pending.mode,
                brand: pending.brand.clone(),
                webhook: webhook.id.clone(),
                delivery: id,
            };
            deps.queue.send(&job.body(), 0).await?;
            sent += 1;
        }
        events.push(json!({"id": pending.id.to_string(), "event": kind.as_str()}));
    }
    Ok(json!({"events": events, "deliveries": sent}))
}
