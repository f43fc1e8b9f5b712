//! The one error type of the API, and the one place it becomes a status and a JSON body.

use dispatch_domain::FieldError;
use dispatch_store::StoreError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Every `code` an error answer can carry: the one list, which docs/api.md's table must
/// match (the suite checks both ways).
macro_rules! error_codes {
    ($($variant:ident = $text:literal,)*) => {
        /// The machine-readable `code` of an error answer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, alphabetically.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as the JSON body spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    AlreadyInOrganization = "already_in_organization",
    AlreadyMember = "already_member",
    ApiKeyInactive = "api_key_inactive",
    ApiKeyRequired = "api_key_required",
    AttachmentTaken = "attachment_taken",
    AuthenticationRequired = "authentication_required",
    Busy = "busy",
    CategoryExists = "category_exists",
    CategoryLimitReached = "category_limit_reached",
    ConcurrentUpdate = "concurrent_update",
    Conflict = "conflict",
    CsrfFailed = "csrf_failed",
    CustomerExists = "customer_exists",
    ExpiredApiKey = "expired_api_key",
    FieldExists = "field_exists",
    FieldLimitReached = "field_limit_reached",
    Forbidden = "forbidden",
    IdempotencyInProgress = "idempotency_in_progress",
    IdempotencyKeyReused = "idempotency_key_reused",
    InternalError = "internal_error",
    InvalidApiKey = "invalid_api_key",
    InvalidBody = "invalid_body",
    InvalidCredential = "invalid_credential",
    InvalidCursor = "invalid_cursor",
    InvalidJson = "invalid_json",
    InvalidLink = "invalid_link",
    InvalidPortalToken = "invalid_portal_token",
    InvalidSession = "invalid_session",
    InvalidSignature = "invalid_signature",
    InvalidToken = "invalid_token",
    ModeMismatch = "mode_mismatch",
    NotFound = "not_found",
    OrganizationChoiceRequired = "organization_choice_required",
    OriginNotAllowed = "origin_not_allowed",
    OwnerCannotBeRemoved = "owner_cannot_be_removed",
    OwnerRoleFixed = "owner_role_fixed",
    PayloadTooLarge = "payload_too_large",
    PortalSessionExpired = "portal_session_expired",
    PortalTokenExpired = "portal_token_expired",
    RateLimited = "rate_limited",
    ServiceUnavailable = "service_unavailable",
    SessionExpired = "session_expired",
    SessionRequired = "session_required",
    SignatureExpired = "signature_expired",
    SlugTaken = "slug_taken",
    TagExists = "tag_exists",
    TagLimitReached = "tag_limit_reached",
    TicketMerged = "ticket_merged",
    TooManyToSort = "too_many_to_sort",
    UnsupportedMediaType = "unsupported_media_type",
    UploadMismatch = "upload_mismatch",
    UploadMissing = "upload_missing",
    ValidationError = "validation_error",
    WebhookLimitReached = "webhook_limit_reached",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a handler can answer other than success. The first variants are the
/// client's to fix (4xx); `Internal` is ours (5xx, details logged, never sent).
#[derive(Debug)]
pub enum ApiError {
    Validation(Vec<FieldError>),
    BadRequest {
        code: ErrorCode,
        message: String,
    },
    Unauthorized {
        code: ErrorCode,
        message: &'static str,
    },
    Forbidden {
        code: ErrorCode,
        message: &'static str,
    },
    NotFound,
    Conflict {
        code: ErrorCode,
        message: String,
    },
    /// 422: well-formed, but the state of things does not allow it (e.g. the uploaded file
    /// is not what was declared).
    Unprocessable {
        code: ErrorCode,
        message: String,
    },
    PayloadTooLarge,
    /// 415, with what the route accepts.
    UnsupportedMediaType(&'static str),
    /// 429: `retry_after` seconds until the window that was exceeded resets.
    RateLimited {
        limit: u64,
        retry_after: i64,
        reset_at: i64,
    },
    /// 409 `organization_choice_required`: a sign-in whose address has invitations and
    /// no organization yet; the answer lists the invitations so the person can choose.
    ChoiceRequired(Vec<serde_json::Value>),
    /// 503 `service_unavailable` with `Retry-After`: a dependency (DynamoDB, S3, SES) is
    /// throttling, failing or not answering. Nothing the request asked for was done (or
    /// it was a read); the client retries later, with its idempotency key for creates.
    Unavailable(String),
    Internal(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitations: Option<&'a [serde_json::Value]>,
    request_id: &'a str,
}

impl ApiError {
    /// A dependency's failure: [`ApiError::Unavailable`] when it is transient (throttled,
    /// 5xx, timed out, unreachable), [`ApiError::Internal`] otherwise.
    pub fn dependency(unavailable: bool, detail: impl std::fmt::Display) -> ApiError {
        if unavailable {
            ApiError::Unavailable(detail.to_string())
        } else {
            ApiError::Internal(detail.to_string())
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::ChoiceRequired(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let status = self.status();
        let (code, message, errors): (ErrorCode, String, Option<&[FieldError]>) = match &self {
            ApiError::Validation(errors) => (
                ErrorCode::ValidationError,
                "The request has invalid fields.".into(),
                Some(errors),
            ),
            ApiError::BadRequest { code, message }
            | ApiError::Conflict { code, message }
            | ApiError::Unprocessable { code, message } => (*code, message.clone(), None),
            ApiError::Unauthorized { code, message } | ApiError::Forbidden { code, message } => {
                (*code, (*message).into(), None)
            }
            ApiError::NotFound => (
                ErrorCode::NotFound,
                "The resource does not exist.".into(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                ErrorCode::PayloadTooLarge,
                "The request body is larger than 256 KiB.".into(),
                None,
            ),
            ApiError::UnsupportedMediaType(accepted) => {
                (ErrorCode::UnsupportedMediaType, (*accepted).into(), None)
            }
            ApiError::RateLimited { .. } => (
                ErrorCode::RateLimited,
                "Too many requests. Try again later.".into(),
                None,
            ),
            ApiError::ChoiceRequired(_) => (
                ErrorCode::OrganizationChoiceRequired,
                "This address has invitations and no organization yet. Send the same token \
                 again with the organizationId of the invitation to accept."
                    .into(),
                None,
            ),
            ApiError::Unavailable(detail) => {
                tracing::warn!(request_id, error = %detail, "dependency unavailable");
                (
                    ErrorCode::ServiceUnavailable,
                    "A service we depend on is busy or unreachable. Retry after a moment.".into(),
                    None,
                )
            }
            ApiError::Internal(detail) => {
                tracing::error!(request_id, error = %detail, "internal error");
                (
                    ErrorCode::InternalError,
                    "Something went wrong on our side.".into(),
                    None,
                )
            }
        };
        let body = ErrorBody {
            code: code.as_str(),
            message: &message,
            errors,
            invitations: match &self {
                ApiError::ChoiceRequired(choices) => Some(choices),
                _ => None,
            },
            request_id,
        };
        let text = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()) + "\n";
        let mut response = Response::new(Body::from(text));
        *response.status_mut() = status;
        if let ApiError::RateLimited {
            limit,
            retry_after,
            reset_at,
        } = &self
        {
            let headers = response.headers_mut();
            for (name, value) in [
                ("retry-after", retry_after.to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset_at.to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            }
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // The SDK already retried what was safe; a second later usually works.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// The safe default for a storage outcome a handler did not answer itself: what the
    /// client can act on is a 4xx (the item is gone: 404; a condition failed: 409), only
    /// what is ours to fix is a 5xx. Handlers that know better (a taken slug, a customer
    /// that exists) match the outcome first.
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict(what) => ApiError::Conflict {
                code: ErrorCode::Conflict,
                message: format!(
                    "The request conflicts with the current state ({what}). Read it again."
                ),
            },
            // Nothing was written; the client's retry will go through.
            StoreError::Contended => ApiError::Conflict {
                code: ErrorCode::ConcurrentUpdate,
                message: "Another request changed the same data at the same moment. Retry.".into(),
            },
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            other @ (StoreError::Config(_) | StoreError::Corrupt(_) | StoreError::Backend(_)) => {
                ApiError::Internal(other.to_string())
            }
        }
    }
}
