//! The one error type of the API, and the one place it becomes a status and a JSON body.

use dispatch_domain::FieldError;
use dispatch_store::StoreError;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// Everything a handler can answer other than success. The first variants are the
/// client's to fix (4xx); `Internal` is ours (5xx, details logged, never sent).
#[derive(Debug)]
pub enum ApiError {
    Validation(Vec<FieldError>),
    BadRequest {
        code: &'static str,
        message: String,
    },
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    NotFound,
    Conflict {
        code: &'static str,
        message: String,
    },
    /// 422: well-formed, but the state of things does not allow it (e.g. the uploaded file
    /// is not what was declared).
    Unprocessable {
        code: &'static str,
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

    pub fn validation(field: &str, message: &str) -> ApiError {
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
        let (code, message, errors): (&str, String, Option<&[FieldError]>) = match &self {
            ApiError::Validation(errors) => (
                "validation_error",
                "The request has invalid fields.".into(),
                Some(errors),
            ),
            ApiError::BadRequest { code, message }
            | ApiError::Conflict { code, message }
            | ApiError::Unprocessable { code, message } => (code, message.clone(), None),
            ApiError::Unauthorized { code, message } | ApiError::Forbidden { code, message } => {
                (code, (*message).into(), None)
            }
            ApiError::NotFound => ("not_found", "The resource does not exist.".into(), None),
            ApiError::PayloadTooLarge => (
                "payload_too_large",
                "The request body is larger than 256 KiB.".into(),
                None,
            ),
            ApiError::UnsupportedMediaType(accepted) => {
                ("unsupported_media_type", (*accepted).into(), None)
            }
            ApiError::RateLimited { .. } => (
                "rate_limited",
                "Too many requests. Try again later.".into(),
                None,
            ),
            ApiError::ChoiceRequired(_) => (
                "organization_choice_required",
                "This address has invitations and no organization yet. Send the same token \
                 again with the organizationId of the invitation to accept."
                    .into(),
                None,
            ),
            ApiError::Unavailable(detail) => {
                tracing::warn!(request_id, error = %detail, "dependency unavailable");
                (
                    "service_unavailable",
                    "A service we depend on is busy or unreachable. Retry after a moment.".into(),
                    None,
                )
            }
            ApiError::Internal(detail) => {
                tracing::error!(request_id, error = %detail, "internal error");
                (
                    "internal_error",
                    "Something went wrong on our side.".into(),
                    None,
                )
            }
        };
        let body = ErrorBody {
            code,
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
    fn from(err: StoreError) -> ApiError {
        match err {
            // Nothing was written; the client's retry will go through.
            StoreError::Contended => ApiError::Conflict {
                code: "concurrent_update",
                message: "Another request changed the same data at the same moment. Retry.".into(),
            },
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
