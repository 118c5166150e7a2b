//! The HTTP clients Switchboard calls other services with, one per purpose: each is a connection
//! pool with that purpose's timeouts and redirect rule. Built once at start-up and held in the
//! state (`AppState::clients`), so tests and several apps in one process never share one by
//! accident and a handler's client is visible where it is used.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::Client;
use reqwest::redirect::Policy;

pub struct HttpClients {
    /// Relay deliveries (`events::deliver`). They carry a signature or `X-Service-Key`: a redirect
    /// is a failed delivery (retried like any), never a reason to send them to another address.
    pub relay: Client,
    /// The seed-004 number lookup (`calls::lookup`). It carries `X-Service-Key`: no redirects.
    pub lookup: Client,
    /// The lookup's answers, so a burst of calls to one number costs one request.
    pub lookup_answers: AnswerCache,
    /// The AI hand-off provider (`calls::ai`). The configured URL is the endpoint: a redirect is
    /// an answer not acted on. Each request sets its own timeout from the tenant's policy.
    pub ai: Client,
    /// The transcription and analysis APIs (`recordings`). Whisper on a long voicemail can take a
    /// while; the job lease bounds it anyway.
    pub media: Client,
}

impl HttpClients {
    pub fn new() -> Result<Self, reqwest::Error> {
        // Tests and tools reach this without `main`, which installs the provider for the process.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        Ok(HttpClients {
            relay: Client::builder()
                .user_agent(concat!("switchboard-relay/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(5))
                .redirect(Policy::none())
                .build()?,
            lookup: Client::builder()
                .timeout(Duration::from_secs(2))
                .redirect(Policy::none())
                .build()?,
            lookup_answers: AnswerCache::default(),
            ai: Client::builder()
                .redirect(Policy::none())
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .build()?,
            media: Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(180))
                .build()?,
        })
    }
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
    use super::AnswerCache;

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
