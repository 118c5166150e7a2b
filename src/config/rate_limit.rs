//! Rate limits: per client address, per tenant credential, and for the internal API.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_MAX` per `window`, per client address (and credential).
    pub max: u32,
    pub window: Duration,
    /// `INTERNAL_RATE_LIMIT_MAX`, per `window`.
    pub internal_max: u32,
    /// Budget of one tenant credential across every address (`TENANT_RATE_LIMIT_*`).
    pub tenant_max: u32,
    pub tenant_window: Duration,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// requests per window per client IP (IPv6: per /64) on protected routes; with a tenant
        /// credential, per client IP and credential (see [Rate limits](api.md#rate-limits))
        rate_limit_max: u32 = |v| v.number(100, 1, 10_000_000);

        /// rate-limit window (15 minutes)
        rate_limit_window_secs: u64 = |v| v.number(900, 1, 86_400);

        /// requests per window per tenant credential (a JWT counts as its tenant, an API key as
        /// itself), from all addresses together
        tenant_rate_limit_max: u32 = |v| v.number(1000, 1, 10_000_000);

        /// per-credential rate-limit window (15 minutes)
        tenant_rate_limit_window_secs: u64 = |v| v.number(900, 1, 86_400);

        /// internal API (`X-Service-Key`) requests per `RATE_LIMIT_WINDOW_SECS` per client address,
        /// a bucket of its own
        internal_rate_limit_max: u32 = |v| v.number(6000, 1, 10_000_000);
    ] [
        => RateLimitConfig = RateLimitConfig {
            max: rate_limit_max,
            window: Duration::from_secs(rate_limit_window_secs),
            internal_max: internal_rate_limit_max,
            tenant_max: tenant_rate_limit_max,
            tenant_window: Duration::from_secs(tenant_rate_limit_window_secs),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
