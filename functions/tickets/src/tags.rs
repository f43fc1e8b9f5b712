//! Tag names on tickets: spelt as the brand's tags spell them, and a new name creates its
//! tag (the product's rule: tickets keep names, tags give them an id and a colour).

use dispatch_auth::Principal;
use dispatch_domain::category::folded;
use dispatch_domain::tag::{DEFAULT_COLOR, Tag};
use dispatch_domain::{BrandId, TagId};
use dispatch_http::{ApiError, Context};
use dispatch_store::{StoreError, TagStore};

/// Names as the ticket will keep them, and those no tag holds yet.
pub(crate) struct SpeltTags {
    pub names: Vec<String>,
    pub new: Vec<String>,
}

/// `names` as the brand's tags spell them (one BatchGetItem of the name claims); a name
/// no tag holds stays as sent and is listed in `new`. Names equal ignoring case are one.
pub(crate) async fn spell_tags<S: TagStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: &BrandId,
    names: Vec<String>,
) -> Result<SpeltTags, ApiError> {
    if names.is_empty() {
        return Ok(SpeltTags {
            names,
            new: Vec::new(),
        });
    }
    let spellings = ctx
        .store
        .tag_spellings(&principal.org_id, principal.mode, brand, &names)
        .await?;
    let mut out = SpeltTags {
        names: Vec::with_capacity(names.len()),
        new: Vec::new(),
    };
    for name in names {
        let key = folded(&name);
        if out.names.iter().any(|n| folded(n) == key) {
            continue;
        }
        match spellings.get(&key) {
            Some(spelt) => out.names.push(spelt.clone()),
            None => {
                out.new.push(name.clone());
                out.names.push(name);
            }
        }
    }
    Ok(out)
}

/// Creates a tag for each of `names` after the ticket that names them was written. A name
/// a concurrent request claimed first, or the brand's cap of tags, leaves the name on the
/// ticket without a tag of its own; a failure is logged, not answered (the ticket is
/// written).
pub(crate) async fn create_new_tags<S: TagStore>(
    ctx: &Context<S>,
    principal: &Principal,
    brand: &BrandId,
    names: &[String],
) {
    for name in names {
        let tag = Tag {
            id: TagId::generate(ctx.clock.now_millis()),
            brand_id: brand.clone(),
            name: name.clone(),
            color: DEFAULT_COLOR.to_string(),
            version: 0,
            created_at: ctx.clock.now(),
        };
        match ctx
            .store
            .create_tag(&principal.org_id, principal.mode, &tag)
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_) | StoreError::NotFound) => {}
            Err(e) => tracing::warn!(error = %e, "a ticket's new tag was not created"),
        }
    }
}
