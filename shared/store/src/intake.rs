//! Intake endpoints: one lookup item by token (the public form URL resolves it with one
//! GetItem) and one listing item in the brand's partition, always written together.

use crate::item::{Item, Reader, b, s, ts};
use crate::{DynamoStore, IntakeStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use dispatch_domain::intake::IntakeEndpoint;
use dispatch_domain::{BrandId, IntakeToken, Mode, OrgId};
use std::collections::BTreeMap;

fn fields(e: &IntakeEndpoint) -> Item {
    let mut item: Item = [
        ("type".into(), s("intake")),
        ("token".into(), s(e.token.as_str())),
        ("orgId".into(), s(e.org_id.as_str())),
        ("mode".into(), s(e.mode.as_str())),
        ("brandId".into(), s(e.brand_id.as_str())),
        ("name".into(), s(&e.name)),
        (
            "fieldMapping".into(),
            s(serde_json::to_string(&e.field_mapping).unwrap_or_else(|_| "{}".into())),
        ),
        ("enabled".into(), b(e.enabled)),
        ("createdAt".into(), ts(e.created_at)),
    ]
    .into();
    if let Some(secret) = &e.signing_secret {
        item.insert("signingSecret".into(), s(secret));
    }
    if let Some(url) = &e.success_url {
        item.insert("successUrl".into(), s(url));
    }
    item
}

fn endpoint_from(item: &Item) -> Result<IntakeEndpoint, StoreError> {
    let r = Reader(item);
    let mapping: BTreeMap<String, String> = serde_json::from_str(&r.string("fieldMapping")?)
        .map_err(|_| StoreError::Corrupt("fieldMapping".into()))?;
    Ok(IntakeEndpoint {
        token: r.parsed("token", IntakeToken::parse)?,
        org_id: r.parsed("orgId", OrgId::parse)?,
        mode: r.parsed("mode", Mode::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        name: r.string("name")?,
        signing_secret: r.opt_string("signingSecret")?,
        field_mapping: mapping,
        success_url: r.opt_string("successUrl")?,
        enabled: r.bool("enabled")?,
        created_at: r.timestamp("createdAt")?,
    })
}

/// (pk, sk) of both copies: the token lookup and the brand listing.
fn both_keys(
    e_org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    token: &IntakeToken,
) -> [(String, String); 2] {
    [
        (keys::intake(token), keys::INTAKE_SK.to_string()),
        (
            keys::brand_partition(e_org, mode, brand),
            keys::intake_sk(token),
        ),
    ]
}

impl IntakeStore for DynamoStore {
    async fn create_intake(&self, endpoint: &IntakeEndpoint) -> Result<(), StoreError> {
        let mut request = self.client.transact_write_items();
        for (pk, sk) in both_keys(
            &endpoint.org_id,
            endpoint.mode,
            &endpoint.brand_id,
            &endpoint.token,
        ) {
            let mut item = fields(endpoint);
            item.insert(keys::PK.into(), s(pk));
            item.insert(keys::SK.into(), s(sk));
            request = request.transact_items(tx::put_new(&self.table, item)?);
        }
        request
            .send()
            .await
            .map_err(|e| tx::classify(e, &[0, 1], "token"))?;
        Ok(())
    }

    async fn intake_by_token(
        &self,
        token: &IntakeToken,
    ) -> Result<Option<IntakeEndpoint>, StoreError> {
        self.get(keys::intake(token), keys::INTAKE_SK)
            .await?
            .as_ref()
            .map(endpoint_from)
            .transpose()
    }

    async fn intakes(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<Vec<IntakeEndpoint>, StoreError> {
        self.query(
            keys::brand_partition(org, mode, brand),
            keys::INTAKE_SK_PREFIX,
        )
        .await?
        .iter()
        .map(endpoint_from)
        .collect()
    }

    async fn disable_intake(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        token: &IntakeToken,
    ) -> Result<(), StoreError> {
        let mut request = self.client.transact_write_items();
        for (pk, sk) in both_keys(org, mode, brand, token) {
            // The listing copy's key carries the tenant: another tenant's token fails here.
            let update = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .update_expression("SET enabled = :false")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":false", b(false));
            request = request.transact_items(
                TransactWriteItem::builder()
                    .update(tx::build(update.build())?)
                    .build(),
            );
        }
        request.send().await.map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }
}
