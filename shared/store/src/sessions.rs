//! Dashboard sessions and magic links.
//!
//! A session is one item under the SHA-256 of its token (authentication is one GetItem)
//! plus an index item under its member, so removing a member or changing their role can
//! find every session they hold with a strongly consistent Query.

use crate::item::{Item, Reader, s, ts};
use crate::{DynamoStore, SessionStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use dispatch_auth::session::MAGIC_LINK_TTL_SECS;
use dispatch_auth::{Role, SecretHash, SessionGrant};
use dispatch_domain::{AccountId, Email, MemberId, OrgId, SessionId, Timestamp};

fn session_item(hash: &SecretHash, g: &SessionGrant) -> Item {
    [
        (keys::PK.into(), s(keys::session(hash))),
        (keys::SK.into(), s(keys::SESSION_SK)),
        ("type".into(), s("session")),
        ("id".into(), s(g.session_id.as_str())),
        ("accountId".into(), s(g.account_id.as_str())),
        ("email".into(), s(g.email.as_str())),
        ("orgId".into(), s(g.org_id.as_str())),
        ("memberId".into(), s(g.member_id.as_str())),
        ("role".into(), s(g.role.as_str())),
        ("createdAt".into(), ts(g.created_at)),
        ("lastSeenAt".into(), ts(g.last_seen_at)),
        (keys::TTL.into(), ts(g.absolute_expiry())),
    ]
    .into()
}

fn index_item(hash: &SecretHash, g: &SessionGrant) -> Item {
    [
        (
            keys::PK.into(),
            s(keys::member_sessions(&g.org_id, &g.member_id)),
        ),
        (keys::SK.into(), s(keys::member_session_sk(hash))),
        ("type".into(), s("memberSession")),
        ("sessionHash".into(), s(hash.to_hex())),
        (keys::TTL.into(), ts(g.absolute_expiry())),
    ]
    .into()
}

fn grant_from(item: &Item) -> Result<SessionGrant, StoreError> {
    let r = Reader(item);
    Ok(SessionGrant {
        session_id: r.parsed("id", SessionId::parse)?,
        account_id: r.parsed("accountId", AccountId::parse)?,
        email: r.parsed("email", Email::parse)?,
        org_id: r.parsed("orgId", OrgId::parse)?,
        member_id: r.parsed("memberId", MemberId::parse)?,
        role: r.parsed("role", Role::parse)?,
        created_at: r.timestamp("createdAt")?,
        last_seen_at: r.timestamp("lastSeenAt")?,
    })
}

impl DynamoStore {
    /// Hashes of every session a member holds.
    async fn member_session_hashes(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<Vec<SecretHash>, StoreError> {
        self.query(keys::member_sessions(org, member), "")
            .await?
            .iter()
            .map(|item| Reader(item).parsed("sessionHash", SecretHash::from_hex))
            .collect()
    }

    async fn delete_session_items(
        &self,
        hash: &SecretHash,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .transact_items(tx::delete(
                &self.table,
                keys::session(hash),
                keys::SESSION_SK,
            )?)
            .transact_items(tx::delete(
                &self.table,
                keys::member_sessions(org, member),
                keys::member_session_sk(hash),
            )?)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }
}

impl SessionStore for DynamoStore {
    async fn session_grant(&self, hash: &SecretHash) -> Result<Option<SessionGrant>, StoreError> {
        let item = self.get(keys::session(hash), keys::SESSION_SK).await?;
        item.as_ref().map(grant_from).transpose()
    }

    async fn refresh_session(&self, hash: &SecretHash, now: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::session(hash)))
            .key(keys::SK, s(keys::SESSION_SK))
            .update_expression("SET lastSeenAt = :now")
            .condition_expression("attribute_exists(pk) AND lastSeenAt < :now")
            .expression_attribute_values(":now", ts(now))
            .customize()
            .config_override(crate::retry::answer_or_nothing())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if tx::condition_failed(&e) => Ok(()),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn create_session(
        &self,
        hash: &SecretHash,
        grant: &SessionGrant,
    ) -> Result<(), StoreError> {
        // The membership must still exist, with the role the session carries: a member
        // removed or re-roled while signing in gets no stale session.
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(keys::PK, s(keys::account(&grant.email)))
            .key(keys::SK, s(keys::membership_sk(&grant.org_id)))
            .condition_expression("attribute_exists(pk) AND #role = :role AND memberId = :member")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(grant.role.as_str()))
            .expression_attribute_values(":member", s(grant.member_id.as_str()));
        self.client
            .transact_write_items()
            .transact_items(tx::put_new(&self.table, session_item(hash, grant))?)
            .transact_items(tx::put_new(&self.table, index_item(hash, grant))?)
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(tx::build(check.build())?)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn delete_session(
        &self,
        hash: &SecretHash,
        grant: &SessionGrant,
    ) -> Result<(), StoreError> {
        self.delete_session_items(hash, &grant.org_id, &grant.member_id)
            .await
    }

    async fn delete_member_sessions(
        &self,
        org: &OrgId,
        member: &MemberId,
    ) -> Result<(), StoreError> {
        for hash in self.member_session_hashes(org, member).await? {
            self.delete_session_items(&hash, org, member).await?;
        }
        Ok(())
    }

    async fn set_member_sessions_role(
        &self,
        org: &OrgId,
        member: &MemberId,
        role: Role,
    ) -> Result<(), StoreError> {
        for hash in self.member_session_hashes(org, member).await? {
            let update = Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::session(&hash)))
                .key(keys::SK, s(keys::SESSION_SK))
                .update_expression("SET #role = :role")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#role", "role")
                .expression_attribute_values(":role", s(role.as_str()));
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .update(tx::build(update.build())?)
                        .build(),
                )
                .send()
                .await;
            match result.map_err(|e| tx::classify(e, &[], "")) {
                // Logged out meanwhile: nothing to update.
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn issue_magic_link(
        &self,
        email: &Email,
        hash: &SecretHash,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let expires = now.plus_seconds(MAGIC_LINK_TTL_SECS);
        let link: Item = [
            (keys::PK.into(), s(keys::magic_link(hash))),
            (keys::SK.into(), s(keys::MAGIC_LINK_SK)),
            ("type".into(), s("magicLink")),
            ("email".into(), s(email.as_str())),
            ("expiresAt".into(), ts(expires)),
            (keys::TTL.into(), ts(expires)),
        ]
        .into();
        let pointer: Item = [
            (keys::PK.into(), s(keys::account(email))),
            (keys::SK.into(), s(keys::LATEST_MAGIC_LINK_SK)),
            ("type".into(), s("latestMagicLink")),
            ("linkHash".into(), s(hash.to_hex())),
            (keys::TTL.into(), ts(expires)),
        ]
        .into();
        // The pointer names the previous link: it is deleted in the same transaction, so
        // only the newest link for an address works.
        let previous = self
            .get(keys::account(email), keys::LATEST_MAGIC_LINK_SK)
            .await?
            .and_then(|item| Reader(&item).opt_string("linkHash").ok().flatten())
            .and_then(|hex| SecretHash::from_hex(&hex));
        let put_pointer = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer));
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(tx::put_new(&self.table, link)?)
            .transact_items(
                TransactWriteItem::builder()
                    .put(tx::build(put_pointer.build())?)
                    .build(),
            );
        if let Some(old) = previous.filter(|old| old != hash) {
            let d = Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::magic_link(&old)))
                .key(keys::SK, s(keys::MAGIC_LINK_SK));
            request = request.transact_items(
                TransactWriteItem::builder()
                    .delete(tx::build(d.build())?)
                    .build(),
            );
        }
        request.send().await.map_err(StoreError::backend)?;
        Ok(())
    }

    async fn magic_link_email(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<Email>, StoreError> {
        let Some(item) = self
            .get(keys::magic_link(hash), keys::MAGIC_LINK_SK)
            .await?
        else {
            return Ok(None);
        };
        let r = Reader(&item);
        if r.timestamp("expiresAt")? <= now {
            return Ok(None);
        }
        r.parsed("email", Email::parse).map(Some)
    }

    async fn consume_magic_link(
        &self,
        hash: &SecretHash,
        now: Timestamp,
    ) -> Result<Option<Email>, StoreError> {
        // One conditional delete: of two concurrent verifies, exactly one gets the item.
        self.take_unexpired(keys::magic_link(hash), keys::MAGIC_LINK_SK, now)
            .await?
            .map(|item| Reader(&item).parsed("email", Email::parse))
            .transpose()
    }
}
