//! Wire shape of tickets.

use dispatch_domain::customer::Customer;
use dispatch_domain::ticket::Ticket;
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSummary {
    id: String,
    email: String,
    name: Option<String>,
}

/// `Ticket` (spec §4.6). `ticketNumber` is the integer, `displayNumber` the `DT-1042` form.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    id: String,
    brand_id: String,
    ticket_number: u64,
    display_number: String,
    title: String,
    body: Option<String>,
    status: &'static str,
    priority: &'static str,
    source: String,
    customer_id: Option<String>,
    /// `false` when the customer was named by an unproven address (an unsigned form post):
    /// the ticket is not in that customer's portal.
    customer_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<CustomerSummary>,
    custom_fields: Value,
    metadata: Value,
    tags: Vec<String>,
    assignee_id: Option<String>,
    category_id: Option<String>,
    created_by: Option<String>,
    links: Vec<crate::comments::LinkView>,
    source_id: Option<String>,
    source_data: Option<Value>,
    comment_count: u64,
    attachment_count: u64,
    is_spam: bool,
    merged_into_id: Option<String>,
    created_at: String,
    updated_at: String,
    /// When it was deleted (soft delete), `null` while it is live.
    deleted_at: Option<String>,
}

impl TicketView {
    pub fn new(t: &Ticket, customer: Option<&Customer>) -> TicketView {
        TicketView {
            id: t.id.to_string(),
            brand_id: t.brand_id.to_string(),
            ticket_number: t.number,
            display_number: t.display_number.clone(),
            title: t.title.clone(),
            body: t.body.clone(),
            status: t.status.as_str(),
            priority: t.priority.as_str(),
            source: t.source.clone(),
            customer_id: t.customer_id.as_ref().map(ToString::to_string),
            customer_verified: t.customer_verified,
            customer: customer.map(|c| CustomerSummary {
                id: c.id.to_string(),
                email: c.email.to_string(),
                name: c.name.as_ref().map(|n| n.as_str().to_string()),
            }),
            custom_fields: t.custom_fields.to_value(),
            metadata: t.metadata.to_value(),
            tags: t.tags.clone(),
            assignee_id: t.assignee_id.clone(),
            category_id: t.category_id.as_ref().map(ToString::to_string),
            created_by: t.created_by.clone(),
            links: t
                .links
                .iter()
                .map(crate::comments::LinkView::from)
                .collect(),
            source_id: t.source_id.clone(),
            source_data: t.source_data.as_ref().map(|d| d.to_value()),
            comment_count: t.comment_count,
            attachment_count: t.attachment_count,
            is_spam: t.is_spam,
            merged_into_id: t.merged_into_id.as_ref().map(ToString::to_string),
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
            deleted_at: t.deleted_at.map(|d| d.to_rfc3339()),
        }
    }
}
