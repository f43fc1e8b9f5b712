//! Ticket categories: one item per category (`CATEGORY#{id}`, with its `ticketCount`), a
//! claim per case-folded name (`CATEGORYNAME#{name}`) and a count that caps them
//! (`CATEGORYCOUNT`), all in the brand's partition.

use crate::item::{Item, Reader, n, s, ts};
use crate::{CategoryCleanup, CategoryStore, DynamoStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use dispatch_domain::category::{Category, MAX_CATEGORIES, folded, in_order};
use dispatch_domain::{BrandId, CategoryId, Mode, OrgId, Timestamp};

fn category_item(partition: &str, c: &Category) -> Item {
    let mut item: Item = [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::category_sk(&c.id))),
        ("type".into(), s("category")),
        ("id".into(), s(c.id.as_str())),
        ("brandId".into(), s(c.brand_id.as_str())),
        ("name".into(), s(c.name.as_str())),
        ("color".into(), s(c.color.as_str())),
        ("sortOrder".into(), n(c.sort_order)),
        ("ticketCount".into(), n(c.ticket_count)),
        ("version".into(), n(c.version)),
        ("createdAt".into(), ts(c.created_at)),
        ("updatedAt".into(), ts(c.updated_at)),
    ]
    .into();
    if let Some(d) = &c.description {
        item.insert("description".into(), s(d.as_str()));
    }
    item
}

fn category_from(item: &Item) -> Result<Category, StoreError> {
    let r = Reader(item);
    Ok(Category {
        id: r.parsed("id", CategoryId::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        name: r.string("name")?,
        color: r.string("color")?,
        description: r.opt_string("description")?,
        sort_order: r.i64("sortOrder")?,
        ticket_count: r.u64("ticketCount")?,
        version: r.u64("version")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
    })
}

/// The claim of a category's name, naming the category that holds it.
fn name_claim(partition: &str, c: &Category) -> Item {
    [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::category_name_sk(&folded(&c.name)))),
        ("type".into(), s("categoryName")),
        ("categoryId".into(), s(c.id.as_str())),
    ]
    .into()
}

impl CategoryStore for DynamoStore {
    async fn categories(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<Vec<Category>, StoreError> {
        let items = self
            .query(
                keys::brand_partition(org, mode, brand),
                keys::CATEGORY_SK_PREFIX,
            )
            .await?;
        Ok(in_order(
            items.iter().map(category_from).collect::<Result<_, _>>()?,
        ))
    }

    async fn category(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &CategoryId,
    ) -> Result<Option<Category>, StoreError> {
        let item = self
            .get_in_brand(org, mode, brand, keys::category_sk(id))
            .await?;
        item.as_ref().map(category_from).transpose()
    }

    async fn create_category(
        &self,
        org: &OrgId,
        mode: Mode,
        category: &Category,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &category.brand_id);
        self.create_counted(tx::CountedCreate {
            org,
            mode,
            brand: &category.brand_id,
            item: category_item(&partition, category),
            claim: Some(name_claim(&partition, category)),
            count_sk: keys::CATEGORY_COUNT_SK.to_string(),
            max: MAX_CATEGORIES,
            what: "category",
        })
        .await
    }

    async fn update_category(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Category,
        after: &Category,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &after.brand_id);
        // The category's own fields only: `ticketCount` moves in the tickets' writes.
        let mut update = Update::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::category_sk(&after.id)))
            .condition_expression("attribute_exists(pk) AND #version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":version", n(before.version))
            .expression_attribute_values(":next", n(before.version + 1))
            .expression_attribute_values(":name", s(after.name.as_str()))
            .expression_attribute_values(":color", s(after.color.as_str()))
            .expression_attribute_values(":order", n(after.sort_order))
            .expression_attribute_values(":now", ts(after.updated_at));
        let sets = "SET #name = :name, color = :color, sortOrder = :order, \
                    updatedAt = :now, #version = :next";
        update = match &after.description {
            Some(d) => update
                .update_expression(format!("{sets}, description = :description"))
                .expression_attribute_values(":description", AttributeValue::S(d.clone())),
            None => update.update_expression(format!("{sets} REMOVE description")),
        };
        let mut writes = vec![
            TransactWriteItem::builder()
                .update(tx::build(update.build())?)
                .build(),
        ];
        // A new name (not only a new case of it) moves the claim.
        let renamed = folded(&before.name) != folded(&after.name);
        if renamed {
            writes.push(tx::put_new(&self.table, name_claim(&partition, after))?);
            writes.push(tx::delete(
                &self.table,
                partition,
                keys::category_name_sk(&folded(&before.name)),
            )?);
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
                Some(1) => StoreError::Conflict("category"),
                _ => tx::classify(e, &[], ""),
            }),
        }
    }

    async fn delete_category(
        &self,
        org: &OrgId,
        mode: Mode,
        category: &Category,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &category.brand_id);
        self.client
            .transact_write_items()
            .transact_items(tx::delete_existing(
                &self.table,
                partition.clone(),
                keys::category_sk(&category.id),
            )?)
            .transact_items(tx::delete(
                &self.table,
                partition.clone(),
                keys::category_name_sk(&folded(&category.name)),
            )?)
            .transact_items(tx::count_down(
                &self.table,
                partition,
                keys::CATEGORY_COUNT_SK,
                1,
            )?)
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn reorder_categories(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        ordered: &[Category],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let ordered: Vec<(String, u64)> = ordered
            .iter()
            .map(|c| (keys::category_sk(&c.id), c.version))
            .collect();
        self.reorder(
            &keys::brand_partition(org, mode, brand),
            &ordered,
            Some(now),
        )
        .await
    }
}

impl CategoryCleanup for DynamoStore {
    async fn uncategorize_tickets(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        category: &CategoryId,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        // Tickets are not indexed by category: one filtered pass over the brand's tickets
        // (billed per ticket read), once per category delete.
        let tickets = self
            .tickets_where(
                keys::brand_partition(org, mode, brand),
                "categoryId = :c",
                &[(":c", s(category.as_str()))],
                "pk, sk",
            )
            .await?;
        let mut changed = 0;
        for item in tickets {
            let (Some(pk), Some(sk)) = (item.get(keys::PK), item.get(keys::SK)) else {
                continue;
            };
            let update = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(keys::PK, pk.clone())
                .key(keys::SK, sk.clone())
                // Still in this category (a ticket moved meanwhile is left alone).
                .condition_expression("categoryId = :c")
                .update_expression("REMOVE categoryId SET updatedAt = :now")
                .expression_attribute_values(":c", s(category.as_str()))
                .expression_attribute_values(":now", ts(now));
            if tx::update_if(update).await? {
                changed += 1;
            }
        }
        Ok(changed)
    }
}
