//! Customers of a brand, with their email claimed by a second item so an address is one
//! customer per brand even under concurrent creates.

use crate::item::{Item, Reader, s, ts};
use crate::ops::PageOptions;
use crate::{CustomerStore, DynamoStore, Page, StoreError, keys, tx};
use aws_sdk_dynamodb::types::AttributeValue;
use dispatch_domain::brand::Metadata;
use dispatch_domain::customer::{Customer, CustomerName};
use dispatch_domain::{BrandId, CustomerId, Email, Mode, OrgId};
use std::collections::HashMap;

fn customer_item(org: &OrgId, mode: Mode, c: &Customer) -> Item {
    let mut item: Item = [
        (
            keys::PK.into(),
            s(keys::brand_partition(org, mode, &c.brand_id)),
        ),
        (keys::SK.into(), s(keys::customer_sk(&c.id))),
        ("type".into(), s("customer")),
        ("id".into(), s(c.id.as_str())),
        ("brandId".into(), s(c.brand_id.as_str())),
        ("email".into(), s(c.email.as_str())),
        ("metadata".into(), s(c.metadata.to_value().to_string())),
        ("createdAt".into(), ts(c.created_at)),
        ("updatedAt".into(), ts(c.updated_at)),
    ]
    .into();
    if let Some(name) = &c.name {
        item.insert("name".into(), s(name.as_str()));
    }
    if let Some(url) = &c.avatar_url {
        item.insert("avatarUrl".into(), s(url.as_str()));
    }
    if let Some(company) = &c.company_id {
        item.insert("companyId".into(), s(company.as_str()));
    }
    item
}

fn customer_from(item: &Item) -> Result<Customer, StoreError> {
    let r = Reader(item);
    let corrupt = |name: &str| StoreError::Corrupt(name.into());
    let metadata = match r.opt_string("metadata")? {
        Some(raw) => serde_json::from_str(&raw)
            .ok()
            .and_then(|v| Metadata::parse(v).ok())
            .ok_or_else(|| corrupt("metadata"))?,
        None => Metadata::default(),
    };
    Ok(Customer {
        id: r.parsed("id", CustomerId::parse)?,
        brand_id: r.parsed("brandId", BrandId::parse)?,
        email: r.parsed("email", Email::parse)?,
        name: r
            .opt_string("name")?
            .map(|n| CustomerName::parse(&n).map_err(|_| corrupt("name")))
            .transpose()?,
        metadata,
        avatar_url: r.opt_string("avatarUrl")?,
        company_id: r.opt_string("companyId")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
    })
}

impl CustomerStore for DynamoStore {
    async fn customer(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        let item = self
            .get_in_brand(org, mode, brand, keys::customer_sk(id))
            .await?;
        item.as_ref().map(customer_from).transpose()
    }

    async fn customer_by_email(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        email: &Email,
    ) -> Result<Option<Customer>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let Some(claim) = self.get(partition, keys::customer_email_sk(email)).await? else {
            return Ok(None);
        };
        let id = Reader(&claim).parsed("customerId", CustomerId::parse)?;
        self.customer(org, mode, brand, &id).await
    }

    async fn create_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        customer: &Customer,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &customer.brand_id);
        let claim: Item = [
            (keys::PK.into(), s(partition)),
            (keys::SK.into(), s(keys::customer_email_sk(&customer.email))),
            ("type".into(), s("customerEmail")),
            ("customerId".into(), s(customer.id.as_str())),
        ]
        .into();
        self.client
            .transact_write_items()
            .transact_items(tx::put_new(
                &self.table,
                customer_item(org, mode, customer),
            )?)
            .transact_items(tx::put_new(&self.table, claim)?)
            .send()
            .await
            .map_err(|e| tx::classify(e, &[1], "email"))?;
        Ok(())
    }

    async fn list_customers(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Customer>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let start = after.map(|sk| {
            HashMap::from([
                (keys::PK.to_string(), AttributeValue::S(partition.clone())),
                (keys::SK.to_string(), AttributeValue::S(sk.to_string())),
            ])
        });
        let (items, last) = self
            .query_page(
                partition.clone(),
                keys::CUSTOMER_SK_PREFIX,
                start,
                limit,
                &PageOptions::default(),
            )
            .await?;
        Ok(Page {
            items: items.iter().map(customer_from).collect::<Result<_, _>>()?,
            next: last,
        })
    }
}
