//! People: accounts (one per email), their memberships in organizations, and the member
//! records an organization lists. A member is written as two items in one transaction: the
//! organization's member record and the account's membership (whose key also makes an
//! email a member of an organization at most once).

use crate::item::{Item, Reader, s, ts};
use crate::{DynamoStore, MemberStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use dispatch_auth::Role;
use dispatch_domain::{AccountId, Email, MemberId, OrgId, Timestamp};

/// A person, identified by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub created_at: Timestamp,
}

/// Whether a member has signed in yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Invited, not signed in yet.
    Pending,
    Active,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Pending => "pending",
            MemberStatus::Active => "active",
        }
    }

    fn parse(s: &str) -> Option<MemberStatus> {
        match s {
            "pending" => Some(MemberStatus::Pending),
            "active" => Some(MemberStatus::Active),
            _ => None,
        }
    }
}

/// An account's membership in one organization, as the organization lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub org_id: OrgId,
    pub account_id: AccountId,
    pub email: Email,
    pub role: Role,
    pub status: MemberStatus,
    pub created_at: Timestamp,
}

/// The same membership, as the account lists it (for sign-in and the org switcher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub member_id: MemberId,
    pub role: Role,
    pub status: MemberStatus,
}

pub(crate) fn account_item(account: &Account) -> Item {
    [
        (keys::PK.into(), s(keys::account(&account.email))),
        (keys::SK.into(), s(keys::ACCOUNT_SK)),
        ("type".into(), s("account")),
        ("id".into(), s(account.id.as_str())),
        ("email".into(), s(account.email.as_str())),
        ("createdAt".into(), ts(account.created_at)),
    ]
    .into()
}

/// (member record, membership) items for `member` of an organization called `org_name`.
pub(crate) fn member_items(member: &Member, org_name: &str) -> (Item, Item) {
    let record: Item = [
        (keys::PK.into(), s(keys::org(&member.org_id))),
        (keys::SK.into(), s(keys::member_sk(&member.id))),
        ("type".into(), s("member")),
        ("id".into(), s(member.id.as_str())),
        ("accountId".into(), s(member.account_id.as_str())),
        ("email".into(), s(member.email.as_str())),
        ("role".into(), s(member.role.as_str())),
        ("status".into(), s(member.status.as_str())),
        ("createdAt".into(), ts(member.created_at)),
    ]
    .into();
    let membership: Item = [
        (keys::PK.into(), s(keys::account(&member.email))),
        (keys::SK.into(), s(keys::membership_sk(&member.org_id))),
        ("type".into(), s("membership")),
        ("orgId".into(), s(member.org_id.as_str())),
        ("orgName".into(), s(org_name)),
        ("memberId".into(), s(member.id.as_str())),
        ("role".into(), s(member.role.as_str())),
        ("status".into(), s(member.status.as_str())),
        ("createdAt".into(), ts(member.created_at)),
    ]
    .into();
    (record, membership)
}

fn member_from(item: &Item) -> Result<Member, StoreError> {
    let r = Reader(item);
    let pk = r.string(keys::PK)?;
    Ok(Member {
        id: r.parsed("id", MemberId::parse)?,
        org_id: pk
            .strip_prefix("ORG#")
            .and_then(OrgId::parse)
            .ok_or_else(|| StoreError::Corrupt("member pk".into()))?,
        account_id: r.parsed("accountId", AccountId::parse)?,
        email: r.parsed("email", Email::parse)?,
        role: r.parsed("role", Role::parse)?,
        status: r.parsed("status", MemberStatus::parse)?,
        created_at: r.timestamp("createdAt")?,
    })
}

fn membership_from(item: &Item) -> Result<Membership, StoreError> {
    let r = Reader(item);
    Ok(Membership {
        org_id: r.parsed("orgId", OrgId::parse)?,
        org_name: r.opt_string("orgName")?.unwrap_or_default(),
        member_id: r.parsed("memberId", MemberId::parse)?,
        role: r.parsed("role", Role::parse)?,
        status: r
            .opt_string("status")?
            .and_then(|s| MemberStatus::parse(&s))
            .unwrap_or(MemberStatus::Active),
    })
}

impl DynamoStore {
    /// Applies `expression` to both items of a member (the organization's record and the
    /// account's membership) in one transaction; `NotFound` when either is gone.
    async fn set_on_member(
        &self,
        member: &Member,
        expression: &str,
        values: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let keys_of = [
            (keys::org(&member.org_id), keys::member_sk(&member.id)),
            (
                keys::account(&member.email),
                keys::membership_sk(&member.org_id),
            ),
        ];
        let mut writes = Vec::with_capacity(2);
        for (pk, sk) in keys_of {
            let mut u = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(pk))
                .key(keys::SK, s(sk))
                .update_expression(expression)
                .condition_expression("attribute_exists(pk)");
            // DynamoDB refuses names an expression does not use: declare only the used ones.
            for (placeholder, name) in [("#role", "role"), ("#status", "status")] {
                if expression.contains(placeholder) {
                    u = u.expression_attribute_names(placeholder, name);
                }
            }
            for (name, value) in values {
                u = u.expression_attribute_values(*name, s(*value));
            }
            writes.push(
                TransactWriteItem::builder()
                    .update(tx::build(u.build())?)
                    .build(),
            );
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }
}

impl MemberStore for DynamoStore {
    async fn account(&self, email: &Email) -> Result<Option<Account>, StoreError> {
        let item = self.get(keys::account(email), keys::ACCOUNT_SK).await?;
        let Some(item) = item else {
            return Ok(None);
        };
        let r = Reader(&item);
        Ok(Some(Account {
            id: r.parsed("id", AccountId::parse)?,
            email: r.parsed("email", Email::parse)?,
            created_at: r.timestamp("createdAt")?,
        }))
    }

    async fn memberships(&self, email: &Email) -> Result<Vec<Membership>, StoreError> {
        self.query(keys::account(email), keys::MEMBERSHIP_SK_PREFIX)
            .await?
            .iter()
            .map(membership_from)
            .collect()
    }

    async fn members(&self, org: &OrgId) -> Result<Vec<Member>, StoreError> {
        self.query(keys::org(org), keys::MEMBER_SK_PREFIX)
            .await?
            .iter()
            .map(member_from)
            .collect()
    }

    async fn member(&self, org: &OrgId, member: &MemberId) -> Result<Option<Member>, StoreError> {
        let item = self.get(keys::org(org), keys::member_sk(member)).await?;
        item.as_ref().map(member_from).transpose()
    }

    async fn add_member(
        &self,
        member: &Member,
        org_name: &str,
        new_account: Option<&Account>,
    ) -> Result<(), StoreError> {
        let (record, membership) = member_items(member, org_name);
        let mut writes = vec![
            tx::put_new(&self.table, record)?,
            // Fails when the email is already a member of this organization.
            tx::put_new(&self.table, membership)?,
        ];
        if let Some(account) = new_account {
            writes.push(tx::put_new(&self.table, account_item(account))?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[1], "member"))?;
        Ok(())
    }

    async fn activate_member(&self, member: &Member) -> Result<(), StoreError> {
        self.set_on_member(member, "SET #status = :active", &[(":active", "active")])
            .await
    }

    async fn change_member_role(&self, member: &Member, role: Role) -> Result<(), StoreError> {
        self.set_on_member(member, "SET #role = :role", &[(":role", role.as_str())])
            .await
    }

    async fn remove_member(&self, member: &Member) -> Result<(), StoreError> {
        let writes = vec![
            tx::delete(
                &self.table,
                keys::org(&member.org_id),
                keys::member_sk(&member.id),
            )?,
            tx::delete(
                &self.table,
                keys::account(&member.email),
                keys::membership_sk(&member.org_id),
            )?,
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }
}
