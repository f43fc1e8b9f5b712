//! Customers of a brand, with their email claimed by a second item so an address is one
//! customer per brand even under concurrent creates.

use crate::item::{Item, Reader, s, ts};
use crate::ops::PageOptions;
use crate::{CustomerOrder, CustomerSort, CustomerStore, DynamoStore, Page, StoreError, keys, tx};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
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

/// The email claim: one item per address and brand, naming the customer that holds it.
fn email_claim(partition: &str, customer: &Customer) -> Item {
    [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(keys::customer_email_sk(&customer.email))),
        ("type".into(), s("customerEmail")),
        ("customerId".into(), s(customer.id.as_str())),
    ]
    .into()
}

fn name_sk(customer: &Customer) -> String {
    keys::customer_name_sk(
        customer.name.as_ref().map(CustomerName::as_str),
        &customer.id,
    )
}

/// The name index item: customers in name order, and name prefixes, by one Query.
fn name_item(partition: &str, customer: &Customer) -> Item {
    [
        (keys::PK.into(), s(partition)),
        (keys::SK.into(), s(name_sk(customer))),
        ("type".into(), s("customerName")),
        ("customerId".into(), s(customer.id.as_str())),
    ]
    .into()
}

/// The condition a write of `customer`'s item needs: it exists with the email and name it
/// was read with, so the claim and the name item the write moves are the current ones.
fn unchanged(customer: &Customer) -> (String, HashMap<String, String>, Item) {
    let mut names = HashMap::from([("#email".to_string(), "email".to_string())]);
    let mut values: Item = [(":email".to_string(), s(customer.email.as_str()))].into();
    names.insert("#name".into(), "name".into());
    let name = match &customer.name {
        Some(n) => {
            values.insert(":name".into(), s(n.as_str()));
            "#name = :name"
        }
        None => "attribute_not_exists(#name)",
    };
    (
        format!("attribute_exists(pk) AND #email = :email AND {name}"),
        names,
        values,
    )
}

/// The customer ids an index's items name, in the index's order.
fn named_customers(items: &[Item]) -> Result<Vec<CustomerId>, StoreError> {
    items
        .iter()
        .map(|i| Reader(i).parsed("customerId", CustomerId::parse))
        .collect()
}

impl DynamoStore {
    /// The customers with `ids`, in that order (one BatchGetItem; gone ones are skipped).
    async fn customers_in_order(
        &self,
        partition: &str,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StoreError> {
        let wanted: Vec<(String, String)> = ids
            .iter()
            .map(|id| (partition.to_string(), keys::customer_sk(id)))
            .collect();
        let mut found: HashMap<String, Customer> = HashMap::new();
        for item in self.batch_get(&wanted).await? {
            let c = customer_from(&item)?;
            found.insert(c.id.to_string(), c);
        }
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id.as_str()))
            .collect())
    }
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
        self.client
            .transact_write_items()
            .transact_items(tx::put_new(
                &self.table,
                customer_item(org, mode, customer),
            )?)
            .transact_items(tx::put_new(&self.table, email_claim(&partition, customer))?)
            .transact_items(tx::put_new(&self.table, name_item(&partition, customer))?)
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
        order: CustomerOrder,
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
        let prefix = match order.sort {
            CustomerSort::CreatedAt => keys::CUSTOMER_SK_PREFIX,
            CustomerSort::Name => keys::CUSTOMER_NAME_SK_PREFIX,
            CustomerSort::Email => keys::CUSTOMER_EMAIL_SK_PREFIX,
        };
        let options = PageOptions {
            newest_first: order.descending,
            ..PageOptions::default()
        };
        let (items, next) = self
            .query_page(partition.clone(), prefix, start, limit, &options)
            .await?;
        let items = match order.sort {
            // Ids are time-ordered: the customers' own items are in creation order.
            CustomerSort::CreatedAt => items.iter().map(customer_from).collect::<Result<_, _>>()?,
            CustomerSort::Name | CustomerSort::Email => {
                self.customers_in_order(&partition, &named_customers(&items)?)
                    .await?
            }
        };
        Ok(Page { items, next })
    }

    async fn search_customers(
        &self,
        org: &OrgId,
        mode: Mode,
        brand: &BrandId,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<Customer>, StoreError> {
        let partition = keys::brand_partition(org, mode, brand);
        let options = PageOptions::default();
        // Emails are stored ASCII-lower-cased, names folded: fold the prefix the same way.
        let by_email = format!(
            "{}{}",
            keys::CUSTOMER_EMAIL_SK_PREFIX,
            prefix.to_ascii_lowercase()
        );
        let by_name = format!(
            "{}{}",
            keys::CUSTOMER_NAME_SK_PREFIX,
            keys::fold_name(prefix)
        );
        let (emails, names) = tokio::try_join!(
            self.query_page(partition.clone(), &by_email, None, limit, &options),
            self.query_page(partition.clone(), &by_name, None, limit, &options),
        )?;
        let mut ids = named_customers(&emails.0)?;
        for id in named_customers(&names.0)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.truncate(limit);
        self.customers_in_order(&partition, &ids).await
    }

    async fn update_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        before: &Customer,
        after: &Customer,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &before.brand_id);
        let (condition, names, values) = unchanged(before);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(customer_item(org, mode, after)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(tx::build(put.build())?)
                .build(),
        ];
        if before.email != after.email {
            // Index 1: the new claim, whose failed condition means the email is taken.
            writes.push(tx::put_new(&self.table, email_claim(&partition, after))?);
            writes.push(tx::delete(
                &self.table,
                partition.clone(),
                keys::customer_email_sk(&before.email),
            )?);
        }
        if name_sk(before) != name_sk(after) {
            writes.push(tx::put(&self.table, name_item(&partition, after))?);
            writes.push(tx::delete(&self.table, partition.clone(), name_sk(before))?);
        }
        let unique: &[usize] = if before.email != after.email {
            &[1]
        } else {
            &[]
        };
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(|e| tx::classify(e, unique, "email"))?;
        Ok(())
    }

    async fn delete_customer(
        &self,
        org: &OrgId,
        mode: Mode,
        customer: &Customer,
    ) -> Result<(), StoreError> {
        let partition = keys::brand_partition(org, mode, &customer.brand_id);
        let (condition, names, values) = unchanged(customer);
        let delete = Delete::builder()
            .table_name(&self.table)
            .key(keys::PK, s(partition.clone()))
            .key(keys::SK, s(keys::customer_sk(&customer.id)))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        self.client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .delete(tx::build(delete.build())?)
                    .build(),
            )
            .transact_items(tx::delete(
                &self.table,
                partition.clone(),
                keys::customer_email_sk(&customer.email),
            )?)
            .transact_items(tx::delete(&self.table, partition, name_sk(customer))?)
            .send()
            .await
            .map_err(|e| tx::classify(e, &[], "customer"))?;
        Ok(())
    }
}
