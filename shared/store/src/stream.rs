//! The table's stream records, read with the same item parsers as the table: a record's
//! image arrives as DynamoDB JSON inside a Lambda event (`{"S": "…"}`, `{"N": "1"}`,
//! binary in base64), and becomes an [`Item`] first.

use crate::StoreError;
use crate::item::Item;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use dispatch_domain::ticket::{Comment, Ticket};
use dispatch_domain::{BrandId, Mode, OrgId};
use serde_json::Value;

/// A stream image (`NewImage`, `OldImage`, `Keys`) as an item.
pub fn item_from_image(image: &Value) -> Result<Item, StoreError> {
    let map = image
        .as_object()
        .ok_or_else(|| StoreError::Corrupt("a stream image is not an object".into()))?;
    map.iter()
        .map(|(name, value)| Ok((name.clone(), attribute(value)?)))
        .collect()
}

fn attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("a stream attribute: {value}"));
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(corrupt)?;
    let (kind, inner) = object.iter().next().ok_or_else(corrupt)?;
    let text = || inner.as_str().map(str::to_string).ok_or_else(corrupt);
    let texts = || -> Result<Vec<String>, StoreError> {
        inner
            .as_array()
            .ok_or_else(corrupt)?
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(corrupt))
            .collect()
    };
    let bytes = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|_| corrupt())
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text()?),
        "N" => AttributeValue::N(text()?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().ok_or_else(corrupt)?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(bytes(&text()?)?),
        "SS" => AttributeValue::Ss(texts()?),
        "NS" => AttributeValue::Ns(texts()?),
        "BS" => AttributeValue::Bs(
            texts()?
                .iter()
                .map(|s| bytes(s))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(corrupt)?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(item_from_image(inner)?),
        _ => return Err(corrupt()),
    })
}

/// The tenant, mode and brand of an item in a brand's partition (`ORG#{org}#{mode}#BRAND#{brand}`).
pub fn brand_of(item: &Item) -> Option<(OrgId, Mode, BrandId)> {
    let pk = item.get(crate::keys::PK)?.as_s().ok()?;
    let rest = pk.strip_prefix("ORG#")?;
    let mut parts = rest.split('#');
    let org = OrgId::parse(parts.next()?)?;
    let mode = Mode::parse(parts.next()?)?;
    (parts.next()? == "BRAND").then_some(())?;
    let brand = BrandId::parse(parts.next()?)?;
    parts.next().is_none().then_some((org, mode, brand))
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
    use serde_json::json;

    #[test]
    fn every_attribute_kind_reads_back() {
        let item = item_from_image(&json!({
            "s": {"S": "x"}, "n": {"N": "12"}, "b": {"BOOL": true}, "z": {"NULL": true},
            "bin": {"B": "AP8="}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]},
            "l": {"L": [{"S": "a"}, {"N": "2"}]}, "m": {"M": {"k": {"S": "v"}}},
        }))
        .unwrap();
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
            assert!(item_from_image(&bad).is_err(), "{bad}");
        }
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
}
