//! An intake POST body: parsed into fields and files ([`parse`]), then mapped onto the
//! parts of a ticket ([`map_fields`]). Pure apart from `async` (the multipart parser is a
//! stream parser; the body is already in memory).

use bytes::Bytes;
use dispatch_domain::attachment;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;

/// At most this many files on one submission: the same cap as attachments on a ticket
/// created through the API.
pub const MAX_FILES: usize = attachment::MAX_ATTACHMENTS_PER_CREATE;

/// At most this many distinct fields on one submission. A ticket keeps at most 50 custom
/// fields, so a real form never comes close; the cap keeps a hostile body cheap to refuse.
pub const MAX_FIELDS: usize = 100;

/// At most this many entries in an endpoint's field mapping.
pub const MAX_FIELD_MAPPING_ENTRIES: usize = 50;

/// The honeypot: a field real users never see, so never fill.
pub const HONEYPOT_FIELD: &str = "_gotcha";

const DEFAULT_FILE_CONTENT_TYPE: &str = "application/octet-stream";
const CUSTOM_FIELDS_PREFIX: &str = "customFields.";
/// Custom field keys are 1–40 characters, as `Metadata` requires of `customFields`.
const MAX_CUSTOM_FIELD_KEY_CHARS: usize = 40;
const MAX_FIELD_NAME_CHARS: usize = 100;

/// What a sender submitted, in the order it was sent.
///
/// From urlencoded and multipart bodies every value is a JSON string, and a name sent more
/// than once becomes one field whose value is the array of its values (in order), so
/// checkbox groups and multi-selects survive intact. From a JSON body each top-level key is
/// a field whose value is kept as it was sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Submission {
    pub fields: Vec<(String, Value)>,
    pub files: Vec<FilePart>,
}

/// A file from a multipart body.
#[derive(Clone, PartialEq, Eq)]
pub struct FilePart {
    /// The form field it was sent under.
    pub field: String,
    /// The file's base name, checked by [`attachment::parse_filename`] (no directories).
    pub filename: String,
    /// The part's media type without parameters, `application/octet-stream` if it gave none.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FilePart {
    // The bytes can be megabytes; a log line needs only their count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePart")
            .field("field", &self.field)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Why a body could not be read. Everything here is the sender's mistake (a 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionError {
    /// 415.
    #[error(
        "Content-Type must be application/json, application/x-www-form-urlencoded or multipart/form-data"
    )]
    UnsupportedMediaType,
    /// 400.
    #[error("the request body is malformed: {0}")]
    Malformed(String),
    /// 400.
    #[error("at most {MAX_FILES} files may be attached")]
    TooManyFiles,
    /// 400.
    #[error("at most {MAX_FIELDS} distinct fields may be sent")]
    TooManyFields,
}

/// Reads a body by its `Content-Type` (parameters such as `charset` are ignored, except a
/// multipart `boundary`).
///
/// - `application/json`: must be an object; each top-level key is a field.
/// - `application/x-www-form-urlencoded`: `+` and `%XX` decoded; invalid UTF-8 is replaced
///   with U+FFFD.
/// - `multipart/form-data`: parts with a filename are files, the others fields. A part
///   with an empty filename and no content is what a browser sends for a file input left
///   empty, and is skipped.
pub async fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Submission, SubmissionError> {
    let content_type = content_type.ok_or(SubmissionError::UnsupportedMediaType)?;
    let media_type = content_type
        .split_once(';')
        .map_or(content_type, |(media_type, _)| media_type)
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => parse_json(body),
        "application/x-www-form-urlencoded" => parse_urlencoded(body),
        "multipart/form-data" => parse_multipart(content_type, body).await,
        _ => Err(SubmissionError::UnsupportedMediaType),
    }
}

fn parse_json(body: &[u8]) -> Result<Submission, SubmissionError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| SubmissionError::Malformed(format!("invalid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(SubmissionError::Malformed(
            "a JSON body must be an object".into(),
        ));
    };
    if object.len() > MAX_FIELDS {
        return Err(SubmissionError::TooManyFields);
    }
    Ok(Submission {
        fields: object.into_iter().collect(),
        files: Vec::new(),
    })
}

fn parse_urlencoded(body: &[u8]) -> Result<Submission, SubmissionError> {
    let mut submission = Submission::default();
    for (name, value) in form_urlencoded::parse(body) {
        submission.add_text(name.into_owned(), value.into_owned())?;
    }
    Ok(submission)
}

async fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Submission, SubmissionError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        SubmissionError::Malformed("multipart/form-data needs a boundary parameter".into())
    })?;
    let body = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(body)));
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed = |e: multer::Error| SubmissionError::Malformed(e.to_string());

    let mut submission = Submission::default();
    while let Some(part) = multipart.next_field().await.map_err(malformed)? {
        // The part's name and file name, read from its Content-Disposition by our own
        // parser: multer's finds `filename` inside a quoted field name too, and then reports
        // a file part as a text field (props/tests/bodies.rs).
        let disposition = part
            .headers()
            .get("content-disposition")
            .map(|value| std::str::from_utf8(value.as_bytes()))
            .transpose()
            .map_err(|_| {
                SubmissionError::Malformed("a Content-Disposition header is not UTF-8".into())
            })?
            .map(parse_content_disposition)
            .transpose()
            .map_err(SubmissionError::Malformed)?
            .unwrap_or_default();
        let Some(name) = disposition.name.filter(|n| !n.is_empty()) else {
            return Err(SubmissionError::Malformed(
                "every multipart part needs a name".into(),
            ));
        };
        let Some(raw_filename) = disposition.filename else {
            let text = part.text().await.map_err(malformed)?;
            submission.add_text(name, text)?;
            continue;
        };
        let content_type = part
            .content_type()
            .map_or(DEFAULT_FILE_CONTENT_TYPE.to_owned(), |m| {
                m.essence_str().to_owned()
            });
        let bytes = part.bytes().await.map_err(malformed)?;
        let filename = match attachment::parse_filename(&raw_filename) {
            Ok(filename) => filename,
            Err(_) if raw_filename.is_empty() && bytes.is_empty() => continue,
            Err(message) => {
                return Err(SubmissionError::Malformed(format!(
                    "the filename of file field `{name}` {message}"
                )));
            }
        };
        if submission.files.len() == MAX_FILES {
            return Err(SubmissionError::TooManyFiles);
        }
        submission.files.push(FilePart {
            field: name,
            filename,
            content_type,
            bytes: bytes.into(),
        });
    }
    Ok(submission)
}

/// A multipart part's `Content-Disposition: form-data; name="…"; filename="…"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContentDisposition {
    pub name: Option<String>,
    pub filename: Option<String>,
}

/// Reads a part's `Content-Disposition` (RFC 7578 §4.2): the type `form-data`, then
/// `; key=value` parameters whose values are tokens or quoted strings. In a quoted string
/// `\"` and `\\` stand for `"` and `\` (curl writes them); any other backslash is kept, as
/// browsers send a Windows path's backslashes unescaped (they write `"` as `%22`, which is
/// kept as sent). Parameter names are case-insensitive; `name` or `filename` given twice is
/// refused as ambiguous; other parameters (`filename*` among them, which RFC 7578 forbids)
/// are ignored.
pub fn parse_content_disposition(value: &str) -> Result<ContentDisposition, String> {
    let malformed = |why: &str| format!("a part's Content-Disposition {why}");
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(malformed("must be form-data"));
    }
    let mut disposition = ContentDisposition::default();
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Ok(disposition);
        }
        let Some((key, after)) = rest.split_once('=') else {
            return Err(malformed("has a parameter without a value"));
        };
        let key = key.trim_matches([' ', '\t']);
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            return Err(malformed("has a malformed parameter name"));
        }
        let after = after.trim_start_matches([' ', '\t']);
        let (parameter, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut parameter = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(malformed("has an unterminated quoted string")),
                    Some((i, '"')) => break i + 1,
                    Some((_, '\\')) => match chars.clone().next() {
                        Some((_, c @ ('"' | '\\'))) => {
                            chars.next();
                            parameter.push(c);
                        }
                        _ => parameter.push('\\'),
                    },
                    Some((_, c)) => parameter.push(c),
                }
            };
            (parameter, &quoted[end..])
        } else {
            let end = after.find([';', ' ', '\t']).unwrap_or(after.len());
            let token = &after[..end];
            if token.is_empty() || !token.bytes().all(is_token_byte) {
                return Err(malformed("has a malformed parameter value"));
            }
            (token.to_owned(), &after[end..])
        };
        let slot = if key.eq_ignore_ascii_case("name") {
            Some(&mut disposition.name)
        } else if key.eq_ignore_ascii_case("filename") {
            Some(&mut disposition.filename)
        } else {
            None
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(malformed("names a parameter twice"));
            }
            *slot = Some(parameter);
        }
        let after = after.trim_start_matches([' ', '\t']);
        rest = match after.strip_prefix(';') {
            Some(next) => next,
            None if after.is_empty() => after,
            None => return Err(malformed("has text after a parameter")),
        };
    }
}

/// A `token` character of RFC 9110 §5.6.2.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl Submission {
    /// Adds a text value; a repeated name collects its values into an array.
    fn add_text(&mut self, name: String, text: String) -> Result<(), SubmissionError> {
        let value = Value::String(text);
        let distinct = self.fields.len();
        match self.fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, Value::Array(values))) => values.push(value),
            Some((_, first)) => *first = Value::Array(vec![first.take(), value]),
            None if distinct == MAX_FIELDS => return Err(SubmissionError::TooManyFields),
            None => self.fields.push((name, value)),
        }
        Ok(())
    }
}

/// A submission's fields, sorted into the parts of a ticket. Values are as sent: the
/// domain's parsers (`parse_title`, `Email::parse`, `Priority::parse`, `Metadata::parse`)
/// still have to accept them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappedTicket {
    pub title: Option<String>,
    pub body: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub priority: Option<String>,
    pub custom_fields: Map<String, Value>,
    /// The honeypot field was filled in: a bot. The caller drops the post silently.
    pub honeypot_tripped: bool,
}

/// A ticket part a field can be mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketPart {
    Title,
    Body,
    Email,
    Name,
    Priority,
}

enum Target<'a> {
    Part(TicketPart),
    CustomField(&'a str),
}

fn parse_target(raw: &str) -> Option<Target<'_>> {
    let part = match raw {
        "title" => TicketPart::Title,
        "body" => TicketPart::Body,
        "email" => TicketPart::Email,
        "name" => TicketPart::Name,
        "priority" => TicketPart::Priority,
        _ => {
            let key = raw.strip_prefix(CUSTOM_FIELDS_PREFIX)?;
            let chars = key.chars().count();
            return (1..=MAX_CUSTOM_FIELD_KEY_CHARS)
                .contains(&chars)
                .then_some(Target::CustomField(key));
        }
    };
    Some(Target::Part(part))
}

/// Where a field goes when the endpoint's mapping does not mention it (spec §4.7).
fn default_part(field: &str) -> Option<TicketPart> {
    match field {
        "subject" | "title" => Some(TicketPart::Title),
        "message" | "body" => Some(TicketPart::Body),
        "email" => Some(TicketPart::Email),
        "name" => Some(TicketPart::Name),
        "priority" => Some(TicketPart::Priority),
        _ => None,
    }
}

impl MappedTicket {
    fn slot(&mut self, part: TicketPart) -> &mut Option<String> {
        match part {
            TicketPart::Title => &mut self.title,
            TicketPart::Body => &mut self.body,
            TicketPart::Email => &mut self.email,
            TicketPart::Name => &mut self.name,
            TicketPart::Priority => &mut self.priority,
        }
    }

    /// Puts `value` into `part` if it is a scalar and the part is still empty; returns
    /// whether the value was used up. Null and blank strings mean "not given" (an optional
    /// form input left empty) and are used up without filling anything.
    fn fill(&mut self, part: TicketPart, value: &Value) -> bool {
        let text = match value {
            Value::Null => return true,
            Value::String(s) if s.trim().is_empty() => return true,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => return false,
        };
        let slot = self.slot(part);
        if slot.is_some() {
            return false;
        }
        *slot = Some(text);
        true
    }
}

/// Sorts a submission's fields into a ticket.
///
/// 1. `_gotcha` is never mapped or kept; any value but null or blank trips the honeypot.
/// 2. The endpoint's `field_mapping` (incoming name → `title`, `body`, `email`, `name`,
///    `priority` or `customFields.<key>`) is applied first, so it wins over the defaults.
///    Entries with an invalid target are ignored ([`validate_field_mapping`] refuses them
///    when the endpoint is saved).
/// 3. Then the defaults: `subject`/`title` → title, `message`/`body` → body, `email`,
///    `name` and `priority` to themselves. When two fields compete for one part, the
///    earlier one wins.
/// 4. Everything else lands in `custom_fields` under its own name: unmapped fields, a
///    field whose part is already taken, and objects or arrays sent for a ticket part
///    (numbers and booleans become their string form). An explicit `customFields.<key>`
///    target wins over a field of the same name.
pub fn map_fields(
    submission: &Submission,
    field_mapping: &BTreeMap<String, String>,
) -> MappedTicket {
    let mut ticket = MappedTicket::default();
    let mut unmapped = Vec::new();
    let mut left_over = Vec::new();
    for (name, value) in &submission.fields {
        if name == HONEYPOT_FIELD {
            ticket.honeypot_tripped |= !is_blank(value);
            continue;
        }
        match field_mapping.get(name).and_then(|t| parse_target(t)) {
            Some(Target::CustomField(key)) => {
                ticket
                    .custom_fields
                    .entry(key)
                    .or_insert_with(|| value.clone());
            }
            Some(Target::Part(part)) => {
                if !ticket.fill(part, value) {
                    left_over.push((name, value));
                }
            }
            None => unmapped.push((name, value)),
        }
    }
    for (name, value) in unmapped {
        let used = default_part(name).is_some_and(|part| ticket.fill(part, value));
        if !used {
            left_over.push((name, value));
        }
    }
    for (name, value) in left_over {
        ticket
            .custom_fields
            .entry(name.as_str())
            .or_insert_with(|| value.clone());
    }
    ticket
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(values) => values.iter().all(is_blank),
        _ => false,
    }
}

/// Checks an endpoint's field mapping when it is saved: at most 50 entries, incoming
/// names of 1–100 characters (never the honeypot), each mapped to `title`, `body`,
/// `email`, `name`, `priority` or `customFields.<key>` with a key of 1–40 characters.
pub fn validate_field_mapping(map: &BTreeMap<String, String>) -> Result<(), String> {
    if map.len() > MAX_FIELD_MAPPING_ENTRIES {
        return Err(format!(
            "must have at most {MAX_FIELD_MAPPING_ENTRIES} entries"
        ));
    }
    for (field, target) in map {
        if !(1..=MAX_FIELD_NAME_CHARS).contains(&field.chars().count()) {
            return Err(format!(
                "field names must be 1-{MAX_FIELD_NAME_CHARS} characters"
            ));
        }
        if field == HONEYPOT_FIELD {
            return Err(format!(
                "`{HONEYPOT_FIELD}` is the honeypot field and cannot be mapped"
            ));
        }
        if parse_target(target).is_none() {
            return Err(format!(
                "`{field}` must map to title, body, email, name, priority or customFields.<key> (a key of 1-{MAX_CUSTOM_FIELD_KEY_CHARS} characters)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BOUNDARY: &str = "----dispatch-test-boundary";

    fn disposition(value: &str) -> Result<(Option<String>, Option<String>), String> {
        parse_content_disposition(value).map(|d| (d.name, d.filename))
    }

    fn named(name: &str, filename: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(name.to_owned()), filename.map(str::to_owned))
    }

    #[test]
    fn a_content_disposition_gives_the_name_and_file_name_it_quotes() {
        let cases = [
            (r#"form-data; name="a""#, named("a", None)),
            (
                r#"form-data; name="up"; filename="a.png""#,
                named("up", Some("a.png")),
            ),
            (
                r#"Form-Data;NAME=up;FileName="a b.png""#,
                named("up", Some("a b.png")),
            ),
            (
                r#"form-data; filename="a.png"; name="your filename""#,
                named("your filename", Some("a.png")),
            ),
            (
                r#"form-data; name="filenamefilename"; filename="x""#,
                named("filenamefilename", Some("x")),
            ),
            (
                r#"form-data; name="name=\"x\"; filename=y""#,
                named(r#"name="x"; filename=y"#, None),
            ),
            (
                r#"form-data; name="f"; filename="C:\docs\a.txt""#,
                named("f", Some(r"C:\docs\a.txt")),
            ),
            (
                r#"form-data; name="f"; filename="a\\b""#,
                named("f", Some(r"a\b")),
            ),
            (
                r#"form-data; name="f"; filename="%22q%22.txt""#,
                named("f", Some("%22q%22.txt")),
            ),
            (
                r#"form-data; name="f"; filename*=UTF-8''a.txt"#,
                named("f", None),
            ),
            (r#"form-data; name="f"; filename="""#, named("f", Some(""))),
            (r#"form-data; name="ünï""#, named("ünï", None)),
            ("form-data", (None, None)),
        ];
        for (value, expected) in cases {
            assert_eq!(disposition(value), Ok(expected), "{value}");
        }
    }

    #[test]
    fn a_content_disposition_that_is_ambiguous_or_broken_is_refused() {
        for value in [
            "attachment; filename=a.png",
            r#"form-data; name="a"; name="b""#,
            r#"form-data; name="a"; filename="x"; FILENAME="y""#,
            r#"form-data; name="a"#,
            r#"form-data; name"#,
            r#"form-data; name=a b"#,
            r#"form-data; name="a" junk"#,
            r#"form-data; =a"#,
            r#"form-data; name="#,
            r#"form-data; na me=a"#,
        ] {
            assert!(disposition(value).is_err(), "{value}");
        }
    }

    fn multipart_content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    /// A text part of a multipart body, as a browser sends it.
    fn text_part(name: &str, value: &str) -> Vec<u8> {
        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}").into_bytes()
    }

    /// A file part; an empty `content_type` sends no `Content-Type` header.
    fn file_part(name: &str, filename: &str, content_type: &str, content: &[u8]) -> Vec<u8> {
        let mut part =
            format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n")
                .into_bytes();
        if !content_type.is_empty() {
            part.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        part.extend_from_slice(b"\r\n");
        part.extend_from_slice(content);
        part
    }

    fn multipart_body(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            body.extend_from_slice(part);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    fn fields(pairs: &[(&str, Value)]) -> Submission {
        Submission {
            fields: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            files: Vec::new(),
        }
    }

    fn mapping(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_json_object_becomes_fields_with_values_kept_as_json() {
        let body = br#"{"subject":"Printer on fire","count":3,"tags":["a","b"]}"#;
        for content_type in ["application/json", "Application/JSON; charset=utf-8"] {
            let mut submission = parse(Some(content_type), body).await.unwrap();
            // Sorted: the order of JSON keys depends on serde_json's `preserve_order`.
            submission.fields.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                submission.fields,
                vec![
                    ("count".to_string(), json!(3)),
                    ("subject".to_string(), json!("Printer on fire")),
                    ("tags".to_string(), json!(["a", "b"])),
                ],
                "{content_type}"
            );
            assert!(submission.files.is_empty());
        }
    }

    #[tokio::test]
    async fn a_json_body_that_is_not_an_object_is_malformed() {
        for body in [&b"[1,2]"[..], b"\"hello\"", b"42", b"{not json", b""] {
            let result = parse(Some("application/json"), body).await;
            assert!(
                matches!(result, Err(SubmissionError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[tokio::test]
    async fn a_urlencoded_form_decodes_plus_and_percent_escapes() {
        let body = b"subject=Printer+on%20fire&email=ada%40example.com&note=caf%C3%A9";
        let submission = parse(Some("application/x-www-form-urlencoded"), body)
            .await
            .unwrap();
        assert_eq!(
            submission.fields,
            vec![
                ("subject".to_string(), json!("Printer on fire")),
                ("email".to_string(), json!("ada@example.com")),
                ("note".to_string(), json!("café")),
            ]
        );
    }

    #[tokio::test]
    async fn a_repeated_form_field_collects_its_values_into_an_array() {
        let body = b"topic=billing&name=Ada&topic=refunds&topic=urgent";
        let submission = parse(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            body,
        )
        .await
        .unwrap();
        assert_eq!(
            submission.fields,
            vec![
                ("topic".to_string(), json!(["billing", "refunds", "urgent"])),
                ("name".to_string(), json!("Ada")),
            ]
        );
    }

    #[tokio::test]
    async fn a_multipart_form_yields_text_fields_and_files() {
        let body = multipart_body(&[
            text_part("subject", "Printer on fire"),
            file_part(
                "screenshot",
                "C:\\fakepath\\fire.png",
                "image/png",
                b"\x89PNG\r\n\x1a\n",
            ),
            file_part("log", "printer.log", "", b"paper jam"),
        ]);
        let submission = parse(Some(&multipart_content_type()), &body).await.unwrap();
        assert_eq!(
            submission.fields,
            vec![("subject".to_string(), json!("Printer on fire"))]
        );
        assert_eq!(
            submission.files,
            vec![
                FilePart {
                    field: "screenshot".into(),
                    filename: "fire.png".into(),
                    content_type: "image/png".into(),
                    bytes: b"\x89PNG\r\n\x1a\n".to_vec(),
                },
                FilePart {
                    field: "log".into(),
                    filename: "printer.log".into(),
                    content_type: "application/octet-stream".into(),
                    bytes: b"paper jam".to_vec(),
                },
            ]
        );
    }

    #[tokio::test]
    async fn a_file_input_left_empty_is_skipped() {
        let body = multipart_body(&[
            text_part("subject", "Hi"),
            file_part("attachment", "", "application/octet-stream", b""),
        ]);
        let submission = parse(Some(&multipart_content_type()), &body).await.unwrap();
        assert!(submission.files.is_empty());
    }

    #[tokio::test]
    async fn a_file_with_content_but_no_filename_is_malformed() {
        let body = multipart_body(&[file_part("attachment", "", "text/plain", b"data")]);
        let result = parse(Some(&multipart_content_type()), &body).await;
        assert!(matches!(result, Err(SubmissionError::Malformed(_))));
    }

    #[tokio::test]
    async fn more_than_ten_files_are_refused() {
        let ten: Vec<_> = (0..10)
            .map(|_| file_part("file", "a.txt", "text/plain", b"x"))
            .collect();
        let body = multipart_body(&ten);
        let submission = parse(Some(&multipart_content_type()), &body).await.unwrap();
        assert_eq!(submission.files.len(), MAX_FILES);

        let mut eleven = ten.clone();
        eleven.push(file_part("file", "b.txt", "text/plain", b"y"));
        let body = multipart_body(&eleven);
        assert_eq!(
            parse(Some(&multipart_content_type()), &body).await,
            Err(SubmissionError::TooManyFiles)
        );
    }

    #[tokio::test]
    async fn multipart_without_a_boundary_or_with_a_broken_body_is_malformed() {
        let body = multipart_body(&[text_part("subject", "Hi")]);
        let result = parse(Some("multipart/form-data"), &body).await;
        assert!(matches!(result, Err(SubmissionError::Malformed(_))));

        let truncated = &body[..body.len() - 10];
        let result = parse(Some(&multipart_content_type()), truncated).await;
        assert!(matches!(result, Err(SubmissionError::Malformed(_))));
    }

    #[tokio::test]
    async fn too_many_distinct_fields_are_refused() {
        let body: String = (0..=MAX_FIELDS).map(|i| format!("f{i}=x&")).collect();
        assert_eq!(
            parse(Some("application/x-www-form-urlencoded"), body.as_bytes()).await,
            Err(SubmissionError::TooManyFields)
        );
    }

    #[tokio::test]
    async fn an_unknown_or_missing_content_type_is_unsupported() {
        for content_type in [None, Some("text/plain"), Some("application/xml"), Some("")] {
            assert_eq!(
                parse(content_type, b"subject=Hi").await,
                Err(SubmissionError::UnsupportedMediaType),
                "{content_type:?}"
            );
        }
    }

    #[test]
    fn parsing_can_run_on_a_multithreaded_runtime() {
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&parse(None, b""));
    }

    #[test]
    fn default_mapping_sorts_known_fields_and_keeps_the_rest_as_custom_fields() {
        let submission = fields(&[
            ("subject", json!("Printer on fire")),
            ("message", json!("It is really on fire.")),
            ("email", json!("ada@example.com")),
            ("name", json!("Ada")),
            ("priority", json!("urgent")),
            ("orderNumber", json!(1042)),
        ]);
        let ticket = map_fields(&submission, &BTreeMap::new());
        assert_eq!(
            ticket,
            MappedTicket {
                title: Some("Printer on fire".into()),
                body: Some("It is really on fire.".into()),
                email: Some("ada@example.com".into()),
                name: Some("Ada".into()),
                priority: Some("urgent".into()),
                custom_fields: json!({"orderNumber": 1042}).as_object().unwrap().clone(),
                honeypot_tripped: false,
            }
        );
    }

    #[test]
    fn title_and_body_are_accepted_as_aliases_and_the_first_one_wins() {
        let submission = fields(&[
            ("title", json!("First")),
            ("subject", json!("Second")),
            ("body", json!("Text")),
        ]);
        let ticket = map_fields(&submission, &BTreeMap::new());
        assert_eq!(ticket.title.as_deref(), Some("First"));
        assert_eq!(ticket.body.as_deref(), Some("Text"));
        assert_eq!(ticket.custom_fields.get("subject"), Some(&json!("Second")));
    }

    #[test]
    fn numbers_and_booleans_become_text_but_objects_and_arrays_stay_custom_fields() {
        let submission = fields(&[
            ("title", json!(404)),
            ("name", json!(true)),
            ("body", json!({"html": "<p>hi</p>"})),
            ("priority", json!(["high", "urgent"])),
        ]);
        let ticket = map_fields(&submission, &BTreeMap::new());
        assert_eq!(ticket.title.as_deref(), Some("404"));
        assert_eq!(ticket.name.as_deref(), Some("true"));
        assert_eq!(ticket.body, None);
        assert_eq!(ticket.priority, None);
        assert_eq!(
            ticket.custom_fields.get("body"),
            Some(&json!({"html": "<p>hi</p>"}))
        );
        assert_eq!(
            ticket.custom_fields.get("priority"),
            Some(&json!(["high", "urgent"]))
        );
    }

    #[test]
    fn blank_optional_inputs_fill_nothing_and_do_not_block_an_alias() {
        let submission = fields(&[
            ("subject", json!("  ")),
            ("title", json!("Real title")),
            ("name", json!("")),
        ]);
        let ticket = map_fields(&submission, &BTreeMap::new());
        assert_eq!(ticket.title.as_deref(), Some("Real title"));
        assert_eq!(ticket.name, None);
        assert!(ticket.custom_fields.is_empty());
    }

    #[test]
    fn a_custom_mapping_wins_over_the_defaults() {
        let submission = fields(&[
            ("subject", json!("Default subject")),
            ("Your question", json!("Custom subject")),
            ("contact", json!("ada@example.com")),
            ("email", json!("other@example.com")),
            ("order", json!("A-1042")),
        ]);
        let field_mapping = mapping(&[
            ("Your question", "title"),
            ("contact", "email"),
            ("email", "customFields.secondaryEmail"),
            ("order", "customFields.orderNumber"),
        ]);
        let ticket = map_fields(&submission, &field_mapping);
        assert_eq!(ticket.title.as_deref(), Some("Custom subject"));
        assert_eq!(ticket.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            Value::Object(ticket.custom_fields),
            json!({
                "subject": "Default subject",
                "secondaryEmail": "other@example.com",
                "orderNumber": "A-1042",
            })
        );
    }

    #[test]
    fn a_filled_honeypot_trips_and_never_becomes_a_custom_field() {
        let bot = fields(&[("subject", json!("Cheap pills")), ("_gotcha", json!("x"))]);
        let ticket = map_fields(&bot, &BTreeMap::new());
        assert!(ticket.honeypot_tripped);
        assert!(!ticket.custom_fields.contains_key("_gotcha"));

        let human = fields(&[("subject", json!("Help")), ("_gotcha", json!(""))]);
        let ticket = map_fields(&human, &BTreeMap::new());
        assert!(!ticket.honeypot_tripped);
        assert!(ticket.custom_fields.is_empty());
    }

    #[test]
    fn a_field_mapping_with_known_targets_is_valid() {
        let field_mapping = mapping(&[
            ("q", "title"),
            ("details", "body"),
            ("mail", "email"),
            ("who", "name"),
            ("urgency", "priority"),
            ("order", "customFields.orderNumber"),
        ]);
        assert_eq!(validate_field_mapping(&field_mapping), Ok(()));
    }

    #[test]
    fn a_field_mapping_with_an_unknown_target_or_bad_name_is_refused() {
        let long_key = format!("customFields.{}", "k".repeat(41));
        let long_name = "n".repeat(101);
        for bad in [
            mapping(&[("q", "subject")]),
            mapping(&[("q", "customFields.")]),
            mapping(&[("q", &long_key)]),
            mapping(&[("", "title")]),
            mapping(&[(&long_name, "title")]),
            mapping(&[("_gotcha", "title")]),
        ] {
            assert!(validate_field_mapping(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_field_mapping_has_at_most_fifty_entries() {
        let names: Vec<String> = (0..=MAX_FIELD_MAPPING_ENTRIES)
            .map(|i| format!("f{i}"))
            .collect();
        let fifty_one: BTreeMap<String, String> = names
            .iter()
            .map(|n| (n.clone(), format!("customFields.{n}")))
            .collect();
        assert!(validate_field_mapping(&fifty_one).is_err());
        let fifty: BTreeMap<String, String> = fifty_one.into_iter().skip(1).collect();
        assert_eq!(validate_field_mapping(&fifty), Ok(()));
    }
}
