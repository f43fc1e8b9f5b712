//! Acting on several tickets at once.
//!
//! - `POST /v1/brands/{brandId}/tickets/{ticketId}/merge` → [`merge`]
//! - `POST /v1/brands/{brandId}/tickets/bulk` → [`bulk`]

use crate::view::TicketView;
use crate::{active_member, brand_category, live_ticket};
use dispatch_auth::Principal;
use dispatch_domain::brand::Metadata;
use dispatch_domain::ticket::{AuthorType, Comment, Status, Ticket, parse_tags};
use dispatch_domain::{BrandId, CategoryId, CommentId, FieldErrors, TicketId, Timestamp};
use dispatch_http::{
    ApiError, Context, ErrorCode, Reply, authenticate, json, parse_json, reachable_brand,
};
use dispatch_store::{
    BrandStore, CategoryMove, CategoryStore, CredentialStore, MemberStore, MergePlan, SessionStore,
    StoreError, TagStore, TicketPatch, TicketStore,
};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::json as json_value;
use std::collections::HashMap;

/// At most this many sources in one merge.
const MAX_MERGE_SOURCES: usize = 20;
/// At most this many tickets in one bulk action.
const MAX_BULK_TICKETS: usize = 100;

/// The ids of a list field: well-formed ticket ids (each problem named by its index),
/// duplicates refused.
fn ticket_ids(
    errors: &mut FieldErrors,
    field: &str,
    raw: &[String],
    max: usize,
) -> Option<Vec<TicketId>> {
    if raw.is_empty() || raw.len() > max {
        errors.add(field, format!("must list 1-{max} ticket ids"));
        return None;
    }
    let mut out: Vec<TicketId> = Vec::with_capacity(raw.len());
    let mut bad = false;
    for (i, id) in raw.iter().enumerate() {
        let problem = match TicketId::parse(id) {
            Some(id) if out.contains(&id) => "is listed twice",
            Some(id) => {
                out.push(id);
                continue;
            }
            None => "is not a ticket id",
        };
        errors.add(format!("{field}[{i}]"), problem);
        bad = true;
    }
    (!bad).then_some(out)
}

/// An internal note the system writes about a merge.
fn system_note(ticket: &TicketId, body: String, now: Timestamp, millis: i64) -> Comment {
    Comment {
        id: CommentId::generate(millis),
        ticket_id: ticket.clone(),
        body,
        author_type: AuthorType::System,
        author_name: None,
        author_id: None,
        parent_id: None,
        links: Vec::new(),
        metadata: Metadata::parse(json_value!({"isInternal": true, "merge": true}))
            .unwrap_or_default(),
        source: "api".into(),
        source_id: None,
        source_data: None,
        cc: Vec::new(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

fn merged(ticket: &Ticket) -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::TicketMerged,
        message: format!(
            "{} was merged into another ticket already.",
            ticket.display_number
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MergeInput {
    source_ticket_ids: Option<Vec<String>>,
}

/// `POST …/tickets/{ticketId}/merge` `{sourceTicketIds}` (1–20, distinct, not the target):
/// in one transaction each source is closed with `mergedIntoId` and an internal SYSTEM
/// note, and the target gets a note per source. Nothing else moves (comments, files and
/// customers stay where they are). A merged target or source is 409 `ticket_merged`; an
/// unknown or deleted source is 400.
pub async fn merge<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + TicketStore,
{
    let principal = authenticate(ctx, &req).await?;
    let (brand, target_id) = live_ticket(ctx, &principal, &req).await?;
    let input: MergeInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let raw = input.source_ticket_ids.unwrap_or_default();
    let ids = ticket_ids(&mut errors, "sourceTicketIds", &raw, MAX_MERGE_SOURCES);
    if let Some(ids) = &ids
        && let Some(i) = ids.iter().position(|id| *id == target_id)
    {
        errors.add(format!("sourceTicketIds[{i}]"), "is the target ticket");
    }
    let Some(ids) = ids.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let (org, mode) = (&principal.org_id, principal.mode);
    // The target and the sources in one read.
    let mut wanted = ids.clone();
    wanted.push(target_id.clone());
    let found = ctx.store.tickets(org, mode, &brand, &wanted).await?;
    let target = found
        .iter()
        .find(|t| t.id == target_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    if target.merged_into_id.is_some() {
        return Err(merged(&target));
    }
    let mut sources = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match found.iter().find(|t| &t.id == id) {
            None => errors.add(
                format!("sourceTicketIds[{i}]"),
                "is not a live ticket of this brand",
            ),
            Some(t) if t.merged_into_id.is_some() => return Err(merged(t)),
            Some(t) => sources.push(t.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let now = ctx.clock.now();
    let base = ctx.clock.now_millis();
    let notes: Vec<(Comment, Comment)> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let millis = base + i as i64;
            (
                system_note(
                    &s.id,
                    format!("Merged into {}.", target.display_number),
                    now,
                    millis,
                ),
                system_note(
                    &target.id,
                    format!("{} was merged into this ticket.", s.display_number),
                    now,
                    millis,
                ),
            )
        })
        .collect();
    match ctx
        .store
        .merge_tickets(
            org,
            mode,
            &brand,
            &MergePlan {
                target: target.id.clone(),
                sources: ids.clone(),
                notes,
                at: now,
            },
        )
        .await
    {
        Ok(()) => {}
        // A ticket changed (deleted or merged) between the read and the write.
        Err(StoreError::NotFound | StoreError::Contended) => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ConcurrentUpdate,
                message: "A ticket of the merge changed meanwhile. Read them again and retry."
                    .into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let after = Ticket {
        comment_count: target.comment_count + ids.len() as u64,
        updated_at: now,
        ..target
    };
    json(StatusCode::OK, &TicketView::new(&after, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BulkInput {
    action: Option<String>,
    ticket_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "dispatch_http::request::nullable")]
    assignee_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "dispatch_http::request::nullable")]
    category_id: Option<Option<String>>,
    tags: Option<Vec<String>>,
}

/// What a bulk action does to each ticket.
enum Action {
    Patch(Box<TicketPatch>),
    Delete,
    /// `setCategory`: into this category, or none.
    Categorize(Option<CategoryId>),
}

/// `POST …/tickets/bulk` `{action, ticketIds (1–100), assigneeId?, categoryId?, tags?}` →
/// `{success: true, count}`. Per ticket, not atomic: each is one conditional write, unknown
/// and deleted tickets are skipped, `count` is how many changed.
pub async fn bulk<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore
        + SessionStore
        + BrandStore
        + TicketStore
        + MemberStore
        + CategoryStore
        + TagStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let input: BulkInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let ids = ticket_ids(
        &mut errors,
        "ticketIds",
        input.ticket_ids.as_deref().unwrap_or_default(),
        MAX_BULK_TICKETS,
    );
    let action = input.action.as_deref().unwrap_or_default();
    // Each option belongs to one action: sent with another, it would be ignored.
    for (field, sent, owner) in [
        ("assigneeId", input.assignee_id.is_some(), "assign"),
        ("categoryId", input.category_id.is_some(), "setCategory"),
        ("tags", input.tags.is_some(), "setTags"),
    ] {
        if sent && action != owner {
            errors.add(field, format!("is only for the {owner} action"));
        }
    }
    let status = |s: Status| {
        Some(Action::Patch(Box::new(TicketPatch {
            status: Some(s),
            ..TicketPatch::default()
        })))
    };
    let chosen = match action {
        "spam" => Some(Action::Patch(Box::new(TicketPatch {
            is_spam: Some(true),
            ..TicketPatch::default()
        }))),
        "resolve" => status(Status::Resolved),
        "close" => status(Status::Closed),
        "delete" => Some(Action::Delete),
        "assign" => match input.assignee_id {
            None => {
                errors.add("assigneeId", "is required for assign (null unassigns)");
                None
            }
            Some(None) => Some(Action::Patch(Box::new(TicketPatch {
                assignee_id: Some(None),
                ..TicketPatch::default()
            }))),
            Some(Some(raw)) => active_member(ctx, &principal, &raw, &mut errors)
                .await?
                .map(|m| {
                    Action::Patch(Box::new(TicketPatch {
                        assignee_id: Some(Some(m)),
                        ..TicketPatch::default()
                    }))
                }),
        },
        "setCategory" => match input.category_id {
            Some(None) => Some(Action::Categorize(None)),
            Some(Some(raw)) => brand_category(ctx, &principal, &brand.id, &raw, &mut errors)
                .await?
                .map(|c| Action::Categorize(Some(c))),
            None => {
                errors.add(
                    "categoryId",
                    "is required for setCategory (null uncategorizes)",
                );
                None
            }
        },
        "setTags" => match input.tags.as_deref() {
            Some(raw) => errors.check("tags", parse_tags(raw)).map(|tags| {
                Action::Patch(Box::new(TicketPatch {
                    tags: Some(tags),
                    ..TicketPatch::default()
                }))
            }),
            None => {
                errors.add("tags", "is required for setTags");
                None
            }
        },
        _ => {
            errors.add(
                "action",
                "must be one of spam, resolve, close, delete, assign, setCategory, setTags",
            );
            None
        }
    };
    let (Some(ids), Some(action)) = (ids, chosen) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let mut action = action;
    let mut new_tags = Vec::new();
    if let Action::Patch(patch) = &mut action
        && let Some(names) = patch.tags.take()
    {
        let spelt = crate::tags::spell_tags(ctx, &principal, &brand.id, names).await?;
        patch.tags = Some(spelt.names);
        new_tags = spelt.new;
    }
    let count = apply(ctx, &principal, &brand.id, &ids, &action).await?;
    if count > 0 {
        crate::tags::create_new_tags(ctx, &principal, &brand.id, &new_tags).await;
    }
    json(
        StatusCode::OK,
        &json_value!({"success": true, "count": count}),
    )
}

/// Applies `action` to each ticket in turn; unknown and deleted ones are skipped, and so
/// is a ticket that changed category while this ran. Moves and deletes first read the
/// tickets (one BatchGetItem): each write names the category it leaves.
async fn apply<S: TicketStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: &BrandId,
    ids: &[TicketId],
    action: &Action,
) -> Result<usize, ApiError> {
    let (org, mode) = (&principal.org_id, principal.mode);
    let categories: HashMap<TicketId, Option<CategoryId>> = match action {
        Action::Patch(_) => HashMap::new(),
        Action::Delete | Action::Categorize(_) => ctx
            .store
            .tickets(org, mode, brand, ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t.category_id))
            .collect(),
    };
    let mut count = 0;
    for id in ids {
        let now = ctx.clock.now();
        let result = match action {
            Action::Patch(patch) => ctx
                .store
                .update_ticket(org, mode, brand, id, patch, now)
                .await
                .map(|_| ()),
            Action::Delete => {
                let Some(category) = categories.get(id) else {
                    continue;
                };
                ctx.store
                    .delete_ticket(org, mode, brand, id, category.as_ref(), now)
                    .await
            }
            Action::Categorize(to) => {
                let Some(from) = categories.get(id).filter(|from| *from != to) else {
                    continue;
                };
                let patch = TicketPatch {
                    category: Some(CategoryMove {
                        from: from.clone(),
                        to: to.clone(),
                    }),
                    ..TicketPatch::default()
                };
                ctx.store
                    .update_ticket(org, mode, brand, id, &patch, now)
                    .await
                    .map(|_| ())
            }
        };
        match result {
            Ok(()) => count += 1,
            Err(StoreError::NotFound | StoreError::Contended) => {}
            Err(e) => return Err(crate::ticket_write_error(e)),
        }
    }
    Ok(count)
}
