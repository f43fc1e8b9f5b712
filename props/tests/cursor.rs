//! Pagination cursors (`hex(position).hex(mac)`) and the `?limit&cursor` a list request
//! carries: a client hands back whatever it likes, and the position must still be one we
//! sealed for this very list.

use dispatch_auth::cursor::CursorKey;
use dispatch_http::pagination::{DEFAULT_LIMIT, MAX_LIMIT, page_request};
use dispatch_props::{
    config, one_edit, request, same_hmac_key, string_of, text, text_near, tricky_char,
};
use lambda_http::{Body, RequestExt};
use proptest::prelude::*;
use std::collections::HashMap;

const HEX: &str = "0123456789abcdef";
/// `open` reads no cursor longer than this.
const MAX_CURSOR_LEN: usize = 1024;

fn secret() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 32..64)
}

fn key(secret: &[u8]) -> CursorKey {
    CursorKey::new(secret).expect("the strategy makes secrets of 32 bytes or more")
}

/// A list's scope as the functions build it (`tickets:org_…:live:br_…`), or anything.
fn scope() -> impl Strategy<Value = String> {
    prop_oneof![
        "(tickets|customers|portal):org_[0-9a-z]{26}:(live|test):br_[0-9a-z]{26}",
        string_of(tricky_char(), 0..40),
    ]
}

/// A position as the store hands it out (a sort key), or any text short enough that its
/// cursor stays within the length `open` reads.
fn position() -> impl Strategy<Value = String> {
    prop_oneof![
        "(TICKET|CUSTOMER|COMMENT)#[0-9a-z_]{1,40}",
        string_of(tricky_char(), 0..100),
    ]
}

fn list_request(params: &[(&str, &str)]) -> lambda_http::Request {
    let params: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    request(&[], Body::Empty).with_query_string_parameters(params)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_sealed_cursor_opens_to_its_position_in_its_own_scope(
        secret in secret(),
        scope in scope(),
        position in position(),
    ) {
        let key = key(&secret);
        let cursor = key.seal(&scope, &position);
        prop_assert!(cursor.len() <= MAX_CURSOR_LEN);
        prop_assert_eq!(key.open(&scope, &cursor), Some(position));
    }

    #[test]
    fn another_scope_or_another_key_opens_nothing(
        secret in secret(),
        other_secret in secret(),
        scope in scope(),
        other_scope in scope(),
        position in position(),
    ) {
        let cursor = key(&secret).seal(&scope, &position);
        if other_scope != scope {
            prop_assert_eq!(key(&secret).open(&other_scope, &cursor), None);
        }
        if !same_hmac_key(&other_secret, &secret) {
            prop_assert_eq!(key(&other_secret).open(&scope, &cursor), None);
        }
    }

    #[test]
    fn hostile_text_opens_nothing(
        secret in secret(),
        scope in scope(),
        cursor in prop_oneof![
            text(),
            text_near("0123456789abcdefABCDEF.+-", 0..100),
            (text_near(HEX, 0..60), text_near(HEX, 28..36)).prop_map(|(p, m)| format!("{p}.{m}")),
        ],
    ) {
        prop_assert_eq!(key(&secret).open(&scope, &cursor), None);
    }

    /// The module promises that an altered cursor is refused: a cursor has one spelling
    /// (an upper-case digit or a `+` sign once still opened; see `regressions`).
    #[test]
    fn one_edited_character_opens_nothing(
        (secret, scope, cursor, edited) in (secret(), scope(), position()).prop_flat_map(|(secret, scope, position)| {
            let cursor = key(&secret).seal(&scope, &position);
            (Just(secret), Just(scope), Just(cursor.clone()), one_edit(cursor, "0123456789abcdefABCDEF+."))
        }),
    ) {
        let opened = key(&secret).open(&scope, &edited);
        prop_assert!(edited == cursor || opened.is_none(), "{:?} opened {:?}", edited, opened);
    }

    #[test]
    fn a_list_request_takes_limits_from_1_to_100_and_only_cursors_of_its_list(
        secret in secret(),
        scope in scope(),
        limit in prop::option::of(prop_oneof![
            (0usize..=110).prop_map(|n| n.to_string()),
            text_near("0123456789+- ", 0..25),
            text(),
        ]),
        cursor in prop::option::of(prop_oneof![
            position().prop_map(|p| (p, true)),
            text().prop_map(|c| (c, false)),
        ]),
    ) {
        let key = key(&secret);
        let cursor = cursor.map(|(text, seal)| {
            if seal { (key.seal(&scope, &text), Some(text)) } else { (text, None) }
        });
        let mut params = Vec::new();
        if let Some(limit) = &limit {
            params.push(("limit", limit.as_str()));
        }
        if let Some((cursor, _)) = &cursor {
            params.push(("cursor", cursor.as_str()));
        }
        let result = page_request(&list_request(&params), &key, &scope);

        let limit_ok = limit.as_deref().is_none_or(|raw| {
            raw.parse::<usize>().is_ok_and(|n| (1..=MAX_LIMIT).contains(&n))
        });
        let cursor_ok = cursor
            .as_ref()
            .is_none_or(|(text, sealed)| sealed.is_some() || text.is_empty());
        match result {
            Ok(page) => {
                prop_assert!(limit_ok && cursor_ok);
                let expected_limit = limit.as_deref().map_or(DEFAULT_LIMIT, |raw| raw.parse().unwrap_or(0));
                prop_assert_eq!(page.limit, expected_limit);
                prop_assert_eq!(page.after, cursor.and_then(|(_, sealed)| sealed));
            }
            Err(err) => {
                prop_assert!(!(limit_ok && cursor_ok), "refused a valid request: {:?}", err);
                prop_assert!(err.status().is_client_error(), "{:?} is not a 4xx", err);
            }
        }
    }
}

mod regressions {
    use super::*;

    const SCOPE: &str = "customers:org_a:live:br_a";

    fn key() -> CursorKey {
        CursorKey::new(&[7u8; 32]).expect("32 bytes")
    }

    /// `CUSTOMER#cus_1` sealed with `key()` for `SCOPE`.
    const SEALED: &str = "435553544f4d4552236375735f31.8d4e878ac51a663ad46c336670f89415";
    /// `\tCUSTOMER#cus_1` sealed the same way: its first pair is `09`.
    const SEALED_TAB: &str = "09435553544f4d4552236375735f31.2fea14b881aca123b73ecb076b059e0b";

    #[test]
    fn the_sealed_cursors_below_open_as_sealed() {
        assert_eq!(key().seal(SCOPE, "CUSTOMER#cus_1"), SEALED);
        assert_eq!(key().seal(SCOPE, "\tCUSTOMER#cus_1"), SEALED_TAB);
    }

    /// Found by `one_edited_character_never_opens_another_position` (as first written: an
    /// edited cursor opens nothing), e.g. `…abD366e…` for `…abd366e…`.
    #[test]
    fn a_cursor_with_one_digit_in_upper_case_opens_nothing() {
        let altered = SEALED.replacen('d', "D", 1);
        assert_eq!(key().open(SCOPE, &altered), None, "{altered}");
    }

    #[test]
    fn a_cursor_with_a_plus_sign_for_a_zero_opens_nothing() {
        let altered = SEALED_TAB.replacen('0', "+", 1);
        assert_eq!(key().open(SCOPE, &altered), None, "{altered}");
    }
}
