//! Opaque, tamper-evident pagination cursors.
//!
//! A cursor is `hex(position).hex(mac)`, where `mac` is HMAC-SHA256 (truncated to 128 bits)
//! over the list's *scope* (organization, mode, brand, list name) and the position. A cursor
//! altered by a client, or taken from another tenant, mode or list, fails the MAC and is
//! refused before any read.

use crate::hash::constant_time_eq;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The server secret cursors are signed with (at least 32 bytes).
#[derive(Clone)]
pub struct CursorKey(Vec<u8>);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Option<CursorKey> {
        (secret.len() >= 32).then(|| CursorKey(secret.to_vec()))
    }

    fn mac(&self, scope: &str, position: &str) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length"); // ok-unwrap: HMAC accepts keys of any length
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(position.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// A cursor for `position` within `scope`.
    pub fn seal(&self, scope: &str, position: &str) -> String {
        format!(
            "{}.{}",
            hex(position.as_bytes()),
            hex(&self.mac(scope, position))
        )
    }

    /// The position inside `cursor`, if it was sealed by this key for this `scope`.
    pub fn open(&self, scope: &str, cursor: &str) -> Option<String> {
        if cursor.len() > 1024 {
            return None;
        }
        let (position_hex, mac_hex) = cursor.split_once('.')?;
        let position = String::from_utf8(unhex(position_hex)?).ok()?;
        let mac = unhex(mac_hex)?;
        constant_time_eq(&mac, &self.mac(scope, &position)).then_some(position)
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex only, as `seal` writes it: a cursor has exactly one spelling, so an
/// altered one (`4F` for `4f`, `+9` for `09`) is refused rather than read the same.
fn unhex(s: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_cursor_opens_in_its_own_scope_only() {
        let c = key().seal("customers:org_a:live:br_a", "CUSTOMER#cus_1");
        assert_eq!(
            key().open("customers:org_a:live:br_a", &c).as_deref(),
            Some("CUSTOMER#cus_1")
        );
        assert_eq!(
            key().open("customers:org_b:live:br_a", &c),
            None,
            "another tenant"
        );
        assert_eq!(
            key().open("customers:org_a:test:br_a", &c),
            None,
            "another mode"
        );
        assert_eq!(
            key().open("tickets:org_a:live:br_a", &c),
            None,
            "another list"
        );
    }

    #[test]
    fn tampered_or_foreign_cursors_are_refused() {
        let c = key().seal("s", "CUSTOMER#cus_1");
        let (pos, mac) = c.split_once('.').unwrap();
        let forged = format!("{}.{mac}", hex(b"CUSTOMER#cus_2"));
        assert_eq!(key().open("s", &forged), None);
        assert_eq!(key().open("s", &format!("{pos}.{}", "0".repeat(32))), None);
        assert_eq!(
            CursorKey::new(&[8u8; 32]).unwrap().open("s", &c),
            None,
            "another key"
        );
        for junk in ["", ".", "zz.zz", "abc", &"a".repeat(2000)] {
            assert_eq!(key().open("s", junk), None, "{junk}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(CursorKey::new(b"short").is_none());
    }
}
