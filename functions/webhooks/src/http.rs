//! One delivery attempt: resolve the webhook's host, refuse it unless every address is
//! public, connect to the address that was checked (no second lookup a DNS change could
//! rebind), speak TLS to the name for `https://`, POST once, follow no redirect.

use bytes::Bytes;
use dispatch_domain::Mode;
use dispatch_domain::webhook::{
    self as rules, Host, LocalAllowance, RESPONSE_BODY_KEPT, WebhookUrl,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Connecting may take 5 s, the whole attempt 10 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this much of an answer is read.
const MAX_RESPONSE_READ: usize = 1024 * 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// The first 1 KiB of its answer.
    pub body: Option<String>,
    /// Why the attempt failed (no answer, a refused address, a non-2xx status).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(error: impl Into<String>) -> Attempt {
        Attempt {
            status: None,
            body: None,
            error: Some(error.into()),
        }
    }
}

/// The address to connect to: the URL's own IP, or the first of its name's addresses once
/// every one of them has passed the public-address rules.
pub async fn checked_address(
    url: &WebhookUrl,
    mode: Mode,
    local: LocalAllowance,
) -> Result<SocketAddr, String> {
    let port = url.port();
    if rules::check_target(url, mode, local)? {
        // The allowed local receiver: this machine, and nothing a name could redirect.
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let ip = match url.host() {
        Host::Ip(ip) => *ip,
        Host::Name(name) => {
            let addresses = crate::resolve(name, port).await?;
            for ip in &addresses {
                rules::check_address(*ip)?;
            }
            addresses[0]
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// POSTs `body` with `headers` to the webhook once.
pub async fn post(
    url: &WebhookUrl,
    mode: Mode,
    local: LocalAllowance,
    tls: &Arc<rustls::ClientConfig>,
    headers: &[(&str, String)],
    body: &str,
) -> Attempt {
    let once = attempt(url, mode, local, tls, headers, body);
    match tokio::time::timeout(TOTAL_TIMEOUT, once).await {
        Ok(Ok(attempt)) => attempt,
        Ok(Err(error)) => Attempt::failed(error),
        Err(_) => Attempt::failed(format!("no answer within {} s", TOTAL_TIMEOUT.as_secs())),
    }
}

async fn attempt(
    url: &WebhookUrl,
    mode: Mode,
    local: LocalAllowance,
    tls: &Arc<rustls::ClientConfig>,
    headers: &[(&str, String)],
    body: &str,
) -> Result<Attempt, String> {
    let address = checked_address(url, mode, local).await?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| format!("could not connect within {} s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("could not connect: {e}"))?;
    let request = request(url, headers, body)?;
    if url.is_https() {
        let name = match url.host() {
            Host::Name(name) => rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| format!("not a TLS server name: {e}"))?,
            Host::Ip(ip) => rustls::pki_types::ServerName::IpAddress((*ip).into()),
        };
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(tls))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(TokioIo::new(tls), request).await
    } else {
        exchange(TokioIo::new(tcp), request).await
    }
}

fn request(
    url: &WebhookUrl,
    headers: &[(&str, String)],
    body: &str,
) -> Result<Request<Full<Bytes>>, String> {
    // The path and query as the integrator wrote them (everything after the authority).
    let after_scheme = url.as_str().split_once("://").map_or("", |(_, rest)| rest);
    let (authority, path) = match after_scheme.find(['/', '?']) {
        Some(i) => (&after_scheme[..i], &after_scheme[i..]),
        None => (after_scheme, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    let mut builder = Request::post(path)
        .header("host", authority)
        .header("user-agent", "Dispatch-Webhooks/1")
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| format!("could not build the request: {e}"))
}

async fn exchange<T>(io: TokioIo<T>, request: Request<Full<Bytes>>) -> Result<Attempt, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_RESPONSE_READ)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    driver.abort();
    let kept = &bytes[..bytes.len().min(RESPONSE_BODY_KEPT)];
    let body = String::from_utf8_lossy(kept).into_owned();
    let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
    Ok(Attempt {
        status: Some(status),
        body: Some(body),
        error,
    })
}

/// The system's trust roots (Lambda's al2023 image has them), with AWS-LC as the crypto.
/// Built once at init: a system without roots fails the init, not every delivery.
pub fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err("no trust roots on this system".to_string());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(url: &str) -> (String, String) {
        let request = request(&WebhookUrl::parse(url).unwrap(), &[], "{}").unwrap();
        (
            request.headers()["host"].to_str().unwrap().to_string(),
            request.uri().to_string(),
        )
    }

    #[test]
    fn the_request_line_keeps_the_path_and_query_as_written() {
        assert_eq!(
            path_of("https://h.example/in?x=1&y=%20"),
            ("h.example".into(), "/in?x=1&y=%20".into())
        );
        assert_eq!(
            path_of("https://h.example"),
            ("h.example".into(), "/".into())
        );
        assert_eq!(
            path_of("http://127.0.0.1:8080?a=b"),
            ("127.0.0.1:8080".into(), "/?a=b".into())
        );
        assert_eq!(
            path_of("https://[2606:4700::1]:8443/x"),
            ("[2606:4700::1]:8443".into(), "/x".into())
        );
    }

    #[tokio::test]
    async fn private_literals_are_never_connected_to() {
        for url in [
            "https://169.254.169.254/",
            "http://10.0.0.1/",
            "http://[::1]:9/",
        ] {
            let attempt = post(
                &WebhookUrl::parse(url).unwrap(),
                Mode::Test,
                LocalAllowance(true),
                &tls_config().unwrap(),
                &[],
                "{}",
            )
            .await;
            assert!(!attempt.succeeded());
            assert_eq!(attempt.status, None, "{url}");
            assert!(
                attempt.error.unwrap().contains("not a public address"),
                "{url}"
            );
        }
    }
}
