//! The services Switchboard talks to: seed 004's as-call-service that receives relayed events and
//! provisioning service that finds a number's tenant, the relay's timeout, and which destinations
//! the URLs that tenants choose (their relay endpoints, the AI hand-off's provider) may name.

use std::time::Duration;

use url::Url;

#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub as_call_service_url: Option<Url>,
    pub pns_provisioning_service_url: Option<Url>,
    pub pns_lookup_path: String,
    /// How long a relay delivery waits for the receiver's answer.
    pub relay_timeout: Duration,
    /// Tenant-chosen URLs may be plain `http://` and name private addresses, localhost and this
    /// deployment (`domain::destination`); off, they must be public `https://` destinations.
    pub allow_private_destinations: bool,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// seed-004 as-call-service base URL (event relay preset)
        as_call_service_url: Option<Url> = |v| v.http_url();

        /// seed-004 provisioning service base URL (tenant lookup)
        pns_provisioning_service_url: Option<Url> = |v| v.http_url();

        /// path of the provisioning service's number lookup
        pns_lookup_path: String = |v| match v.text() {
            Some(p) if !p.starts_with('/') || p.contains(['?', '#']) => {
                Err(v.fail(p, "must be a path starting with /"))
            }
            Some(p) => Ok(p.trim_end_matches('/').to_string()),
            None => Ok(v.text_or("/phone-numbers/lookup")),
        };

        /// how long a relay delivery waits for the receiver
        relay_timeout_ms: u64 = |v| v.number(10_000, 100, 60_000);

        /// `true` lets tenants' relay endpoints and AI provider URLs be plain `http://` and point
        /// at private, loopback and link-local addresses, localhost and this deployment's own host
        /// (a trusted single business, or local development). `false` refuses them when saved and
        /// again when Switchboard sends the request (see
        /// [Where tenant URLs may point](api.md#where-tenant-urls-may-point)); the operator's own
        /// URLs (global relay endpoints, `AS_CALL_SERVICE_URL` …) are never restricted
        allow_private_destinations: bool = |v| v.boolean(false);
    ] [
        => ServicesConfig = ServicesConfig {
            as_call_service_url,
            pns_provisioning_service_url,
            pns_lookup_path,
            relay_timeout: Duration::from_millis(relay_timeout_ms),
            allow_private_destinations,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
