//! What verifying a portal token costs: pure computation (no storage read), measured per
//! operation in a release build. Prints figures; asserts nothing.

use dispatch_auth::portal_token::{PortalClaims, PortalKeys};
use dispatch_domain::{BrandId, CustomerId, Mode, OrgId};
use std::time::Instant;

fn main() {
    let keys = PortalKeys::parse(
        "b:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,\
         a:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    )
    .expect("valid keys");
    let now = 1_800_000_000;
    let claims = PortalClaims {
        typ: String::new(),
        alg: String::new(),
        kid: String::new(),
        org: OrgId::generate(now * 1000),
        mode: Mode::Live,
        brand: BrandId::generate(now * 1000),
        cus: CustomerId::generate(now * 1000),
        email: "customer@example.com".into(),
        name: Some("Jo Customer".into()),
        origins: vec!["https://help.example.com".into()],
        iat: now,
        exp: now + 3600,
        auth: now,
    };
    let token = keys.sign(claims.clone());
    let n = 200_000;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(keys.verify(std::hint::black_box(&token), now + 10)).ok();
    }
    let verify_ns = started.elapsed().as_nanos() as f64 / n as f64;
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(keys.sign(std::hint::black_box(claims.clone())));
    }
    let sign_ns = started.elapsed().as_nanos() as f64 / n as f64;
    println!("portal token: {} bytes", token.len());
    println!(
        "  verify: {:.2} µs per token (HMAC-SHA256 + JSON, 0 storage reads)",
        verify_ns / 1000.0
    );
    println!("  sign:   {:.2} µs per token", sign_ns / 1000.0);
}
