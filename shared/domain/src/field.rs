//! Custom field definitions: what a brand's dashboard shows for the `customFields` of its
//! tickets, customers and companies. They describe; they are not enforced on writes
//! (intake and portal senders cannot know them, and a new definition must not break them).

use crate::Timestamp;
use crate::brand::{parse_line, parse_web_url};
use serde_json::Value;

/// What a definition describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    Ticket,
    Customer,
    Company,
}

impl Entity {
    pub const ALL: [Entity; 3] = [Entity::Ticket, Entity::Customer, Entity::Company];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Ticket => "ticket",
            Entity::Customer => "customer",
            Entity::Company => "company",
        }
    }

    pub fn parse(raw: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// The kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Boolean,
    Date,
    Select,
    Multiselect,
    Url,
    Array,
    Object,
}

impl FieldType {
    const ALL: [FieldType; 9] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::Select,
        FieldType::Multiselect,
        FieldType::Url,
        FieldType::Array,
        FieldType::Object,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Select => "select",
            FieldType::Multiselect => "multiselect",
            FieldType::Url => "url",
            FieldType::Array => "array",
            FieldType::Object => "object",
        }
    }

    pub fn parse(raw: &str) -> Result<FieldType, String> {
        FieldType::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                "must be one of text, number, boolean, date, select, multiselect, url, array, object"
                    .into()
            })
    }

    /// Select and multiselect take (and need) `options`.
    pub fn has_options(self) -> bool {
        matches!(self, FieldType::Select | FieldType::Multiselect)
    }
}

/// At most this many definitions per entity and brand.
pub const MAX_FIELDS_PER_ENTITY: u64 = 50;
/// At most this many options on a select or multiselect.
pub const MAX_OPTIONS: usize = 100;
/// The largest `sortOrder`.
pub const MAX_SORT_ORDER: i64 = 10_000;
/// The largest `defaultValue`, serialized.
pub const MAX_DEFAULT_BYTES: usize = 1024;

/// One definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub entity: Entity,
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub required: bool,
    pub default_value: Option<Value>,
    pub description: Option<String>,
    pub placeholder: Option<String>,
    pub options: Vec<String>,
    pub visible: bool,
    pub sort_order: i64,
    pub source: Option<String>,
    /// Bumped by every write; a write is conditional on the one it read (not on the wire).
    pub version: u64,
    pub created_at: Timestamp,
}

/// `^[A-Za-z][A-Za-z0-9_]{0,39}$`: the name the value has in `customFields`.
pub fn parse_key(raw: &str) -> Result<String, String> {
    let mut bytes = raw.bytes();
    let ok = raw.len() <= 40
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(raw.to_string())
    } else {
        Err("must be 1-40 characters of A-Z, a-z, 0-9 and _, starting with a letter".into())
    }
}

pub fn parse_label(raw: &str) -> Result<String, String> {
    parse_line(raw, 100)
}

/// At most `max` characters, no control characters (blank is allowed: it reads as unset).
pub fn parse_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let s = raw.trim();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        Err(format!(
            "must be at most {max} characters, no control characters"
        ))
    } else {
        Ok((!s.is_empty()).then(|| s.to_string()))
    }
}

/// 1–[`MAX_OPTIONS`] distinct options of 1–100 characters.
pub fn parse_options(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.is_empty() || raw.len() > MAX_OPTIONS {
        return Err(format!("must have 1-{MAX_OPTIONS} options"));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for o in raw {
        let o = parse_line(o, 100).map_err(|e| format!("each option {e}"))?;
        if out.contains(&o) {
            return Err(format!("lists {o:?} twice"));
        }
        out.push(o);
    }
    Ok(out)
}

pub fn parse_sort_order(raw: i64) -> Result<i64, String> {
    if (0..=MAX_SORT_ORDER).contains(&raw) {
        Ok(raw)
    } else {
        Err(format!("must be an integer from 0 to {MAX_SORT_ORDER}"))
    }
}

/// `YYYY-MM-DD`, a real calendar day.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d) && s.bytes().filter(u8::is_ascii_digit).count() == 8
}

/// A default value fits its field: the type's JSON kind (a `YYYY-MM-DD` date, an http(s)
/// URL, one of the options, a subset of them), at most [`MAX_DEFAULT_BYTES`] serialized.
pub fn check_default(
    value: &Value,
    field_type: FieldType,
    options: &[String],
) -> Result<(), String> {
    if value.to_string().len() > MAX_DEFAULT_BYTES {
        return Err(format!("must be at most {MAX_DEFAULT_BYTES} bytes as JSON"));
    }
    let ok = match (field_type, value) {
        (FieldType::Text, Value::String(_)) => true,
        (FieldType::Number, Value::Number(_)) => true,
        (FieldType::Boolean, Value::Bool(_)) => true,
        (FieldType::Date, Value::String(s)) => is_date(s),
        (FieldType::Url, Value::String(s)) => parse_web_url(s, &["http://", "https://"]).is_ok(),
        (FieldType::Select, Value::String(s)) => options.contains(s),
        (FieldType::Multiselect, Value::Array(items)) => {
            let mut seen = Vec::new();
            items.iter().all(|i| match i.as_str() {
                Some(s) if options.iter().any(|o| o == s) && !seen.contains(&s) => {
                    seen.push(s);
                    true
                }
                _ => false,
            })
        }
        (FieldType::Array, Value::Array(_)) => true,
        (FieldType::Object, Value::Object(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(match field_type {
            FieldType::Date => "must be a YYYY-MM-DD date".into(),
            FieldType::Url => "must be an http:// or https:// URL".into(),
            FieldType::Select => "must be one of the options".into(),
            FieldType::Multiselect => "must be a list of distinct options".into(),
            t => format!("must be a {} value", t.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_start_with_a_letter_and_stay_short() {
        assert!(parse_key("orderId").is_ok());
        assert!(parse_key("a").is_ok());
        assert!(parse_key(&format!("a{}", "b".repeat(39))).is_ok());
        for bad in [
            "",
            "1a",
            "_a",
            "a-b",
            "a b",
            "é",
            &format!("a{}", "b".repeat(40)),
        ] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_fit_their_type() {
        let opts = vec!["red".to_string(), "blue".to_string()];
        for (v, t) in [
            (json!("x"), FieldType::Text),
            (json!(1.5), FieldType::Number),
            (json!(false), FieldType::Boolean),
            (json!("2024-02-29"), FieldType::Date),
            (json!("https://x.test"), FieldType::Url),
            (json!("red"), FieldType::Select),
            (json!(["blue", "red"]), FieldType::Multiselect),
            (json!([1, "a"]), FieldType::Array),
            (json!({"a": 1}), FieldType::Object),
        ] {
            assert_eq!(check_default(&v, t, &opts), Ok(()), "{v} as {t:?}");
        }
        for (v, t) in [
            (json!(1), FieldType::Text),
            (json!("1"), FieldType::Number),
            (json!("2023-02-29"), FieldType::Date),
            (json!("2024-13-01"), FieldType::Date),
            (json!("24-01-01"), FieldType::Date),
            (json!("ftp://x.test"), FieldType::Url),
            (json!("green"), FieldType::Select),
            (json!(["red", "red"]), FieldType::Multiselect),
            (json!("red"), FieldType::Multiselect),
            (json!({}), FieldType::Array),
            (json!("x".repeat(1100)), FieldType::Text),
        ] {
            assert!(check_default(&v, t, &opts).is_err(), "{v} as {t:?}");
        }
    }

    #[test]
    fn options_are_distinct_and_bounded() {
        assert!(parse_options(&[]).is_err());
        assert!(parse_options(&["a".into(), "a".into()]).is_err());
        assert!(parse_options(&vec!["x".to_string(); 101]).is_err());
        assert_eq!(
            parse_options(&[" a ".into(), "b".into()]).unwrap(),
            ["a", "b"]
        );
    }
}
