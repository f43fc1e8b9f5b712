//! Ticket tags: one item per tag (`TAG#{id}`), a claim per case-folded name
//! (`TAGNAME#{name}`, naming the tag and its spelling) and a count that caps them
//! (`TAGCOUNT`), all in the brand's partition. Tickets keep names; the stream rewrites
//! them when a tag is renamed, merged or deleted.

use crate::item::{Item, Reader, list, n, s, ts};
use crate::{DynamoStore, StoreError, TagCleanup, TagStore, keys, tx};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use dispatch_domain::category::folded;
use dispatch_domain::tag::{MAX_TAGS, Tag, by_name, rewrite_names};
use dispatch_domain::{BrandId, Mode, OrgId, TagId, Timestamp};
use std::collections::HashMap;

/// Tags deleted per transaction: each is two deletes, plus the count (at most 100 items).
const DELETES_PER_TRANSACTION: usize = 49;

fn tag_item(partition: &str, t: &Tag) -> Item {
    [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::tag_sk(&t.id))),
        ("type".into(), s("tag")),
        ("id".into(), s(t.id.as_str())),
        ("brandId".into(), s(t.brand_id.as_str())),
        ("name".into(), s(t.name.as_str())),
        ("color".into(), s(t.color.as_str())),
        ("version".into(), n(t.version)),
        ("createdAt".into(), ts(t.created_at)),
    ]
    .into()
}

fn tag_from(item: &Item) -> Result<Tag, StoreError> {
    let r = Reader(item);
    Ok(Tag {
        id: r.parsed("id", TagId::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        name: r.string("name")?,
        color: r.string("color")?,
        version: r.u64("version")?,
        created_at: r.timestamp("createdAt")?,
    })
}

/// The claim of a tag's name: which tag holds it, spelt how.
fn name_claim(partition: &str, t: &Tag) -> Item {
    [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::tag_name_sk(&folded(&t.name)))),
        ("type".into(), s("tagName")),
        ("tagId".into(), s(t.id.as_str())),
        ("name".into(), s(t.name.as_str())),
    ]
    .into()
}

impl TagStore for DynamoStore {
    async fn tags(&self, org: &OrgId, mode: Mode, brand: &BrandId) -> Result<Vec<Tag>, StoreError> {
        let items = self
            .query(keys::brand_partition(org, mode, brand), keys::TAG_SK_PREFIX)
            .await?;
        Ok(by_name(
            items.iter().map(tag_from).collect::<Result<_, _>>()?,
        ))
    }

    async fn tag(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &TagId,
    ) -> Result<Option<Tag>, StoreError> {
        let item = self
            .get_in_brand(org, mode, brand, keys::tag_sk(id))
            .await?;
        item.as_ref().map(tag_from).transpose()
    }

    async fn tags_by_id(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ids: &[TagId],
    ) -> Result<Vec<Tag>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        // A batch read refuses a key listed twice.
        let mut wanted: Vec<(String, String)> = Vec::with_capacity(ids.len());
        for id in ids {
            let key = (partition.clone(), keys::tag_sk(id));
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        self.batch_get(&wanted)
            .await?
            .iter()
            .map(tag_from)
            .collect()
    }

    async fn tag_spellings(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        names: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        // One key per name ignoring case: a batch read refuses a key listed twice.
        let mut wanted: Vec<(String, String)> = Vec::with_capacity(names.len());
        for name in names {
            let key = (partition.clone(), keys::tag_name_sk(&folded(name)));
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        let mut out = HashMap::new();
        for item in self.batch_get(&wanted).await? {
            let name = Reader(&item).string("name")?;
            out.insert(folded(&name), name);
        }
        Ok(out)
    }

    async fn create_tag(&self, org: &OrgId, mode: Mode, tag: &Tag) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &tag.brand_id);
        self.create_counted(tx::CountedCreate {
            org,
            mode,
            brand: &tag.brand_id,
            item: tag_item(&partition, tag),
            claim: Some(name_claim(&partition, tag)),
            count_sk: keys::TAG_COUNT_SK.to_string(),
            max: MAX_TAGS,
            what: "tag",
        })
        .await
    }

    async fn update_tag(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Tag,
        after: &Tag,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &after.brand_id);
        let update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::tag_sk(&after.id)))
            .update_expression("SET #name = :name, color = :color, #version = :next")
            .condition_expression("attribute_exists(pk) AND #version = :version")
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":name", s(after.name.as_str()))
            .expression_attribute_values(":color", s(after.color.as_str()))
            .expression_attribute_values(":next", n(before.version + 1))
            .expression_attribute_values(":version", n(before.version));
        let mut writes = vec![
            TransactWriteItem::builder()
                .update(tx::build(update.build())?)
                .build(),
        ];
        if after.name != before.name {
            if folded(&after.name) == folded(&before.name) {
                // Only the spelling changed: the claim stays, with the new spelling.
                writes.push(tx::put(&self.table, name_claim(&partition, after))?);
            } else {
                writes.push(tx::put_new(&self.table, name_claim(&partition, after))?);
                writes.push(tx::delete(
                    &self.table,
                    partition,
                    keys::tag_name_sk(&folded(&before.name)),
                )?);
            }
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match tx::failed_at(&e) {
                Some(1) => StoreError::Conflict("tag"),
                _ => tx::classify(e, &[], ""),
            }),
        }
    }

    async fn delete_tags(
        &self,
        org: &OrgId,
        mode: Mode,
        tags: &[Tag],
        merged_into: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(first) = tags.first() else {
            return Ok(());
        };
        let partition = keys::brand_partition(org, mode, &first.brand_id);
        // A merge marks its sources first, so their removal records say where their
        // tickets' names go (the stream reads `mergedInto` from the old image).
        if let Some(target) = merged_into {
            let mut marks = Vec::with_capacity(tags.len());
            for t in tags {
                let mark = Update::builder()
                    .table_name(&self.table)
                    .key(keys::PK, s(partition.clone()))
                    .key(keys::SK, s(keys::tag_sk(&t.id)))
                    .update_expression("SET mergedInto = :target")
                    .condition_expression("attribute_exists(pk) AND #version = :version")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":target", s(target))
                    .expression_attribute_values(":version", n(t.version));
                marks.push(
                    TransactWriteItem::builder()
                        .update(tx::build(mark.build())?)
                        .build(),
                );
            }
            self.client
                .transact_write_items()
                .set_transact_items(Some(marks))
                .send()
                .await
                .map_err(|e| tx::classify(e, &[], ""))?;
        }
        for chunk in tags.chunks(DELETES_PER_TRANSACTION) {
            let mut writes = Vec::with_capacity(chunk.len() * 2 + 1);
            for t in chunk {
                writes.push(tx::delete_existing(
                    &self.table,
                    partition.clone(),
                    keys::tag_sk(&t.id),
                )?);
                writes.push(tx::delete(
                    &self.table,
                    partition.clone(),
                    keys::tag_name_sk(&folded(&t.name)),
                )?);
            }
            writes.push(tx::count_down(
                &self.table,
                partition.clone(),
                keys::TAG_COUNT_SK,
                chunk.len() as u64,
            )?);
            self.client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .map_err(|e| tx::classify(e, &[], ""))?;
        }
        Ok(())
    }
}

impl TagCleanup for DynamoStore {
    async fn rewrite_ticket_tags(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        from: &str,
        to: Option<&str>,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        // Tickets are not indexed by tag: one filtered pass over the brand's tickets. The
        // filter is exact; names are compared ignoring case below (tickets spell names as
        // their tags do, so an exact match finds them).
        let tickets = self
            .tickets_where(
                keys::brand_partition(org, mode, brand),
                "contains(tags, :from)",
                &[(":from", s(from))],
                "pk, sk, tags",
            )
            .await?;
        let mut changed = 0;
        for item in tickets {
            let (Some(pk), Some(sk)) = (item.get(keys::PK), item.get(keys::SK)) else {
                continue;
            };
            let mut names = Reader(&item).strings("tags")?;
            // A concurrent write of the ticket's tags: read them again, a few times.
            for _ in 0..3 {
                let after = rewrite_names(&names, from, to);
                if after == names {
                    break;
                }
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(keys::PK, pk.clone())
                    .key(keys::SK, sk.clone())
                    .condition_expression("tags = :before")
                    .update_expression("SET tags = :after, updatedAt = :now")
                    .expression_attribute_values(":before", list(names.iter().cloned()))
                    .expression_attribute_values(":after", list(after.iter().cloned()))
                    .expression_attribute_values(":now", ts(now));
                if tx::update_if(update).await? {
                    changed += 1;
                    break;
                }
                // Changed meanwhile: read the tags again (a ticket gone is left alone).
                let Some(now_item) = self
                    .get(
                        pk.as_s()
                            .map_err(|_| StoreError::Corrupt("pk".into()))?
                            .clone(),
                        sk.as_s()
                            .map_err(|_| StoreError::Corrupt("sk".into()))?
                            .clone(),
                    )
                    .await?
                else {
                    break;
                };
                names = Reader(&now_item).strings("tags")?;
            }
        }
        Ok(changed)
    }
}
