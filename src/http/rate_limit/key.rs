//! What a rate-limit bucket is keyed by: the client's network ([`Client`]) and, for the tenant API,
//! the credential that authenticated the request ([`Credential`]).
//!
//! IPv4 is limited per address. IPv6 is limited per /64: one subscriber line or host is usually given
//! a whole /64 and can pick any of its 2^64 addresses, so keying by address would hand every client
//! an unlimited supply of fresh buckets. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
//! dual-stack listener reports for IPv4 peers) is the IPv4 address it carries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::web::auth::{AuthMethod, Verified};

/// A client network: one IPv4 address or one IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Client {
    V4(Ipv4Addr),
    /// The /64 prefix, host bits zeroed.
    V6Net(Ipv6Addr),
}

impl From<IpAddr> for Client {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Client::V4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4),
                None => Client::V6Net(Ipv6Addr::from(u128::from(a) & (u128::MAX << 64))),
            },
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::V4(a) => write!(f, "{a}"),
            Client::V6Net(a) => write!(f, "{a}/64"),
        }
    }
}

/// A tenant credential, as the per-credential limit counts it: a JWT by the tenant it names (every
/// token of a tenant shares one budget, so issuing more tokens buys nothing), an API key by its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    Tenant(String),
    ApiKey(String),
}

impl Credential {
    pub fn of(v: &Verified) -> Self {
        match &v.method {
            AuthMethod::Jwt => Credential::Tenant(v.tenant_id.clone()),
            AuthMethod::ApiKey { key_id } => Credential::ApiKey(key_id.clone()),
        }
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Tenant(id) => write!(f, "tenant {id} (JWT)"),
            Credential::ApiKey(id) => write!(f, "API key {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> Client {
        Client::from(s.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn ipv6_is_grouped_by_its_64() {
        assert_eq!(
            client("2001:db8:1:2::1"),
            client("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(client("2001:db8:1:2::1"), client("2001:db8:1:2:abcd::7"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv4_stays_per_address_and_mapped_addresses_are_ipv4() {
        assert_ne!(client("198.51.100.7"), client("198.51.100.8"));
        assert_eq!(client("::ffff:198.51.100.7"), client("198.51.100.7"));
        assert_eq!(client("::ffff:198.51.100.7").to_string(), "198.51.100.7");
        // Two mapped addresses in one /64 are still two IPv4 clients.
        assert_ne!(client("::ffff:198.51.100.7"), client("::ffff:198.51.100.8"));
    }
}
