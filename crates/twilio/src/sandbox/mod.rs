//! An in-memory Twilio stand-in that speaks Api v2010's REST dialect.
//!
//! Switchboard runs against it in development and in tests: [`Sandbox::router`] serves the
//! subset of `https://api.twilio.com/2010-04-01/Accounts/{AccountSid}/…` that Switchboard uses,
//! answers with the JSON shapes of Twilio's OpenAPI description (`oai/twilio_api_v2010.json`),
//! and plays the asynchronous side (status callbacks, TwiML fetch, recording callbacks) with
//! `X-Twilio-Signature`-signed requests, [`SandboxConfig::callback_delay`] apart.
//!
//! # Credentials and authentication
//! Every `/2010-04-01/…` request needs HTTP Basic auth, as on Twilio:
//! - user = the configured account SID, password = the auth token; or
//! - user = any API key SID (`SK` + 32 hex), password = the **auth token**. Real Twilio pairs a key
//!   with its own secret; the sandbox has no key store, so it accepts the auth token for any key.
//!
//! Wrong or missing credentials answer 401 with error 20003. Valid credentials with another
//! account's SID in the path answer 404 / 20404 "The requested resource … was not found", which is
//! what Twilio answers when the path account is not one the credentials can reach. Recording media
//! needs the same auth: the sandbox behaves as if "Enforce HTTP Auth on Media URLs" were on.
//!
//! [`SandboxConfig::development`] uses fixed credentials, documented on
//! [`DEV_ACCOUNT_SID`] and [`DEV_AUTH_TOKEN`].
//!
//! # Magic numbers (Twilio's test-credential numbers, TWILIO_FACTS B11)
//! `POST Messages.json`, all HTTP 400:
//!
//! | parameter | number | error |
//! |---|---|---|
//! | From | +15005550001 | 21212 invalid From |
//! | From | +15005550007 | 21606 From not SMS-capable / not owned |
//! | From | +15005550008 | 21611 From's queue is full |
//! | To | +15005550001 | 21211 invalid To |
//! | To | +15005550002 | 21612 To unreachable from this From |
//! | To | +15005550003 | 21408 no permission for the region |
//! | To | +15005550004 | 21610 To has opted out (STOP) |
//! | To | +15005550009 | 21614 To cannot receive SMS |
//!
//! `POST Calls.json` (codes from Twilio's test-credentials page, from memory: unverified):
//! From +15005550001 → 21212; To +15005550001 → 21217, +15005550002 → 21214,
//! +15005550003 → 21215.
//!
//! `POST IncomingPhoneNumbers.json`: PhoneNumber +15005550000 → 21422 (unavailable), as does a
//! number already owned.
//!
//! # Scripted outcomes (sandbox conventions, not Twilio's)
//! Messages are accepted (201) and then play out by their To number:
//!
//! | To | outcome | callbacks posted |
//! |---|---|---|
//! | +15005550030 | `undelivered`, ErrorCode 30003 (unreachable handset) | sent, undelivered |
//! | +15005550034 | `undelivered`, ErrorCode 30004 (blocked) | sent, undelivered |
//! | +15005550037 | `undelivered`, ErrorCode 30007 (carrier filtered) | sent, undelivered |
//! | +15005550050 | `failed`, ErrorCode 30005 (unknown handset) | failed |
//! | anything else | `delivered` | sent, delivered |
//!
//! Calls by their To number: +15005550020 → `busy`, +15005550021 → `no-answer`,
//! +15005550022 → `failed` (never rings); anything else is answered and reported as lasting
//! 5 seconds (the sandbox itself waits one `callback_delay`, not 5 s). `Record=true` makes a
//! 5-second recording.
//!
//! # Number inventory
//! `AvailablePhoneNumbers/{US,CA}/…`: Local `+1{area}5550100`–`0199` (area: `AreaCode`, else
//! [`SandboxConfig::area_code_default`]; those ending in 9 are voice-only), Mobile
//! `+1{area}5550200`–`0299`, TollFree `+18005550100`–`0199` (or another toll-free prefix given as
//! `AreaCode`); owned numbers are left out. `Contains` takes digits, `*` for any digit and
//! letters as keypad digits (ABC→2 … WXYZ→9), matched anywhere in the number; a pattern of up to
//! 7 characters also yields made-up numbers in the area that end with it. Other countries have
//! no inventory (an empty list).
//!
//! Unknown API paths answer 404 / 20404 and a method a path does not take 405 / 20004, in Twilio's
//! error JSON.
//!
//! # Inspection endpoints (sandbox only, no auth)
//! - `GET /sandbox/requests`: every REST request received, oldest first (the newest 10 000 are
//!   kept); `DELETE` clears the log.
//! - `GET /sandbox/state`: messages, calls, numbers, recordings and the webhooks sent.
//! - `POST /sandbox/recordings` (form or JSON `CallSid`, `Duration` in seconds, optional
//!   `Channels` 1|2 and `Source`): creates a completed recording and answers 201
//!   `{"sid": "RE…", "url": "<media URL, no extension>"}`; the call simulator uses it to hand out
//!   a RecordingUrl that really downloads.
//!
//! Recording media: no extension or `.wav` → `audio/x-wav`, PCM 8 kHz 16-bit, exactly the
//! recording's length (a quiet tone); `.mp3` → `audio/mpeg`, silent MPEG-1 Layer III frames of the
//! same length (no encoder here).
//!
//! Resource `uri`s stay relative to the API root, as Twilio's are, because SDKs join them to their
//! own base URL (twilio-python `Page.next_page_url`); [`SandboxConfig::public_base_url`] builds the
//! absolute URLs Twilio gives out (RecordingUrl, `media_url`).

mod auth;
mod available;
mod callbacks;
mod calls;
mod error;
mod inspect;
mod magic;
mod messages;
mod numbers;
mod paging;
mod recordings;

mod state;
mod wav;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use parking_lot::Mutex;
use url::Url;

pub use state::{
    Capabilities, RecordedRequest, SandboxCall, SandboxMessage, SandboxNumber, SandboxRecording,
    SentWebhook,
};

/// The account SID of [`SandboxConfig::development`]: fixed so a developer's `.env`, the demo
/// tenant and the simulator agree without coordination. It is not a real Twilio account.
pub const DEV_ACCOUNT_SID: &str = "AC5a4db0c05a4db0c05a4db0c05a4db0c0";

/// The auth token of [`SandboxConfig::development`]; it also keys the webhook signatures the
/// development sandbox sends. Public on purpose: it guards nothing but a local stand-in.
pub const DEV_AUTH_TOKEN: &str = "5ec12e7de7f00d5ec12e7de7f00d5ec1";

/// How a [`Sandbox`] presents itself and paces its asynchronous side.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The account SID clients authenticate as and put in their paths.
    pub account_sid: String,
    /// The auth token: Basic-auth password and the key of every `X-Twilio-Signature` it sends.
    pub auth_token: String,
    /// Where the sandbox itself is reachable; used for the absolute URLs it hands out.
    pub public_base_url: Url,
    /// Pause between successive status changes (and so callbacks); tests use zero.
    pub callback_delay: Duration,
    /// Area code searched when a `Local.json`/`Mobile.json` search names none.
    pub area_code_default: String,
    /// How many media GETs of each new recording answer 404 before the media is served, to
    /// imitate Twilio's brief "not ready yet" window (TWILIO_FACTS B9). Zero in development.
    pub media_not_ready_for: u32,
}

impl SandboxConfig {
    /// Development settings: [`DEV_ACCOUNT_SID`] / [`DEV_AUTH_TOKEN`], half-second callback pacing
    /// (slow enough to watch, fast enough not to wait on), area code 415, media ready at once.
    pub fn development(public_base_url: Url) -> Self {
        Self {
            account_sid: DEV_ACCOUNT_SID.to_owned(),
            auth_token: DEV_AUTH_TOKEN.to_owned(),
            public_base_url,
            callback_delay: Duration::from_millis(500),
            area_code_default: "415".to_owned(),
            media_not_ready_for: 0,
        }
    }

    /// `public_base_url` joined with an absolute `path`, without doubling the slash.
    pub(crate) fn public_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.public_base_url.as_str().trim_end_matches('/'),
            path
        )
    }

    /// `/2010-04-01/Accounts/{AccountSid}`: the prefix of every resource `uri`.
    pub(crate) fn account_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}", self.account_sid)
    }
}

/// A recording the sandbox can serve: its SID and its media URL (no extension, like Twilio's
/// `RecordingUrl`; add `.wav` or `.mp3` to choose a format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    pub sid: String,
    pub media_url: String,
}

/// The shared insides every handler and background task holds.
pub(crate) struct Inner {
    pub(crate) config: SandboxConfig,
    pub(crate) store: Mutex<state::Store>,
    pub(crate) tasks: callbacks::Tasks,
    pub(crate) http: reqwest::Client,
}

/// The Twilio stand-in. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Creates an empty sandbox. Its webhook client uses the process's shared TLS configuration
    /// ([`crate::tls`]), which installs rustls' ring provider when none is installed yet.
    pub fn new(config: SandboxConfig) -> Self {
        let http = crate::tls::client_builder()
            .expect("the platform's TLS verifier builds")
            // Twilio gives a webhook 15 s in all, connect included (TWILIO_FACTS B2).
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(10))
            // Twilio does not follow redirects for status callbacks.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain reqwest client builds on the shared TLS configuration");
        Self {
            inner: Arc::new(Inner {
                config,
                store: Mutex::new(state::Store::default()),
                tasks: callbacks::Tasks::default(),
                http,
            }),
        }
    }

    /// Every route the sandbox serves; mount it at the root of a server.
    pub fn router(&self) -> Router {
        let acct = "/2010-04-01/Accounts/{account_sid}";
        Router::new()
            .route(
                &format!("{acct}/Messages.json"),
                get(messages::list).post(messages::create),
            )
            .route(&format!("{acct}/Messages/{{file}}"), get(messages::fetch))
            .route(
                &format!("{acct}/Calls.json"),
                get(calls::list).post(calls::create),
            )
            .route(
                &format!("{acct}/Calls/{{file}}"),
                get(calls::fetch).post(calls::modify),
            )
            .route(
                &format!("{acct}/IncomingPhoneNumbers.json"),
                get(numbers::list).post(numbers::create),
            )
            .route(
                &format!("{acct}/IncomingPhoneNumbers/{{file}}"),
                get(numbers::fetch)
                    .post(numbers::update)
                    .delete(numbers::release),
            )
            .route(
                &format!("{acct}/AvailablePhoneNumbers/{{country}}/{{kind}}"),
                get(available::search),
            )
            .route(&format!("{acct}/Recordings.json"), get(recordings::list))
            .route(
                &format!("{acct}/Recordings/{{file}}"),
                get(recordings::fetch),
            )
            .route(
                "/sandbox/requests",
                get(inspect::requests).delete(inspect::clear_requests),
            )
            .route("/sandbox/state", get(inspect::state))
            .route(
                "/sandbox/recordings",
                axum::routing::post(inspect::create_recording),
            )
            .fallback(error::not_found)
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(axum::middleware::from_fn_with_state(
                self.inner.clone(),
                auth::gate,
            ))
            .with_state(self.inner.clone())
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Every REST request received under `/2010-04-01/`, oldest first.
    pub fn received_requests(&self) -> Vec<RecordedRequest> {
        self.inner.store.lock().requests.iter().cloned().collect()
    }

    /// Every webhook the sandbox sent (status callbacks, TwiML fetches), oldest first.
    pub fn sent_webhooks(&self) -> Vec<SentWebhook> {
        self.inner.store.lock().webhooks.iter().cloned().collect()
    }

    pub fn messages(&self) -> Vec<SandboxMessage> {
        self.inner.store.lock().messages.clone()
    }

    pub fn calls(&self) -> Vec<SandboxCall> {
        self.inner.store.lock().calls.clone()
    }

    /// The numbers the account owns (bought and not released, or added by
    /// [`Sandbox::add_owned_number`]).
    pub fn numbers(&self) -> Vec<SandboxNumber> {
        self.inner.store.lock().numbers.clone()
    }

    pub fn recordings(&self) -> Vec<SandboxRecording> {
        self.inner.store.lock().recordings.clone()
    }

    /// Makes the account own `phone_number` (E.164) without a purchase request, e.g. to seed the
    /// demo tenant's number. Returns its `PN…` SID; an already-owned number keeps its SID.
    pub fn add_owned_number(&self, phone_number: &str) -> String {
        let mut store = self.inner.store.lock();
        if let Some(existing) = store.number_by_phone(phone_number) {
            return existing.sid.clone();
        }
        let number = SandboxNumber::new(phone_number);
        let sid = number.sid.clone();
        store.numbers.push(number);
        sid
    }

    /// Creates a completed recording of `duration_secs` for `call_sid` (which need not be a call
    /// the sandbox placed: the simulator records calls it plays itself).
    pub fn create_recording(&self, call_sid: &str, duration_secs: u32) -> RecordingInfo {
        recordings::create(&self.inner, call_sid, duration_secs, 1, "RecordVerb")
    }

    /// Resolves once no status-callback task is pending; tests await it instead of sleeping.
    pub async fn wait_idle(&self) {
        self.inner.tasks.idle().await
    }
}
