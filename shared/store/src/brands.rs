//! Brands, with their slug claimed by a second item so uniqueness per org and mode holds
//! under concurrent creates.

use crate::item::{Item, Reader, list, n, s, ts};
use crate::{BrandStore, DynamoStore, StoreError, Usage, keys, tx};
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use dispatch_domain::brand::{
    Brand, BrandName, BrandProfile, Metadata, PortalOrigin, Slug, TicketPrefix,
};
use dispatch_domain::{BrandId, Email, Mode, OrgId, Timestamp};
use std::collections::HashMap;

/// Changes to a brand; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrandPatch {
    pub name: Option<BrandName>,
    pub slug: Option<Slug>,
    pub ticket_prefix: Option<TicketPrefix>,
    pub metadata: Option<Metadata>,
    pub ticket_schema: Option<Metadata>,
    pub portal_origins: Option<Vec<PortalOrigin>>,
    pub profile: ProfilePatch,
}

/// Changes to a brand's profile: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfilePatch {
    pub url: Option<Option<String>>,
    pub icon_url: Option<Option<String>>,
    pub from_name: Option<Option<String>>,
    pub from_email: Option<Option<Email>>,
    pub autoresponse_enabled: Option<bool>,
    pub autoresponse_subject: Option<Option<String>>,
    pub autoresponse_body: Option<Option<String>>,
}

impl ProfilePatch {
    /// The profile as it is after the patch.
    pub fn apply(&self, mut profile: BrandProfile) -> BrandProfile {
        fn set<T: Clone>(field: &mut Option<T>, change: &Option<Option<T>>) {
            if let Some(value) = change {
                field.clone_from(value);
            }
        }
        set(&mut profile.url, &self.url);
        set(&mut profile.icon_url, &self.icon_url);
        set(&mut profile.from_name, &self.from_name);
        set(&mut profile.from_email, &self.from_email);
        set(
            &mut profile.autoresponse_subject,
            &self.autoresponse_subject,
        );
        set(&mut profile.autoresponse_body, &self.autoresponse_body);
        if let Some(on) = self.autoresponse_enabled {
            profile.autoresponse_enabled = on;
        }
        profile
    }

    /// `(attribute, Some(value) to set | None to remove)` for every field it changes.
    fn changes(&self) -> Vec<(&'static str, Option<AttributeValue>)> {
        let text = |v: &Option<String>| v.as_ref().map(|v| s(v.as_str()));
        let mut out = Vec::new();
        for (name, change) in [
            ("url", &self.url),
            ("iconUrl", &self.icon_url),
            ("fromName", &self.from_name),
            ("autoresponseSubject", &self.autoresponse_subject),
            ("autoresponseBody", &self.autoresponse_body),
        ] {
            if let Some(value) = change {
                out.push((name, text(value)));
            }
        }
        if let Some(email) = &self.from_email {
            out.push(("fromEmail", email.as_ref().map(|e| s(e.as_str()))));
        }
        if let Some(on) = self.autoresponse_enabled {
            out.push(("autoresponseEnabled", Some(AttributeValue::Bool(on))));
        }
        out
    }
}

/// The profile's attributes of a brand item (only the ones set): the changes of a patch
/// that sets every field, so the attribute names are written down once, in `changes`.
fn profile_attrs(profile: &BrandProfile) -> Vec<(&'static str, AttributeValue)> {
    let whole = ProfilePatch {
        url: Some(profile.url.clone()),
        icon_url: Some(profile.icon_url.clone()),
        from_name: Some(profile.from_name.clone()),
        from_email: Some(profile.from_email.clone()),
        autoresponse_enabled: Some(profile.autoresponse_enabled),
        autoresponse_subject: Some(profile.autoresponse_subject.clone()),
        autoresponse_body: Some(profile.autoresponse_body.clone()),
    };
    whole
        .changes()
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
}

fn profile_from(r: &Reader<'_>) -> Result<BrandProfile, StoreError> {
    let from_email = match r.opt_string("fromEmail")? {
        Some(raw) => {
            Some(Email::parse(&raw).ok_or_else(|| StoreError::Corrupt("fromEmail".into()))?)
        }
        None => None,
    };
    Ok(BrandProfile {
        url: r.opt_string("url")?,
        icon_url: r.opt_string("iconUrl")?,
        from_name: r.opt_string("fromName")?,
        from_email,
        // Brands written before the profile existed have no flag: off.
        autoresponse_enabled: if r.0.contains_key("autoresponseEnabled") {
            r.bool("autoresponseEnabled")?
        } else {
            false
        },
        autoresponse_subject: r.opt_string("autoresponseSubject")?,
        autoresponse_body: r.opt_string("autoresponseBody")?,
    })
}

fn json_attr(m: &Metadata) -> AttributeValue {
    s(m.to_value().to_string())
}

fn origins_attr(origins: &[PortalOrigin]) -> AttributeValue {
    list(origins.iter().map(|o| o.as_str().to_string()))
}

fn brand_item(mode: Mode, brand: &Brand) -> Item {
    let mut item: Item = [
        (keys::PK.into(), s(keys::tenant(&brand.org_id, mode))),
        (keys::SK.into(), s(keys::brand_sk(&brand.id))),
        ("type".into(), s("brand")),
        ("id".into(), s(brand.id.as_str())),
        ("orgId".into(), s(brand.org_id.as_str())),
        ("name".into(), s(brand.name.as_str())),
        ("slug".into(), s(brand.slug.as_str())),
        ("ticketPrefix".into(), s(brand.ticket_prefix.as_str())),
        ("nextTicketNumber".into(), n(brand.next_ticket_number)),
        ("ticketCount".into(), n(brand.ticket_count)),
        ("portalOrigins".into(), origins_attr(&brand.portal_origins)),
        ("metadata".into(), json_attr(&brand.metadata)),
        ("createdAt".into(), ts(brand.created_at)),
        ("updatedAt".into(), ts(brand.updated_at)),
    ]
    .into();
    if let Some(schema) = &brand.ticket_schema {
        item.insert("ticketSchema".into(), json_attr(schema));
    }
    for (name, value) in profile_attrs(&brand.profile) {
        item.insert(name.into(), value);
    }
    item
}

fn json_field(r: &Reader<'_>, name: &str) -> Result<Option<Metadata>, StoreError> {
    let Some(raw) = r.opt_string(name)? else {
        return Ok(None);
    };
    let value = serde_json::from_str(&raw).map_err(|_| StoreError::Corrupt(name.into()))?;
    Metadata::parse(value)
        .map(Some)
        .map_err(|_| StoreError::Corrupt(name.into()))
}

fn brand_from(item: &Item) -> Result<Brand, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    Ok(Brand {
        id: r.parsed("id", BrandId::parse)?,
        org_id: r.parsed("orgId", OrgId::parse)?,
        name: BrandName::parse(&r.string("name")?).map_err(|_| corrupt("name"))?,
        slug: Slug::parse(&r.string("slug")?).map_err(|_| corrupt("slug"))?,
        ticket_prefix: TicketPrefix::parse(&r.string("ticketPrefix")?)
            .map_err(|_| corrupt("ticketPrefix"))?,
        next_ticket_number: r.u64("nextTicketNumber")?,
        ticket_count: r.u64("ticketCount")?,
        portal_origins: r
            .strings("portalOrigins")?
            .iter()
            .map(|o| PortalOrigin::parse(o).map_err(|_| corrupt("portalOrigins")))
            .collect::<Result<_, _>>()?,
        metadata: json_field(&r, "metadata")?.unwrap_or_default(),
        ticket_schema: json_field(&r, "ticketSchema")?,
        profile: profile_from(&r)?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
    })
}

fn slug_claim(
    table: &str,
    org: &OrgId,
    mode: Mode,
    slug: &Slug,
    brand: &BrandId,
) -> Result<TransactWriteItem, StoreError> {
    let item: Item = [
        (keys::PK.into(), s(keys::tenant(org, mode))),
        (keys::SK.into(), s(keys::brand_slug_sk(slug.as_str()))),
        ("type".into(), s("brandSlug")),
        ("brandId".into(), s(brand.as_str())),
    ]
    .into();
    let put = tx::build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn slug_release(
    table: &str,
    org: &OrgId,
    mode: Mode,
    slug: &Slug,
) -> Result<TransactWriteItem, StoreError> {
    let delete = tx::build(
        Delete::builder()
            .table_name(table)
            .key(keys::PK, s(keys::tenant(org, mode)))
            .key(keys::SK, s(keys::brand_slug_sk(slug.as_str())))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Index items that let a CORS preflight (which carries no credential) ask "does any brand
/// allow this origin?" with one Query: `PORTALORIGIN#{origin}` / `{org}#{mode}#{brand}`.
fn origin_index_writes(
    table: &str,
    brand: &Brand,
    mode: Mode,
    add: &[PortalOrigin],
    remove: &[PortalOrigin],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let sk = format!("{}#{mode}#{}", brand.org_id, brand.id);
    let mut writes = Vec::new();
    for origin in remove.iter().filter(|o| !add.contains(o)) {
        writes.push(tx::delete(
            table,
            keys::portal_origin(origin.as_str()),
            sk.clone(),
        )?);
    }
    for origin in add.iter().filter(|o| !remove.contains(o)) {
        let item: Item = [
            (
                keys::PK.to_string(),
                s(keys::portal_origin(origin.as_str())),
            ),
            (keys::SK.to_string(), s(sk.clone())),
            ("type".to_string(), s("portalOrigin")),
        ]
        .into();
        let put = Put::builder().table_name(table).set_item(Some(item));
        writes.push(
            TransactWriteItem::builder()
                .put(tx::build(put.build())?)
                .build(),
        );
    }
    Ok(writes)
}

impl BrandStore for DynamoStore {
    async fn brand_contents(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<crate::BrandContents, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let wanted = [
            (partition.clone(), keys::WEBHOOK_COUNT_SK.to_string()),
            (partition.clone(), keys::CATEGORY_COUNT_SK.to_string()),
            (partition, keys::TAG_COUNT_SK.to_string()),
        ];
        let mut contents = crate::BrandContents::default();
        for item in self.batch_get(&wanted).await? {
            let count = crate::item::Reader(&item).u64("count")?;
            match item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some(keys::WEBHOOK_COUNT_SK) => contents.webhooks = count,
                Some(keys::CATEGORY_COUNT_SK) => contents.categories = count,
                Some(keys::TAG_COUNT_SK) => contents.tags = count,
                _ => {}
            }
        }
        Ok(contents)
    }

    async fn usage(&self, org: &OrgId, mode: Mode, month: &str) -> Result<Usage, StoreError> {
        let items = self
            .query(keys::tenant(org, mode), keys::BRAND_SK_PREFIX)
            .await?;
        let month = keys::tickets_in_month(month);
        let mut usage = Usage {
            brands: 0,
            tickets_total: 0,
            tickets_in_month: 0,
        };
        for item in &items {
            let r = Reader(item);
            usage.brands += 1;
            usage.tickets_total += r.u64("ticketCount")?;
            if item.contains_key(&month) {
                usage.tickets_in_month += r.u64(&month)?;
            }
        }
        Ok(usage)
    }

    async fn list_brands(&self, org: &OrgId, mode: Mode) -> Result<Vec<Brand>, StoreError> {
        self.query(keys::tenant(org, mode), keys::BRAND_SK_PREFIX)
            .await?
            .iter()
            .map(brand_from)
            .collect()
    }

    async fn brand(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
    ) -> Result<Option<Brand>, StoreError> {
        let item = self
            .get(keys::tenant(org, mode), keys::brand_sk(brand))
            .await?;
        item.as_ref().map(brand_from).transpose()
    }

    async fn existing_brands(
        &self,
        org: &OrgId,
        mode: Mode,
        brands: &[BrandId],
    ) -> Result<Vec<BrandId>, StoreError> {
        let mut found = Vec::new();
        let mut unique: Vec<&BrandId> = brands.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let key_list: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        (keys::PK.to_string(), s(keys::tenant(org, mode))),
                        (keys::SK.to_string(), s(keys::brand_sk(id))),
                    ])
                })
                .collect();
            let mut request = Some(tx::build(
                KeysAndAttributes::builder()
                    .set_keys(Some(key_list))
                    .projection_expression("id")
                    .consistent_read(true)
                    .build(),
            )?);
            // BatchGetItem may hand back part of the request as unprocessed: ask again.
            while let Some(keys_and_attributes) = request.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys_and_attributes)
                    .send()
                    .await
                    .map_err(StoreError::backend)?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    found.push(Reader(&item).parsed("id", BrandId::parse)?);
                }
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(found)
    }

    async fn create_brand(&self, mode: Mode, brand: &Brand) -> Result<(), StoreError> {
        let put = tx::build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(brand_item(mode, brand)))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let mut writes = vec![
            TransactWriteItem::builder().put(put).build(),
            slug_claim(&self.table, &brand.org_id, mode, &brand.slug, &brand.id)?,
            // Mail to `{brand}@{inbound domain}` finds its tenant by this.
            TransactWriteItem::builder()
                .put(tx::build(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(crate::mail::route_item(
                            &brand.org_id,
                            mode,
                            &brand.id,
                        )))
                        .build(),
                )?)
                .build(),
        ];
        writes.extend(origin_index_writes(
            &self.table,
            brand,
            mode,
            &brand.portal_origins,
            &[],
        )?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[1], "slug"))?;
        Ok(())
    }

    async fn update_brand(
        &self,
        mode: Mode,
        current: &Brand,
        patch: &BrandPatch,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Attribute names go through #placeholders: `name` is a DynamoDB reserved word.
        let mut sets = vec!["#updatedAt = :updatedAt".to_string()];
        let mut names = HashMap::from([
            ("#updatedAt".to_string(), "updatedAt".to_string()),
            ("#slug".to_string(), "slug".to_string()),
        ]);
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":updatedAt".to_string(), ts(now)),
            (":expectedSlug".to_string(), s(current.slug.as_str())),
        ]);
        let mut field = |name: &str, value: Option<AttributeValue>| {
            if let Some(v) = value {
                sets.push(format!("#{name} = :{name}"));
                names.insert(format!("#{name}"), name.to_string());
                values.insert(format!(":{name}"), v);
            }
        };
        field("name", patch.name.as_ref().map(|v| s(v.as_str())));
        field("slug", patch.slug.as_ref().map(|v| s(v.as_str())));
        field(
            "ticketPrefix",
            patch.ticket_prefix.as_ref().map(|v| s(v.as_str())),
        );
        field("metadata", patch.metadata.as_ref().map(json_attr));
        field("ticketSchema", patch.ticket_schema.as_ref().map(json_attr));
        field(
            "portalOrigins",
            patch.portal_origins.as_deref().map(origins_attr),
        );
        let mut removes = Vec::new();
        for (name, value) in patch.profile.changes() {
            match value {
                Some(v) => field(name, Some(v)),
                None => removes.push(name),
            }
        }
        for name in &removes {
            names.insert(format!("#{name}"), name.to_string());
        }
        let remove = if removes.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = removes.iter().map(|n| format!("#{n}")).collect();
            format!(" REMOVE {}", list.join(", "))
        };

        let update = tx::build(
            Update::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::tenant(&current.org_id, mode)))
                .key(keys::SK, s(keys::brand_sk(&current.id)))
                .update_expression(format!("SET {}{remove}", sets.join(", ")))
                // The slug released below must be the one stored: a concurrent rename fails
                // this write instead of leaking a slug claim.
                .condition_expression("attribute_exists(pk) AND #slug = :expectedSlug")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .build(),
        )?;
        let mut writes = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(origins) = &patch.portal_origins {
            writes.extend(origin_index_writes(
                &self.table,
                current,
                mode,
                origins,
                &current.portal_origins,
            )?);
        }
        let mut slug_index = None;
        if let Some(slug) = patch.slug.as_ref().filter(|s| **s != current.slug) {
            writes.push(slug_release(
                &self.table,
                &current.org_id,
                mode,
                &current.slug,
            )?);
            slug_index = Some(writes.len());
            writes.push(slug_claim(
                &self.table,
                &current.org_id,
                mode,
                slug,
                &current.id,
            )?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, slug_index.as_slice(), "slug"))?;
        Ok(())
    }

    async fn origin_allowed(&self, origin: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::portal_origin(origin)))
            .limit(1)
            .send()
            .await
            .map_err(StoreError::backend)?;
        Ok(out.count > 0)
    }

    async fn delete_brand(&self, mode: Mode, brand: &Brand) -> Result<(), StoreError> {
        let delete = tx::build(
            Delete::builder()
                .table_name(&self.table)
                .key(keys::PK, s(keys::tenant(&brand.org_id, mode)))
                .key(keys::SK, s(keys::brand_sk(&brand.id)))
                // Release only the slug the brand still holds (see update_brand).
                .condition_expression("attribute_exists(pk) AND #slug = :expectedSlug")
                .expression_attribute_names("#slug", "slug")
                .expression_attribute_values(":expectedSlug", s(brand.slug.as_str()))
                .build(),
        )?;
        let mut writes = vec![
            TransactWriteItem::builder().delete(delete).build(),
            slug_release(&self.table, &brand.org_id, mode, &brand.slug)?,
            // Mail to the brand's address stops at once (its items go later).
            TransactWriteItem::builder()
                .delete(tx::build(
                    Delete::builder()
                        .table_name(&self.table)
                        .key(keys::PK, s(keys::brand_mail(&brand.id)))
                        .key(keys::SK, s(keys::BRAND_MAIL_SK))
                        .build(),
                )?)
                .build(),
        ];
        writes.extend(origin_index_writes(
            &self.table,
            brand,
            mode,
            &[],
            &brand.portal_origins,
        )?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], "slug"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_survives_its_item_attributes() {
        let full = BrandProfile {
            url: Some("https://acme.test".into()),
            icon_url: Some("https://acme.test/i.png".into()),
            from_name: Some("Acme".into()),
            from_email: Email::parse("help@acme.test"),
            autoresponse_enabled: true,
            autoresponse_subject: Some("Got it".into()),
            autoresponse_body: Some("We read {{title}}".into()),
        };
        for profile in [full, BrandProfile::default()] {
            let item: Item = profile_attrs(&profile)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            assert_eq!(profile_from(&Reader(&item)).unwrap(), profile);
        }
        // An empty profile writes only the flag: nothing else to remove later.
        assert_eq!(profile_attrs(&BrandProfile::default()).len(), 1);
    }
}
