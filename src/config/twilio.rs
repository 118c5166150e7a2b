//! Twilio: the account and its credentials, live or the built-in sandbox, webhook signatures, and
//! the sandbox's own knobs.

use std::time::Duration;

use url::Url;

use crate::secret::Secret;

/// Whether Switchboard talks to real Twilio or to its built-in sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioMode {
    Live,
    Sandbox,
}

#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// Live with both credentials, unless `TWILIO_SANDBOX` forces the sandbox.
    pub mode: TwilioMode,
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    pub api_key_sid: Option<String>,
    pub api_key_secret: Option<Secret>,
    pub api_base_url: Url,
    pub validate_signatures: bool,
    /// Pause between the sandbox's asynchronous status callbacks.
    pub sandbox_callback_delay: Duration,
    /// Sandbox media GETs per recording that answer 404 before the media is served.
    pub sandbox_media_not_ready_for: u32,
}

/// One without the other is a half-done set-up, not a request for the sandbox: running the
/// sandbox would accept webhooks signed with its public development token.
const PAIR: &str =
    "the two go together (set both for live Twilio, neither for the built-in sandbox)";

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// Twilio Account SID (`AC…`); with `TWILIO_AUTH_TOKEN`, selects live Twilio. One without
        /// the other stops start-up with an error naming the missing one (it never falls back to
        /// the sandbox)
        twilio_account_sid: Option<String> = |v| match v.text() {
            Some(sid)
                if !(sid.len() == 34
                    && sid.starts_with("AC")
                    && sid[2..].chars().all(|c| c.is_ascii_hexdigit())) =>
            {
                Err(v.fail(sid, "must be AC followed by 32 hexadecimal characters"))
            }
            other => Ok(other.map(str::to_string)),
        };

        /// Twilio Auth Token (also the webhook signing key)
        #[redact(value)]
        twilio_auth_token: Option<Secret> = |v| {
            let token = v.secret();
            match (&twilio_account_sid, &token) {
                (Some(_), None) => Err(v.fail(
                    "",
                    format!("is missing: TWILIO_ACCOUNT_SID is set, and {PAIR}"),
                )),
                (None, Some(_)) => Err(super::input::fail(
                    "TWILIO_ACCOUNT_SID",
                    "",
                    format!("is missing: TWILIO_AUTH_TOKEN is set, and {PAIR}"),
                )),
                _ => Ok(token),
            }
        };

        /// use an API key (`SK…`) for REST calls instead of the Auth Token; with
        /// `TWILIO_API_KEY_SECRET`
        twilio_api_key_sid: Option<String> = |v| match v.text() {
            Some(sid) if !sid.starts_with("SK") => Err(v.fail(sid, "must start with SK")),
            other => Ok(other.map(str::to_string)),
        };

        /// the API key's secret (goes with `TWILIO_API_KEY_SID`)
        #[redact(value)]
        twilio_api_key_secret: Option<Secret> = |v| {
            let secret = v.secret();
            if twilio_api_key_sid.is_some() != secret.is_some() {
                return Err(v.fail("", "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together"));
            }
            Ok(secret)
        };

        /// Twilio REST base URL
        twilio_api_base_url: Url = |v| v.http_url_or("https://api.twilio.com");

        /// `true` uses the built-in sandbox even when credentials are set
        #[default = "`false`"]
        twilio_sandbox: TwilioMode = |v| {
            let forced = v.boolean(false)?;
            let live = !forced && twilio_account_sid.is_some() && twilio_auth_token.is_some();
            // What is in effect: unset without credentials is the sandbox too.
            v.show(!live);
            Ok(if live { TwilioMode::Live } else { TwilioMode::Sandbox })
        };

        /// `false` turns webhook signature checks off (local development only; logged as a warning
        /// at start-up)
        twilio_validate_signatures: bool = |v| v.boolean(true);

        /// pause between the sandbox's asynchronous status callbacks
        sandbox_callback_delay_ms: u64 = |v| v.number(500, 0, 60_000);

        /// sandbox only: how many first downloads of each recording answer 404, imitating Twilio's
        /// brief not-ready window
        sandbox_media_not_ready_for: u32 = |v| v.number(0, 0, 1_000);
    ] [
        => TwilioConfig = TwilioConfig {
            mode: twilio_sandbox,
            account_sid: twilio_account_sid,
            auth_token: twilio_auth_token,
            api_key_sid: twilio_api_key_sid,
            api_key_secret: twilio_api_key_secret,
            api_base_url: twilio_api_base_url,
            validate_signatures: twilio_validate_signatures,
            sandbox_callback_delay: Duration::from_millis(sandbox_callback_delay_ms),
            sandbox_media_not_ready_for,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
