//! Custom field definitions: one item per definition (`FIELD#{entity}#{key}`) and a count
//! per entity (`FIELDCOUNT#{entity}`) that caps them, both in the brand's partition.

use crate::item::{Item, Reader, n, s, ts};
use crate::{DynamoStore, FieldStore, StoreError, keys, tx};
use aws_sdk_dynamodb::types::AttributeValue;
use dispatch_domain::field::{Entity, FieldDefinition, FieldType, MAX_FIELDS_PER_ENTITY};
use dispatch_domain::{BrandId, Mode, OrgId};

fn field_item(partition: &str, f: &FieldDefinition) -> Item {
    let mut item: Item = [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::field_sk(f.entity, &f.key))),
        ("type".into(), s("field")),
        ("entity".into(), s(f.entity.as_str())),
        ("key".into(), s(f.key.as_str())),
        ("label".into(), s(f.label.as_str())),
        ("fieldType".into(), s(f.field_type.as_str())),
        ("required".into(), AttributeValue::Bool(f.required)),
        (
            "options".into(),
            crate::item::list(f.options.iter().cloned()),
        ),
        ("visible".into(), AttributeValue::Bool(f.visible)),
        ("sortOrder".into(), n(f.sort_order)),
        ("version".into(), n(f.version)),
        ("createdAt".into(), ts(f.created_at)),
    ]
    .into();
    let mut opt = |name: &str, value: Option<AttributeValue>| {
        if let Some(v) = value {
            item.insert(name.into(), v);
        }
    };
    opt(
        "defaultValue",
        f.default_value.as_ref().map(|v| s(v.to_string())),
    );
    opt("description", f.description.as_deref().map(s));
    opt("placeholder", f.placeholder.as_deref().map(s));
    opt("source", f.source.as_deref().map(s));
    item
}

fn field_from(item: &Item) -> Result<FieldDefinition, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    Ok(FieldDefinition {
        entity: r.parsed("entity", Entity::parse)?,
        key: r.string("key")?,
        label: r.string("label")?,
        field_type: FieldType::parse(&r.string("fieldType")?).map_err(|_| corrupt("fieldType"))?,
        required: r.bool("required")?,
        default_value: r
            .opt_string("defaultValue")?
            .map(|raw| serde_json::from_str(&raw).map_err(|_| corrupt("defaultValue")))
            .transpose()?,
        description: r.opt_string("description")?,
        placeholder: r.opt_string("placeholder")?,
        options: r.strings("options")?,
        visible: r.bool("visible")?,
        sort_order: r.i64("sortOrder")?,
        source: r.opt_string("source")?,
        version: r.u64("version")?,
        created_at: r.timestamp("createdAt")?,
    })
}

/// Definitions in the order a form shows them: `sortOrder`, then key.
fn in_order(mut fields: Vec<FieldDefinition>) -> Vec<FieldDefinition> {
    fields.sort_by(|a, b| (a.sort_order, &a.key).cmp(&(b.sort_order, &b.key)));
    fields
}

impl FieldStore for DynamoStore {
    async fn fields(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Option<Entity>,
    ) -> Result<Vec<FieldDefinition>, StoreError> {
        let prefix = match entity {
            Some(e) => keys::field_prefix(e),
            None => keys::FIELD_SK_PREFIX.to_string(),
        };
        let items = self
            .query(keys::brand_partition(org, mode, brand), &prefix)
            .await?;
        Ok(in_order(
            items.iter().map(field_from).collect::<Result<_, _>>()?,
        ))
    }

    async fn field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Entity,
        key: &str,
    ) -> Result<Option<FieldDefinition>, StoreError> {
        let item = self
            .get_in_brand(org, mode, brand, keys::field_sk(entity, key))
            .await?;
        item.as_ref().map(field_from).transpose()
    }

    async fn create_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        field: &FieldDefinition,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        self.create_counted(tx::CountedCreate {
            org,
            mode,
            brand,
            item: field_item(&partition, field),
            claim: None,
            count_sk: keys::field_count_sk(field.entity),
            max: MAX_FIELDS_PER_ENTITY,
            what: "field",
        })
        .await
    }

    async fn update_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        after: &FieldDefinition,
    ) -> Result<(), StoreError> {
        // `after.version` is the one read; the item stores the next.
        let partition = keys::brand_partition(org, mode, brand);
        let next = FieldDefinition {
            version: after.version + 1,
            ..after.clone()
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(field_item(&partition, &next)))
            .condition_expression("attribute_exists(pk) AND #version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":version", n(after.version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if tx::condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(StoreError::backend(e)),
        }
    }

    async fn delete_field(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        entity: Entity,
        key: &str,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        self.client
            .transact_write_items()
            .transact_items(tx::delete_existing(
                &self.table,
                partition.clone(),
                keys::field_sk(entity, key),
            )?)
            .transact_items(tx::count_down(
                &self.table,
                partition,
                keys::field_count_sk(entity),
                1,
            )?)
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], ""))?;
        Ok(())
    }

    async fn reorder_fields(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        fields: &[FieldDefinition],
    ) -> Result<(), StoreError> {
        let ordered: Vec<(String, u64)> = fields
            .iter()
            .map(|f| (keys::field_sk(f.entity, &f.key), f.version))
            .collect();
        self.reorder(&keys::brand_partition(org, mode, brand), &ordered, None)
            .await
    }
}
