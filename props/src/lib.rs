//! What the property-based fuzz targets in `tests/` share: the run configuration, strategies
//! for hostile input, single-character edits of valid tokens, and request builders.
//!
//! Each file in `tests/` covers one area. Its properties sit at the top level of the file
//! (so `scripts/fuzz` can count them); plain tests sit in named modules: `regressions` holds
//! the concrete inputs long runs have found (a failure persistence file is not enough), and
//! `exhaustive` the checks that enumerate a whole domain instead of sampling it.

use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;
use serde_json::{Number, Value};

/// How many cases each property runs: `cargo test` keeps the default, `scripts/fuzz` asks
/// for many more.
pub const CASES_VAR: &str = "DISPATCH_PROPTEST_CASES";
pub const DEFAULT_CASES: u32 = 256;

/// Cases per property, from [`CASES_VAR`]. A value that is not a number fails the run
/// rather than quietly testing less.
pub fn cases() -> u32 {
    match std::env::var(CASES_VAR) {
        Ok(raw) => raw
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{CASES_VAR}={raw:?} is not a number of cases")),
        Err(_) => DEFAULT_CASES,
    }
}

/// The configuration of every property: [`cases`] cases and no failure persistence file
/// in the source tree. `PROPTEST_RNG_SEED` still fixes the seed (scripts/fuzz prints one).
pub fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::with_cases(cases())
    }
}

/// Characters that break parsers: separators and quotes of every format here, C0 and C1
/// controls, Unicode whitespace, invisible format characters, multi-byte letters, the
/// replacement character and the last code point.
#[rustfmt::skip]
pub const TRICKY: &[char] = &[
    '\0', '\t', '\n', '\r', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
    ' ', '!', '"', '#', '%', '&', '\'', '+', ',', '-', '.', '/', ':', ';', '=', '?', '@',
    '[', '\\', ']', '_', '{', '}', '~', '0', '9', 'a', 'A', 'f', 'F', 'z', 's', 'k',
    'é', 'ß', 'ж', '报', '😀',
    '\u{a0}', '\u{ad}', '\u{200b}', '\u{200e}', '\u{2028}', '\u{202e}', '\u{2066}',
    '\u{3000}', '\u{feff}', '\u{fffd}', '\u{e0041}', '\u{10ffff}',
];

/// Any character, with the [`TRICKY`] ones drawn often.
pub fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![1 => any::<char>(), 1 => select(TRICKY)]
}

/// Strings built from `chars`, with lengths in `len`.
pub fn string_of(
    chars: impl Strategy<Value = char>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = String> {
    prop::collection::vec(chars, len).prop_map(String::from_iter)
}

/// Hostile text: short strings of tricky characters, longer ones of any characters, and
/// now and then one of several thousand characters (past every length limit here).
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => string_of(tricky_char(), 0..40),
        3 => string_of(any::<char>(), 0..300),
        1 => string_of(select(TRICKY), 3000..10_000),
    ]
}

/// Strings whose characters come from `alphabet` (a format's own characters) or are
/// tricky, with lengths in `len`: near misses of a format rather than noise.
pub fn text_near(alphabet: &'static str, len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    string_of(prop_oneof![4 => select(chars), 1 => tricky_char()], len).boxed()
}

/// `original` with exactly one character replaced (by a different one), inserted or
/// deleted. Replacements come from `alphabet` half the time, so that the edit keeps the
/// token well-formed and only its checksum or MAC can catch it.
pub fn one_edit(original: String, alphabet: &'static str) -> BoxedStrategy<String> {
    let chars: Vec<char> = alphabet.chars().collect();
    let replacement = prop_oneof![select(chars), tricky_char()];
    (0..3u8, any::<Index>(), replacement)
        .prop_map(move |(kind, at, c)| {
            let mut chars: Vec<char> = original.chars().collect();
            match kind {
                0 if !chars.is_empty() => {
                    let i = at.index(chars.len());
                    chars[i] = if c != chars[i] {
                        c
                    } else if c == 'a' {
                        'b'
                    } else {
                        'a'
                    };
                }
                1 => chars.insert(at.index(chars.len() + 1), c),
                _ if !chars.is_empty() => {
                    chars.remove(at.index(chars.len()));
                }
                _ => chars.push(c),
            }
            chars.into_iter().collect()
        })
        .boxed()
}

/// Whether HMAC-SHA256 treats two keys as one: a key of up to one block (64 bytes) is
/// padded with zeros, so `k` and `k` followed by zero bytes sign alike. Properties about
/// "another key" must skip such pairs.
pub fn same_hmac_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() > 64 || b.len() > 64 {
        return a == b;
    }
    let unpadded = |k: &[u8]| k.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    a[..unpadded(a)] == b[..unpadded(b)]
}

/// Any JSON value, nested a few levels, with strings mostly short and now and then from
/// [`text`].
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        4 => string_of(tricky_char(), 0..20).prop_map(Value::String),
        1 => text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((string_of(tricky_char(), 0..20), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Bytes a header value may hold (visible ASCII, space, tab and obs-text): what API Gateway
/// can hand a function.
pub fn header_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        8 => 0x20u8..=0x7e,
        1 => Just(b'\t'),
        2 => 0x80u8..=0xff,
    ];
    prop::collection::vec(byte, len)
}

/// A request with these headers and body, as a function receives it.
pub fn request(headers: &[(&str, &[u8])], body: Body) -> Request {
    let mut req = Request::new(body);
    for (name, value) in headers {
        let value = HeaderValue::from_bytes(value).expect("strategies make valid header values");
        let name = HeaderName::from_bytes(name.as_bytes()).expect("header names are literals");
        req.headers_mut().append(name, value);
    }
    req
}
