//! Portal magic links: single-use items keyed by the token's hash.

use crate::item::{Item, Reader, n, s};
use crate::{DynamoStore, PortalLink, PortalLinkStore, StoreError, keys};
use dispatch_auth::SecretHash;
use dispatch_domain::{BrandId, CustomerId, Email, Mode, OrgId, Timestamp};

impl PortalLinkStore for DynamoStore {
    async fn create_portal_link(
        &self,
        hash: &SecretHash,
        link: &PortalLink,
    ) -> Result<(), StoreError> {
        let mut item: Item = [
            (keys::PK.into(), s(keys::portal_link(hash))),
            (keys::SK.into(), s(keys::PORTAL_LINK_SK)),
            ("type".into(), s("portalLink")),
            ("orgId".into(), s(link.org_id.as_str())),
            ("mode".into(), s(link.mode.as_str())),
            ("brandId".into(), s(link.brand_id.as_str())),
            ("customerId".into(), s(link.customer_id.as_str())),
            ("email".into(), s(link.email.as_str())),
            ("expiresAt".into(), n(link.expires_at.unix())),
            (keys::TTL.into(), n(link.expires_at.unix())),
        ]
        .into();
        if let Some(name) = &link.name {
            item.insert("name".into(), s(name));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn consume_portal_link(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<PortalLink>, StoreError> {
        // Of two concurrent verifies exactly one gets the link; an expired one neither.
        let Some(item) = self
            .take_unexpired(keys::portal_link(hash), keys::PORTAL_LINK_SK, now)
            .await?
        else {
            return Ok(None);
        };
        let r = Reader(&item);
        Ok(Some(PortalLink {
            org_id: r.parsed("orgId", OrgId::parse)?,
            mode: r.parsed("mode", Mode::parse)?,
            brand_id: r.parsed("brandId", BrandId::parse)?,
            customer_id: r.parsed("customerId", CustomerId::parse)?,
            email: r.parsed("email", Email::parse)?,
            name: r.opt_string("name")?,
            expires_at: r.timestamp("expiresAt")?,
        }))
    }
}
