//! Switchboard's link to Twilio: live Twilio, or the built-in sandbox mounted on this server.
//!
//! With no credentials (or `TWILIO_SANDBOX=true`) the sandbox serves Twilio's REST paths under
//! [`SANDBOX_PREFIX`] on Switchboard's own port, the REST client points there, and webhooks are signed
//! and checked with the sandbox's auth token — so the whole product runs with no account and no
//! network. When `TWILIO_SANDBOX=true` and credentials are set, the sandbox adopts those credentials,
//! so scripts outside can sign webhooks with the token they already know.

use switchboard_twilio::rest::{TwilioAuth, TwilioClient, TwilioClientConfig};
use switchboard_twilio::sandbox::{DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, Sandbox, SandboxConfig};
use url::Url;

use crate::config::{Config, TwilioMode};

/// Where the embedded sandbox is mounted.
pub const SANDBOX_PREFIX: &str = "/twilio-sandbox";

#[derive(Clone)]
pub struct TwilioContext {
    pub mode: TwilioMode,
    pub account_sid: String,
    /// Signs and verifies webhooks (always the account's Auth Token, even with an API key for REST).
    pub auth_token: String,
    pub client: TwilioClient,
    /// The embedded sandbox, in sandbox mode.
    pub sandbox: Option<Sandbox>,
}

impl std::fmt::Debug for TwilioContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioContext")
            .field("mode", &self.mode)
            .field("account_sid", &self.account_sid)
            .field("client", &self.client)
            .field("sandbox", &self.sandbox.is_some())
            .finish_non_exhaustive()
    }
}

impl TwilioContext {
    pub fn from_config(config: &Config) -> anyhow::Result<TwilioContext> {
        match config.twilio.mode {
            TwilioMode::Live => {
                let account_sid = config.twilio.account_sid.clone().unwrap_or_default();
                let auth_token = config
                    .twilio
                    .auth_token
                    .as_ref()
                    .map(|t| t.expose().to_string())
                    .unwrap_or_default();
                let auth = match (&config.twilio.api_key_sid, &config.twilio.api_key_secret) {
                    (Some(sid), Some(secret)) => TwilioAuth::ApiKey {
                        sid: sid.clone(),
                        secret: secret.expose().to_string(),
                    },
                    _ => TwilioAuth::AuthToken(auth_token.clone()),
                };
                let mut cc = TwilioClientConfig::new(account_sid.clone(), auth);
                cc.base_url = config.twilio.api_base_url.clone();
                Ok(TwilioContext {
                    mode: TwilioMode::Live,
                    account_sid,
                    auth_token,
                    client: TwilioClient::new(cc)?,
                    sandbox: None,
                })
            }
            TwilioMode::Sandbox => {
                let account_sid = config
                    .twilio
                    .account_sid
                    .clone()
                    .unwrap_or_else(|| DEV_ACCOUNT_SID.to_string());
                let auth_token = config
                    .twilio
                    .auth_token
                    .as_ref()
                    .map(|t| t.expose().to_string())
                    .unwrap_or_else(|| DEV_AUTH_TOKEN.to_string());
                let base = sandbox_base(&config.server.app_url);
                let mut sc = SandboxConfig::development(base.clone());
                sc.account_sid = account_sid.clone();
                sc.auth_token = auth_token.clone();
                sc.callback_delay = config.twilio.sandbox_callback_delay;
                sc.media_not_ready_for = config.twilio.sandbox_media_not_ready_for;
                let sandbox = Sandbox::new(sc);
                let mut cc = TwilioClientConfig::new(
                    account_sid.clone(),
                    TwilioAuth::AuthToken(auth_token.clone()),
                );
                cc.base_url = base;
                Ok(TwilioContext {
                    mode: TwilioMode::Sandbox,
                    account_sid,
                    auth_token,
                    client: TwilioClient::new(cc)?,
                    sandbox: Some(sandbox),
                })
            }
        }
    }
}

/// `APP_URL` + [`SANDBOX_PREFIX`].
pub fn sandbox_base(app_url: &Url) -> Url {
    let s = format!(
        "{}{}",
        app_url.as_str().trim_end_matches('/'),
        SANDBOX_PREFIX
    );
    Url::parse(&s).unwrap_or_else(|_| app_url.clone())
}
