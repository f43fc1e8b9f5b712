//! Attachments: the rules for what may be uploaded and how it is named when downloaded.
//!
//! The bytes never pass through a function: a client uploads straight to S3 with a
//! presigned request that signs the declared size and content type, and downloads with a
//! presigned GET that forces `Content-Disposition: attachment`.

use crate::{AttachmentId, BrandId, CustomerId, Mode, OrgId, TicketId, Timestamp};

/// The largest file a client may declare (50 MiB).
pub const MAX_SIZE: u64 = 50 * 1024 * 1024;

/// How long a presigned upload stays valid.
pub const UPLOAD_TTL_SECS: u64 = 10 * 60;

/// How long a presigned download stays valid (the spec allows at most 15 minutes).
pub const DOWNLOAD_TTL_SECS: u64 = 5 * 60;

/// How long an attachment uploaded before its ticket exists waits to be attached.
pub const PENDING_TTL_SECS: i64 = 24 * 60 * 60;

/// At most this many `attachmentIds` on one ticket create.
pub const MAX_ATTACHMENTS_PER_CREATE: usize = 10;

/// Media types we accept, each with the file name extensions that belong to it. Everything
/// here is either inert data or a document format that is only ever downloaded (never
/// rendered by us). Refused on purpose: `text/html`, `image/svg+xml`,
/// `application/xhtml+xml`, `text/xml` (script in a browser), `application/javascript`,
/// executables and installers, and `application/octet-stream` (an unknown type is a way
/// round the list). A name must end in one of its type's extensions: the downloaded file is
/// opened by its extension, so `setup.exe` declared as `application/pdf` would still run.
pub const ALLOWED_TYPES: &[(&str, &[&str])] = &[
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("image/heic", &["heic", "heif"]),
    ("application/pdf", &["pdf"]),
    ("text/plain", &["txt", "text", "log", "md"]),
    ("text/csv", &["csv"]),
    ("application/json", &["json"]),
    ("application/zip", &["zip"]),
    ("message/rfc822", &["eml"]),
    ("audio/mpeg", &["mp3"]),
    ("video/mp4", &["mp4", "m4v"]),
    ("video/quicktime", &["mov"]),
    ("application/msword", &["doc"]),
    ("application/vnd.ms-excel", &["xls"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx"],
    ),
];

/// Whether the upload's bytes are in S3 yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentStatus {
    /// Declared; the presigned upload may not have happened.
    Pending,
    /// Confirmed: the object exists with the declared size and type.
    Uploaded,
}

impl AttachmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentStatus::Pending => "PENDING",
            AttachmentStatus::Uploaded => "UPLOADED",
        }
    }

    pub fn parse(raw: &str) -> Option<AttachmentStatus> {
        match raw {
            "PENDING" => Some(AttachmentStatus::Pending),
            "UPLOADED" => Some(AttachmentStatus::Uploaded),
            _ => None,
        }
    }
}

/// A file declared for a ticket (or, before the ticket exists, for a brand's customer).
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub brand_id: BrandId,
    /// `None` while it waits (pending) for the ticket it will be attached to.
    pub ticket_id: Option<TicketId>,
    /// The portal customer who uploaded it, if a customer did.
    pub customer_id: Option<CustomerId>,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub status: AttachmentStatus,
    /// Where the bytes live in the bucket (see [`object_key`]).
    pub object_key: String,
    pub uploaded_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The bucket key of an attachment: organization, mode and brand first (so an IAM policy
/// or a lifecycle rule can be scoped by prefix), then the ticket (or `pending`), then the
/// id. The filename stays out of the key: it lives in the record and in the download's
/// `Content-Disposition`.
pub fn object_key(
    org: &OrgId,
    mode: Mode,
    brand: &BrandId,
    ticket: Option<&TicketId>,
    id: &AttachmentId,
) -> String {
    let parent = ticket.map_or("pending", TicketId::as_str);
    format!("{}{parent}/{id}", brand_prefix(org, mode, brand))
}

/// Every object of a brand (what a deleted brand's cleanup removes).
pub fn brand_prefix(org: &OrgId, mode: Mode, brand: &BrandId) -> String {
    format!("{org}/{mode}/{brand}/")
}

/// The objects of a brand's pending uploads (no ticket yet).
pub fn pending_prefix(org: &OrgId, mode: Mode, brand: &BrandId) -> String {
    format!("{}pending/", brand_prefix(org, mode, brand))
}

/// The file's name as the client declared it, without any directory part: 1–255
/// characters, no control characters and no invisible format characters (a right-to-left
/// override makes `exe.pdf` of `fdp.exe`), not ending in a dot or space (Windows drops
/// those, so `a.exe.` is `a.exe`).
pub fn parse_filename(raw: &str) -> Result<String, String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        Err("is required (a file name without directories)".into())
    } else if base.chars().count() > 255 {
        Err("must be at most 255 characters".into())
    } else if base
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        Err("must not contain control or invisible formatting characters".into())
    } else if base.ends_with('.') {
        Err("must not end in a dot".into())
    } else {
        Ok(base.to_string())
    }
}

/// Unicode's format characters (general category Cf: bidirectional overrides and
/// isolates, zero-width joiners and spaces, the byte order mark, tags, …) and the line
/// and paragraph separators. None belongs in a file name; all can disguise one.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// A media type from the allow-list, compared case-insensitively, without parameters.
pub fn parse_content_type(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    if ALLOWED_TYPES.iter().any(|(t, _)| *t == lower) {
        Ok(lower)
    } else {
        let names: Vec<&str> = ALLOWED_TYPES.iter().map(|(t, _)| *t).collect();
        Err(format!(
            "is not an accepted file type; accepted: {}",
            names.join(", ")
        ))
    }
}

/// The name's extension must be one of the (allowed) content type's, case-insensitively:
/// the file is opened by its extension once downloaded, whatever type it was declared as.
pub fn check_extension(filename: &str, content_type: &str) -> Result<(), String> {
    let Some((_, extensions)) = ALLOWED_TYPES.iter().find(|(t, _)| *t == content_type) else {
        return Err("has no accepted content type".into());
    };
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if extensions.contains(&extension.as_str()) {
        Ok(())
    } else {
        let list: Vec<String> = extensions.iter().map(|e| format!(".{e}")).collect();
        Err(format!(
            "must end in {} for {content_type}",
            list.join(" or ")
        ))
    }
}

/// 1 byte to [`MAX_SIZE`].
pub fn parse_size(size: u64) -> Result<u64, String> {
    if size == 0 {
        Err("must be at least 1 byte".into())
    } else if size > MAX_SIZE {
        Err(format!("must be at most {MAX_SIZE} bytes (50 MB)"))
    } else {
        Ok(size)
    }
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback with anything that
/// could break out of the quoted string replaced, and the exact name percent-encoded
/// (RFC 6266 / RFC 5987). A browser therefore always downloads, never renders.
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_their_directories() {
        assert_eq!(parse_filename("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(
            parse_filename("C:\\Users\\me\\report.pdf").unwrap(),
            "report.pdf"
        );
        assert!(parse_filename("dir/").is_err());
        assert!(parse_filename("..").is_err());
        assert!(parse_filename("a\u{0}b.txt").is_err());
        assert!(parse_filename(&"x".repeat(256)).is_err());
    }

    #[test]
    fn names_with_invisible_formatting_or_a_trailing_dot_are_refused() {
        // U+202E turns "invoice_fdp.exe" into what reads as "invoice_exe.pdf".
        assert!(parse_filename("invoice_\u{202E}fdp.exe").is_err());
        assert!(parse_filename("a\u{200B}b.txt").is_err());
        assert!(parse_filename("\u{FEFF}a.txt").is_err());
        assert!(parse_filename("a\u{2066}b.txt").is_err());
        assert!(parse_filename("a\u{E0041}.txt").is_err());
        assert!(parse_filename("setup.exe.").is_err());
        assert!(parse_filename("setup.exe. ").is_err());
        assert_eq!(
            parse_filename("résumé 2026.pdf").unwrap(),
            "résumé 2026.pdf"
        );
        assert_eq!(parse_filename("报告.pdf").unwrap(), "报告.pdf");
        assert_eq!(parse_filename("تقرير.pdf").unwrap(), "تقرير.pdf");
    }

    #[test]
    fn the_extension_belongs_to_the_declared_type() {
        for (name, ty) in [
            ("invoice.html", "text/plain"),
            ("setup.exe", "application/pdf"),
            ("pic.svg", "image/png"),
            ("run.hta", "text/plain"),
            ("notes", "text/plain"),
            ("report.pdf.exe", "application/pdf"),
            ("a.txt", "text/csv"),
        ] {
            assert!(
                check_extension(name, ty).is_err(),
                "{name} as {ty} was accepted"
            );
        }
        for (name, ty) in [
            ("Photo.JPG", "image/jpeg"),
            ("photo.jpeg", "image/jpeg"),
            ("notes.txt", "text/plain"),
            ("archive.tar.zip", "application/zip"),
            (
                "deck.pptx",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ),
        ] {
            assert_eq!(check_extension(name, ty), Ok(()), "{name} as {ty}");
        }
        for (ty, extensions) in ALLOWED_TYPES {
            assert!(!extensions.is_empty(), "{ty}");
            assert_eq!(parse_content_type(ty).as_deref(), Ok(*ty));
        }
    }

    #[test]
    fn content_types_outside_the_allow_list_are_refused() {
        assert_eq!(parse_content_type("Image/PNG").unwrap(), "image/png");
        for bad in [
            "text/html",
            "image/svg+xml",
            "application/javascript",
            "application/octet-stream",
            "application/x-msdownload",
            "text/plain; charset=utf-8",
            "",
        ] {
            assert!(parse_content_type(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn sizes_are_between_one_byte_and_fifty_megabytes() {
        assert!(parse_size(0).is_err());
        assert_eq!(parse_size(1), Ok(1));
        assert_eq!(parse_size(MAX_SIZE), Ok(MAX_SIZE));
        assert!(parse_size(MAX_SIZE + 1).is_err());
    }

    #[test]
    fn content_disposition_cannot_be_broken_out_of() {
        let header = content_disposition("a\"; inline; x=\"é.txt");
        assert!(header.starts_with("attachment; filename=\"a__ inline_ x___.txt\";"));
        assert!(header.ends_with("filename*=UTF-8''a%22%3B%20inline%3B%20x%3D%22%C3%A9.txt"));
    }

    #[test]
    fn object_keys_start_with_the_tenant_and_brand() {
        let (org, brand, ticket) = (
            OrgId::generate(1),
            BrandId::generate(1),
            TicketId::generate(1),
        );
        let id = AttachmentId::generate(1);
        assert_eq!(
            object_key(&org, Mode::Test, &brand, Some(&ticket), &id),
            format!("{org}/test/{brand}/{ticket}/{id}")
        );
        assert_eq!(
            object_key(&org, Mode::Live, &brand, None, &id),
            format!("{org}/live/{brand}/pending/{id}")
        );
    }
}
