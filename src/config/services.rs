//! The seed-004 services Switchboard talks to: the as-call-service that receives relayed events and
//! the provisioning service that finds a number's tenant.

use std::time::Duration;

use url::Url;

#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub as_call_service_url: Option<Url>,
    pub pns_provisioning_service_url: Option<Url>,
    pub pns_lookup_path: String,
    /// How long a relay delivery waits for the receiver's answer.
    pub relay_timeout: Duration,
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
    ] [
        => ServicesConfig = ServicesConfig {
            as_call_service_url,
            pns_provisioning_service_url,
            pns_lookup_path,
            relay_timeout: Duration::from_millis(relay_timeout_ms),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
