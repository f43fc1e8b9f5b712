//! The table's stream records, typed as Lambda delivers them (`aws_lambda_events`), read
//! with the same item parsers as the table: a record's image becomes an [`Item`] first.
//! What the stream functions look for in a record (a deleted brand, a pending upload that
//! expired, the brand an item belongs to) is parsed here, beside the keys it reads.

use crate::StoreError;
use crate::item::Item;
use crate::keys;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use dispatch_domain::attachment;
use dispatch_domain::ticket::{Comment, Ticket};
use dispatch_domain::{BrandId, CategoryId, CustomerId, Mode, OrgId, TagId};

pub use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord as StreamRecord};

/// What a record did to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Insert,
    Modify,
    Remove,
}

/// The record's operation (`None` for a name DynamoDB does not send).
pub fn operation(record: &StreamRecord) -> Option<Operation> {
    match record.event_name.as_str() {
        "INSERT" => Some(Operation::Insert),
        "MODIFY" => Some(Operation::Modify),
        "REMOVE" => Some(Operation::Remove),
        _ => None,
    }
}

/// The item after the change (empty for a removal).
pub fn new_item(record: &StreamRecord) -> Item {
    item_from_image(&record.change.new_image)
}

/// The item before the change (empty for an insert).
pub fn old_item(record: &StreamRecord) -> Item {
    item_from_image(&record.change.old_image)
}

/// When the change was committed (`ApproximateCreationDateTime`, whole seconds), in
/// milliseconds.
pub fn committed_at_millis(record: &StreamRecord) -> i64 {
    record
        .change
        .approximate_creation_date_time
        .timestamp_millis()
}

/// Whether DynamoDB's TTL removed the item (not a request).
pub fn removed_by_ttl(record: &StreamRecord) -> bool {
    operation(record) == Some(Operation::Remove)
        && record.user_identity.as_ref().is_some_and(|who| {
            who.type_ == "Service" && who.principal_id == "dynamodb.amazonaws.com"
        })
}

/// A stream image as an item.
pub fn item_from_image(image: &serde_dynamo::Item) -> Item {
    image
        .iter()
        .map(|(name, value)| (name.clone(), attribute(value)))
        .collect()
}

fn attribute(value: &serde_dynamo::AttributeValue) -> AttributeValue {
    use serde_dynamo::AttributeValue as V;
    match value {
        V::S(s) => AttributeValue::S(s.clone()),
        V::N(n) => AttributeValue::N(n.clone()),
        V::Bool(b) => AttributeValue::Bool(*b),
        V::Null(n) => AttributeValue::Null(*n),
        V::B(b) => AttributeValue::B(Blob::new(b.clone())),
        V::Ss(s) => AttributeValue::Ss(s.clone()),
        V::Ns(n) => AttributeValue::Ns(n.clone()),
        V::Bs(b) => AttributeValue::Bs(b.iter().map(|x| Blob::new(x.clone())).collect()),
        V::L(l) => AttributeValue::L(l.iter().map(attribute).collect()),
        V::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()),
    }
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// The item's `type` attribute (`brand`, `ticket`, `comment`, `attachment`, …).
pub fn kind(item: &Item) -> Option<&str> {
    text(item, "type")
}

/// The tenant, mode and brand of an item in a brand's partition (`ORG#{org}#{mode}#BRAND#{brand}`).
pub fn brand_of(item: &Item) -> Option<(OrgId, Mode, BrandId)> {
    let pk = text(item, keys::PK)?;
    let rest = pk.strip_prefix("ORG#")?;
    let mut parts = rest.split('#');
    let org = OrgId::parse(parts.next()?)?;
    let mode = Mode::parse(parts.next()?)?;
    (parts.next()? == "BRAND").then_some(())?;
    let brand = BrandId::parse(parts.next()?)?;
    parts.next().is_none().then_some((org, mode, brand))
}

/// The brand a `REMOVE` record deleted, when it is one: its item sits in the partition its
/// own organization and mode would have (no foreign keys are trusted).
pub fn removed_brand(record: &StreamRecord) -> Option<(OrgId, Mode, BrandId)> {
    if operation(record) != Some(Operation::Remove) {
        return None;
    }
    let old = old_item(record);
    if kind(&old) != Some("brand") {
        return None;
    }
    let pk = text(&old, keys::PK)?;
    let org = OrgId::parse(text(&old, "orgId")?)?;
    let mode = Mode::parse(pk.rsplit('#').next()?)?;
    (pk == keys::tenant(&org, mode)).then_some(())?;
    let brand = BrandId::parse(text(&old, "id")?)?;
    Some((org, mode, brand))
}

/// The customer a `REMOVE` record deleted (by the API's delete, or by a brand's purge):
/// its tenant, mode and brand come from the partition it lived in.
pub fn removed_customer(record: &StreamRecord) -> Option<(OrgId, Mode, BrandId, CustomerId)> {
    if operation(record) != Some(Operation::Remove) {
        return None;
    }
    let old = old_item(record);
    if kind(&old) != Some("customer") {
        return None;
    }
    let (org, mode, brand) = brand_of(&old)?;
    let id = CustomerId::parse(text(&old, "id")?)?;
    (text(&old, keys::SK)? == keys::customer_sk(&id)).then_some((org, mode, brand, id))
}

/// A customer whose email a `MODIFY` record changed, with the new address: its tenant,
/// mode and brand come from the partition it lives in.
pub fn changed_customer_email(
    record: &StreamRecord,
) -> Option<(OrgId, Mode, BrandId, CustomerId, String)> {
    if operation(record) != Some(Operation::Modify) {
        return None;
    }
    let (old, new) = (old_item(record), new_item(record));
    if kind(&new) != Some("customer") || kind(&old) != Some("customer") {
        return None;
    }
    let email = text(&new, "email")?;
    if text(&old, "email") == Some(email) {
        return None;
    }
    let (org, mode, brand) = brand_of(&new)?;
    let id = CustomerId::parse(text(&new, "id")?)?;
    (text(&new, keys::SK)? == keys::customer_sk(&id))
        .then(|| (org, mode, brand, id, email.to_string()))
}

/// What a tag's record means for the names on tickets: (tenant, mode, brand, the old
/// name, the new one or `None`). A rename (`MODIFY` with another name), a merge (`REMOVE`
/// of a tag marked `mergedInto`) or a delete (`REMOVE`).
pub fn changed_tag(
    record: &StreamRecord,
) -> Option<(OrgId, Mode, BrandId, String, Option<String>)> {
    let old = old_item(record);
    if kind(&old) != Some("tag") {
        return None;
    }
    let (org, mode, brand) = brand_of(&old)?;
    let id = TagId::parse(text(&old, "id")?)?;
    (text(&old, keys::SK)? == keys::tag_sk(&id)).then_some(())?;
    let from = text(&old, "name")?.to_string();
    let to = match operation(record)? {
        Operation::Modify => {
            let new = new_item(record);
            let to = text(&new, "name")?;
            if to == from {
                return None;
            }
            Some(to.to_string())
        }
        Operation::Remove => text(&old, "mergedInto").map(str::to_string),
        Operation::Insert => return None,
    };
    Some((org, mode, brand, from, to))
}

/// The category a `REMOVE` record deleted (by the API's delete, or by a brand's purge):
/// its tenant, mode and brand come from the partition it lived in.
pub fn removed_category(record: &StreamRecord) -> Option<(OrgId, Mode, BrandId, CategoryId)> {
    if operation(record) != Some(Operation::Remove) {
        return None;
    }
    let old = old_item(record);
    if kind(&old) != Some("category") {
        return None;
    }
    let (org, mode, brand) = brand_of(&old)?;
    let id = CategoryId::parse(text(&old, "id")?)?;
    (text(&old, keys::SK)? == keys::category_sk(&id)).then_some((org, mode, brand, id))
}

/// The S3 key of a pending upload that expired unclaimed: removed by DynamoDB's TTL (a
/// ticket create claiming it deletes the record by request, and keeps the object), with a
/// key under the pending prefix of the partition the record lived in.
pub fn expired_pending_upload(record: &StreamRecord) -> Option<String> {
    if !removed_by_ttl(record) {
        return None;
    }
    let old = old_item(record);
    if kind(&old) != Some("attachment") || old.contains_key("ticketId") {
        return None;
    }
    let (org, mode, brand) = brand_of(&old)?;
    let key = text(&old, "objectKey")?;
    key.starts_with(&attachment::pending_prefix(&org, mode, &brand))
        .then(|| key.to_string())
}

/// A ticket item, as the table's reads parse it.
pub fn ticket(item: &Item) -> Result<Ticket, StoreError> {
    crate::tickets::ticket_from(item)
}

/// A comment item, as the table's reads parse it.
pub fn comment(item: &Item) -> Result<Comment, StoreError> {
    crate::tickets::comment_from(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn record(value: Value) -> StreamRecord {
        serde_json::from_value(value).unwrap()
    }

    fn removal(old: Value, by_ttl: bool) -> StreamRecord {
        let identity = if by_ttl {
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        } else {
            Value::Null
        };
        record(json!({
            "awsRegion": "us-east-1", "eventID": "1", "eventName": "REMOVE",
            "userIdentity": identity,
            "dynamodb": {"OldImage": old, "SizeBytes": 10, "ApproximateCreationDateTime": 1.5e9}
        }))
    }

    #[test]
    fn every_attribute_kind_reads_back() {
        let image: serde_dynamo::Item = serde_json::from_value(json!({
            "s": {"S": "x"}, "n": {"N": "12"}, "b": {"BOOL": true}, "z": {"NULL": true},
            "bin": {"B": "AP8="}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]},
            "l": {"L": [{"S": "a"}, {"N": "2"}]}, "m": {"M": {"k": {"S": "v"}}},
        }))
        .unwrap();
        let item = item_from_image(&image);
        assert_eq!(item["s"], AttributeValue::S("x".into()));
        assert_eq!(item["n"], AttributeValue::N("12".into()));
        assert_eq!(item["bin"], AttributeValue::B(Blob::new(vec![0, 255])));
        assert_eq!(
            item["m"],
            AttributeValue::M([("k".to_string(), AttributeValue::S("v".into()))].into())
        );
        for bad in [
            json!({"a": "plain"}),
            json!({"a": {"S": 1}}),
            json!({"a": {"X": "1"}}),
            json!({"a": {"S": "x", "N": "1"}}),
            json!({"a": {"B": "not base64!"}}),
            json!([1]),
        ] {
            assert!(
                serde_json::from_value::<serde_dynamo::Item>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_record_reads_its_operation_images_and_time() {
        let r = record(json!({
            "awsRegion": "us-east-1", "eventID": "e1", "eventName": "MODIFY",
            "dynamodb": {
                "ApproximateCreationDateTime": 1700000000.25, "SizeBytes": 10,
                "NewImage": {"type": {"S": "ticket"}}, "OldImage": {"type": {"S": "x"}}
            }
        }));
        assert_eq!(operation(&r), Some(Operation::Modify));
        assert_eq!(kind(&new_item(&r)), Some("ticket"));
        assert_eq!(kind(&old_item(&r)), Some("x"));
        // Whole seconds: what Lambda sends by default, and all the event types keep.
        assert_eq!(committed_at_millis(&r), 1_700_000_000_000);
        assert!(!removed_by_ttl(&r));
    }

    #[test]
    fn the_brand_comes_from_the_partition_key() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let pk = crate::keys::brand_partition(&org, Mode::Live, &brand);
        let item: Item = [("pk".to_string(), AttributeValue::S(pk.clone()))].into();
        assert_eq!(brand_of(&item), Some((org.clone(), Mode::Live, brand)));
        for bad in [
            format!("ORG#{org}#live"),
            format!("{pk}#CUSTOMER#cus_x"),
            format!("ORG#{org}#prod#BRAND#x"),
        ] {
            let item: Item = [("pk".to_string(), AttributeValue::S(bad.clone()))].into();
            assert_eq!(brand_of(&item), None, "{bad}");
        }
    }

    fn pending(by_ttl: bool, ticket: Option<&str>, key: &str) -> StreamRecord {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let mut image = json!({
            "pk": {"S": crate::keys::brand_partition(&org, Mode::Test, &brand)},
            "type": {"S": "attachment"},
            "objectKey": {"S": key.replace("{org}", org.as_str()).replace("{brand}", brand.as_str())}
        });
        if let Some(t) = ticket {
            image["ticketId"] = json!({"S": t});
        }
        removal(image, by_ttl)
    }

    #[test]
    fn only_ttl_expired_pending_uploads_lose_their_object() {
        let key = "{org}/test/{brand}/pending/att_1";
        let expired = expired_pending_upload(&pending(true, None, key)).unwrap();
        assert!(expired.ends_with("/pending/att_1"), "{expired}");
        // Claimed by a ticket create (a request's delete): the ticket now uses the object.
        assert!(expired_pending_upload(&pending(false, None, key)).is_none());
        assert!(expired_pending_upload(&pending(true, Some("tkt_1"), key)).is_none());
        // A key outside the record's own pending prefix is never touched.
        let foreign = "org_2/test/{brand}/pending/x";
        assert!(expired_pending_upload(&pending(true, None, foreign)).is_none());
    }

    fn brand_removal(event: &str, kind: &str, pk: &str, org: &str, id: &str) -> StreamRecord {
        let mut r = removal(
            json!({"pk": {"S": pk}, "type": {"S": kind}, "orgId": {"S": org}, "id": {"S": id}}),
            false,
        );
        r.event_name = event.to_string();
        r
    }

    #[test]
    fn only_brand_removals_with_consistent_keys_are_taken() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let pk = format!("ORG#{org}#test");
        let (o, b) = (org.as_str(), brand.as_str());
        assert_eq!(
            removed_brand(&brand_removal("REMOVE", "brand", &pk, o, b)),
            Some((org.clone(), Mode::Test, brand.clone()))
        );
        assert!(removed_brand(&brand_removal("MODIFY", "brand", &pk, o, b)).is_none());
        assert!(removed_brand(&brand_removal("REMOVE", "ticket", &pk, o, b)).is_none());
        let other = OrgId::generate(2);
        assert!(removed_brand(&brand_removal("REMOVE", "brand", &pk, other.as_str(), b)).is_none());
        assert!(removed_brand(&brand_removal("REMOVE", "brand", &pk, o, "br_nope")).is_none());
    }

    #[test]
    fn only_customer_email_changes_are_taken() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let id = CustomerId::generate(1);
        let pk = crate::keys::brand_partition(&org, Mode::Live, &brand);
        let sk = crate::keys::customer_sk(&id);
        let image = |email: &str| {
            json!({"pk": {"S": pk}, "sk": {"S": sk}, "type": {"S": "customer"},
                   "id": {"S": id.as_str()}, "email": {"S": email}})
        };
        let modify = |old: Value, new: Value| {
            let mut r = removal(old, false);
            r.event_name = "MODIFY".into();
            r.change.new_image = serde_json::from_value(new).unwrap();
            r
        };
        assert_eq!(
            changed_customer_email(&modify(image("a@x.test"), image("b@x.test"))),
            Some((
                org.clone(),
                Mode::Live,
                brand.clone(),
                id.clone(),
                "b@x.test".into()
            ))
        );
        // A change of name only, or an insert, is not an email change.
        assert!(changed_customer_email(&modify(image("a@x.test"), image("a@x.test"))).is_none());
        let mut insert = modify(json!({}), image("b@x.test"));
        insert.event_name = "INSERT".into();
        assert!(changed_customer_email(&insert).is_none());
    }

    #[test]
    fn tag_renames_merges_and_deletes_say_what_names_become() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let id = TagId::generate(1);
        let pk = crate::keys::brand_partition(&org, Mode::Test, &brand);
        let sk = crate::keys::tag_sk(&id);
        let image = |name: &str, merged: Option<&str>| {
            let mut v = json!({"pk": {"S": pk}, "sk": {"S": sk}, "type": {"S": "tag"},
                               "id": {"S": id.as_str()}, "name": {"S": name}});
            if let Some(m) = merged {
                v["mergedInto"] = json!({"S": m});
            }
            v
        };
        let at = |event: &str, old: Value, new: Value| {
            let mut r = removal(old, false);
            r.event_name = event.into();
            r.change.new_image = serde_json::from_value(new).unwrap();
            r
        };
        let b = (org.clone(), Mode::Test, brand.clone());
        assert_eq!(
            changed_tag(&at("MODIFY", image("vip", None), image("VIP!", None))),
            Some((
                b.0.clone(),
                b.1,
                b.2.clone(),
                "vip".into(),
                Some("VIP!".into())
            ))
        );
        assert_eq!(
            changed_tag(&at("REMOVE", image("vip", Some("gold")), json!({}))),
            Some((
                b.0.clone(),
                b.1,
                b.2.clone(),
                "vip".into(),
                Some("gold".into())
            ))
        );
        assert_eq!(
            changed_tag(&at("REMOVE", image("vip", None), json!({}))),
            Some((b.0.clone(), b.1, b.2.clone(), "vip".into(), None))
        );
        // A colour change (same name), or the mark a merge sets first, changes no names.
        assert!(
            changed_tag(&at(
                "MODIFY",
                image("vip", None),
                image("vip", Some("gold"))
            ))
            .is_none()
        );
    }

    #[test]
    fn only_category_removals_with_consistent_keys_are_taken() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let id = CategoryId::generate(1);
        let pk = crate::keys::brand_partition(&org, Mode::Live, &brand);
        let category = |event: &str, kind: &str, sk: &str| {
            let mut r = removal(
                json!({"pk": {"S": pk}, "sk": {"S": sk}, "type": {"S": kind}, "id": {"S": id.as_str()}}),
                false,
            );
            r.event_name = event.to_string();
            r
        };
        let sk = crate::keys::category_sk(&id);
        assert_eq!(
            removed_category(&category("REMOVE", "category", &sk)),
            Some((org.clone(), Mode::Live, brand.clone(), id.clone()))
        );
        assert!(removed_category(&category("MODIFY", "category", &sk)).is_none());
        assert!(removed_category(&category("REMOVE", "categoryName", &sk)).is_none());
        let other = crate::keys::category_sk(&CategoryId::generate(2));
        assert!(removed_category(&category("REMOVE", "category", &other)).is_none());
    }

    #[test]
    fn only_customer_removals_with_consistent_keys_are_taken() {
        let org = OrgId::generate(1);
        let brand = BrandId::generate(1);
        let id = CustomerId::generate(1);
        let pk = crate::keys::brand_partition(&org, Mode::Live, &brand);
        let customer = |event: &str, kind: &str, sk: &str| {
            let mut r = removal(
                json!({"pk": {"S": pk}, "sk": {"S": sk}, "type": {"S": kind}, "id": {"S": id.as_str()}}),
                false,
            );
            r.event_name = event.to_string();
            r
        };
        let sk = crate::keys::customer_sk(&id);
        assert_eq!(
            removed_customer(&customer("REMOVE", "customer", &sk)),
            Some((org, Mode::Live, brand, id.clone()))
        );
        assert!(removed_customer(&customer("MODIFY", "customer", &sk)).is_none());
        assert!(removed_customer(&customer("REMOVE", "customerEmail", &sk)).is_none());
        // An id that is not the item's own key is not trusted.
        let other = crate::keys::customer_sk(&CustomerId::generate(2));
        assert!(removed_customer(&customer("REMOVE", "customer", &other)).is_none());
    }
}
