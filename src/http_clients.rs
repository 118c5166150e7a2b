//! The HTTP clients Switchboard calls other services with, one per purpose: each is a connection
//! pool with that purpose's timeouts and redirect rule. Built once at start-up and held in the
//! state (`AppState::clients`), so tests and several apps in one process never share one by
//! accident and a handler's client is visible where it is used.
//!
//! The clients that request URLs a tenant chose (`tenant_relay`, `ai`) resolve host names through
//! [`PublicOnly`], which keeps only public addresses: a name that passed the save-time check
//! (`domain::destination`) but resolves to 10.0.0.5, or is re-pointed there later (DNS
//! rebinding), is not connected to. An IP-literal host never reaches a resolver, so their callers
//! check the URL itself first (`Destinations::check_request`). With `ALLOW_PRIVATE_DESTINATIONS`
//! they resolve like the others.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::Client;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

use crate::domain::destination::is_public;

pub struct HttpClients {
    /// Relay deliveries to the operator's endpoints (global ones, the seed-004 preset), wherever
    /// they are. They carry a signature or `X-Service-Key`: a redirect is a failed delivery
    /// (retried like any), never a reason to send them to another address.
    pub relay: Client,
    /// Relay deliveries to a tenant's own endpoints: as `relay`, resolving only to public
    /// addresses.
    pub tenant_relay: Client,
    /// The seed-004 number lookup (`calls::lookup`). It carries `X-Service-Key`: no redirects.
    pub lookup: Client,
    /// The lookup's answers, so a burst of calls to one number costs one request.
    pub lookup_answers: AnswerCache,
    /// The AI hand-off provider (`calls::ai`), the tenant's choice: resolving only to public
    /// addresses. The configured URL is the endpoint: a redirect is an answer not acted on. Each
    /// request sets its own timeout from the tenant's policy.
    pub ai: Client,
    /// The transcription and analysis APIs (`recordings`). Whisper on a long voicemail can take a
    /// while; the job lease bounds it anyway.
    pub media: Client,
}

impl HttpClients {
    /// The clients; `allow_private_destinations` (`ALLOW_PRIVATE_DESTINATIONS`) lets the tenants'
    /// clients resolve to any address.
    pub fn new(allow_private_destinations: bool) -> anyhow::Result<Self> {
        // Every client on the process's one TLS configuration (root certificates parsed once).
        let builder = || switchboard_twilio::tls::client_builder().map_err(anyhow::Error::msg);
        let tenants = |b: reqwest::ClientBuilder| {
            if allow_private_destinations {
                b
            } else {
                b.dns_resolver(PublicOnly)
            }
        };
        let relay = || -> anyhow::Result<reqwest::ClientBuilder> {
            Ok(builder()?
                .user_agent(concat!("switchboard-relay/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .redirect(Policy::none()))
        };
        Ok(HttpClients {
            relay: relay()?.build()?,
            tenant_relay: tenants(relay()?).build()?,
            lookup: builder()?
                .timeout(Duration::from_secs(2))
                .redirect(Policy::none())
                .build()?,
            lookup_answers: AnswerCache::default(),
            ai: tenants(
                builder()?
                    .redirect(Policy::none())
                    .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION"))),
            )
            .build()?,
            media: builder()?
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(180))
                .build()?,
        })
    }
}

/// A DNS resolver that answers only the public addresses of a name (the system resolver's answer,
/// through tokio, with every loopback, private, link-local … address dropped), and fails with
/// [`RefusedDestination`] when none is left, so the request is never sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

/// Why a request to a tenant's URL was not sent: its host resolves only to non-public addresses.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RefusedDestination(pub String);

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(RefusedDestination(format!(
                    "refused destination: {host} resolves only to private addresses"
                ))
                .into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The [`RefusedDestination`] behind a failed request, if that is why it failed (reqwest's own
/// message only says the request could not be sent).
pub fn refused_destination(e: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<RefusedDestination>() {
            return Some(r.0.clone());
        }
        cause = c.source();
    }
    None
}

/// Answers of an outgoing lookup by key, each kept for a while. Ages are measured on the app
/// clock (milliseconds), so a test moves them with the manual clock.
#[derive(Default)]
pub struct AnswerCache {
    entries: Mutex<HashMap<String, (i64, Option<String>)>>,
}

impl AnswerCache {
    /// Past this many entries, an insert first drops the expired ones.
    const TIDY_ABOVE: usize = 10_000;

    /// The answer stored for `key` at most `max_age_ms` before `now_ms` (`Some(None)`: a cached
    /// "unknown"); `None` when there is none.
    pub fn get(&self, key: &str, now_ms: i64, max_age_ms: i64) -> Option<Option<String>> {
        let entries = self.entries.lock();
        let (at, answer) = entries.get(key)?;
        (now_ms - at < max_age_ms && now_ms >= *at).then(|| answer.clone())
    }

    pub fn put(&self, key: String, now_ms: i64, max_age_ms: i64, answer: Option<String>) {
        let mut entries = self.entries.lock();
        if entries.len() > Self::TIDY_ABOVE {
            entries.retain(|_, (at, _)| now_ms - *at < max_age_ms);
        }
        entries.insert(key, (now_ms, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::{AnswerCache, HttpClients, PublicOnly, refused_destination};
    use reqwest::dns::Resolve;

    // Both use only /etc/hosts: `localhost` is 127.0.0.1 and ::1 on every machine.
    #[tokio::test]
    async fn the_filtering_resolver_refuses_a_name_with_only_private_addresses() {
        let err = match PublicOnly.resolve("localhost".parse().unwrap()).await {
            Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            err,
            "refused destination: localhost resolves only to private addresses"
        );
    }

    #[tokio::test]
    async fn a_tenant_request_to_such_a_name_fails_saying_why() {
        // A port nothing listens on: bound, then let go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://localhost:{port}/hook");
        let clients = HttpClients::new(false).unwrap();
        for client in [&clients.tenant_relay, &clients.ai] {
            let err = client.post(&url).send().await.unwrap_err();
            assert_eq!(
                refused_destination(&err).as_deref(),
                Some("refused destination: localhost resolves only to private addresses"),
                "{err:?}"
            );
        }
        // The operator's client, and the tenants' with private destinations allowed, resolve it
        // (then find nothing listening: a connection error, not a refusal).
        let open = HttpClients::new(true).unwrap();
        for client in [&clients.relay, &open.tenant_relay, &open.ai] {
            let err = client.post(&url).send().await.unwrap_err();
            assert_eq!(refused_destination(&err), None, "{err:?}");
        }
    }

    #[test]
    fn answers_expire_on_the_given_clock() {
        let c = AnswerCache::default();
        assert_eq!(c.get("n", 0, 60_000), None);
        c.put("n".into(), 1_000, 60_000, Some("t1".into()));
        c.put("u".into(), 1_000, 60_000, None);
        assert_eq!(c.get("n", 60_999, 60_000), Some(Some("t1".into())));
        assert_eq!(
            c.get("u", 30_000, 60_000),
            Some(None),
            "unknown is cached too"
        );
        assert_eq!(
            c.get("n", 61_000, 60_000),
            None,
            "a minute later it is asked again"
        );
        assert_eq!(
            c.get("n", 999, 60_000),
            None,
            "a clock set back does not revive it"
        );
    }
}
