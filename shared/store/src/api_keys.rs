//! API keys: a listing record under the tenant, and an authorization item under the
//! secret's hash, written and changed together in transactions.

use crate::item::{Item, Reader, b, list, n, s, ts};
use crate::{ApiKeyStore, CredentialStore, DynamoStore, StoreError, keys, tx};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use dispatch_auth::grant::LAST_USED_WRITE_INTERVAL_SECS;
use dispatch_auth::{ApiKeyGrant, SecretHash};
use dispatch_domain::{BrandId, KeyId, Mode, OrgId, Timestamp};

/// An API key as listed to its organization. Holds the secret's hash, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: KeyId,
    pub name: String,
    pub mode: Mode,
    pub key_preview: String,
    pub secret_hash: SecretHash,
    pub all_brands: bool,
    pub brand_ids: Vec<BrandId>,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A new brand scope for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeChange {
    pub all_brands: bool,
    pub brand_ids: Vec<BrandId>,
}

fn brand_list(ids: &[BrandId]) -> AttributeValue {
    list(ids.iter().map(|id| id.as_str().to_string()))
}

fn parse_brands(r: &Reader<'_>) -> Result<Vec<BrandId>, StoreError> {
    r.strings("brandIds")?
        .iter()
        .map(|s| BrandId::parse(s).ok_or_else(|| StoreError::Corrupt("brandIds".into())))
        .collect()
}

/// The (listing record, authorization item) pair for a key.
pub(crate) fn items(org: &OrgId, k: &ApiKeyRecord) -> (Item, Item) {
    let mut record: Item = [
        (keys::PK.into(), s(keys::tenant(org, k.mode))),
        (keys::SK.into(), s(keys::api_key_sk(&k.id))),
        ("type".into(), s("apiKey")),
        ("id".into(), s(k.id.as_str())),
        ("name".into(), s(&k.name)),
        ("mode".into(), s(k.mode.as_str())),
        ("keyPreview".into(), s(&k.key_preview)),
        ("secretHash".into(), s(k.secret_hash.to_hex())),
        ("allBrands".into(), b(k.all_brands)),
        ("brandIds".into(), brand_list(&k.brand_ids)),
        ("createdAt".into(), ts(k.created_at)),
    ]
    .into();
    let mut auth: Item = [
        (keys::PK.into(), s(keys::api_key_auth(&k.secret_hash))),
        (keys::SK.into(), s(keys::API_KEY_AUTH_SK)),
        ("type".into(), s("apiKeyGrant")),
        ("keyId".into(), s(k.id.as_str())),
        ("orgId".into(), s(org.as_str())),
        ("mode".into(), s(k.mode.as_str())),
        ("allBrands".into(), b(k.all_brands)),
        ("brandIds".into(), brand_list(&k.brand_ids)),
    ]
    .into();
    if let Some(exp) = k.expires_at {
        record.insert("expiresAt".into(), ts(exp));
        auth.insert("expiresAt".into(), ts(exp));
        // DynamoDB may drop the grant once expired; the code refuses it before that.
        auth.insert(keys::TTL.into(), ts(exp));
    }
    (record, auth)
}

fn record_from(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let r = Reader(item);
    Ok(ApiKeyRecord {
        id: r.parsed("id", KeyId::parse)?,
        name: r.string("name")?,
        mode: r.parsed("mode", Mode::parse)?,
        key_preview: r.string("keyPreview")?,
        secret_hash: r.parsed("secretHash", SecretHash::from_hex)?,
        all_brands: r.bool("allBrands")?,
        brand_ids: parse_brands(&r)?,
        last_used_at: r.opt_timestamp("lastUsedAt")?,
        expires_at: r.opt_timestamp("expiresAt")?,
        created_at: r.timestamp("createdAt")?,
        revoked_at: r.opt_timestamp("revokedAt")?,
    })
}

fn update(table: &str, pk: String, sk: String) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    Update::builder()
        .table_name(table)
        .key(keys::PK, s(pk))
        .key(keys::SK, s(sk))
}

fn is_cancelled<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    matches!(
        err.as_service_error(),
        Some(TransactWriteItemsError::TransactionCanceledException(_))
    )
}

impl CredentialStore for DynamoStore {
    async fn api_key_grant(&self, hash: &SecretHash) -> Result<Option<ApiKeyGrant>, StoreError> {
        let item = self
            .get(keys::api_key_auth(hash), keys::API_KEY_AUTH_SK)
            .await?;
        let Some(item) = item else {
            return Ok(None);
        };
        let r = Reader(&item);
        Ok(Some(ApiKeyGrant {
            key_id: r.parsed("keyId", KeyId::parse)?,
            org_id: r.parsed("orgId", OrgId::parse)?,
            mode: r.parsed("mode", Mode::parse)?,
            all_brands: r.bool("allBrands")?,
            brand_ids: parse_brands(&r)?,
            expires_at: r.opt_timestamp("expiresAt")?,
            last_used_at: r.opt_timestamp("lastUsedAt")?,
        }))
    }

    async fn touch_api_key(
        &self,
        hash: &SecretHash,
        grant: &ApiKeyGrant,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let threshold = now.unix() - LAST_USED_WRITE_INTERVAL_SECS;
        let auth = tx::build(
            update(&self.table, keys::api_key_auth(hash), keys::API_KEY_AUTH_SK.into())
                .update_expression("SET lastUsedAt = :now")
                .condition_expression("attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt <= :threshold)")
                .expression_attribute_values(":now", ts(now))
                .expression_attribute_values(":threshold", n(threshold))
                .build(),
        )?;
        let record = tx::build(
            update(
                &self.table,
                keys::tenant(&grant.org_id, grant.mode),
                keys::api_key_sk(&grant.key_id),
            )
            .update_expression("SET lastUsedAt = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", ts(now))
            .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(auth).build())
            .transact_items(TransactWriteItem::builder().update(record).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Another request touched it first, or the key was just revoked: nothing to do.
            Err(e) if is_cancelled(&e) => Ok(()),
            Err(e) => Err(StoreError::backend(e)),
        }
    }
}

impl ApiKeyStore for DynamoStore {
    async fn list_api_keys(
        &self,
        org: &OrgId,
        mode: Mode,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.query(keys::tenant(org, mode), keys::API_KEY_SK_PREFIX)
            .await?
            .iter()
            .map(record_from)
            .collect()
    }

    async fn api_key(
        &self,
        org: &OrgId,
        mode: Mode,
        key: &KeyId,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let item = self
            .get(keys::tenant(org, mode), keys::api_key_sk(key))
            .await?;
        item.as_ref().map(record_from).transpose()
    }

    async fn create_api_key(&self, org: &OrgId, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let (record_item, auth_item) = items(org, record);
        let put = |item: Item| {
            tx::build(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )
            .map(|p| TransactWriteItem::builder().put(p).build())
        };
        self.client
            .transact_write_items()
            .transact_items(put(record_item)?)
            .transact_items(put(auth_item)?)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn update_api_key_scope(
        &self,
        org: &OrgId,
        record: &ApiKeyRecord,
        change: &ScopeChange,
    ) -> Result<(), StoreError> {
        let set = "SET allBrands = :all, brandIds = :ids";
        let listing = tx::build(
            update(
                &self.table,
                keys::tenant(org, record.mode),
                keys::api_key_sk(&record.id),
            )
            .update_expression(set)
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revokedAt)")
            .expression_attribute_values(":all", b(change.all_brands))
            .expression_attribute_values(":ids", brand_list(&change.brand_ids))
            .build(),
        )?;
        let auth = tx::build(
            update(
                &self.table,
                keys::api_key_auth(&record.secret_hash),
                keys::API_KEY_AUTH_SK.into(),
            )
            .update_expression(set)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":all", b(change.all_brands))
            .expression_attribute_values(":ids", brand_list(&change.brand_ids))
            .build(),
        )?;
        // A failed condition means the key is gone or revoked (`NotFound`); a concurrent
        // transaction is `Contended`, never mistaken for either.
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(listing).build())
            .transact_items(TransactWriteItem::builder().update(auth).build())
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn revoke_api_key(
        &self,
        org: &OrgId,
        record: &ApiKeyRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let listing = tx::build(
            update(
                &self.table,
                keys::tenant(org, record.mode),
                keys::api_key_sk(&record.id),
            )
            .update_expression("SET revokedAt = if_not_exists(revokedAt, :now)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", ts(now))
            .build(),
        )?;
        let auth = tx::build(
            Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::api_key_auth(&record.secret_hash)))
                .key(keys::SK, s(keys::API_KEY_AUTH_SK))
                .build(),
        )?;
        // A failed condition means the key is gone or revoked (`NotFound`); a concurrent
        // transaction is `Contended`, never mistaken for either.
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(listing).build())
            .transact_items(TransactWriteItem::builder().delete(auth).build())
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }
}
