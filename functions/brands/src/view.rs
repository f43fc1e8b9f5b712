//! Wire shapes of brands.

use dispatch_domain::brand::Brand;
use dispatch_store::BrandContents;
use serde::Serialize;
use serde_json::Value;

/// `Brand`. `accountId` repeats the organization id for SDK compatibility.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandView {
    id: String,
    account_id: String,
    name: String,
    slug: String,
    ticket_prefix: String,
    next_ticket_number: u64,
    portal_origins: Vec<String>,
    metadata: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket_schema: Option<Value>,
    url: Option<String>,
    icon_url: Option<String>,
    from_name: Option<String>,
    from_email: Option<String>,
    autoresponse_enabled: bool,
    autoresponse_subject: Option<String>,
    autoresponse_body: Option<String>,
    /// Read-only: whether the deployment receives mail for brands (`InboundDomain`).
    inbound_email_enabled: bool,
    created_at: String,
    updated_at: String,
}

impl BrandView {
    /// The brand as shown; `inbound` is whether the deployment receives mail for brands.
    pub fn new(b: &Brand, inbound: bool) -> BrandView {
        BrandView {
            id: b.id.to_string(),
            account_id: b.org_id.to_string(),
            name: b.name.as_str().to_string(),
            slug: b.slug.as_str().to_string(),
            ticket_prefix: b.ticket_prefix.as_str().to_string(),
            next_ticket_number: b.next_ticket_number,
            portal_origins: b
                .portal_origins
                .iter()
                .map(|o| o.as_str().to_string())
                .collect(),
            metadata: b.metadata.to_value(),
            ticket_schema: b.ticket_schema.as_ref().map(|s| s.to_value()),
            url: b.profile.url.clone(),
            icon_url: b.profile.icon_url.clone(),
            from_name: b.profile.from_name.clone(),
            from_email: b.profile.from_email.as_ref().map(ToString::to_string),
            autoresponse_enabled: b.profile.autoresponse_enabled,
            autoresponse_subject: b.profile.autoresponse_subject.clone(),
            autoresponse_body: b.profile.autoresponse_body.clone(),
            inbound_email_enabled: inbound,
            created_at: b.created_at.to_rfc3339(),
            updated_at: b.updated_at.to_rfc3339(),
        }
    }
}

/// What deleting a brand would remove, by the brand's counters.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletePreview {
    ticket_count: u64,
    webhook_count: u64,
    category_count: u64,
    tag_count: u64,
}

impl DeletePreview {
    pub fn of(brand: &Brand, contents: BrandContents) -> DeletePreview {
        DeletePreview {
            ticket_count: brand.ticket_count,
            webhook_count: contents.webhooks,
            category_count: contents.categories,
            tag_count: contents.tags,
        }
    }
}
