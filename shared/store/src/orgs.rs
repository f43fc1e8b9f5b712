//! Organizations, with their owner and first API key created in one transaction.

use crate::api_keys::ApiKeyRecord;
use crate::item::{Item, Reader, s, ts};
use crate::{DynamoStore, OrgStore, StoreError, keys};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use dispatch_auth::Role;
use dispatch_domain::{AccountId, Email, MemberId, OrgId, Timestamp};

/// An organization (the tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Everything the bootstrap command creates at once.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub org: Organization,
    pub owner_email: Email,
    pub owner_account: AccountId,
    pub owner_member: MemberId,
    pub first_key: ApiKeyRecord,
}

fn put(table: &str, item: Item, condition_new: bool) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if condition_new {
        put = put.condition_expression("attribute_not_exists(pk)");
    }
    let put = put
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl OrgStore for DynamoStore {
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::ORG_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let r = Reader(&item);
        Ok(Some(Organization {
            id: r.parsed("id", OrgId::parse)?,
            name: r.string("name")?,
            created_at: r.timestamp("createdAt")?,
            updated_at: r.timestamp("updatedAt")?,
        }))
    }

    async fn create_organization(&self, new: &NewOrganization) -> Result<(), StoreError> {
        let org = &new.org;
        let now = org.created_at;
        let owner = Role::Owner.as_str();
        // One account per email across organizations: reuse it, or create it now.
        let existing = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::account(&new.owner_email)))
            .key(keys::SK, s(keys::ACCOUNT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::backend)?;
        let (account_id, account_item) = match existing.item {
            Some(item) => (Reader(&item).parsed("id", AccountId::parse)?, None),
            None => {
                let item: Item = [
                    (keys::PK.into(), s(keys::account(&new.owner_email))),
                    (keys::SK.into(), s(keys::ACCOUNT_SK)),
                    ("type".into(), s("account")),
                    ("id".into(), s(new.owner_account.as_str())),
                    ("email".into(), s(new.owner_email.as_str())),
                    ("createdAt".into(), ts(now)),
                ]
                .into();
                (new.owner_account.clone(), Some(item))
            }
        };
        let org_item: Item = [
            (keys::PK.into(), s(keys::org(&org.id))),
            (keys::SK.into(), s(keys::ORG_SK)),
            ("type".into(), s("organization")),
            ("id".into(), s(org.id.as_str())),
            ("name".into(), s(&org.name)),
            ("createdAt".into(), ts(now)),
            ("updatedAt".into(), ts(org.updated_at)),
        ]
        .into();
        let member_item: Item = [
            (keys::PK.into(), s(keys::org(&org.id))),
            (keys::SK.into(), s(keys::member_sk(&new.owner_member))),
            ("type".into(), s("member")),
            ("id".into(), s(new.owner_member.as_str())),
            ("accountId".into(), s(account_id.as_str())),
            ("email".into(), s(new.owner_email.as_str())),
            ("role".into(), s(owner)),
            ("status".into(), s("active")),
            ("createdAt".into(), ts(now)),
        ]
        .into();
        let membership_item: Item = [
            (keys::PK.into(), s(keys::account(&new.owner_email))),
            (keys::SK.into(), s(keys::membership_sk(&org.id))),
            ("type".into(), s("membership")),
            ("orgId".into(), s(org.id.as_str())),
            ("memberId".into(), s(new.owner_member.as_str())),
            ("role".into(), s(owner)),
            ("createdAt".into(), ts(now)),
        ]
        .into();

        let mut writes = vec![
            put(&self.table, org_item, true)?,
            put(&self.table, member_item, true)?,
            put(&self.table, membership_item, true)?,
        ];
        if let Some(item) = account_item {
            writes.push(put(&self.table, item, true)?);
        }
        let (record, auth) = crate::api_keys::items(&org.id, &new.first_key);
        writes.push(put(&self.table, record, true)?);
        writes.push(put(&self.table, auth, true)?);

        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
