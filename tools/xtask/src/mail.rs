//! Mail the local SES emulator captured (`AWS_ENDPOINT_URL_SESV2`), read back through
//! moto's inspection API. Tests and tasks only.

use serde_json::Value;

/// Every message the emulator's SES accepted for `to`, oldest first.
pub async fn emails_to(to: &str) -> Vec<Value> {
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_SESV2") else {
        return Vec::new();
    };
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let Ok(res) = crate::http::request("GET", &url, &[("Connection", "close")], b"").await else {
        return Vec::new();
    };
    let data: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| d == to))
        })
        .collect()
}

/// The dashboard sign-in token (`ml_…`) in the newest email to `to`.
pub async fn latest_magic_link_token(to: &str) -> Option<String> {
    let messages = emails_to(to).await;
    let body = messages.last()?.to_string();
    let start = body.find("token=ml_")? + "token=".len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    )
}
