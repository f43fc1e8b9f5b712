//! Minting portal tokens, portal sign-in links, and refreshing.

use crate::PortalMail;
use dispatch_auth::portal_token::{MAX_REFRESH_SECS, PortalClaims, parse_expires_in};
use dispatch_auth::{OpaqueToken, TokenKind};
use dispatch_domain::brand::Brand;
use dispatch_domain::customer::{Customer, CustomerName};
use dispatch_domain::{Email, FieldErrors, Mode, Timestamp};
use dispatch_http::ErrorCode;
use dispatch_http::cors::{allow_origin, request_origin};
use dispatch_http::{ApiError, Context, Reply, authenticate, json, parse_json, reachable_brand};
use dispatch_mail::{Mail, Mailer};
use dispatch_store::{
    BrandStore, CredentialStore, CustomerStore, MailStore, PortalLink, PortalLinkStore,
    SessionStore,
};
use dispatch_usecases::tickets::find_or_create_customer;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long a portal sign-in link works.
pub const PORTAL_LINK_TTL_SECS: i64 = 15 * 60;

/// A portal token as the API hands it out (`token` and `accessToken` are the same value:
/// the product page reads one, the SDK the other).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenView {
    token: String,
    access_token: String,
    expires_at: String,
    expires_in: i64,
    customer_id: String,
    email: String,
    name: Option<String>,
}

fn issue<S>(ctx: &Context<S>, claims: PortalClaims) -> Reply {
    let keys = ctx.portal_keys()?;
    let view = TokenView {
        expires_at: Timestamp::from_unix(claims.exp).to_rfc3339(),
        expires_in: claims.exp - claims.iat,
        customer_id: claims.cus.to_string(),
        email: claims.email.clone(),
        name: claims.name.clone(),
        token: String::new(),
        access_token: String::new(),
    };
    let token = keys.sign(claims);
    json(
        StatusCode::CREATED,
        &TokenView {
            access_token: token.clone(),
            token,
            ..view
        },
    )
}

fn claims_for(
    brand: &Brand,
    mode: Mode,
    customer: &Customer,
    name: Option<String>,
    now: Timestamp,
    ttl: i64,
) -> PortalClaims {
    PortalClaims {
        typ: String::new(),
        alg: String::new(),
        kid: String::new(),
        org: brand.org_id.clone(),
        mode,
        brand: brand.id.clone(),
        cus: customer.id.clone(),
        email: customer.email.to_string(),
        name: name.or_else(|| customer.name.as_ref().map(|n| n.as_str().to_string())),
        origins: brand
            .portal_origins
            .iter()
            .map(|o| o.as_str().to_string())
            .collect(),
        iat: now.unix(),
        exp: now.unix() + ttl,
        auth: now.unix(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MintInput {
    email: Option<String>,
    customer_email: Option<String>,
    name: Option<String>,
    customer_name: Option<String>,
    expires_in: Option<Value>,
}

/// `POST /v1/brands/{brandId}/portal/token`: an API key (or an owner/admin session) mints
/// a token for one customer of the brand, found or created by email. The token inherits
/// the credential's mode.
pub async fn mint<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore,
{
    let principal = authenticate(ctx, &req).await?;
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    if !principal.can_manage_brand(&brand.id) {
        return Err(ApiError::Forbidden {
            code: ErrorCode::Forbidden,
            message: "Minting portal tokens needs an API key or an owner or admin session.",
        });
    }
    let input: MintInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let email = match input.email.as_deref().or(input.customer_email.as_deref()) {
        Some(raw) => errors.check(
            "email",
            Email::parse(raw).ok_or_else(|| "must be an email address".to_string()),
        ),
        None => {
            errors.add("email", "is required");
            None
        }
    };
    let name = input
        .name
        .as_deref()
        .or(input.customer_name.as_deref())
        .and_then(|n| errors.check("name", CustomerName::parse(n)));
    let ttl = errors.check("expiresIn", parse_expires_in(input.expires_in.as_ref()));
    let (Some(email), Some(ttl)) = (email, ttl) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let now = ctx.clock.now();
    let customer = find_or_create_customer(
        ctx,
        &principal.org_id,
        principal.mode,
        &brand.id,
        email,
        name.clone(),
        now,
    )
    .await?;
    let name = name.map(|n| n.as_str().to_string());
    issue(
        ctx,
        claims_for(&brand, principal.mode, &customer, name, now, ttl),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MagicLinkInput {
    email: Option<String>,
    portal_url: Option<String>,
    name: Option<String>,
}

/// The link target must be the brand's: an `https` URL on one of its portal origins, or
/// (test mode only) `http://localhost`.
fn check_portal_url(raw: &str, brand: &Brand, mode: Mode) -> Result<String, String> {
    let url = raw.trim();
    let bad = || "must be an https URL on one of the brand's portalOrigins".to_string();
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.len() > 2048 {
        return Err(bad());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let origin = format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    );
    let local =
        scheme == "http" && (authority == "localhost" || authority.starts_with("localhost:"));
    let listed = brand.portal_origins.iter().any(|o| o.as_str() == origin);
    match (scheme, listed, local) {
        ("https", true, _) => Ok(url.to_string()),
        ("http", _, true) if mode == Mode::Test => Ok(url.to_string()),
        _ => Err(bad()),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn portal_mail(to: &Email, brand: &Brand, link: &str) -> Mail {
    let minutes = PORTAL_LINK_TTL_SECS / 60;
    let name = brand.name.as_str();
    Mail {
        to: to.clone(),
        subject: format!("Your {name} support sign-in link"),
        text: format!(
            "Open your {name} support tickets:\n\n{link}\n\nThe link works once and expires \
             in {minutes} minutes. If you did not ask for it, you can ignore this email."
        ),
        html: format!(
            "<p>Open your {} support tickets:</p><p><a href=\"{}\">Sign in</a></p>\
             <p>The link works once and expires in {minutes} minutes. If you did not ask for \
             it, you can ignore this email.</p>",
            escape_html(name),
            escape_html(link)
        ),
    }
}

/// `POST /v1/brands/{brandId}/portal/magic-link` (API key): emails the customer a
/// single-use `pml_` link to `portalUrl`. Test mode sends no email to customers: the link
/// comes back in the answer instead (the key could mint a token anyway).
pub async fn magic_link<S, M>(deps: &PortalMail<S, M>, req: Request) -> Reply
where
    S: CredentialStore + SessionStore + BrandStore + CustomerStore + PortalLinkStore + MailStore,
    M: Mailer,
{
    let ctx = &deps.ctx;
    let principal = authenticate(ctx, &req).await?;
    if principal.session().is_some() {
        return Err(ApiError::Forbidden {
            code: ErrorCode::ApiKeyRequired,
            message: "Portal sign-in links are requested by the application's backend with an API key.",
        });
    }
    let brand = reachable_brand(&ctx.store, &principal, &req).await?;
    let input: MagicLinkInput = parse_json(&req)?;
    let mut errors = FieldErrors::new();
    let email = errors.check(
        "email",
        Email::parse(input.email.as_deref().unwrap_or_default())
            .ok_or_else(|| "must be an email address".to_string()),
    );
    let url = errors.check(
        "portalUrl",
        check_portal_url(
            input.portal_url.as_deref().unwrap_or_default(),
            &brand,
            principal.mode,
        ),
    );
    let name = input
        .name
        .as_deref()
        .and_then(|n| errors.check("name", CustomerName::parse(n)));
    let (Some(email), Some(url)) = (email, url) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors.into_vec()));
    }
    let now = ctx.clock.now();
    let customer = find_or_create_customer(
        ctx,
        &principal.org_id,
        principal.mode,
        &brand.id,
        email.clone(),
        name,
        now,
    )
    .await?;
    let token = OpaqueToken::generate(TokenKind::PortalMagicLink);
    ctx.store
        .create_portal_link(
            &token.hash(),
            &PortalLink {
                org_id: principal.org_id.clone(),
                mode: principal.mode,
                brand_id: brand.id.clone(),
                customer_id: customer.id.clone(),
                email: email.clone(),
                name: customer.name.as_ref().map(|n| n.as_str().to_string()),
                expires_at: now.plus_seconds(PORTAL_LINK_TTL_SECS),
            },
        )
        .await?;
    // The token goes in the query, before any fragment.
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, format!("#{f}")),
        None => (url.as_str(), String::new()),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let link = format!("{base}{separator}token={}{fragment}", token.expose());
    if principal.mode == Mode::Test {
        return json(
            StatusCode::ACCEPTED,
            &json!({"success": true, "testModeLink": link}),
        );
    }
    // An address that bounced or complained gets no more of the organization's mail; the
    // backend is told the same as for any address (its customer may use the portal's other
    // ways in).
    if ctx
        .store
        .suppressed(&principal.org_id, &email)
        .await?
        .is_some()
    {
        tracing::info!(brand = %brand.id, "portal sign-in link not mailed: the address is suppressed");
        return json(StatusCode::ACCEPTED, &json!({"success": true}));
    }
    deps.mailer
        .send(&portal_mail(&email, &brand, &link))
        .await
        .map_err(|e| ApiError::dependency(e.is_unavailable(), e))?;
    json(StatusCode::ACCEPTED, &json!({"success": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyInput {
    token: Option<String>,
}

const INVALID_LINK: ApiError = ApiError::Unauthorized {
    code: ErrorCode::InvalidLink,
    message: "The sign-in link is invalid, used or expired. Ask for a new one.",
};

/// `POST /v1/portal/verify`: exchanges a `pml_` link token (once) for a portal token.
pub async fn verify<S>(ctx: &Context<S>, req: Request) -> Reply
where
    S: BrandStore + PortalLinkStore,
{
    let input: VerifyInput = parse_json(&req)?;
    let raw = input
        .token
        .ok_or_else(|| ApiError::validation("token", "is required"))?;
    let token = OpaqueToken::parse(TokenKind::PortalMagicLink, &raw).map_err(|_| INVALID_LINK)?;
    let now = ctx.clock.now();
    let link = ctx
        .store
        .consume_portal_link(&token.hash(), now)
        .await?
        .ok_or(INVALID_LINK)?;
    let brand = ctx
        .store
        .brand(&link.org_id, link.mode, &link.brand_id)
        .await?
        .ok_or(INVALID_LINK)?;
    // A browser may read the token only from one of the brand's portal origins (the link
    // is spent either way: a link opened elsewhere is not trusted).
    let origin = request_origin(&req).map(str::to_string);
    if let Some(o) = &origin
        && !brand.portal_origins.iter().any(|p| p.as_str() == o)
    {
        return Err(ApiError::Forbidden {
            code: ErrorCode::OriginNotAllowed,
            message: "This origin is not one of the brand's portal origins.",
        });
    }
    let customer = Customer {
        id: link.customer_id,
        brand_id: brand.id.clone(),
        email: link.email,
        name: None,
        metadata: Default::default(),
        avatar_url: None,
        company_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut response = issue(
        ctx,
        claims_for(
            &brand,
            link.mode,
            &customer,
            link.name,
            now,
            dispatch_auth::portal_token::DEFAULT_TTL_SECS,
        ),
    )?;
    if let Some(o) = &origin {
        allow_origin(&mut response, o, false);
    }
    Ok(response)
}

/// `POST /v1/portal/refresh` (portal token): a fresh token for the same customer, with the
/// same lifetime as the one presented, and the brand's current portal origins (one read:
/// a deleted brand's tokens cannot be renewed).
pub async fn refresh<S: BrandStore>(ctx: &Context<S>, req: Request) -> Reply {
    dispatch_http::portal::portal(ctx, req, |claims, _req| async move {
        let brand = ctx
            .store
            .brand(&claims.org, claims.mode, &claims.brand)
            .await?
            .ok_or(ApiError::NotFound)?;
        let now = ctx.clock.now();
        if now.unix() - claims.auth > MAX_REFRESH_SECS {
            return Err(ApiError::Unauthorized {
                code: ErrorCode::PortalSessionExpired,
                message: "This portal sign-in is too old to refresh. Sign in again.",
            });
        }
        let ttl = claims.exp - claims.iat;
        issue(
            ctx,
            PortalClaims {
                origins: brand
                    .portal_origins
                    .iter()
                    .map(|o| o.as_str().to_string())
                    .collect(),
                iat: now.unix(),
                exp: now.unix() + ttl,
                ..claims
            },
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dispatch_domain::brand::{BrandName, PortalOrigin, Slug, TicketPrefix};
    use dispatch_domain::{BrandId, OrgId};

    fn brand(origins: &[&str]) -> Brand {
        Brand {
            id: BrandId::generate(1),
            org_id: OrgId::generate(1),
            name: BrandName::parse("Acme").unwrap(),
            slug: Slug::parse("acme").unwrap(),
            ticket_prefix: TicketPrefix::parse("DT").unwrap(),
            next_ticket_number: 1001,
            ticket_count: 0,
            portal_origins: origins
                .iter()
                .map(|o| PortalOrigin::parse(o).unwrap())
                .collect(),
            metadata: Default::default(),
            ticket_schema: None,
            profile: Default::default(),
            created_at: Timestamp::from_unix(0),
            updated_at: Timestamp::from_unix(0),
        }
    }

    #[test]
    fn portal_urls_must_be_on_the_brands_origins() {
        let b = brand(&["https://help.acme.com"]);
        assert!(check_portal_url("https://help.acme.com/portal", &b, Mode::Live).is_ok());
        assert!(check_portal_url("https://HELP.acme.com/p?x=1", &b, Mode::Live).is_ok());
        for bad in [
            "https://evil.com/portal",
            "https://help.acme.com.evil.com/",
            "https://user@help.acme.com/",
            "http://help.acme.com/",
            "javascript:alert(1)",
            "https://help.acme.com/a b",
        ] {
            assert!(check_portal_url(bad, &b, Mode::Live).is_err(), "{bad}");
        }
        assert!(check_portal_url("http://localhost:3000/p", &b, Mode::Test).is_ok());
        assert!(check_portal_url("http://localhost:3000/p", &b, Mode::Live).is_err());
    }

    #[test]
    fn mail_escapes_the_link() {
        let b = brand(&[]);
        let mail = portal_mail(
            &Email::parse("a@b.co").unwrap(),
            &b,
            "https://x/\"><script>",
        );
        assert!(!mail.html.contains("<script>"));
    }
}
