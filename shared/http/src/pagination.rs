//! Cursor pagination: `?limit&cursor` in, `{data, pagination}` out.

use crate::ErrorCode;
use crate::{ApiError, Reply, json, query_param};
use dispatch_auth::cursor::CursorKey;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// What a list request asks for: how many, and where to continue (a sort key, verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

/// Reads `limit` (1–100, default 20) and `cursor`, which must have been issued for this
/// same `scope` (tenant, mode, list) by this deployment.
pub fn page_request(req: &Request, key: &CursorKey, scope: &str) -> Result<PageRequest, ApiError> {
    let limit = parse_limit(req)?;
    let after = match query_param(req, "cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            key.open(scope, &cursor)
                .ok_or_else(|| ApiError::BadRequest {
                    code: ErrorCode::InvalidCursor,
                    message: "The cursor is not valid for this list.".into(),
                })?,
        ),
    };
    Ok(PageRequest { limit, after })
}

/// `limit`: 1–100, default 20 (the bare-array lists that take one read it too).
pub fn parse_limit(req: &Request) -> Result<usize, ApiError> {
    parse_limit_up_to(req, MAX_LIMIT)
}

/// `limit`: 1–`max`, default 20.
pub fn parse_limit_up_to(req: &Request, max: usize) -> Result<usize, ApiError> {
    match query_param(req, "limit") {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::validation("limit", format!("must be an integer from 1 to {max}"))
            }),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaginationView {
    has_more: bool,
    next_cursor: Option<String>,
    /// The same value as `nextCursor` (the SDK reads `cursor`).
    cursor: Option<String>,
}

#[derive(Serialize)]
struct PageView<'a, T: Serialize> {
    data: &'a [T],
    /// The same list again under another name, for clients that read that one.
    #[serde(skip_serializing_if = "Option::is_none")]
    tickets: Option<&'a [T]>,
    pagination: PaginationView,
}

/// `200 {data, pagination: {hasMore, nextCursor, cursor}}`.
pub fn page_response<T: Serialize>(
    data: Vec<T>,
    next: Option<String>,
    key: &CursorKey,
    scope: &str,
) -> Reply {
    page_json(&data, false, next, key, scope)
}

/// [`page_response`] with the list also under `tickets` (the portal: the product page
/// reads `tickets`, the SDK `data`).
pub fn ticket_page_response<T: Serialize>(
    data: Vec<T>,
    next: Option<String>,
    key: &CursorKey,
    scope: &str,
) -> Reply {
    page_json(&data, true, next, key, scope)
}

fn page_json<T: Serialize>(
    data: &[T],
    as_tickets: bool,
    next: Option<String>,
    key: &CursorKey,
    scope: &str,
) -> Reply {
    let cursor = next.map(|position| key.seal(scope, &position));
    json(
        StatusCode::OK,
        &PageView {
            data,
            tickets: as_tickets.then_some(data),
            pagination: PaginationView {
                has_more: cursor.is_some(),
                next_cursor: cursor.clone(),
                cursor,
            },
        },
    )
}
