//! The one way to build a success response.

use crate::Reply;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
    let text = serde_json::to_string(body).map_err(|e| crate::ApiError::Internal(e.to_string()))?;
    // A trailing newline keeps terminals and line-based tools (curl, logs) tidy.
    let text = text + "\n";
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    Ok(response)
}

/// An HTML page (the only non-JSON answers: pages a person opens from an email).
pub fn html(status: StatusCode, page: String) -> Reply {
    let mut response = Response::new(Body::from(page));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}

/// 204 No Content.
pub fn no_content() -> Reply {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// Headers every response carries.
pub(crate) fn finish(response: &mut Response<Body>, request_id: &str) {
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", id);
    }
    if !matches!(response_body(response), Body::Empty)
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let headers = response.headers_mut();
    // API answers carry credentials' effects: never cache them anywhere.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn response_body(response: &Response<Body>) -> &Body {
    response.body()
}
