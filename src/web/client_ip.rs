//! The client's IP address, for rate limiting and logs.
//!
//! The peer address is the truth unless the peer is one of our configured reverse proxies. Then we
//! walk `X-Forwarded-For` from the right (the hop our proxy appended) past every trusted proxy and take
//! the first address we do not trust: everything left of it could have been written by the client.
//! Taking the leftmost hop, as many libraries do, lets any client pick its own rate-limit bucket.

use std::net::IpAddr;

use ipnet::IpNet;

/// Whether `ip` belongs to one of our configured reverse proxies.
pub fn is_trusted(ip: &IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| is_trusted(ip, trusted);
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut last_trusted = peer;
    for hop in header.rsplit(',').map(str::trim).filter(|h| !h.is_empty()) {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => last_trusted = ip,
            Some(ip) => return ip,
            // Garbage in the chain: nothing left of it can be believed.
            None => return last_trusted,
        }
    }
    last_trusted
}

/// Accepts `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` and `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.1.1.1"), &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("1.1.1.1"), &[]),
            ip("10.0.0.5")
        );
    }

    #[test]
    fn trusted_peer_yields_rightmost_untrusted_hop() {
        let t = nets(&["10.0.0.0/8"]);
        // The client forged "6.6.6.6"; our proxy appended the real address.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("6.6.6.6, 198.51.100.7"), &t),
            ip("198.51.100.7")
        );
        // Two layers of our proxies.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("198.51.100.7, 10.1.1.1"), &t),
            ip("198.51.100.7")
        );
        // Ports and IPv6 forms.
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("[2001:db8::1]:443"), &t),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("198.51.100.7:5555"), &t),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn all_trusted_or_garbage_stops_at_the_last_trusted_hop() {
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("10.2.2.2"), &t),
            ip("10.2.2.2")
        );
        assert_eq!(
            client_ip(ip("10.0.0.5"), Some("1.2.3.4, junk"), &t),
            ip("10.0.0.5")
        );
        assert_eq!(client_ip(ip("10.0.0.5"), None, &t), ip("10.0.0.5"));
    }
}
