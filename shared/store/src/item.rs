//! Reading and writing DynamoDB attribute maps without panics.

use crate::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use dispatch_domain::Timestamp;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

pub fn list(values: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(AttributeValue::S).collect())
}

pub fn ts(t: Timestamp) -> AttributeValue {
    n(t.unix())
}

/// Typed reads from an item; a missing or mistyped attribute is `Corrupt`.
pub struct Reader<'a>(pub &'a Item);

impl Reader<'_> {
    fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.0
            .get(name)
            .filter(|v| !matches!(v, AttributeValue::Null(_)))
    }

    fn corrupt(name: &str) -> StoreError {
        StoreError::Corrupt(format!("attribute {name}"))
    }

    pub fn string(&self, name: &str) -> Result<String, StoreError> {
        self.opt_string(name)?.ok_or_else(|| Self::corrupt(name))
    }

    pub fn opt_string(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(Self::corrupt(name)),
        }
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| Self::corrupt(name)),
            Some(_) => Err(Self::corrupt(name)),
        }
    }

    pub fn u64(&self, name: &str) -> Result<u64, StoreError> {
        let v = self.opt_i64(name)?.ok_or_else(|| Self::corrupt(name))?;
        u64::try_from(v).map_err(|_| Self::corrupt(name))
    }

    pub fn bool(&self, name: &str) -> Result<bool, StoreError> {
        match self.get(name) {
            Some(AttributeValue::Bool(v)) => Ok(*v),
            _ => Err(Self::corrupt(name)),
        }
    }

    pub fn timestamp(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.opt_timestamp(name)?.ok_or_else(|| Self::corrupt(name))
    }

    pub fn i64(&self, name: &str) -> Result<i64, StoreError> {
        self.opt_i64(name)?.ok_or_else(|| Self::corrupt(name))
    }

    pub fn opt_timestamp(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.opt_i64(name)?.map(Timestamp::from_unix))
    }

    pub fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.get(name) {
            None => Ok(vec![]),
            Some(AttributeValue::L(items)) => items
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.clone()),
                    _ => Err(Self::corrupt(name)),
                })
                .collect(),
            Some(_) => Err(Self::corrupt(name)),
        }
    }

    /// Parses a string attribute with a domain parser.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        parse(&self.string(name)?).ok_or_else(|| Self::corrupt(name))
    }
}
