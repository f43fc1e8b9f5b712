//! Declaring and confirming uploads, shared by the API and the portal: the bytes go
//! straight between the client and S3 on a presigned request that signs the declared size
//! and type, and a confirm checks what S3 holds before the record says `UPLOADED`.

use dispatch_domain::attachment::{
    self, Attachment, AttachmentStatus, DOWNLOAD_TTL_SECS, UPLOAD_TTL_SECS,
};
use dispatch_domain::{
    AttachmentId, BrandId, CustomerId, FieldErrors, Mode, OrgId, TicketId, Timestamp,
};
use dispatch_files::{Files, FilesError, Presigned};
use dispatch_http::{ApiError, Context, ErrorCode, Reply, json, parse_json};
use dispatch_store::{AttachmentStore, StoreError};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) fn files_error(e: FilesError) -> ApiError {
    ApiError::dependency(e.is_unavailable(), e)
}

fn system_time(t: Timestamp) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(t.unix()).unwrap_or_default())
}

/// An attachment as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    id: String,
    ticket_id: Option<String>,
    filename: String,
    content_type: String,
    size: u64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uploaded_by: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download_expires_at: Option<String>,
    /// The same instant as `downloadExpiresAt`, under the name the SDK reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

impl AttachmentView {
    pub fn new(a: &Attachment) -> AttachmentView {
        AttachmentView {
            id: a.id.to_string(),
            ticket_id: a.ticket_id.as_ref().map(ToString::to_string),
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            status: a.status.as_str(),
            uploaded_by: a.uploaded_by.clone(),
            created_at: a.created_at.to_rfc3339(),
            updated_at: a.updated_at.to_rfc3339(),
            download_url: None,
            download_expires_at: None,
            expires_at: None,
        }
    }
}

/// The view, with a presigned download when there is something to download. Presigning is
/// local computation (no request to S3), so lists can carry URLs too.
pub async fn with_download<F: Files>(
    files: &F,
    a: &Attachment,
    now: Timestamp,
) -> Result<AttachmentView, ApiError> {
    let mut view = AttachmentView::new(a);
    if a.status == AttachmentStatus::Uploaded {
        let ttl = Duration::from_secs(DOWNLOAD_TTL_SECS);
        let get = files
            .presign_download(
                &a.object_key,
                &attachment::content_disposition(&a.filename),
                &a.content_type,
                ttl,
                system_time(now),
            )
            .await
            .map_err(files_error)?;
        let expires = now.plus_seconds(DOWNLOAD_TTL_SECS as i64).to_rfc3339();
        view.download_url = Some(get.url);
        view.download_expires_at = Some(expires.clone());
        view.expires_at = Some(expires);
    }
    Ok(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateInput {
    filename: Option<String>,
    content_type: Option<String>,
    size: Option<u64>,
    uploaded_by: Option<String>,
}

/// A validated upload declaration.
pub struct Declared {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub uploaded_by: Option<String>,
}

/// Parses `{filename, contentType, size, uploadedBy?}` (shared with the portal).
pub fn parse_declaration(req: &Request) -> Result<Declared, ApiError> {
    let input: CreateInput = parse_json(req)?;
    let mut errors = FieldErrors::new();
    let filename = errors.check(
        "filename",
        attachment::parse_filename(input.filename.as_deref().unwrap_or_default()),
    );
    let content_type = errors.check(
        "contentType",
        attachment::parse_content_type(input.content_type.as_deref().unwrap_or_default()),
    );
    if let (Some(name), Some(ty)) = (&filename, &content_type)
        && let Err(message) = attachment::check_extension(name, ty)
    {
        errors.add("filename", &message);
    }
    let size = errors.check(
        "size",
        input
            .size
            .ok_or_else(|| "is required (bytes)".to_string())
            .and_then(attachment::parse_size),
    );
    let uploaded_by = match input.uploaded_by.as_deref().map(str::trim) {
        Some(u) if u.chars().count() > 200 || u.chars().any(char::is_control) => {
            errors.add(
                "uploadedBy",
                "must be at most 200 characters, no control characters",
            );
            None
        }
        other => other.filter(|u| !u.is_empty()).map(str::to_string),
    };
    match (filename, content_type, size) {
        (Some(filename), Some(content_type), Some(size)) if errors.is_empty() => Ok(Declared {
            filename,
            content_type,
            size,
            uploaded_by,
        }),
        _ => Err(ApiError::Validation(errors.into_vec())),
    }
}

/// The create response: the record and the one request that uploads its bytes.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadView {
    attachment_id: String,
    attachment: AttachmentView,
    upload_url: String,
    /// The headers the upload must carry exactly (they are signed).
    upload_headers: BTreeMap<String, String>,
    upload_method: String,
    expires_in: u64,
    expires_at: String,
}

/// A presigned PUT for `a`, limited to its declared size and type.
pub async fn presign_upload<F: Files>(
    files: &F,
    a: &Attachment,
    now: Timestamp,
) -> Result<UploadView, ApiError> {
    let Presigned {
        method,
        url,
        headers,
    } = files
        .presign_upload(
            &a.object_key,
            &a.content_type,
            a.size,
            Duration::from_secs(UPLOAD_TTL_SECS),
            system_time(now),
        )
        .await
        .map_err(files_error)?;
    // Exactly the signed headers (length and type): the bucket's CORS allows those. Both
    // must be signed, or S3 would take an upload of another size or type.
    let upload_headers: BTreeMap<String, String> = headers.into_iter().collect();
    if !upload_headers.contains_key("content-length")
        || !upload_headers.contains_key("content-type")
    {
        return Err(ApiError::Internal(
            "the presigned upload does not sign its length and type".into(),
        ));
    }
    Ok(UploadView {
        attachment_id: a.id.to_string(),
        attachment: AttachmentView::new(a),
        upload_url: url,
        upload_headers,
        upload_method: method,
        expires_in: UPLOAD_TTL_SECS,
        expires_at: now.plus_seconds(UPLOAD_TTL_SECS as i64).to_rfc3339(),
    })
}

/// Where a declared upload belongs.
pub struct Owner<'a> {
    pub org: &'a OrgId,
    pub mode: Mode,
    pub brand: BrandId,
    /// `None`: pending, attached later by `attachmentIds`.
    pub ticket: Option<TicketId>,
    /// The portal customer who may claim a pending upload (`None`: the brand's staff).
    pub customer: Option<CustomerId>,
}

/// Records a `PENDING` attachment and answers 201 with its presigned upload (admin and
/// portal alike); 404 when the ticket or brand is gone.
pub async fn declare_upload<S, F>(
    ctx: &Context<S>,
    files: &F,
    owner: Owner<'_>,
    declared: Declared,
) -> Reply
where
    S: AttachmentStore,
    F: Files,
{
    let now = ctx.clock.now();
    let id = AttachmentId::generate(ctx.clock.now_millis());
    let record = Attachment {
        object_key: attachment::object_key(
            owner.org,
            owner.mode,
            &owner.brand,
            owner.ticket.as_ref(),
            &id,
        ),
        id,
        brand_id: owner.brand,
        ticket_id: owner.ticket,
        customer_id: owner.customer,
        filename: declared.filename,
        content_type: declared.content_type,
        size: declared.size,
        status: AttachmentStatus::Pending,
        uploaded_by: declared.uploaded_by,
        created_at: now,
        updated_at: now,
    };
    match ctx
        .store
        .create_attachment(owner.org, owner.mode, &record)
        .await
    {
        Ok(()) => json(
            StatusCode::CREATED,
            &presign_upload(files, &record, now).await?,
        ),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Confirms `record` ([`confirm_upload`]) and answers 200 with it and its download.
pub async fn confirm_answer<S, F>(
    ctx: &Context<S>,
    files: &F,
    org: &OrgId,
    mode: Mode,
    record: Attachment,
) -> Reply
where
    S: AttachmentStore,
    F: Files,
{
    let now = ctx.clock.now();
    let confirmed = confirm_upload(&ctx.store, files, org, mode, record, now).await?;
    json(
        StatusCode::OK,
        &with_download(files, &confirmed, now).await?,
    )
}

/// Checks the uploaded object against the declaration and marks the record `UPLOADED`.
/// A missing object leaves it `PENDING` (422, upload and confirm again); an object of
/// another size or type is deleted and refused (422), so only what was declared is served.
pub async fn confirm_upload<S, F>(
    store: &S,
    files: &F,
    org: &OrgId,
    mode: Mode,
    record: Attachment,
    now: Timestamp,
) -> Result<Attachment, ApiError>
where
    S: AttachmentStore,
    F: Files,
{
    if record.status == AttachmentStatus::Uploaded {
        return Ok(record);
    }
    let head = files.head(&record.object_key).await.map_err(files_error)?;
    let Some(head) = head else {
        return Err(ApiError::Unprocessable {
            code: ErrorCode::UploadMissing,
            message: "No file has been uploaded for this attachment yet. Upload it with the \
                      presigned request, then confirm."
                .into(),
        });
    };
    let stored_type = head
        .content_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    if head.size != record.size || stored_type.as_deref() != Some(record.content_type.as_str()) {
        files
            .delete(&record.object_key)
            .await
            .map_err(files_error)?;
        return Err(ApiError::Unprocessable {
            code: ErrorCode::UploadMismatch,
            message: format!(
                "The uploaded file is not what was declared ({} bytes of {}); it was \
                 discarded. Upload exactly the declared file, then confirm.",
                record.size, record.content_type
            ),
        });
    }
    match store.mark_uploaded(org, mode, &record, now).await {
        Ok(()) => Ok(Attachment {
            status: AttachmentStatus::Uploaded,
            updated_at: now,
            ..record
        }),
        // A concurrent confirm won, or the ticket went away: say what is true now.
        Err(StoreError::NotFound) => store
            .attachment(
                org,
                mode,
                &record.brand_id,
                record.ticket_id.as_ref(),
                &record.id,
                now,
            )
            .await?
            .filter(|a| a.status == AttachmentStatus::Uploaded)
            .ok_or(ApiError::NotFound),
        Err(e) => Err(e.into()),
    }
}
