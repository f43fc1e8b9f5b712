//! Outbound webhooks: where a brand's ticket events are POSTed, and the rules an address must
//! meet before anything is sent to it (what it may name, and which IP addresses it may
//! reach: the server-side request forgery rules).

use crate::{BrandId, DeliveryId, Mode, OrgId, Timestamp, WebhookId};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// At most this many webhooks per brand (and mode).
pub const MAX_WEBHOOKS_PER_BRAND: u32 = 10;

/// At most this many tries run at once per webhook.
pub const MAX_IN_FLIGHT: u8 = 5;

/// The longest `url` accepted.
pub const MAX_URL_LEN: usize = 2048;

/// A secret's length in characters: 16–256.
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 256;

/// Generated secrets: `whsec_` + 43 base62 characters (256 random bits).
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_RANDOM_LEN: usize = 43;

/// One webhook. Its secret is not here: it is stored sealed (only the delivery function can
/// open it) and never read back by the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub mode: Mode,
    pub brand_id: BrandId,
    pub url: WebhookUrl,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    /// Consecutive failed delivery attempts since the last success.
    pub failure_count: u32,
    pub last_triggered: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How long a delivery's record is kept.
pub const DELIVERY_RETENTION_SECS: i64 = 30 * 24 * 60 * 60;

/// One event's delivery to one webhook: the exact body sent (every attempt sends the same
/// bytes) and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event: WebhookEvent,
    /// The envelope, as the compact JSON text that is POSTed and signed.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_attempt: Option<Timestamp>,
    pub response_code: Option<u16>,
    /// The first 1 KiB of the last response's body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// The waits before each retry, after the first try: 1 m, 5 m, 30 m, 2 h, 6 h, 12 h, 24 h.
pub const RETRY_SCHEDULE_SECS: [i64; 7] = [60, 300, 1_800, 7_200, 21_600, 43_200, 86_400];

/// At most 1 MiB of a receiver's answer is read, and the first 1 KiB kept.
pub const RESPONSE_BODY_KEPT: usize = 1024;

/// When the next try is due after `attempts` tries (1-based) failed: `None` when the
/// schedule is spent. `jitter` in [-1, 1] moves the wait by up to ±10 %.
pub fn next_attempt(
    schedule: &[i64],
    attempts: u32,
    now: Timestamp,
    jitter: f64,
) -> Option<Timestamp> {
    let wait = *schedule.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    let jitter = jitter.clamp(-1.0, 1.0);
    // Whole seconds, never earlier than now + 1.
    let moved = (wait as f64 * (1.0 + 0.1 * jitter)).round() as i64;
    Some(Timestamp::from_unix(now.unix() + moved.max(1)))
}

/// `WEBHOOK_RETRY_SCHEDULE_SECS`, comma-separated seconds, replaces the schedule for the
/// local stack and the suite (the template never sets it); anything malformed is refused.
pub fn parse_schedule(raw: &str) -> Result<Vec<i64>, String> {
    let waits: Vec<i64> = raw
        .split(',')
        .map(|w| w.trim().parse::<i64>().ok().filter(|w| *w >= 1))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("retry schedule {raw:?}: whole seconds ≥ 1, comma-separated"))?;
    if waits.is_empty() || waits.len() > 20 {
        return Err(format!("retry schedule {raw:?}: 1 to 20 waits"));
    }
    Ok(waits)
}

impl WebhookDelivery {
    /// A delivery not tried yet.
    pub fn pending(
        id: DeliveryId,
        webhook_id: WebhookId,
        event: WebhookEvent,
        payload: String,
        created_at: Timestamp,
    ) -> WebhookDelivery {
        WebhookDelivery {
            id,
            webhook_id,
            event,
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_attempt: None,
            response_code: None,
            response_body: None,
            error: None,
            next_attempt_at: None,
            created_at,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not tried yet.
    Pending,
    /// Failed; tried again at `nextAttemptAt`.
    Retrying,
    Success,
    /// Every try failed, or the webhook was turned off.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Retrying => "RETRYING",
            DeliveryStatus::Success => "SUCCESS",
            DeliveryStatus::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Retrying,
            DeliveryStatus::Success,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// The events a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookEvent {
    TicketCreated,
    TicketUpdated,
    TicketCommentCreated,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 3] = [
        WebhookEvent::TicketCreated,
        WebhookEvent::TicketUpdated,
        WebhookEvent::TicketCommentCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::TicketCreated => "ticket.created",
            WebhookEvent::TicketUpdated => "ticket.updated",
            WebhookEvent::TicketCommentCreated => "ticket.comment.created",
        }
    }

    pub fn parse(raw: &str) -> Option<WebhookEvent> {
        Self::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// 1–3 distinct event names of [`WebhookEvent::ALL`], in the order given.
pub fn parse_events(raw: &[String]) -> Result<Vec<WebhookEvent>, String> {
    if raw.is_empty() {
        return Err("must name at least one event".into());
    }
    let mut events = Vec::with_capacity(raw.len());
    for name in raw {
        let event = WebhookEvent::parse(name).ok_or_else(|| {
            format!(
                "may only name {}",
                WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
            )
        })?;
        if events.contains(&event) {
            return Err(format!("names `{name}` twice"));
        }
        events.push(event);
    }
    Ok(events)
}

/// A secret the integrator chose: 16–256 characters, none of them control characters (the
/// HMAC is keyed with its UTF-8 bytes).
pub fn parse_secret(raw: &str) -> Result<String, String> {
    let chars = raw.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&chars) {
        return Err(format!(
            "must be {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters"
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(raw.to_owned())
}

/// A fresh secret, for a webhook created without one.
pub fn new_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        crate::random::base62(SECRET_RANDOM_LEN)
    )
}

/// Where a webhook's deliveries go: an absolute `http(s)://` URL without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: String,
    https: bool,
    host: Host,
    port: u16,
}

/// A URL's host: an IP address literal, or a name that must be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl WebhookUrl {
    /// Parses an absolute `http://` or `https://` URL of at most 2048 characters, with a
    /// host, no userinfo, no whitespace or control characters, and an ASCII host (an
    /// internationalized name in its `xn--` form). What it may reach is checked separately
    /// ([`check_target`], [`check_address`]).
    pub fn parse(raw: &str) -> Result<WebhookUrl, String> {
        let url = raw.trim();
        if url.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        let (https, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
            (false, rest)
        } else {
            return Err("must be an http:// or https:// URL".into());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not contain credentials".into());
        }
        if url.contains('#') {
            return Err("must not contain a fragment".into());
        }
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            Some(port) => port,
            None if https => 443,
            None => 80,
        };
        Ok(WebhookUrl {
            url: url.to_owned(),
            https,
            host,
            port,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn split_host_port(authority: &str) -> Result<(Host, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (literal, after) = rest
            .split_once(']')
            .ok_or("has an unterminated IPv6 address")?;
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| "has a malformed IPv6 address".to_string())?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("has a malformed port")?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (name, port) = match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        };
        (parse_host_name(name)?, port)
    };
    let port = port
        .map(|p| {
            (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .filter(|p| *p != 0)
                .ok_or_else(|| "has a malformed port".to_string())
        })
        .transpose()?;
    Ok((host, port))
}

fn parse_host_name(name: &str) -> Result<Host, String> {
    if name.is_empty() {
        return Err("must have a host".into());
    }
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let labels_ok = name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !labels_ok {
        return Err(
            "must have a valid host name (an internationalized name in its xn-- form)".into(),
        );
    }
    // A name of digits and dots only is not a name: it is an IPv4 address in a form
    // (`127.1`, `0x7f.1`, `2130706433`) that resolvers may read as one. Refused, not guessed.
    if name
        .split('.')
        .next_back()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()) || tld.starts_with("0x"))
    {
        return Err("must have a host name or a dotted IPv4 address".into());
    }
    Ok(Host::Name(name))
}

/// What the deployment allows beyond the public internet. Only `scripts/dev` and the test
/// suite set `WEBHOOK_ALLOW_LOCAL=true`; the template never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocalAllowance(pub bool);

/// Checks what the URL alone says: https in live mode, and (with the local allowance, in test
/// mode only) `localhost` or `127.0.0.1` allowed. An IP literal is checked here; a name is
/// checked again after it is resolved ([`check_address`]). Returns whether the target is the
/// allowed local one (its addresses are then not checked).
pub fn check_target(url: &WebhookUrl, mode: Mode, local: LocalAllowance) -> Result<bool, String> {
    if mode == Mode::Live && !url.is_https() {
        return Err("must be an https:// URL in live mode".into());
    }
    let is_local = match url.host() {
        Host::Name(name) => name == "localhost",
        Host::Ip(ip) => *ip == IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    if is_local && local.0 && mode == Mode::Test {
        return Ok(true);
    }
    if let Host::Ip(ip) = url.host() {
        check_address(*ip)?;
    }
    Ok(false)
}

/// Refuses an address that is not on the public internet: what a delivery could use to reach
/// the function's own network, the cloud's metadata service or the machine itself.
pub fn check_address(ip: IpAddr) -> Result<(), String> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("resolves to {ip}, which is not a public address"))
    }
}

/// Whether `ip` is a public unicast address: none of 0/8, 10/8, 100.64/10, 127/8,
/// 169.254/16 (the metadata address among them), 172.16/12, 192.168/16, 198.18/15, 224/4
/// and 240/4; none of ::, ::1, fc00::/7, fe80::/10 and ff00::/8; and an IPv4 address inside
/// an IPv6 one (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96`
/// and `64:ff9b:1::/48`, 6to4 `2002::/16`) is judged as that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    let blocked: [(u32, u32); 10] = [
        (0x0000_0000, 8),  // 0.0.0.0/8
        (0x0a00_0000, 8),  // 10.0.0.0/8
        (0x6440_0000, 10), // 100.64.0.0/10
        (0x7f00_0000, 8),  // 127.0.0.0/8
        (0xa9fe_0000, 16), // 169.254.0.0/16
        (0xac10_0000, 12), // 172.16.0.0/12
        (0xc0a8_0000, 16), // 192.168.0.0/16
        (0xc612_0000, 15), // 198.18.0.0/15
        (0xe000_0000, 4),  // 224.0.0.0/4
        (0xf000_0000, 4),  // 240.0.0.0/4 (255.255.255.255 included)
    ];
    !blocked
        .iter()
        .any(|&(net, len)| n >> (32 - len) == net >> (32 - len))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let n = u128::from(ip);
    let in_net = |net: u128, len: u32| n >> (128 - len) == net >> (128 - len);
    let v4 = |bits: u128| Ipv4Addr::from(u32::try_from(bits & 0xffff_ffff).unwrap_or(0));
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    if in_net(0xfc00 << 112, 7) || in_net(0xfe80 << 112, 10) || in_net(0xff00 << 112, 8) {
        return false;
    }
    // IPv4-mapped and IPv4-compatible (::/96, after :: and ::1 above).
    if in_net(0xffff << 32, 96) || in_net(0, 96) {
        return is_public_v4(v4(n));
    }
    // NAT64: the well-known prefix, and the local-use one (RFC 8215) whose embedding the
    // network chooses: refused outright.
    if in_net(0x0064_ff9b << 96, 96) {
        return is_public_v4(v4(n));
    }
    if in_net(0x0064_ff9b_0001 << 80, 48) {
        return false;
    }
    // 6to4: the IPv4 address in bits 16–47.
    if in_net(0x2002 << 112, 16) {
        return is_public_v4(v4(n >> 80));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_blocked_ranges_of_the_contract_are_not_public() {
        for blocked in [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "2002:0a00:0001::",
        ] {
            assert!(!is_public(ip(blocked)), "{blocked}");
        }
    }

    #[test]
    fn public_addresses_and_the_neighbours_of_blocked_ranges_are_public() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "93.184.215.14",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            "fbff:ffff::1",
            "fec0::1",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn urls_parse_into_scheme_host_and_port() {
        let url = WebhookUrl::parse("https://Hooks.Example.com/in?x=1").unwrap();
        assert!(url.is_https());
        assert_eq!(url.host(), &Host::Name("hooks.example.com".into()));
        assert_eq!(url.port(), 443);
        assert_eq!(url.as_str(), "https://Hooks.Example.com/in?x=1");
        let url = WebhookUrl::parse("http://127.0.0.1:8080/hook").unwrap();
        assert_eq!(url.host(), &Host::Ip(ip("127.0.0.1")));
        assert_eq!(url.port(), 8080);
        let url = WebhookUrl::parse("https://[2606:4700::1]:8443").unwrap();
        assert_eq!(url.host(), &Host::Ip(ip("2606:4700::1")));
        assert_eq!(url.port(), 8443);
        let url = WebhookUrl::parse("http://example.com.").unwrap();
        assert_eq!(url.host(), &Host::Name("example.com".into()));
        assert_eq!(url.port(), 80);
    }

    #[test]
    fn urls_that_are_ambiguous_or_not_http_are_refused() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for bad in [
            "",
            "example.com/hook",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:70/",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com:99999/",
            "https://example.com:0/",
            "https://example.com:/",
            "https://example.com:+80/",
            "https://exa mple.com/",
            "https://example.com/a b",
            "https://example.com/\u{0}",
            "https://bücher.example/",
            "https://[::1/",
            "https://[zz::1]/",
            "https://127.1/",
            "https://2130706433/",
            "https://0x7f.0.0.1/",
            "https://10.0.0.1.0x1/",
            "https://-bad.example.com/",
            "https://a..b/",
            "https://example.com/#frag",
            long.as_str(),
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn target(url: &str, mode: Mode, local: bool) -> Result<bool, String> {
        check_target(
            &WebhookUrl::parse(url).unwrap(),
            mode,
            LocalAllowance(local),
        )
    }

    #[test]
    fn live_mode_is_https_only_and_the_local_allowance_is_test_mode_only() {
        assert!(target("http://hooks.example.com/", Mode::Live, false).is_err());
        assert_eq!(
            target("https://hooks.example.com/", Mode::Live, false),
            Ok(false)
        );
        assert_eq!(
            target("http://hooks.example.com/", Mode::Test, false),
            Ok(false)
        );
        assert_eq!(target("http://127.0.0.1:9/", Mode::Test, true), Ok(true));
        assert_eq!(target("http://localhost:9/", Mode::Test, true), Ok(true));
        assert!(target("http://127.0.0.1:9/", Mode::Test, false).is_err());
        assert!(target("https://127.0.0.1:9/", Mode::Live, true).is_err());
        assert!(target("http://127.0.0.2/", Mode::Test, true).is_err());
        assert!(target("http://[::1]/", Mode::Test, true).is_err());
        assert!(target("https://169.254.169.254/latest/meta-data", Mode::Test, true).is_err());
        assert!(target("https://10.0.0.1/", Mode::Live, false).is_err());
        // A name is judged by its addresses once resolved, not here.
        assert_eq!(target("http://localhost:9/", Mode::Test, false), Ok(false));
    }

    #[test]
    fn retries_follow_the_schedule_with_ten_percent_jitter_then_stop() {
        let now = Timestamp::from_unix(1_000_000);
        let at = |attempts, jitter| {
            next_attempt(&RETRY_SCHEDULE_SECS, attempts, now, jitter).map(|t| t.unix() - now.unix())
        };
        assert_eq!(at(1, 0.0), Some(60));
        assert_eq!(at(1, 1.0), Some(66));
        assert_eq!(at(1, -1.0), Some(54));
        assert_eq!(at(1, 7.0), Some(66), "jitter is clamped");
        assert_eq!(at(2, 0.0), Some(300));
        assert_eq!(at(7, 0.0), Some(86_400));
        assert_eq!(at(8, 0.0), None, "eight tries in all");
        assert_eq!(at(0, 0.0), None);
        assert_eq!(parse_schedule("1, 2,3"), Ok(vec![1, 2, 3]));
        for bad in ["", "0", "1,,2", "-1", "x", "1.5"] {
            assert!(parse_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_one_to_three_distinct_known_names() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_events(&names(&["ticket.updated", "ticket.created"])),
            Ok(vec![
                WebhookEvent::TicketUpdated,
                WebhookEvent::TicketCreated
            ])
        );
        assert!(parse_events(&[]).is_err());
        assert!(parse_events(&names(&["ticket.created", "ticket.created"])).is_err());
        assert!(parse_events(&names(&["ticket.deleted"])).is_err());
        assert!(parse_events(&names(&["Ticket.Created"])).is_err());
    }

    #[test]
    fn secrets_are_16_to_256_characters_without_controls() {
        assert!(parse_secret(&"a".repeat(15)).is_err());
        assert!(parse_secret(&"a".repeat(16)).is_ok());
        assert!(parse_secret(&"é".repeat(256)).is_ok());
        assert!(parse_secret(&"a".repeat(257)).is_err());
        assert!(parse_secret("0123456789abcdef\n").is_err());
        let generated = new_secret();
        assert!(generated.starts_with(SECRET_PREFIX));
        assert!(parse_secret(&generated).is_ok());
        assert_ne!(generated, new_secret());
    }
}
