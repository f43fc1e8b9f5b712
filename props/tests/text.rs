//! File names, media types and free text: what a client declares for an upload (and later
//! sees in a download's `Content-Disposition`), and the titles and bodies of tickets.

use dispatch_domain::attachment::{
    ALLOWED_TYPES, check_extension, content_disposition, is_invisible_format, parse_content_type,
    parse_filename,
};
use dispatch_domain::ticket::{parse_body, parse_title};
use dispatch_props::{config, string_of, text, tricky_char};
use lambda_http::http::HeaderValue;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// `parse_body`'s limit, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Characters a file name is made of, and the ones that make it dangerous.
fn filename_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => select("abcXYZ019 _-().".chars().collect::<Vec<_>>()),
        2 => select(vec!['.', '/', '\\', ' ']),
        2 => tricky_char(),
    ]
}

/// Names as clients send them: plain, with directories, with extensions, and hostile.
fn raw_filename() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string_of(filename_char(), 0..40),
        1 => (string_of(filename_char(), 0..20), select(vec![".pdf", ".exe", ".", ". ", "", ".txt\u{202e}"]))
            .prop_map(|(stem, ext)| format!("{stem}{ext}")),
        1 => string_of(select(vec!['a', 'é', '报', '.']), 250..262),
        1 => text(),
    ]
}

/// A media type from the allow-list, its extensions, and a spelling of it a client
/// might send (any case, surrounding spaces).
fn allowed_type() -> impl Strategy<Value = (&'static str, &'static [&'static str], String)> {
    (
        select(ALLOWED_TYPES.to_vec()),
        prop::collection::vec(any::<bool>(), 80),
        "[ \t]{0,2}",
        "[ \t]{0,2}",
    )
        .prop_map(|((ty, extensions), upper, before, after)| {
            let spelled: String = ty
                .chars()
                .zip(&upper)
                .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
                .collect();
            (ty, extensions, format!("{before}{spelled}{after}"))
        })
}

/// Every character a file name must not hold anywhere (but at an end, if it is whitespace).
fn invisible_or_control() -> Vec<char> {
    (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|&c| is_invisible_format(c) || c.is_control())
        .collect()
}

/// Decodes `%XX` escapes; `None` if any escape is broken.
fn percent_decode(encoded: &str) -> Option<Vec<u8>> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_accepted_filename_is_a_safe_base_name(raw in raw_filename()) {
        if let Ok(name) = parse_filename(&raw) {
            let chars = name.chars().count();
            prop_assert!((1..=255).contains(&chars), "{} characters", chars);
            prop_assert!(!name.contains(['/', '\\']), "{:?}", name);
            prop_assert!(
                !name.chars().any(|c| c.is_control() || is_invisible_format(c)),
                "{:?}", name
            );
            prop_assert!(!name.ends_with('.') && name != "." && name != "..", "{:?}", name);
            prop_assert_eq!(name.trim(), name.as_str());
            prop_assert!(raw.contains(&name), "{:?} is not part of {:?}", name, raw);
            prop_assert_eq!(parse_filename(&name), Ok(name.clone()), "not idempotent");
        }
    }

    /// The one characterisation that matters for a spoofed name: one invisible or control
    /// character anywhere, and the name is refused.
    #[test]
    fn one_invisible_or_control_character_anywhere_refuses_a_name(
        c in select(invisible_or_control()),
        name in "[a-z]{1,20}\\.(pdf|png|txt)",
        at in any::<Index>(),
    ) {
        let mut chars: Vec<char> = name.chars().collect();
        chars.insert(at.index(chars.len() + 1), c);
        let spoofed: String = chars.into_iter().collect();
        // Controls that are also whitespace are trimmed at either end, and that is safe.
        let trimmed_away = c.is_whitespace() && spoofed.trim() == name;
        prop_assert_eq!(parse_filename(&spoofed).is_ok(), trimmed_away, "{:?}", spoofed);
    }

    #[test]
    fn a_content_disposition_is_a_valid_header_that_cannot_be_broken_out_of(
        name in prop_oneof![raw_filename(), text()],
    ) {
        let header = content_disposition(&name);
        prop_assert!(HeaderValue::from_str(&header).is_ok(), "{:?}", header);
        prop_assert!(header.is_ascii() && !header.contains(['\r', '\n']));
        let rest = header.strip_prefix("attachment; filename=\"");
        prop_assert!(rest.is_some(), "{:?}", header);
        let (fallback, encoded) = rest
            .and_then(|r| r.split_once("\"; filename*=UTF-8''"))
            .unwrap_or_default();
        prop_assert!(!fallback.contains(['"', '\\']), "{:?}", fallback);
        prop_assert_eq!(fallback.chars().count(), name.chars().count());
        prop_assert!(!encoded.contains(['"', ';', ' ', '\'']), "{:?}", encoded);
        prop_assert_eq!(percent_decode(encoded), Some(name.into_bytes()));
    }

    #[test]
    fn an_accepted_content_type_is_on_the_allow_list(raw in prop_oneof![text(), "[a-zA-Z/.+-]{0,30}"]) {
        if let Ok(ty) = parse_content_type(&raw) {
            prop_assert!(ALLOWED_TYPES.iter().any(|(t, _)| *t == ty), "{:?}", ty);
            prop_assert!(ty.eq_ignore_ascii_case(raw.trim()));
        }
    }

    #[test]
    fn an_allowed_type_is_accepted_in_any_case_and_spacing((ty, _, spelled) in allowed_type()) {
        prop_assert_eq!(parse_content_type(&spelled), Ok(ty.to_string()));
    }

    #[test]
    fn a_name_passes_only_with_an_extension_of_its_declared_type(
        (ty, extensions, _) in allowed_type(),
        name in prop_oneof![
            raw_filename(),
            (raw_filename(), select(ALLOWED_TYPES.iter().flat_map(|(_, e)| e.iter().copied()).collect::<Vec<_>>()), any::<bool>())
                .prop_map(|(stem, ext, upper)| {
                    format!("{stem}.{}", if upper { ext.to_ascii_uppercase() } else { ext.to_string() })
                }),
        ],
        declared in prop_oneof![Just(None), text().prop_map(Some)],
    ) {
        let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let fits = extension.is_some_and(|e| extensions.contains(&e.as_str()));
        prop_assert_eq!(check_extension(&name, ty).is_ok(), fits, "{:?} as {}", name, ty);
        if let Some(declared) = declared
            && check_extension(&name, &declared).is_ok()
        {
            prop_assert!(ALLOWED_TYPES.iter().any(|(t, _)| *t == declared), "{:?}", declared);
        }
    }

    #[test]
    fn an_accepted_body_is_unchanged_and_holds_no_control_but_tab_and_line_breaks(
        raw in prop_oneof![
            text(),
            string_of(select(vec!['a', '\n', '\r', '\t', 'é', '报', '\u{1b}', '\u{9b}']), 0..100),
            (MAX_BODY_BYTES - 8..MAX_BODY_BYTES + 8, select(vec!["", "é", "报", "😀"]))
                .prop_map(|(len, tail)| format!("{}{tail}", "a".repeat(len - tail.len().min(len)))),
        ],
    ) {
        let forbidden = raw.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
        let too_long = raw.len() > MAX_BODY_BYTES;
        match parse_body(&raw) {
            Ok(body) => {
                prop_assert!(!forbidden && !too_long, "accepted {} bytes", raw.len());
                prop_assert_eq!(body, raw);
            }
            Err(_) => prop_assert!(forbidden || too_long, "refused {} bytes", raw.len()),
        }
    }

    #[test]
    fn an_accepted_title_is_trimmed_short_and_free_of_control_characters(
        raw in prop_oneof![
            text(),
            string_of(select(vec!['a', ' ', '\u{3000}', 'é', '\t']), 495..505),
        ],
    ) {
        let result = parse_title(&raw);
        let trimmed = raw.trim();
        let expected_ok = !trimmed.is_empty()
            && trimmed.chars().count() <= 500
            && !trimmed.chars().any(char::is_control);
        prop_assert_eq!(result.is_ok(), expected_ok, "{:?}", raw);
        if let Ok(title) = result {
            prop_assert_eq!(&title, trimmed);
            prop_assert_eq!(parse_title(&title), Ok(title.clone()), "not idempotent");
        }
    }
}

mod exhaustive {
    use super::*;

    /// A slip in the table (a range a digit too wide) would refuse ordinary names: no
    /// character it flags is a letter, a digit or a space.
    #[test]
    fn the_invisible_format_table_flags_no_letter_digit_or_space() {
        let flagged: Vec<char> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|&c| is_invisible_format(c))
            .collect();
        for c in &flagged {
            assert!(
                (!c.is_alphanumeric() && !c.is_whitespace())
                    || matches!(c, '\u{2028}' | '\u{2029}'),
                "U+{:04X} is flagged",
                u32::from(*c)
            );
        }
        assert!(flagged.contains(&'\u{202e}') && flagged.contains(&'\u{feff}'));
    }
}
