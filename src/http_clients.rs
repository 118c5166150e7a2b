//! The HTTP clients Switchboard calls other services with, one per purpose: each is a connection
//! pool with that purpose's timeouts and redirect rule. Built once at start-up and held in the
//! state (`AppState::clients`), so tests and several apps in one process never share one by
//! accident and a handler's client is visible where it is used.

use std::time::Duration;

use reqwest::Client;
use reqwest::redirect::Policy;

pub struct HttpClients {
    /// Relay deliveries (`events::deliver`). They carry a signature or `X-Service-Key`: a redirect
    /// is a failed delivery (retried like any), never a reason to send them to another address.
    pub relay: Client,
    /// The seed-004 number lookup (`calls::lookup`). It carries `X-Service-Key`: no redirects.
    pub lookup: Client,
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
