//! Where a URL that a tenant chose may point, when Switchboard itself is the one to request it (a
//! tenant's relay endpoint, the AI hand-off's `provider_twiml` URL).
//!
//! Every business shares one deployment, so such a URL must not turn Switchboard into a way into
//! the network it runs in (server-side request forgery): the cloud metadata service at
//! 169.254.169.254, a database's admin port on 10.0.0.5, the deployment itself. A destination is
//! refused when its host is
//!
//! * `localhost` or a name in a private-use domain (`.localhost`, `.local`, `.internal`,
//!   `.home.arpa`), or a name with no dot at all: those are resolved with the machine's own
//!   resolver and search domains, so they only ever name something on the deployment's network;
//! * an IP address that is not public (see [`non_public_kind`]), also written as an IPv4-mapped,
//!   IPv4-compatible or NAT64 IPv6 address (`[::ffff:127.0.0.1]`); the `url` crate reads
//!   `http://2130706433/` and `http://0x7f.1/` as 127.0.0.1 already;
//! * one of this deployment's own host names (`APP_URL` and its aliases).
//!
//! A name that passes can still resolve to a private address (or be changed to one after the
//! check: DNS rebinding), so the HTTP clients that send such requests resolve through a resolver
//! that keeps only addresses [`is_public`] accepts (`crate::http_clients`); this module is what
//! both use. `ALLOW_PRIVATE_DESTINATIONS=true` (a deployment whose businesses are trusted, or a
//! development machine) turns it all off: [`Destinations::anywhere`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use super::ValidationError;

/// The rule a deployment applies to tenant-chosen destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destinations {
    /// This deployment's own host names, lower-case, without a trailing dot.
    own_hosts: Vec<String>,
    /// Any http(s) destination is accepted (`ALLOW_PRIVATE_DESTINATIONS`).
    allow_private: bool,
}

/// Domains reserved for private use: a name in one never names a public service.
const PRIVATE_SUFFIXES: [&str; 4] = [".localhost", ".local", ".internal", ".home.arpa"];

impl Destinations {
    /// Public destinations only, none of them named `own_hosts`.
    pub fn public_only<S: AsRef<str>>(own_hosts: impl IntoIterator<Item = S>) -> Destinations {
        Destinations {
            own_hosts: own_hosts.into_iter().map(|h| normal(h.as_ref())).collect(),
            allow_private: false,
        }
    }

    /// Every http(s) destination.
    pub fn anywhere() -> Destinations {
        Destinations {
            own_hosts: Vec::new(),
            allow_private: true,
        }
    }

    /// When a tenant saves the URL: `https://` to a public destination. The reason names `field`.
    pub fn check(&self, field: &str, url: &Url) -> Result<(), ValidationError> {
        if self.allow_private {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(ValidationError::new(field, "must be an https:// URL"));
        }
        self.check_host(url)
            .map_err(|why| ValidationError::new(field, format!("must not point at {why}")))
    }

    /// When Switchboard is about to send the request: the destination alone, so a row saved before
    /// the scheme rule (a public `http://` receiver) keeps working while one naming a private
    /// address does not. The error says why, for the attempt's record.
    pub fn check_request(&self, url: &Url) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        self.check_host(url)
            .map_err(|why| format!("refused destination: {why}"))
    }

    /// `Err(what the host is)` when it is not a public destination.
    fn check_host(&self, url: &Url) -> Result<(), String> {
        match url.host() {
            None => Err("no host".into()),
            Some(Host::Ipv4(ip)) => ip_ok(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => ip_ok(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = normal(name);
                if name == "localhost" || PRIVATE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                    return Err(format!("a local or private-use name ({name})"));
                }
                if !name.contains('.') {
                    return Err(format!(
                        "a name with no domain ({name}), which only the local network resolves"
                    ));
                }
                if self.own_hosts.contains(&name) {
                    return Err(format!("this Switchboard deployment ({name})"));
                }
                Ok(())
            }
        }
    }
}

/// Lower-case, without a fully qualified name's trailing dot (`Example.COM.` is `example.com`).
fn normal(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn ip_ok(ip: IpAddr) -> Result<(), String> {
    match non_public_kind(ip) {
        None => Ok(()),
        Some(kind) => Err(match embedded_v4(ip) {
            Some(v4) => format!("{kind} address ({ip}, which is {v4})"),
            None => format!("{kind} address ({ip})"),
        }),
    }
}

/// Whether `ip` is an address on the public internet, one a tenant's URL may lead to.
pub fn is_public(ip: IpAddr) -> bool {
    non_public_kind(ip).is_none()
}

/// IPv4 ranges that are not public (IANA's special-purpose registry), first match wins.
const V4_NOT_PUBLIC: [(u32, u8, &str); 16] = [
    (0x0000_0000, 8, "an unspecified (\"this network\")"),
    (0x0a00_0000, 8, "a private"),
    (0x6440_0000, 10, "a carrier-grade NAT"),
    (0x7f00_0000, 8, "a loopback"),
    (0xa9fe_0000, 16, "a link-local"),
    (0xac10_0000, 12, "a private"),
    (0xc000_0000, 24, "an IETF protocol"),
    (0xc000_0200, 24, "a documentation"),
    (0xc058_6300, 24, "a 6to4 relay"),
    (0xc0a8_0000, 16, "a private"),
    (0xc612_0000, 15, "a benchmarking"),
    (0xc633_6400, 24, "a documentation"),
    (0xcb00_7100, 24, "a documentation"),
    (0xe000_0000, 4, "a multicast"),
    (0xffff_ffff, 32, "the broadcast"),
    (0xf000_0000, 4, "a reserved"),
];

/// IPv6 ranges that are not public, inside or beside global unicast (2000::/3, the only IPv6 space
/// with public hosts), first match wins.
const V6_NOT_PUBLIC: [(u128, u8, &str); 10] = [
    (0xfe80 << 112, 10, "a link-local"),
    (0xfec0 << 112, 10, "a site-local"),
    (0xfc00 << 112, 7, "a unique local"),
    (0xff00 << 112, 8, "a multicast"),
    (0x0100 << 112, 64, "a discard-only"),
    (0x0064_ff9b_0001 << 80, 48, "a local NAT64"),
    (0x2001_0db8 << 96, 32, "a documentation"),
    (0x3fff << 112, 20, "a documentation"),
    // Teredo and the other IETF assignments, and 6to4, which reaches an IPv4 address it embeds.
    (0x2001 << 112, 23, "an IETF protocol"),
    (0x2002 << 112, 16, "a 6to4"),
];

fn in_v4(ip: u32, (net, len, _): &(u32, u8, &str)) -> bool {
    let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
    ip & mask == *net
}

fn in_v6(ip: u128, (net, len, _): &(u128, u8, &str)) -> bool {
    let mask = if *len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    ip & mask == *net
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, deprecated but still routed by some stacks) or NAT64's well-known prefix
/// (`64:ff9b::a.b.c.d`, which a NAT64 gateway forwards to a.b.c.d).
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let bits = u128::from(v6);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let high = bits >> 32;
    let mapped = high == 0xffff;
    let compatible = high == 0 && !v6.is_loopback() && !v6.is_unspecified();
    let nat64 = high == 0x0064_ff9b_0000_0000_0000_0000;
    (mapped || compatible || nat64).then_some(low)
}

/// `None` for a public address; otherwise what kind of address it is ("a loopback", "a private" …),
/// for the refusal's wording.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_kind(v4);
    }
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_NOT_PUBLIC
        .iter()
        .find(|r| in_v4(bits, r))
        .map(|(_, _, kind)| *kind)
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified");
    }
    if ip.is_loopback() {
        return Some("a loopback");
    }
    let bits = u128::from(ip);
    if let Some((_, _, kind)) = V6_NOT_PUBLIC.iter().find(|r| in_v6(bits, r)) {
        return Some(kind);
    }
    let global_unicast = bits >> 125 == 0b001;
    (!global_unicast).then_some("a reserved")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Destinations {
        Destinations::public_only(["switchboard.example", "Old.Example."])
    }

    fn check(raw: &str) -> Result<(), String> {
        let url = Url::parse(raw).map_err(|e| format!("unparsable: {e}"))?;
        ours().check("url", &url).map_err(|e| e.to_string())
    }

    #[test]
    fn public_https_destinations_are_accepted() {
        for raw in [
            "https://hooks.example.com/in",
            "https://HOOKS.example.com:8443/in?x=1",
            "https://api.vapi.ai/call",
            "https://8.8.8.8/",
            "https://1.1.1.1:443/x",
            "https://100.63.255.255/",    // just below carrier-grade NAT
            "https://100.128.0.0/",       // just above it
            "https://172.15.255.255/",    // just below 172.16/12
            "https://172.32.0.0/",        // just above it
            "https://192.169.0.1/",       // beside 192.168/16
            "https://169.255.0.1/",       // beside link-local
            "https://223.255.255.255/",   // the last unicast before multicast
            "https://[2606:4700::1111]/", // global unicast
            "https://[2a00:1450:4001::1]/",
            "https://[::ffff:8.8.8.8]/",        // a mapped public address
            "https://[64:ff9b::808:808]/",      // NAT64 of 8.8.8.8
            "https://sub.switchboard.example/", // only the deployment's own names are refused
            "https://switchboard.example.com/",
        ] {
            assert_eq!(check(raw), Ok(()), "{raw}");
        }
    }

    #[test]
    fn private_and_local_destinations_are_refused_with_the_field_and_the_reason() {
        for (raw, why) in [
            (
                "http://hooks.example.com/in",
                "url: must be an https:// URL",
            ),
            ("ftp://hooks.example.com/", "url: must be an https:// URL"),
            (
                "https://localhost/",
                "a local or private-use name (localhost)",
            ),
            (
                "https://LOCALHOST./x",
                "a local or private-use name (localhost)",
            ),
            ("https://api.localhost/", "(api.localhost)"),
            ("https://printer.local/", "(printer.local)"),
            (
                "https://metadata.google.internal/",
                "(metadata.google.internal)",
            ),
            ("https://router.home.arpa/", "(router.home.arpa)"),
            ("https://intranet/", "a name with no domain (intranet)"),
            ("https://127.0.0.1/", "a loopback address (127.0.0.1)"),
            ("https://127.8.9.10:8080/", "a loopback address"),
            ("https://2130706433/", "a loopback address (127.0.0.1)"),
            ("https://0x7f.1/", "a loopback address (127.0.0.1)"),
            ("https://017700000001/", "a loopback address (127.0.0.1)"),
            (
                "https://0.0.0.0/",
                "an unspecified (\"this network\") address",
            ),
            ("https://10.0.0.1/", "a private address (10.0.0.1)"),
            ("https://172.16.0.1/", "a private address"),
            ("https://172.31.255.255/", "a private address"),
            ("https://192.168.1.1/", "a private address"),
            ("https://100.64.0.1/", "a carrier-grade NAT address"),
            ("https://100.127.255.255/", "a carrier-grade NAT address"),
            (
                "https://169.254.169.254/latest/meta-data/",
                "a link-local address (169.254.169.254)",
            ),
            ("https://192.0.0.8/", "an IETF protocol address"),
            ("https://192.0.2.10/", "a documentation address"),
            ("https://198.51.100.7/", "a documentation address"),
            ("https://203.0.113.1/", "a documentation address"),
            ("https://198.18.0.1/", "a benchmarking address"),
            ("https://224.0.0.1/", "a multicast address"),
            ("https://239.255.255.250/", "a multicast address"),
            ("https://255.255.255.255/", "the broadcast address"),
            ("https://240.0.0.1/", "a reserved address"),
            ("https://[::1]/", "a loopback address (::1)"),
            ("https://[::]/", "an unspecified address"),
            (
                "https://[::ffff:127.0.0.1]/",
                "a loopback address (::ffff:127.0.0.1, which is 127.0.0.1)",
            ),
            (
                "https://[::ffff:169.254.169.254]/",
                "a link-local address (::ffff:169.254.169.254, which is 169.254.169.254)",
            ),
            (
                "https://[::ffff:a00:1]/",
                "a private address (::ffff:10.0.0.1, which is 10.0.0.1)",
            ),
            (
                "https://[::127.0.0.1]/",
                "a loopback address (::7f00:1, which is 127.0.0.1)",
            ),
            (
                "https://[64:ff9b::a9fe:a9fe]/",
                "a link-local address (64:ff9b::a9fe:a9fe, which is 169.254.169.254)",
            ),
            ("https://[64:ff9b:1::1]/", "a local NAT64 address"),
            ("https://[fe80::1]/", "a link-local address (fe80::1)"),
            ("https://[febf::1]/", "a link-local address"),
            ("https://[fec0::1]/", "a site-local address"),
            ("https://[fc00::1]/", "a unique local address"),
            ("https://[fd12:3456::1]/", "a unique local address"),
            ("https://[ff02::1]/", "a multicast address"),
            ("https://[100::1]/", "a discard-only address"),
            ("https://[2001:db8::1]/", "a documentation address"),
            ("https://[3fff::1]/", "a documentation address"),
            ("https://[2001::1]/", "an IETF protocol address"),
            ("https://[2002:7f00:1::]/", "a 6to4 address"),
            ("https://[4000::1]/", "a reserved address"),
            (
                "https://switchboard.example/api/admin/tenants",
                "this Switchboard deployment (switchboard.example)",
            ),
            (
                "https://SwitchBoard.Example.:8443/",
                "this Switchboard deployment (switchboard.example)",
            ),
            (
                "https://old.example/",
                "this Switchboard deployment (old.example)",
            ),
        ] {
            let err = check(raw).expect_err(raw);
            assert!(err.contains(why), "{raw}: {err}");
            assert!(err.starts_with("url: must "), "{raw}: {err}");
        }
    }

    #[test]
    fn at_request_time_only_the_destination_counts() {
        let d = ours();
        let at = |raw: &str| d.check_request(&Url::parse(raw).unwrap());
        assert_eq!(
            at("http://hooks.example.com/"),
            Ok(()),
            "saved before the scheme rule"
        );
        assert_eq!(
            at("http://127.0.0.1:9/").unwrap_err(),
            "refused destination: a loopback address (127.0.0.1)"
        );
        assert!(at("http://[::ffff:10.1.2.3]/").is_err());
        assert!(at("https://switchboard.example/").is_err());
    }

    #[test]
    fn the_operator_may_allow_every_destination() {
        let d = Destinations::anywhere();
        for raw in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/",
            "https://10.0.0.1/",
            "http://intranet/",
        ] {
            let url = Url::parse(raw).unwrap();
            assert_eq!(d.check("url", &url), Ok(()), "{raw}");
            assert_eq!(d.check_request(&url), Ok(()), "{raw}");
        }
    }

    #[test]
    fn addresses_as_the_resolver_sees_them() {
        for ip in ["8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:192.168.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
