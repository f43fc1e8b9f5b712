//! Operator commands' logic, shared by the `dispatch-admin` binary and the test suite.

use dispatch_auth::ApiKeySecret;
use dispatch_domain::brand::{
    Brand, BrandName, DEFAULT_TICKET_NUMBER_START, Metadata, Slug, TicketPrefix,
};
use dispatch_domain::{AccountId, BrandId, Clock, Email, KeyId, MemberId, Mode, OrgId};
use dispatch_store::{
    ApiKeyRecord, BrandStore, NewOrganization, OrgStore, Organization, StoreError,
};

/// What `bootstrap` made. `api_key` is the only copy of the secret.
#[derive(Debug)]
pub struct Bootstrapped {
    pub org: Organization,
    pub api_key: ApiKeySecret,
    pub key_id: KeyId,
    pub brand: Option<Brand>,
}

/// Creates an organization, its owner member and a first org-wide API key of `mode` in one
/// transaction, then (optionally) a first brand in that mode.
pub async fn bootstrap<S: OrgStore + BrandStore>(
    store: &S,
    clock: &dyn Clock,
    org_name: &str,
    owner_email: &Email,
    mode: Mode,
    brand_name: Option<BrandName>,
) -> Result<Bootstrapped, StoreError> {
    let now = clock.now();
    let secret = ApiKeySecret::generate(mode);
    let org = Organization {
        id: OrgId::generate(clock.now_millis()),
        name: org_name.to_string(),
        created_at: now,
        updated_at: now,
    };
    let key_id = KeyId::generate(clock.now_millis());
    let new = NewOrganization {
        org: org.clone(),
        owner_email: owner_email.clone(),
        owner_account: AccountId::generate(clock.now_millis()),
        owner_member: MemberId::generate(clock.now_millis()),
        first_key: Some(ApiKeyRecord {
            id: key_id.clone(),
            name: "Bootstrap key".into(),
            mode,
            key_preview: secret.preview(),
            secret_hash: secret.hash(),
            all_brands: true,
            brand_ids: vec![],
            last_used_at: None,
            expires_at: None,
            created_at: now,
            revoked_at: None,
        }),
    };
    store.create_organization(&new).await?;

    let brand = match brand_name {
        Some(name) => {
            let brand = Brand {
                id: BrandId::generate(clock.now_millis()),
                org_id: org.id.clone(),
                slug: Slug::from_name(&name),
                name,
                ticket_prefix: TicketPrefix::default_prefix(),
                next_ticket_number: DEFAULT_TICKET_NUMBER_START,
                ticket_count: 0,
                portal_origins: vec![],
                metadata: Metadata::default(),
                ticket_schema: None,
                profile: Default::default(),
                created_at: now,
                updated_at: now,
            };
            store.create_brand(mode, &brand).await?;
            Some(brand)
        }
        None => None,
    };
    Ok(Bootstrapped {
        org,
        api_key: secret,
        key_id,
        brand,
    })
}
