//! Attachment bytes in S3: the [`Files`] port and its S3 adapter.
//!
//! Functions never touch the bytes. They hand out presigned requests (an upload that signs
//! the declared `Content-Length` and `Content-Type`, a download that forces
//! `Content-Disposition: attachment`) and check what arrived with `HeadObject`.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("S3: {0}")]
    Backend(String),
    /// S3 could not serve the call right now (throttled, a 5xx, a timeout, no connection).
    #[error("S3 unavailable: {0}")]
    Unavailable(String),
    /// An object larger than the caller reads.
    #[error("the object is {0} bytes, more than is read")]
    TooLarge(u64),
}

impl FilesError {
    fn backend<E>(e: SdkError<E, HttpResponse>) -> FilesError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        if dispatch_aws::is_transient(&e) {
            FilesError::Unavailable(DisplayErrorContext(e).to_string())
        } else {
            FilesError::Backend(DisplayErrorContext(e).to_string())
        }
    }

    /// True for S3's transient trouble (the request may be retried later).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, FilesError::Unavailable(_))
    }
}

/// A request the client makes itself: method, URL and the headers it must send verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// What `HeadObject` says about an uploaded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    pub content_type: Option<String>,
}

/// What a brand's files need from object storage.
pub trait Files: Send + Sync {
    /// A PUT that S3 accepts only with exactly this length and content type.
    fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
        now: SystemTime,
    ) -> impl Future<Output = Result<Presigned, FilesError>> + Send;

    /// A GET whose response carries `content_disposition` and `content_type`.
    fn presign_download(
        &self,
        key: &str,
        content_disposition: &str,
        content_type: &str,
        expires_in: Duration,
        now: SystemTime,
    ) -> impl Future<Output = Result<Presigned, FilesError>> + Send;

    /// Stores bytes a function received itself (intake's multipart files, already limited
    /// by the 256 KiB request cap).
    fn put(
        &self,
        key: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> impl Future<Output = Result<(), FilesError>> + Send;

    /// `None` when there is no such object.
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<ObjectHead>, FilesError>> + Send;

    /// An object's bytes (inbound mail SES stored); `None` when there is no such object.
    /// An object larger than `max_bytes` is refused unread ([`FilesError::TooLarge`]).
    fn get(
        &self,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, FilesError>> + Send;

    /// Removes every object under `prefix` (a deleted brand's files); returns how many.
    fn delete_prefix(&self, prefix: &str)
    -> impl Future<Output = Result<usize, FilesError>> + Send;

    /// Removes an object (a refused upload); removing a missing object is not an error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), FilesError>> + Send;
}

/// The attachments bucket.
#[derive(Debug, Clone)]
pub struct S3Files {
    client: Client,
    bucket: String,
}

impl S3Files {
    pub fn new(client: Client, bucket: impl Into<String>) -> S3Files {
        S3Files {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client for presigning: no flexible checksums unless an operation requires
    /// them (a checksum of the empty presign-time body would break every upload), and
    /// path-style addressing when an endpoint override points at a local emulator.
    pub fn client(sdk: &aws_config::SdkConfig) -> Client {
        let local = sdk.endpoint_url().is_some();
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .force_path_style(local)
            .build();
        Client::from_conf(config)
    }

    /// Reads `BUCKET_NAME` and the standard AWS environment.
    pub async fn from_env() -> Result<S3Files, FilesError> {
        let bucket = std::env::var("BUCKET_NAME")
            .map_err(|_| FilesError::Config("BUCKET_NAME is not set".into()))?;
        let sdk = dispatch_aws::load().await;
        Ok(S3Files::new(S3Files::client(&sdk), bucket))
    }
}

fn presigning(expires_in: Duration, now: SystemTime) -> Result<PresigningConfig, FilesError> {
    PresigningConfig::builder()
        .start_time(now)
        .expires_in(expires_in)
        .build()
        .map_err(|e| FilesError::Config(e.to_string()))
}

fn presigned(req: PresignedRequest) -> Presigned {
    let url = req.uri().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Presigned {
        method: req.method().to_string(),
        headers: signed_headers(&url, headers),
        url,
    }
}

/// The headers the client must send: exactly those the URL's signature covers
/// (`X-Amz-SignedHeaders`), but `host`, which the client's HTTP stack sets. The SDK also
/// puts unsigned headers on the request (in Lambda, `x-amzn-trace-id`); they are not the
/// client's to send: a browser would have to ask the bucket's CORS for them, and the trace
/// id is ours, not the customer's.
fn signed_headers(url: &str, headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let signed: Vec<String> = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("X-Amz-SignedHeaders="))
        .flat_map(|list| {
            list.replace("%3B", ";")
                .replace("%3b", ";")
                .split(';')
                .map(|h| h.to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .filter(|(k, _)| k != "host" && signed.contains(k))
        .collect()
}

impl Files for S3Files {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
        now: SystemTime,
    ) -> Result<Presigned, FilesError> {
        let length = i64::try_from(size).map_err(|_| FilesError::Config("size".into()))?;
        // Content-Length and Content-Type become signed headers: S3 refuses an upload of
        // any other length or type with 403 SignatureDoesNotMatch.
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(length)
            .content_type(content_type)
            .presigned(presigning(expires_in, now)?)
            .await
            .map_err(FilesError::backend)?;
        Ok(presigned(req))
    }

    async fn presign_download(
        &self,
        key: &str,
        content_disposition: &str,
        content_type: &str,
        expires_in: Duration,
        now: SystemTime,
    ) -> Result<Presigned, FilesError> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition)
            .response_content_type(content_type)
            .presigned(presigning(expires_in, now)?)
            .await
            .map_err(FilesError::backend)?;
        Ok(presigned(req))
    }

    async fn put(&self, key: &str, content_type: &str, bytes: Vec<u8>) -> Result<(), FilesError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(FilesError::backend)?;
        Ok(())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectHead>, FilesError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectHead {
                size: out
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or_default(),
                content_type: out.content_type().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(FilesError::backend(e)),
        }
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, FilesError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(FilesError::backend(e)),
        };
        let size = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or_default();
        if size > max_bytes {
            return Err(FilesError::TooLarge(size));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| FilesError::Unavailable(format!("reading {key}: {e}")))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, FilesError> {
        let mut deleted = 0;
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(FilesError::backend)?;
            let objects: Vec<ObjectIdentifier> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if objects.is_empty() {
                continue;
            }
            deleted += objects.len();
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| FilesError::Backend(e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(FilesError::backend)?;
            if let Some(e) = out.errors().first() {
                return Err(FilesError::Backend(format!(
                    "DeleteObjects: {} {}",
                    e.code().unwrap_or_default(),
                    e.message().unwrap_or_default()
                )));
            }
        }
        Ok(deleted)
    }

    async fn delete(&self, key: &str) -> Result<(), FilesError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(FilesError::backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signed_headers_are_handed_to_the_client() {
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                   &X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Signature=ab";
        let headers = vec![
            ("content-length".to_string(), "2".to_string()),
            ("Content-Type".to_string(), "text/plain".to_string()),
            ("host".to_string(), "b.s3.amazonaws.com".to_string()),
            ("x-amzn-trace-id".to_string(), "Root=1-abc".to_string()),
        ];
        assert_eq!(
            signed_headers(url, headers),
            [
                ("content-length".to_string(), "2".to_string()),
                ("content-type".to_string(), "text/plain".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn an_upload_signs_its_length_and_type_and_nothing_unsigned_is_handed_out() {
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKID", "SECRET", None, None, "test"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let files = S3Files::new(S3Files::client(&sdk), "bucket");
        let p = files
            .presign_upload(
                "a/b",
                "image/png",
                42,
                Duration::from_secs(60),
                SystemTime::now(),
            )
            .await
            .unwrap();
        let names: Vec<&str> = p.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["content-length", "content-type"]);
        assert!(
            p.url
                .contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost")
        );
    }
}
