//! Rate limits on protected routes (tenant and admin API), answered with 429, `Retry-After` and the
//! `RateLimit-Limit/Remaining/Reset` headers when spent.
//!
//! Seed 000 limits protected routes to 100 requests per 15 minutes per client IP. Applied literally, a
//! host application that calls the tenant API for all of its tenants from one server shares those 100
//! requests between every tenant, and the busiest tenant starves the rest. So the buckets are:
//!
//! - **no tenant credential** (no token, a malformed or refused token, the admin token): the client
//!   address alone, `RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_SECS`. Failed logins are counted here.
//! - **a tenant credential** (a valid tenant JWT or API key): the seed's per-address limit applied to
//!   each credential separately, i.e. a bucket per (address, credential) with the same
//!   `RATE_LIMIT_MAX`; and on top a budget per credential across every address,
//!   `TENANT_RATE_LIMIT_MAX` per `TENANT_RATE_LIMIT_WINDOW_SECS`. A JWT counts as its tenant, an
//!   API key as itself.
//!
//! A single client with a single credential therefore sees exactly the seed's 100 per 15 minutes; a
//! host application gets that per tenant, one tenant's spent budget leaves the others alone, and a
//! credential used from many addresses is still bounded by its own budget. Addresses are IPv4 or
//! IPv6 /64 ([`key::Client`]); the counters are bounded ([`windows`]). Counters live in memory per
//! instance: behind a load balancer each instance enforces its own share.
//!
//! The internal API (`X-Service-Key`) has its own bucket per client address, [`limit_internal`]:
//! `INTERNAL_RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_SECS`, generous because one service sends for
//! every tenant, but a bound on what a leaked key, or a flood of guesses at one, can do.
//!
//! To know the credential the middleware authenticates the bearer token before the handler does
//! (a signature check for a JWT, one indexed look-up for an API key) and leaves the result in the
//! request for the [`TenantAuth`](crate::web::TenantAuth) extractor, so it is not done twice.

pub mod key;
pub mod windows;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use self::key::{Client, Credential};
use self::windows::{DEFAULT_CAPACITY, Verdict, Windows};
use crate::config::Config;
use crate::state::AppState;
use crate::web::auth::{Preverified, bearer, verify};
use crate::web::client_ip::client_ip;
use crate::web::error::ApiError;

/// Every bucket of one instance.
pub struct RateLimiter {
    /// Per client address, and per (address, tenant credential).
    per_client: Windows<(Client, Option<Credential>)>,
    /// Per tenant credential, whatever the address.
    per_credential: Windows<Credential>,
    /// Per client address on the internal API.
    internal: Windows<Client>,
}

/// The middleware's state: the application and this router's counters.
#[derive(Clone)]
pub struct Limits {
    app: AppState,
    counters: Arc<RateLimiter>,
}

impl Limits {
    pub fn new(app: AppState) -> Self {
        let counters = Arc::new(RateLimiter::new(&app.config));
        Limits { app, counters }
    }
}

/// What one request is told: the tightest of the buckets it was counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub limit: u32,
    pub verdict: Verdict,
}

impl RateLimiter {
    pub fn new(config: &Config) -> Self {
        RateLimiter {
            per_client: Windows::new(
                config.rate_limit.max,
                config.rate_limit.window,
                DEFAULT_CAPACITY,
            ),
            per_credential: Windows::new(
                config.rate_limit.tenant_max,
                config.rate_limit.tenant_window,
                DEFAULT_CAPACITY,
            ),
            internal: Windows::new(
                config.rate_limit.internal_max,
                config.rate_limit.window,
                DEFAULT_CAPACITY,
            ),
        }
    }

    /// Counts one internal-API request from `ip`.
    pub fn check_internal(&self, ip: IpAddr, now_ms: i64) -> Decision {
        Decision {
            limit: self.internal.max(),
            verdict: self.internal.check(Client::from(ip), now_ms),
        }
    }

    /// Counts one request from `ip`, made with `credential` when it carried a valid tenant one.
    pub fn check(&self, ip: IpAddr, credential: Option<&Credential>, now_ms: i64) -> Decision {
        let client = Client::from(ip);
        let here = Decision {
            limit: self.per_client.max(),
            verdict: self.per_client.check((client, credential.cloned()), now_ms),
        };
        let Some(credential) = credential else {
            return here;
        };
        // The per-address bucket first: a client that has spent its own share does not also burn
        // its tenant's budget shared with the tenant's other clients.
        if matches!(here.verdict, Verdict::Limited { .. }) {
            return here;
        }
        let everywhere = Decision {
            limit: self.per_credential.max(),
            verdict: self.per_credential.check(credential.clone(), now_ms),
        };
        match (here.verdict, everywhere.verdict) {
            (_, Verdict::Limited { .. }) => everywhere,
            (Verdict::Allowed { remaining: a, .. }, Verdict::Allowed { remaining: b, .. })
                if b < a =>
            {
                everywhere
            }
            _ => here,
        }
    }
}

/// The client address of `req` (trusted-proxy aware).
fn client_of(state: &AppState, req: &Request) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    client_ip(peer, xff, &state.config.server.trusted_proxies)
}

/// Middleware for the internal API's routers.
pub async fn limit_internal(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let state = &limits.app;
    let ip = client_of(state, &req);
    let decision = limits.counters.check_internal(ip, state.clock.now_ms());
    if let Verdict::Limited { .. } = decision.verdict {
        tracing::warn!(client = %Client::from(ip), "internal API rate limit exceeded");
    }
    answer(decision, req, next).await
}

/// The 429 when `decision` says so, else the handler's answer; the `RateLimit-*` headers on both.
async fn answer(decision: Decision, req: Request, next: Next) -> Response {
    match decision.verdict {
        Verdict::Limited { retry_after_secs } => {
            let mut res = ApiError::too_many_requests(retry_after_secs).into_response();
            set(&mut res, "ratelimit-limit", decision.limit.to_string());
            set(&mut res, "ratelimit-remaining", "0".into());
            set(&mut res, "ratelimit-reset", retry_after_secs.to_string());
            res
        }
        Verdict::Allowed {
            remaining,
            reset_secs,
        } => {
            let mut res = next.run(req).await;
            set(&mut res, "ratelimit-limit", decision.limit.to_string());
            set(&mut res, "ratelimit-remaining", remaining.to_string());
            set(&mut res, "ratelimit-reset", reset_secs.to_string());
            res
        }
    }
}

/// Middleware for protected routers.
pub async fn limit(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let state = &limits.app;
    let ip = client_of(state, &req);
    let (mut parts, body) = req.into_parts();
    let credential = match identify(state, &mut parts).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let req = Request::from_parts(parts, body);
    let decision = limits
        .counters
        .check(ip, credential.as_ref(), state.clock.now_ms());
    if let Verdict::Limited { .. } = decision.verdict {
        match &credential {
            Some(c) => {
                tracing::warn!(client = %Client::from(ip), credential = %c, "rate limit exceeded")
            }
            None => tracing::warn!(client = %Client::from(ip), "rate limit exceeded"),
        }
    }
    answer(decision, req, next).await
}

/// The tenant credential of the request, if it carries a valid one. The outcome is left in the
/// request's extensions for the `TenantAuth` extractor; a refused token is not an error here (the
/// route may not even be a tenant route, e.g. the admin token), only a failure to check it is.
async fn identify(state: &AppState, parts: &mut Parts) -> Result<Option<Credential>, ApiError> {
    let Ok(token) = bearer(parts) else {
        return Ok(None);
    };
    match verify(state, token).await {
        Ok(v) => {
            let credential = Credential::of(&v);
            parts.extensions.insert(Preverified::Valid(v));
            Ok(Some(credential))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            parts.extensions.insert(Preverified::Refused(e.message));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn set(res: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(name, v);
    }
}
