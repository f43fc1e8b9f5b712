//! Organizations, with their owner and first API key created in one transaction.

use crate::api_keys::ApiKeyRecord;
use crate::item::{Item, Reader, s, ts};
use crate::members::{Account, Member, MemberStatus, account_item, member_items};
use crate::{DynamoStore, MemberStore, OrgStore, StoreError, keys, tx};
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
    /// The bootstrap key; self-serve signup creates an organization without one.
    pub first_key: Option<ApiKeyRecord>,
}

impl OrgStore for DynamoStore {
    async fn organization(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        let item = self.get(keys::org(org), keys::ORG_SK).await?;
        let Some(item) = item else {
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
        // One account per email across organizations: reuse it, or create it now.
        let (account_id, new_account) = match self.account(&new.owner_email).await? {
            Some(account) => (account.id, None),
            None => {
                let account = Account {
                    id: new.owner_account.clone(),
                    email: new.owner_email.clone(),
                    created_at: now,
                };
                (account.id.clone(), Some(account_item(&account)))
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
        let owner = Member {
            id: new.owner_member.clone(),
            org_id: org.id.clone(),
            account_id,
            email: new.owner_email.clone(),
            role: Role::Owner,
            status: MemberStatus::Active,
            created_at: now,
        };
        let (member_item, membership_item) = member_items(&owner, &org.name);

        let mut writes = vec![
            tx::put_new(&self.table, org_item)?,
            tx::put_new(&self.table, member_item)?,
            tx::put_new(&self.table, membership_item)?,
        ];
        if let Some(item) = new_account {
            writes.push(tx::put_new(&self.table, item)?);
        }
        if let Some(key) = &new.first_key {
            let (record, auth) = crate::api_keys::items(&org.id, key);
            writes.push(tx::put_new(&self.table, record)?);
            writes.push(tx::put_new(&self.table, auth)?);
        }

        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}
