//! Authentication: the tenant JWT key and claims, the operator token, the shared service key, and
//! the Stripe webhook's signing secret. Every value here is a secret.

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub jwt_secret: Option<Secret>,
    /// `JWT_ISSUER` / `JWT_AUDIENCE`: required in tenant JWTs when set.
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub admin_token: Option<Secret>,
    pub internal_service_key: Option<Secret>,
    pub stripe_webhook_secret: Option<Secret>,
    /// How long a console sign-in link stays usable (it is single-use as well).
    pub console_link_ttl: std::time::Duration,
    /// How long a console session lasts from sign-in.
    pub console_session_ttl: std::time::Duration,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// HS256 key for tenant JWTs; when unset, a random one is generated once and stored in the
        /// database, so every instance and the CLI agree
        #[default = "generated, stored in the database"]
        #[redact(value)]
        jwt_secret: Option<Secret> = |v| v.long_secret();

        /// when set, tenant JWTs must carry this `iss` (tokens Switchboard issues carry it)
        #[default = "not checked"]
        jwt_issuer: Option<String> = |v| Ok(v.given());

        /// when set, tenant JWTs' `aud` (a string or a list) must name this audience (issued tokens
        /// carry it)
        #[default = "not checked"]
        jwt_audience: Option<String> = |v| Ok(v.given());

        /// operator token for `/api/admin` (at least 16 characters); the admin API answers 403 when
        /// unset
        #[default = "admin API disabled"]
        #[redact(value)]
        admin_token: Option<Secret> = |v| v.long_secret();

        /// shared `X-Service-Key` for the internal API and seed-004 services; at least 16
        /// characters
        #[redact(value)]
        internal_service_key: Option<Secret> = |v| v.long_secret();

        /// signing secret (`whsec_…`) of the Stripe webhook endpoint; `POST /api/webhooks/stripe`
        /// answers 503 when unset
        #[default = "Stripe webhook disabled"]
        #[redact(value)]
        stripe_webhook_secret: Option<Secret> = |v| Ok(v.secret());

        /// seconds a console sign-in link (`POST /api/admin/tenants/{id}/console-link`) stays
        /// usable; each link signs in once
        console_link_ttl_secs: u64 = |v| v.number(900, 30, 86_400);

        /// seconds a console session lasts from sign-in
        console_session_ttl_secs: u64 = |v| v.number(43_200, 300, 2_592_000);
    ] [
        => AuthConfig = AuthConfig {
            jwt_secret,
            jwt_issuer,
            jwt_audience,
            admin_token,
            internal_service_key,
            stripe_webhook_secret,
            console_link_ttl: std::time::Duration::from_secs(console_link_ttl_secs),
            console_session_ttl: std::time::Duration::from_secs(console_session_ttl_secs),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
