//! The signing keys a function reads once, at init, from Secrets Manager.
//!
//! The template gives a function the ARNs of the secrets it may read (never their values)
//! and the permission to read exactly those: `CURSOR_SECRET_ARN` for functions that sign
//! pagination cursors, `PORTAL_KEY_A_ARN`, `PORTAL_KEY_B_ARN` and `PORTAL_ACTIVE_KEY` for
//! the portal's. Whatever is named is fetched in one request; a function that names
//! nothing makes none. A named secret that is missing, unreadable or too short fails the
//! init, so no request ever discovers it (docs/decisions.md, 63). A function that needs a
//! key its environment does not name answers 500 instead; routes.toml, which generates
//! both the variables and the grants, keeps that from happening.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use dispatch_auth::cursor::CursorKey;
use dispatch_auth::portal_token::PortalKeys;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("Secrets Manager: {0}")]
    Backend(String),
}

/// Where the keys are: the secret ids (ARNs in AWS) from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretIds {
    pub cursor: Option<String>,
    /// Keys `a` and `b`, the signing one first.
    pub portal: Option<[(String, String); 2]>,
}

impl SecretIds {
    /// Reads the variables through `var` (the process environment in production).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<SecretIds, SecretsError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let cursor = set("CURSOR_SECRET_ARN");
        let portal = match (set("PORTAL_KEY_A_ARN"), set("PORTAL_KEY_B_ARN")) {
            (None, None) => None,
            (Some(a), Some(b)) => {
                let a = ("a".to_string(), a);
                let b = ("b".to_string(), b);
                match set("PORTAL_ACTIVE_KEY").as_deref() {
                    Some("a") => Some([a, b]),
                    Some("b") => Some([b, a]),
                    other => {
                        return Err(SecretsError::Config(format!(
                            "PORTAL_ACTIVE_KEY must be a or b, not {other:?}"
                        )));
                    }
                }
            }
            _ => {
                return Err(SecretsError::Config(
                    "PORTAL_KEY_A_ARN and PORTAL_KEY_B_ARN go together".into(),
                ));
            }
        };
        Ok(SecretIds { cursor, portal })
    }

    /// Every id to fetch.
    pub fn all(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.cursor.iter().map(String::as_str).collect();
        if let Some(keys) = &self.portal {
            ids.extend(keys.iter().map(|(_, id)| id.as_str()));
        }
        ids
    }
}

/// The keys, ready to sign and verify.
#[derive(Debug, Clone, Default)]
pub struct SigningKeys {
    pub cursor: Option<CursorKey>,
    pub portal: Option<PortalKeys>,
}

impl SigningKeys {
    /// Fetches what the environment names (nothing at all when it names nothing).
    pub async fn from_env() -> Result<SigningKeys, SecretsError> {
        let ids = SecretIds::from_vars(|name| std::env::var(name).ok())?;
        if ids.all().is_empty() {
            return Ok(SigningKeys::default());
        }
        let sdk = dispatch_aws::load().await;
        SigningKeys::fetch(&Client::new(&sdk), &ids).await
    }

    /// One `GetSecretValue` for one secret, one `BatchGetSecretValue` for several.
    pub async fn fetch(client: &Client, ids: &SecretIds) -> Result<SigningKeys, SecretsError> {
        let wanted = ids.all();
        let values: Vec<(String, Option<String>, String)> = if let [only] = wanted.as_slice() {
            let out = client
                .get_secret_value()
                .secret_id(*only)
                .send()
                .await
                .map_err(|e| SecretsError::Backend(DisplayErrorContext(e).to_string()))?;
            if out.secret_binary.is_some() {
                return Err(SecretsError::Config(format!(
                    "{only}: a binary secret, not text"
                )));
            }
            // The one value asked for, whatever form of its id was used.
            vec![(
                (*only).to_string(),
                None,
                out.secret_string.unwrap_or_default(),
            )]
        } else {
            let out = client
                .batch_get_secret_value()
                .set_secret_id_list(Some(wanted.iter().map(|s| s.to_string()).collect()))
                .send()
                .await
                .map_err(|e| SecretsError::Backend(DisplayErrorContext(e).to_string()))?;
            if let Some(error) = out.errors.unwrap_or_default().first() {
                return Err(SecretsError::Backend(format!(
                    "{}: {} {}",
                    error.secret_id.as_deref().unwrap_or("?"),
                    error.error_code.as_deref().unwrap_or(""),
                    error.message.as_deref().unwrap_or("")
                )));
            }
            let mut values = Vec::new();
            for v in out.secret_values.unwrap_or_default() {
                if v.secret_binary.is_some() {
                    let id = v.arn.or(v.name).unwrap_or_default();
                    return Err(SecretsError::Config(format!(
                        "{id}: a binary secret, not text"
                    )));
                }
                values.push((
                    v.arn.unwrap_or_default(),
                    v.name,
                    v.secret_string.unwrap_or_default(),
                ));
            }
            values
        };
        let value_of = |id: &str| -> Result<&str, SecretsError> {
            values
                .iter()
                .find(|(arn, name, _)| arn == id || name.as_deref() == Some(id))
                .map(|(_, _, value)| value.as_str())
                .ok_or_else(|| SecretsError::Backend(format!("{id}: not returned")))
        };
        keys_from(ids, value_of)
    }
}

/// Builds the keys from the fetched values, refusing any that are too short to sign with.
fn keys_from<'a>(
    ids: &SecretIds,
    value_of: impl Fn(&str) -> Result<&'a str, SecretsError>,
) -> Result<SigningKeys, SecretsError> {
    let cursor = match &ids.cursor {
        Some(id) => Some(CursorKey::new(value_of(id)?.as_bytes()).ok_or_else(|| {
            SecretsError::Config(format!("{id}: a cursor key has at least 32 bytes"))
        })?),
        None => None,
    };
    let portal = match &ids.portal {
        Some(keys) => {
            let mut pairs = Vec::new();
            for (kid, id) in keys {
                pairs.push((kid.as_str(), value_of(id)?.as_bytes()));
            }
            Some(PortalKeys::from_pairs(&pairs).ok_or_else(|| {
                SecretsError::Config("portal keys have at least 32 bytes each".into())
            })?)
        }
        None => None,
    };
    Ok(SigningKeys { cursor, portal })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_function_that_names_no_secret_fetches_none() {
        let ids = SecretIds::from_vars(vars(&[])).unwrap();
        assert!(ids.all().is_empty());
    }

    #[test]
    fn the_active_portal_key_comes_first() {
        let env = [
            ("PORTAL_KEY_A_ARN", "arn:a"),
            ("PORTAL_KEY_B_ARN", "arn:b"),
            ("PORTAL_ACTIVE_KEY", "b"),
            ("CURSOR_SECRET_ARN", "arn:c"),
        ];
        let ids = SecretIds::from_vars(vars(&env)).unwrap();
        assert_eq!(ids.all(), ["arn:c", "arn:b", "arn:a"]);
        let long = "k".repeat(64);
        let keys = keys_from(&ids, |_| Ok(long.as_str())).unwrap();
        assert_eq!(keys.portal.unwrap().signing_key_id(), "b");
        assert!(keys.cursor.is_some());
    }

    #[test]
    fn half_a_configuration_fails_the_init() {
        let one_key = SecretIds::from_vars(vars(&[("PORTAL_KEY_A_ARN", "arn:a")]));
        assert!(matches!(one_key, Err(SecretsError::Config(_))));
        let no_active = [("PORTAL_KEY_A_ARN", "arn:a"), ("PORTAL_KEY_B_ARN", "arn:b")];
        assert!(SecretIds::from_vars(vars(&no_active)).is_err());
    }

    #[test]
    fn a_short_secret_fails_the_init() {
        let ids = SecretIds::from_vars(vars(&[("CURSOR_SECRET_ARN", "arn:c")])).unwrap();
        assert!(matches!(
            keys_from(&ids, |_| Ok("short")),
            Err(SecretsError::Config(_))
        ));
        assert!(matches!(
            keys_from(&ids, |id| Err(SecretsError::Backend(id.into()))),
            Err(SecretsError::Backend(_))
        ));
    }
}
