//! Configuration: flags, environment variables and `.env`, one source of truth.
//!
//! Every setting is read as text by clap ([`RawConfig`], flag or environment variable of the same name)
//! and then parsed here into [`Config`], so that a wrong value stops start-up with one line naming the
//! variable (`configuration error: PORT="abc" is not a number between 1 and 65535`) rather than a
//! clap usage dump that only names the flag. Names follow the seeds where they name one.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use crate::domain::{E164, TimeZoneName};
use crate::secret::Secret;

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {var}={value:?} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

macro_rules! raw_config {
    ($( $(#[doc = $doc:literal])* $field:ident : $env:literal ),* $(,)?) => {
        /// Settings as given (flags override environment variables, which override `.env`).
        #[derive(clap::Args, Clone, Default)]
        pub struct RawConfig {
            $( $(#[doc = $doc])* #[arg(long, env = $env, global = true, hide_env_values = true)] pub $field: Option<String>, )*
        }

        impl RawConfig {
            /// (environment variable, value) for every setting, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
                vec![$( ($env, self.$field.as_deref()) ),*]
            }
        }

        /// Shows which settings are given; the values of [`SECRET_VARS`] are redacted.
        impl std::fmt::Debug for RawConfig {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut m = f.debug_map();
                for (var, value) in self.entries() {
                    match value {
                        Some(_) if SECRET_VARS.contains(&var) => m.entry(&var, &"(redacted)"),
                        // These URLs may carry a password.
                        Some(v) if var == "DATABASE_URL" || var == "SMTP_URL" => {
                            m.entry(&var, &redact_url(v))
                        }
                        Some(v) => m.entry(&var, &v),
                        None => continue,
                    };
                }
                m.finish()
            }
        }
    };
}

raw_config! {
    /// HTTP port [default: 3000]
    port: "PORT",
    /// Address to bind [default: 0.0.0.0]
    host: "HOST",
    /// sqlite://FILE or postgres://… [default: sqlite://switchboard.db]
    database_url: "DATABASE_URL",
    /// Largest database connection pool [default: 10]
    db_max_connections: "DB_MAX_CONNECTIONS",
    /// Group-commit writer tasks that batch the webhooks' writes [default: 1 on SQLite, 4 on PostgreSQL]
    db_writers: "DB_WRITERS",
    /// Public base URL Twilio calls (signatures and callback URLs) [default: http://localhost:PORT]
    app_url: "APP_URL",
    /// Comma-separated other public base URLs Twilio may call (e.g. an old domain); webhook signatures are checked against APP_URL and these only [default: none]
    app_url_aliases: "APP_URL_ALIASES",
    /// Twilio Account SID (AC…)
    twilio_account_sid: "TWILIO_ACCOUNT_SID",
    /// Twilio Auth Token (signs webhooks)
    twilio_auth_token: "TWILIO_AUTH_TOKEN",
    /// Twilio API key SID (SK…) for REST calls instead of the Auth Token
    twilio_api_key_sid: "TWILIO_API_KEY_SID",
    /// Twilio API key secret
    twilio_api_key_secret: "TWILIO_API_KEY_SECRET",
    /// Single-business mode: the default tenant's number (E.164)
    twilio_phone_number: "TWILIO_PHONE_NUMBER",
    /// SID (PN…) of TWILIO_PHONE_NUMBER
    twilio_phone_number_sid: "TWILIO_PHONE_NUMBER_SID",
    /// Twilio REST base URL [default: https://api.twilio.com]
    twilio_api_base_url: "TWILIO_API_BASE_URL",
    /// true: use the built-in sandbox even when credentials are set [default: false]
    twilio_sandbox: "TWILIO_SANDBOX",
    /// false turns webhook signature checks off (local development only; logged loudly) [default: true]
    twilio_validate_signatures: "TWILIO_VALIDATE_SIGNATURES",
    /// Single-business mode: forward the default tenant's calls to this phone (E.164)
    user_phone_number: "USER_PHONE_NUMBER",
    /// Single-business mode: the default tenant's hours, as JSON in the API's businessHours shape [default: open around the clock]
    business_hours: "BUSINESS_HOURS",
    /// Seed-004 as-call-service base URL
    as_call_service_url: "AS_CALL_SERVICE_URL",
    /// Seed-004 provisioning service base URL
    pns_provisioning_service_url: "PNS_PROVISIONING_SERVICE_URL",
    /// Path of the provisioning service's number lookup [default: /phone-numbers/lookup]
    pns_lookup_path: "PNS_LOOKUP_PATH",
    /// Shared key for X-Service-Key (internal API and seed-004 services)
    internal_service_key: "INTERNAL_SERVICE_KEY",
    /// HS256 key for tenant JWTs [default: generated once and stored in the database]
    jwt_secret: "JWT_SECRET",
    /// When set, tenant JWTs must carry this `iss` (and tokens Switchboard issues carry it) [default: not checked]
    jwt_issuer: "JWT_ISSUER",
    /// When set, tenant JWTs' `aud` must name this audience (and issued tokens carry it) [default: not checked]
    jwt_audience: "JWT_AUDIENCE",
    /// Operator token for /api/admin (admin API disabled when unset)
    admin_token: "ADMIN_TOKEN",
    /// Time zone of new tenants (IANA name) [default: UTC]
    default_time_zone: "DEFAULT_TIME_ZONE",
    /// human or json [default: human]
    log_format: "LOG_FORMAT",
    /// tracing filter, e.g. info or switchboard=debug (RUST_LOG wins) [default: info]
    log_level: "LOG_LEVEL",
    /// Requests per window per client IP on protected routes [default: 100]
    rate_limit_max: "RATE_LIMIT_MAX",
    /// Rate-limit window in seconds [default: 900]
    rate_limit_window_secs: "RATE_LIMIT_WINDOW_SECS",
    /// Internal API (X-Service-Key) requests per window per client address [default: 6000]
    internal_rate_limit_max: "INTERNAL_RATE_LIMIT_MAX",
    /// Requests per window per tenant credential (JWT: per tenant, API key: per key), across all addresses [default: 1000]
    tenant_rate_limit_max: "TENANT_RATE_LIMIT_MAX",
    /// Per-credential rate-limit window in seconds [default: 900]
    tenant_rate_limit_window_secs: "TENANT_RATE_LIMIT_WINDOW_SECS",
    /// Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed [default: none]
    trusted_proxies: "TRUSTED_PROXIES",
    /// Largest request body in bytes [default: 1048576]
    body_limit_bytes: "BODY_LIMIT_BYTES",
    /// Per-request timeout in seconds, under Twilio's 15 s budget [default: 14]
    request_timeout_secs: "REQUEST_TIMEOUT_SECS",
    /// Jobs run at once per instance [default: 4]
    worker_concurrency: "WORKER_CONCURRENCY",
    /// How often idle workers look for due jobs, ms [default: 500]
    job_poll_interval_ms: "JOB_POLL_INTERVAL_MS",
    /// How long a claimed job stays leased before another worker may take it, s [default: 300]
    job_lease_secs: "JOB_LEASE_SECS",
    /// Pause between the sandbox's asynchronous status callbacks, ms [default: 500]
    sandbox_callback_delay_ms: "SANDBOX_CALLBACK_DELAY_MS",
    /// How long a relay delivery waits for the receiver's answer, ms [default: 10000]
    relay_timeout_ms: "RELAY_TIMEOUT_MS",
    /// SMS segments per second per sending number; 0 turns pacing off [default: 1]
    sms_segments_per_second: "SMS_SEGMENTS_PER_SECOND",
    /// Signing secret (whsec_…) of the Stripe webhook endpoint; POST /api/webhooks/stripe answers 503 when unset
    stripe_webhook_secret: "STRIPE_WEBHOOK_SECRET",
    /// Hours a canceled tenant keeps its number before it is released [default: 72]
    number_release_grace_hours: "NUMBER_RELEASE_GRACE_HOURS",
    /// Usage cost estimate: US dollars per phone number per month [default: 1.00]
    price_number_monthly: "PRICE_NUMBER_MONTHLY",
    /// Usage cost estimate: US dollars per inbound call minute [default: 0.0085]
    price_inbound_per_min: "PRICE_INBOUND_PER_MIN",
    /// Usage cost estimate: US dollars per outbound call minute (forwarded legs too) [default: 0.013]
    price_outbound_per_min: "PRICE_OUTBOUND_PER_MIN",
    /// Usage cost estimate: US dollars per SMS segment, in or out [default: 0.0079]
    price_sms_per_segment: "PRICE_SMS_PER_SEGMENT",
    /// Usage cost estimate: US dollars per recording minute [default: 0.0025]
    price_recording_per_min: "PRICE_RECORDING_PER_MIN",
    /// Usage cost estimate: US dollars per transcription minute [default: 0.015]
    price_transcription_per_min: "PRICE_TRANSCRIPTION_PER_MIN",
    /// Directory where downloaded recordings are kept, one folder per tenant [default: ./recordings]
    recordings_dir: "RECORDINGS_DIR",
    /// Recording transcription: none, twilio (Twilio's own, voicemail only) or openai (an OpenAI-compatible API) [default: none]
    transcription_provider: "TRANSCRIPTION_PROVIDER",
    /// Base URL of the OpenAI-compatible transcription API ({URL}/v1/audio/transcriptions) [default: https://api.openai.com]
    transcription_base_url: "TRANSCRIPTION_BASE_URL",
    /// Bearer key for the transcription API
    transcription_api_key: "TRANSCRIPTION_API_KEY",
    /// Transcription model [default: whisper-1]
    transcription_model: "TRANSCRIPTION_MODEL",
    /// Base URL of an OpenAI-compatible chat-completions API that analyses recordings; unset: built-in rules
    analysis_base_url: "ANALYSIS_BASE_URL",
    /// Bearer key for the analysis API
    analysis_api_key: "ANALYSIS_API_KEY",
    /// Analysis model [default: gpt-4o-mini]
    analysis_model: "ANALYSIS_MODEL",
    /// SMTP server for staff e-mail (smtp://host:25, smtp://user:pass@host:587?tls=required, smtps://host:465); unset: no e-mail
    smtp_url: "SMTP_URL",
    /// Sender of staff e-mail, e.g. "Switchboard <noreply@example.com>" (required with SMTP_URL)
    smtp_from: "SMTP_FROM",
    /// Outbound calls per second per tenant (Twilio's default limit is 1); 0 turns pacing off [default: 1]
    outbound_calls_per_second: "OUTBOUND_CALLS_PER_SECOND",
    /// Built-in sandbox only: how many first downloads of each recording's media answer 404, as Twilio's do briefly [default: 0]
    sandbox_media_not_ready_for: "SANDBOX_MEDIA_NOT_READY_FOR",
    /// How often the in-memory routing cache checks for tenant and staff changes made by other processes, ms; 0 checks on every webhook [default: 1000]
    routing_cache_recheck_ms: "ROUTING_CACHE_RECHECK_MS",
}

/// Names of settings whose values are secrets (redacted by `switchboard config`).
pub const SECRET_VARS: &[&str] = &[
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY_SECRET",
    "INTERNAL_SERVICE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "TRANSCRIPTION_API_KEY",
    "ANALYSIS_API_KEY",
    "JWT_SECRET",
    "ADMIN_TOKEN",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Whether Switchboard talks to real Twilio or to its built-in sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioMode {
    Live,
    Sandbox,
}

/// The parsed, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub host: IpAddr,
    /// May carry the database password.
    pub database_url: Secret,
    pub db_kind: DbKind,
    pub db_max_connections: u32,
    /// `DB_WRITERS`: group-commit writers (SQLite has one write lock, so more than one only queue on it).
    pub db_writers: usize,
    pub app_url: Url,
    /// Whether `APP_URL` was given: then it (and `app_url_aliases`) decide which URL Twilio signed,
    /// never a client's `X-Forwarded-Host`.
    pub app_url_explicit: bool,
    /// `APP_URL_ALIASES`.
    pub app_url_aliases: Vec<Url>,
    pub twilio_mode: TwilioMode,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<Secret>,
    pub twilio_api_key_sid: Option<String>,
    pub twilio_api_key_secret: Option<Secret>,
    pub twilio_phone_number: Option<E164>,
    pub twilio_phone_number_sid: Option<String>,
    pub twilio_api_base_url: Url,
    pub twilio_validate_signatures: bool,
    pub user_phone_number: Option<E164>,
    /// `BUSINESS_HOURS`: the single-business tenant's hours; `None`: open around the clock.
    pub business_hours: Option<crate::domain::hours::BusinessHours>,
    pub as_call_service_url: Option<Url>,
    pub pns_provisioning_service_url: Option<Url>,
    pub internal_service_key: Option<Secret>,
    pub pns_lookup_path: String,
    pub jwt_secret: Option<Secret>,
    /// `JWT_ISSUER` / `JWT_AUDIENCE`: required in tenant JWTs when set.
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub admin_token: Option<Secret>,
    pub default_time_zone: TimeZoneName,
    pub log_format: LogFormat,
    pub log_level: String,
    pub rate_limit_max: u32,
    pub rate_limit_window: Duration,
    /// `INTERNAL_RATE_LIMIT_MAX`, per `rate_limit_window`.
    pub internal_rate_limit_max: u32,
    /// Budget of one tenant credential across every address (`TENANT_RATE_LIMIT_*`).
    pub tenant_rate_limit_max: u32,
    pub tenant_rate_limit_window: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
    pub worker_concurrency: usize,
    pub job_poll_interval: Duration,
    pub job_lease: Duration,
    pub sandbox_callback_delay: Duration,
    pub sms_segments_per_second: f64,
    pub relay_timeout: Duration,
    pub stripe_webhook_secret: Option<Secret>,
    /// How long a canceled tenant keeps its number.
    pub number_release_grace: Duration,
    /// Unit prices of the usage cost estimate (`PRICE_*`).
    pub prices: PriceTable,
    /// Where downloaded recordings are kept (`RECORDINGS_DIR`).
    pub recordings_dir: std::path::PathBuf,
    pub transcription: TranscriptionConfig,
    /// The chat-completions endpoint that analyses recordings; `None`: built-in rules.
    pub analysis: Option<AnalysisConfig>,
    /// Staff e-mail; `None`: no e-mail is queued.
    pub smtp: Option<SmtpConfig>,
    /// Outbound calls per second per tenant; 0 = unpaced.
    pub outbound_calls_per_second: f64,
    /// Sandbox media GETs per recording that answer 404 before the media is served.
    pub sandbox_media_not_ready_for: u32,
    /// `ROUTING_CACHE_RECHECK_MS`: the longest a change made by another process goes unseen.
    pub routing_cache_recheck: Duration,
}

/// Who turns recordings into text (`TRANSCRIPTION_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptionProvider {
    None,
    /// Twilio's own transcription (`<Record transcribe>`), posted to the transcription callback.
    Twilio,
    /// An OpenAI-compatible `/v1/audio/transcriptions` endpoint.
    OpenAi,
}

impl TranscriptionProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            TranscriptionProvider::None => "none",
            TranscriptionProvider::Twilio => "twilio",
            TranscriptionProvider::OpenAi => "openai",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TranscriptionConfig {
    pub provider: TranscriptionProvider,
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
}

#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
}

/// `SMTP_URL` in lettre's connection-URL form and the `SMTP_FROM` mailbox.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

/// The URL may carry the mail account's password.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact_url(&self.url))
            .field("from", &self.from)
            .finish()
    }
}

pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "whisper-1";
pub const DEFAULT_ANALYSIS_MODEL: &str = "gpt-4o-mini";

fn transcription(raw: &RawConfig) -> Result<TranscriptionConfig, ConfigError> {
    let provider = match present(&raw.transcription_provider)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("none" | "off") => TranscriptionProvider::None,
        Some("twilio") => TranscriptionProvider::Twilio,
        Some("openai") => TranscriptionProvider::OpenAi,
        Some(other) => {
            return Err(fail(
                "TRANSCRIPTION_PROVIDER",
                other,
                "must be none, twilio or openai",
            ));
        }
    };
    Ok(TranscriptionConfig {
        provider,
        base_url: http_url("TRANSCRIPTION_BASE_URL", &raw.transcription_base_url)?
            .unwrap_or_else(|| Url::parse("https://api.openai.com").expect("static URL")),
        api_key: secret(&raw.transcription_api_key),
        model: present(&raw.transcription_model)
            .unwrap_or(DEFAULT_TRANSCRIPTION_MODEL)
            .to_string(),
    })
}

fn analysis(raw: &RawConfig) -> Result<Option<AnalysisConfig>, ConfigError> {
    Ok(
        http_url("ANALYSIS_BASE_URL", &raw.analysis_base_url)?.map(|base_url| AnalysisConfig {
            base_url,
            api_key: secret(&raw.analysis_api_key),
            model: present(&raw.analysis_model)
                .unwrap_or(DEFAULT_ANALYSIS_MODEL)
                .to_string(),
        }),
    )
}

/// Checked by hand rather than by lettre, whose TLS set-up needs a crypto provider installed.
fn smtp(raw: &RawConfig) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some(s) = present(&raw.smtp_url) else {
        if let Some(from) = present(&raw.smtp_from) {
            return Err(fail(
                "SMTP_URL",
                "",
                format!("is required with SMTP_FROM={from:?}"),
            ));
        }
        return Ok(None);
    };
    let shown = redact_url(s);
    let url = Url::parse(s).map_err(|e| fail("SMTP_URL", &shown, format!("is not a URL ({e})")))?;
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let scheme_ok = matches!(
        (url.scheme(), tls.as_deref()),
        ("smtp", None | Some("required" | "opportunistic")) | ("smtps", None)
    );
    if !scheme_ok || url.host_str().is_none_or(str::is_empty) {
        return Err(fail(
            "SMTP_URL",
            &shown,
            "must be smtp://host[:port][?tls=required|opportunistic] or smtps://host[:port], with user:password@ for authentication",
        ));
    }
    let from = present(&raw.smtp_from)
        .ok_or_else(|| fail("SMTP_FROM", "", "is required with SMTP_URL"))?;
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(fail(
            "SMTP_FROM",
            from,
            "is not an e-mail address such as \"Switchboard <noreply@example.com>\"",
        ));
    }
    Ok(Some(SmtpConfig {
        url: s.to_string(),
        from: from.to_string(),
    }))
}

/// Unit prices for usage cost estimates, in millionths of a US dollar, so that quantity × price is
/// exact integer arithmetic (a float would drift on sums of many sub-cent prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceTable {
    pub number_monthly: i64,
    pub inbound_per_min: i64,
    pub outbound_per_min: i64,
    pub sms_per_segment: i64,
    pub recording_per_min: i64,
    pub transcription_per_min: i64,
}

impl PriceTable {
    /// Seed 002's table ("Twilio Pricing (as of 2024)"), the default.
    pub const SEED_002: PriceTable = PriceTable {
        number_monthly: 1_000_000,
        inbound_per_min: 8_500,
        outbound_per_min: 13_000,
        sms_per_segment: 7_900,
        recording_per_min: 2_500,
        transcription_per_min: 15_000,
    };
}

/// Millionths of a dollar as a plain decimal ("0.0085", "1"), for `switchboard config`.
pub fn format_price(micros: i64) -> String {
    let s = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// A price in US dollars ("0.0085", "$1.00") as millionths of a dollar: at most six decimal places
/// (finer than any Twilio price), at most $1000.
fn price(var: &'static str, v: &Option<String>, default: i64) -> Result<i64, ConfigError> {
    let Some(s) = present(v) else {
        return Ok(default);
    };
    let bad = || {
        fail(
            var,
            s,
            "is not a price in US dollars such as 0.0085 (at most 6 decimal places, at most 1000)",
        )
    };
    let digits = s.strip_prefix('$').unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty()
        || !all_digits(whole)
        || !all_digits(frac)
        || frac.len() > 6
        || whole.len() > 4
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    let micros = whole * 1_000_000 + frac;
    if micros > 1_000 * 1_000_000 {
        return Err(bad());
    }
    Ok(micros)
}

fn fail(var: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// A present, non-blank value.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    var: &'static str,
    v: &Option<String>,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(s) = present(v) else {
        return Ok(default);
    };
    match s.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(fail(
            var,
            s,
            format!("is not a number between {min} and {max}"),
        )),
    }
}

fn boolean(var: &'static str, v: &Option<String>, default: bool) -> Result<bool, ConfigError> {
    match present(v).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(fail(var, other, "is not true or false")),
    }
}

fn http_url(var: &'static str, v: &Option<String>) -> Result<Option<Url>, ConfigError> {
    let Some(s) = present(v) else { return Ok(None) };
    match Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            Ok(Some(u))
        }
        Ok(_) => Err(fail(
            var,
            s,
            "must be an http:// or https:// URL with a host",
        )),
        Err(e) => Err(fail(var, s, format!("is not a URL ({e})"))),
    }
}

fn phone(var: &'static str, v: &Option<String>) -> Result<Option<E164>, ConfigError> {
    let Some(s) = present(v) else { return Ok(None) };
    E164::parse(var, s)
        .map(Some)
        .map_err(|e| fail(var, s, e.message))
}

fn given(v: &Option<String>) -> Option<String> {
    present(v).map(str::to_string)
}

fn secret(v: &Option<String>) -> Option<Secret> {
    present(v).map(Secret::new)
}

/// Secrets that guard an endpoint must not be guessable; 16 characters is the floor for all of them.
fn long_secret(var: &'static str, v: &Option<String>) -> Result<Option<Secret>, ConfigError> {
    match present(v) {
        Some(s) if s.chars().count() < 16 => {
            Err(fail(var, "(redacted)", "must be at least 16 characters"))
        }
        other => Ok(other.map(Secret::new)),
    }
}

impl Config {
    /// The public base URLs Twilio may call this deployment on: `APP_URL`, then `APP_URL_ALIASES`.
    pub fn public_base_urls(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.app_url).chain(&self.app_url_aliases)
    }

    /// The host names of [`Config::public_base_urls`], lower-case: URLs that tenant-supplied TwiML
    /// may not name, because Twilio's request to them would be signed.
    pub fn public_hosts(&self) -> Vec<String> {
        self.public_base_urls()
            .filter_map(|u| u.host_str())
            .map(str::to_ascii_lowercase)
            .collect()
    }

    pub fn from_raw(raw: &RawConfig) -> Result<Config, ConfigError> {
        let port = number("PORT", &raw.port, 3000u16, 1, 65535)?;
        let host = match present(&raw.host) {
            None => IpAddr::from([0, 0, 0, 0]),
            Some(s) => s
                .parse()
                .map_err(|_| fail("HOST", s, "is not an IP address"))?,
        };
        let database_url = present(&raw.database_url)
            .unwrap_or("sqlite://switchboard.db")
            .to_string();
        let db_kind = if database_url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            DbKind::Postgres
        } else {
            return Err(fail(
                "DATABASE_URL",
                &redact_url(&database_url),
                "must start with sqlite: or postgres://",
            ));
        };
        let given_app_url = http_url("APP_URL", &raw.app_url)?;
        let app_url_explicit = given_app_url.is_some();
        let app_url = given_app_url.unwrap_or_else(|| {
            Url::parse(&format!("http://localhost:{port}")).expect("static URL")
        });
        let mut app_url_aliases = Vec::new();
        for item in present(&raw.app_url_aliases)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let u = http_url("APP_URL_ALIASES", &Some(item.to_string()))?.expect("non-empty");
            app_url_aliases.push(u);
        }
        if !app_url_aliases.is_empty() && !app_url_explicit {
            return Err(fail(
                "APP_URL_ALIASES",
                present(&raw.app_url_aliases).unwrap_or(""),
                "needs APP_URL: aliases are other names of the public URL it sets",
            ));
        }
        let twilio_account_sid = given(&raw.twilio_account_sid);
        if let Some(sid) = &twilio_account_sid
            && !(sid.len() == 34
                && sid.starts_with("AC")
                && sid[2..].chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(fail(
                "TWILIO_ACCOUNT_SID",
                sid,
                "must be AC followed by 32 hexadecimal characters",
            ));
        }
        let twilio_auth_token = secret(&raw.twilio_auth_token);
        // One without the other is a half-done set-up, not a request for the sandbox: running the
        // sandbox would accept webhooks signed with its public development token.
        match (&twilio_account_sid, &twilio_auth_token) {
            (Some(_), None) => {
                return Err(fail(
                    "TWILIO_AUTH_TOKEN",
                    "",
                    "is missing: TWILIO_ACCOUNT_SID is set, and the two go together (set both for live Twilio, neither for the built-in sandbox)",
                ));
            }
            (None, Some(_)) => {
                return Err(fail(
                    "TWILIO_ACCOUNT_SID",
                    "",
                    "is missing: TWILIO_AUTH_TOKEN is set, and the two go together (set both for live Twilio, neither for the built-in sandbox)",
                ));
            }
            _ => {}
        }
        let twilio_api_key_sid = given(&raw.twilio_api_key_sid);
        if let Some(sid) = &twilio_api_key_sid
            && !sid.starts_with("SK")
        {
            return Err(fail("TWILIO_API_KEY_SID", sid, "must start with SK"));
        }
        let twilio_api_key_secret = secret(&raw.twilio_api_key_secret);
        if twilio_api_key_sid.is_some() != twilio_api_key_secret.is_some() {
            return Err(fail(
                "TWILIO_API_KEY_SECRET",
                "",
                "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together",
            ));
        }
        let force_sandbox = boolean("TWILIO_SANDBOX", &raw.twilio_sandbox, false)?;
        let has_credentials = twilio_account_sid.is_some() && twilio_auth_token.is_some();
        let twilio_mode = if force_sandbox || !has_credentials {
            TwilioMode::Sandbox
        } else {
            TwilioMode::Live
        };
        let twilio_api_base_url = http_url("TWILIO_API_BASE_URL", &raw.twilio_api_base_url)?
            .unwrap_or_else(|| Url::parse("https://api.twilio.com").expect("static URL"));
        let default_time_zone = match present(&raw.default_time_zone) {
            None => TimeZoneName::parse("DEFAULT_TIME_ZONE", "UTC").expect("UTC exists"),
            Some(s) => TimeZoneName::parse("DEFAULT_TIME_ZONE", s)
                .map_err(|e| fail("DEFAULT_TIME_ZONE", s, e.message))?,
        };
        let log_format = match present(&raw.log_format)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("human" | "text" | "pretty") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(fail("LOG_FORMAT", other, "must be human or json")),
        };
        let log_level = present(&raw.log_level).unwrap_or("info").to_string();
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(fail(
                "LOG_LEVEL",
                &log_level,
                "is not a tracing filter such as info or switchboard=debug",
            ));
        }
        let mut trusted_proxies = Vec::new();
        if let Some(list) = present(&raw.trusted_proxies) {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let net = item
                    .parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        fail(
                            "TRUSTED_PROXIES",
                            item,
                            "is not an IP address or CIDR range",
                        )
                    })?;
                trusted_proxies.push(net);
            }
        }
        Ok(Config {
            port,
            host,
            database_url: Secret::new(database_url),
            db_kind,
            db_max_connections: number(
                "DB_MAX_CONNECTIONS",
                &raw.db_max_connections,
                10u32,
                1,
                1000,
            )?,
            db_writers: number(
                "DB_WRITERS",
                &raw.db_writers,
                match db_kind {
                    DbKind::Sqlite => 1usize,
                    DbKind::Postgres => 4,
                },
                1,
                64,
            )?,
            app_url,
            app_url_explicit,
            app_url_aliases,
            twilio_mode,
            twilio_account_sid,
            twilio_auth_token,
            twilio_api_key_sid,
            twilio_api_key_secret,
            twilio_phone_number: phone("TWILIO_PHONE_NUMBER", &raw.twilio_phone_number)?,
            twilio_phone_number_sid: given(&raw.twilio_phone_number_sid),
            twilio_api_base_url,
            twilio_validate_signatures: boolean(
                "TWILIO_VALIDATE_SIGNATURES",
                &raw.twilio_validate_signatures,
                true,
            )?,
            user_phone_number: phone("USER_PHONE_NUMBER", &raw.user_phone_number)?,
            business_hours: match present(&raw.business_hours) {
                None => None,
                Some(s) => {
                    let hours: crate::domain::hours::BusinessHours = serde_json::from_str(s)
                        .map_err(|e| {
                            fail(
                                "BUSINESS_HOURS",
                                s,
                                format!("is not business hours JSON such as {{\"monday\": [{{\"open\": \"09:00\", \"close\": \"17:00\"}}]}} ({e})"),
                            )
                        })?;
                    hours
                        .validate("BUSINESS_HOURS")
                        .map_err(|e| fail("BUSINESS_HOURS", s, e.message))?;
                    Some(hours)
                }
            },
            as_call_service_url: http_url("AS_CALL_SERVICE_URL", &raw.as_call_service_url)?,
            pns_provisioning_service_url: http_url(
                "PNS_PROVISIONING_SERVICE_URL",
                &raw.pns_provisioning_service_url,
            )?,
            internal_service_key: long_secret("INTERNAL_SERVICE_KEY", &raw.internal_service_key)?,
            pns_lookup_path: match present(&raw.pns_lookup_path) {
                None => "/phone-numbers/lookup".to_string(),
                Some(p) if p.starts_with('/') && !p.contains(['?', '#']) => {
                    p.trim_end_matches('/').to_string()
                }
                Some(p) => {
                    return Err(fail("PNS_LOOKUP_PATH", p, "must be a path starting with /"));
                }
            },
            jwt_secret: long_secret("JWT_SECRET", &raw.jwt_secret)?,
            jwt_issuer: given(&raw.jwt_issuer),
            jwt_audience: given(&raw.jwt_audience),
            admin_token: long_secret("ADMIN_TOKEN", &raw.admin_token)?,
            default_time_zone,
            log_format,
            log_level,
            rate_limit_max: number("RATE_LIMIT_MAX", &raw.rate_limit_max, 100u32, 1, 10_000_000)?,
            internal_rate_limit_max: number(
                "INTERNAL_RATE_LIMIT_MAX",
                &raw.internal_rate_limit_max,
                6000u32,
                1,
                10_000_000,
            )?,
            rate_limit_window: Duration::from_secs(number(
                "RATE_LIMIT_WINDOW_SECS",
                &raw.rate_limit_window_secs,
                900u64,
                1,
                86_400,
            )?),
            tenant_rate_limit_max: number(
                "TENANT_RATE_LIMIT_MAX",
                &raw.tenant_rate_limit_max,
                1000u32,
                1,
                10_000_000,
            )?,
            tenant_rate_limit_window: Duration::from_secs(number(
                "TENANT_RATE_LIMIT_WINDOW_SECS",
                &raw.tenant_rate_limit_window_secs,
                900u64,
                1,
                86_400,
            )?),
            trusted_proxies,
            body_limit_bytes: number(
                "BODY_LIMIT_BYTES",
                &raw.body_limit_bytes,
                1_048_576usize,
                1024,
                100 * 1_048_576,
            )?,
            request_timeout: Duration::from_secs(number(
                "REQUEST_TIMEOUT_SECS",
                &raw.request_timeout_secs,
                14u64,
                1,
                3600,
            )?),
            worker_concurrency: number(
                "WORKER_CONCURRENCY",
                &raw.worker_concurrency,
                4usize,
                1,
                256,
            )?,
            job_poll_interval: Duration::from_millis(number(
                "JOB_POLL_INTERVAL_MS",
                &raw.job_poll_interval_ms,
                500u64,
                10,
                60_000,
            )?),
            job_lease: Duration::from_secs(number(
                "JOB_LEASE_SECS",
                &raw.job_lease_secs,
                300u64,
                5,
                86_400,
            )?),
            sandbox_callback_delay: Duration::from_millis(number(
                "SANDBOX_CALLBACK_DELAY_MS",
                &raw.sandbox_callback_delay_ms,
                500u64,
                0,
                60_000,
            )?),
            sms_segments_per_second: number(
                "SMS_SEGMENTS_PER_SECOND",
                &raw.sms_segments_per_second,
                1.0f64,
                0.0,
                10_000.0,
            )?,
            relay_timeout: Duration::from_millis(number(
                "RELAY_TIMEOUT_MS",
                &raw.relay_timeout_ms,
                10_000u64,
                100,
                60_000,
            )?),
            stripe_webhook_secret: secret(&raw.stripe_webhook_secret),
            number_release_grace: Duration::from_secs(
                3600 * number(
                    "NUMBER_RELEASE_GRACE_HOURS",
                    &raw.number_release_grace_hours,
                    72u64,
                    0,
                    24 * 365,
                )?,
            ),
            prices: PriceTable {
                number_monthly: price(
                    "PRICE_NUMBER_MONTHLY",
                    &raw.price_number_monthly,
                    PriceTable::SEED_002.number_monthly,
                )?,
                inbound_per_min: price(
                    "PRICE_INBOUND_PER_MIN",
                    &raw.price_inbound_per_min,
                    PriceTable::SEED_002.inbound_per_min,
                )?,
                outbound_per_min: price(
                    "PRICE_OUTBOUND_PER_MIN",
                    &raw.price_outbound_per_min,
                    PriceTable::SEED_002.outbound_per_min,
                )?,
                sms_per_segment: price(
                    "PRICE_SMS_PER_SEGMENT",
                    &raw.price_sms_per_segment,
                    PriceTable::SEED_002.sms_per_segment,
                )?,
                recording_per_min: price(
                    "PRICE_RECORDING_PER_MIN",
                    &raw.price_recording_per_min,
                    PriceTable::SEED_002.recording_per_min,
                )?,
                transcription_per_min: price(
                    "PRICE_TRANSCRIPTION_PER_MIN",
                    &raw.price_transcription_per_min,
                    PriceTable::SEED_002.transcription_per_min,
                )?,
            },
            recordings_dir: std::path::PathBuf::from(
                present(&raw.recordings_dir).unwrap_or("./recordings"),
            ),
            transcription: transcription(raw)?,
            analysis: analysis(raw)?,
            smtp: smtp(raw)?,
            outbound_calls_per_second: number(
                "OUTBOUND_CALLS_PER_SECOND",
                &raw.outbound_calls_per_second,
                1.0f64,
                0.0,
                1_000.0,
            )?,
            sandbox_media_not_ready_for: number(
                "SANDBOX_MEDIA_NOT_READY_FOR",
                &raw.sandbox_media_not_ready_for,
                0u32,
                0,
                1_000,
            )?,
            routing_cache_recheck: Duration::from_millis(number(
                "ROUTING_CACHE_RECHECK_MS",
                &raw.routing_cache_recheck_ms,
                1000u64,
                0,
                60_000,
            )?),
        })
    }

    /// The configuration with no settings at all: the embedded default.
    pub fn defaults() -> Config {
        Config::from_raw(&RawConfig::default()).expect("defaults are valid")
    }
}

/// Hides the password in a database URL.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Lines for `switchboard config`: every setting, its effective value, secrets redacted.
pub fn describe(raw: &RawConfig, cfg: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (var, value) in raw.entries() {
        let shown = match (
            value.map(str::trim).filter(|s| !s.is_empty()),
            SECRET_VARS.contains(&var),
        ) {
            (Some(_), true) => "(set, redacted)".to_string(),
            (Some(v), false) if var == "DATABASE_URL" || var == "SMTP_URL" => redact_url(v),
            (Some(v), false) => v.to_string(),
            (None, _) => effective_default(var, cfg),
        };
        out.push((var.to_string(), shown));
    }
    out.push((
        "(twilio mode)".into(),
        match cfg.twilio_mode {
            TwilioMode::Live => "live Twilio".into(),
            TwilioMode::Sandbox => "built-in sandbox".into(),
        },
    ));
    out
}

fn effective_default(var: &str, cfg: &Config) -> String {
    match var {
        "PORT" => cfg.port.to_string(),
        "HOST" => cfg.host.to_string(),
        "DATABASE_URL" => redact_url(&cfg.database_url),
        "DB_MAX_CONNECTIONS" => cfg.db_max_connections.to_string(),
        "DB_WRITERS" => cfg.db_writers.to_string(),
        "APP_URL" => cfg.app_url.to_string(),
        "TWILIO_API_BASE_URL" => cfg.twilio_api_base_url.to_string(),
        "TWILIO_SANDBOX" => (cfg.twilio_mode == TwilioMode::Sandbox).to_string(),
        "TWILIO_VALIDATE_SIGNATURES" => cfg.twilio_validate_signatures.to_string(),
        "JWT_SECRET" => "(generated, stored in the database)".into(),
        "BUSINESS_HOURS" => "(open around the clock)".into(),
        "JWT_ISSUER" | "JWT_AUDIENCE" => "(not checked)".into(),
        "ADMIN_TOKEN" => "(unset: admin API disabled)".into(),
        "DEFAULT_TIME_ZONE" => cfg.default_time_zone.to_string(),
        "LOG_FORMAT" => format!("{:?}", cfg.log_format).to_lowercase(),
        "LOG_LEVEL" => cfg.log_level.clone(),
        "RATE_LIMIT_MAX" => cfg.rate_limit_max.to_string(),
        "INTERNAL_RATE_LIMIT_MAX" => cfg.internal_rate_limit_max.to_string(),
        "RATE_LIMIT_WINDOW_SECS" => cfg.rate_limit_window.as_secs().to_string(),
        "TENANT_RATE_LIMIT_MAX" => cfg.tenant_rate_limit_max.to_string(),
        "TENANT_RATE_LIMIT_WINDOW_SECS" => cfg.tenant_rate_limit_window.as_secs().to_string(),
        "BODY_LIMIT_BYTES" => cfg.body_limit_bytes.to_string(),
        "REQUEST_TIMEOUT_SECS" => cfg.request_timeout.as_secs().to_string(),
        "WORKER_CONCURRENCY" => cfg.worker_concurrency.to_string(),
        "JOB_POLL_INTERVAL_MS" => cfg.job_poll_interval.as_millis().to_string(),
        "JOB_LEASE_SECS" => cfg.job_lease.as_secs().to_string(),
        "SANDBOX_CALLBACK_DELAY_MS" => cfg.sandbox_callback_delay.as_millis().to_string(),
        "PNS_LOOKUP_PATH" => cfg.pns_lookup_path.clone(),
        "RELAY_TIMEOUT_MS" => cfg.relay_timeout.as_millis().to_string(),
        "SMS_SEGMENTS_PER_SECOND" => cfg.sms_segments_per_second.to_string(),
        "STRIPE_WEBHOOK_SECRET" => "(unset: Stripe webhook disabled)".into(),
        "NUMBER_RELEASE_GRACE_HOURS" => (cfg.number_release_grace.as_secs() / 3600).to_string(),
        "PRICE_NUMBER_MONTHLY" => format_price(cfg.prices.number_monthly),
        "PRICE_INBOUND_PER_MIN" => format_price(cfg.prices.inbound_per_min),
        "PRICE_OUTBOUND_PER_MIN" => format_price(cfg.prices.outbound_per_min),
        "PRICE_SMS_PER_SEGMENT" => format_price(cfg.prices.sms_per_segment),
        "PRICE_RECORDING_PER_MIN" => format_price(cfg.prices.recording_per_min),
        "PRICE_TRANSCRIPTION_PER_MIN" => format_price(cfg.prices.transcription_per_min),
        "RECORDINGS_DIR" => cfg.recordings_dir.display().to_string(),
        "TRANSCRIPTION_PROVIDER" => cfg.transcription.provider.as_str().into(),
        "TRANSCRIPTION_BASE_URL" => cfg.transcription.base_url.to_string(),
        "TRANSCRIPTION_MODEL" => cfg.transcription.model.clone(),
        "ANALYSIS_BASE_URL" => "(unset: built-in rules)".into(),
        "ANALYSIS_MODEL" => DEFAULT_ANALYSIS_MODEL.into(),
        "SMTP_URL" => "(unset: no staff e-mail)".into(),
        "OUTBOUND_CALLS_PER_SECOND" => cfg.outbound_calls_per_second.to_string(),
        "SANDBOX_MEDIA_NOT_READY_FOR" => cfg.sandbox_media_not_ready_for.to_string(),
        "ROUTING_CACHE_RECHECK_MS" => cfg.routing_cache_recheck.as_millis().to_string(),
        _ => "(unset)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(f: impl FnOnce(&mut RawConfig)) -> RawConfig {
        let mut r = RawConfig::default();
        f(&mut r);
        r
    }

    #[test]
    fn debug_output_of_the_configuration_redacts_every_secret() {
        let secrets = [
            "tok-0123456789-twilio",
            "apikeysecret-0123456789",
            "service-key-0123456789",
            "whsec_stripe0123456789",
            "sk-transcribe-0123456789",
            "sk-analyse-0123456789",
            "jwt-secret-0123456789",
            "admin-token-0123456789",
            "smtp-password-0123456789",
        ];
        let r = raw(|r| {
            r.twilio_account_sid = Some("AC0123456789abcdef0123456789abcdef".into());
            r.twilio_auth_token = Some(secrets[0].into());
            r.twilio_api_key_sid = Some("SK0123456789abcdef0123456789abcdef".into());
            r.twilio_api_key_secret = Some(secrets[1].into());
            r.internal_service_key = Some(secrets[2].into());
            r.stripe_webhook_secret = Some(secrets[3].into());
            r.transcription_api_key = Some(secrets[4].into());
            r.analysis_base_url = Some("https://llm.example.com".into());
            r.analysis_api_key = Some(secrets[5].into());
            r.jwt_secret = Some(secrets[6].into());
            r.database_url = Some(format!("postgres://u:{}@db/x", secrets[7]));
            r.admin_token = Some(secrets[7].into());
            r.smtp_url = Some(format!("smtp://user:{}@mail.example.com", secrets[8]));
            r.smtp_from = Some("a@example.com".into());
        });
        let c = Config::from_raw(&r).unwrap();
        for shown in [format!("{c:?}"), format!("{r:?}"), format!("{c:#?}")] {
            for s in secrets {
                assert!(!shown.contains(s), "{s} leaked: {shown}");
            }
        }
        assert!(format!("{r:?}").contains("TWILIO_ACCOUNT_SID"));
        assert_eq!(
            c.twilio_auth_token.as_deref(),
            Some(secrets[0]),
            "still usable"
        );
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = Config::defaults();
        assert_eq!(c.port, 3000);
        assert_eq!(c.db_kind, DbKind::Sqlite);
        assert_eq!(c.twilio_mode, TwilioMode::Sandbox);
        assert_eq!(c.app_url.as_str(), "http://localhost:3000/");
        assert!(c.twilio_validate_signatures);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: Vec<(RawConfig, &str)> = vec![
            (raw(|r| r.port = Some("abc".into())), "PORT"),
            (raw(|r| r.port = Some("70000".into())), "PORT"),
            (raw(|r| r.app_url = Some("not a url".into())), "APP_URL"),
            (raw(|r| r.app_url = Some("ftp://x".into())), "APP_URL"),
            (
                raw(|r| r.default_time_zone = Some("Mars/Base".into())),
                "DEFAULT_TIME_ZONE",
            ),
            (
                raw(|r| r.database_url = Some("mysql://x".into())),
                "DATABASE_URL",
            ),
            (
                raw(|r| r.twilio_phone_number = Some("555".into())),
                "TWILIO_PHONE_NUMBER",
            ),
            (
                raw(|r| r.twilio_account_sid = Some("XY123".into())),
                "TWILIO_ACCOUNT_SID",
            ),
            (
                raw(|r| r.trusted_proxies = Some("10.0.0.0/8,bogus".into())),
                "TRUSTED_PROXIES",
            ),
            (
                raw(|r| r.twilio_sandbox = Some("maybe".into())),
                "TWILIO_SANDBOX",
            ),
            (
                raw(|r| r.rate_limit_max = Some("0".into())),
                "RATE_LIMIT_MAX",
            ),
            (
                raw(|r| r.tenant_rate_limit_max = Some("0".into())),
                "TENANT_RATE_LIMIT_MAX",
            ),
            (
                raw(|r| r.tenant_rate_limit_window_secs = Some("forever".into())),
                "TENANT_RATE_LIMIT_WINDOW_SECS",
            ),
        ];
        for (r, var) in cases {
            let err = Config::from_raw(&r).unwrap_err();
            assert_eq!(err.var, var);
            let line = err.to_string();
            assert!(
                line.starts_with(&format!("configuration error: {var}=")),
                "{line}"
            );
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn credentials_choose_live_unless_sandbox_forced() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        let live = raw(|r| {
            r.twilio_account_sid = Some(sid.into());
            r.twilio_auth_token = Some("tok".into());
        });
        assert_eq!(
            Config::from_raw(&live).unwrap().twilio_mode,
            TwilioMode::Live
        );
        let mut forced = live.clone();
        forced.twilio_sandbox = Some("true".into());
        assert_eq!(
            Config::from_raw(&forced).unwrap().twilio_mode,
            TwilioMode::Sandbox
        );
    }

    #[test]
    fn prices_default_to_seed_002_and_read_dollars_exactly() {
        assert_eq!(Config::defaults().prices, PriceTable::SEED_002);
        let c = Config::from_raw(&raw(|r| {
            r.price_inbound_per_min = Some("0.01".into());
            r.price_number_monthly = Some("$1.15".into());
            r.price_sms_per_segment = Some(".000001".into());
            r.price_recording_per_min = Some("0".into());
        }))
        .unwrap();
        assert_eq!(c.prices.inbound_per_min, 10_000);
        assert_eq!(c.prices.number_monthly, 1_150_000);
        assert_eq!(c.prices.sms_per_segment, 1);
        assert_eq!(c.prices.recording_per_min, 0);
        assert_eq!(c.prices.outbound_per_min, 13_000, "unset keeps the default");
        for bad in ["-1", "0.0000001", "abc", "1,5", "1001", ".", "1.2.3"] {
            let err = Config::from_raw(&raw(|r| r.price_outbound_per_min = Some(bad.into())))
                .unwrap_err();
            assert_eq!(err.var, "PRICE_OUTBOUND_PER_MIN", "{bad}");
        }
        assert_eq!(format_price(8_500), "0.0085");
        assert_eq!(format_price(1_000_000), "1");
        assert_eq!(format_price(13_000), "0.013");
        assert_eq!(format_price(0), "0");
    }

    #[test]
    fn describe_redacts_secrets() {
        let r = raw(|r| {
            r.jwt_secret = Some("a-very-long-secret-value".into());
            r.database_url = Some("postgres://u:pw@localhost/db".into());
        });
        let c = Config::from_raw(&r).unwrap();
        let lines = describe(&r, &c);
        let text = format!("{lines:?}");
        assert!(!text.contains("a-very-long-secret-value"));
        assert!(!text.contains(":pw@"));
        assert!(text.contains("(set, redacted)"));
    }

    #[test]
    fn recording_settings_default_off_and_validate() {
        let c = Config::defaults();
        assert_eq!(c.transcription.provider, TranscriptionProvider::None);
        assert!(c.analysis.is_none() && c.smtp.is_none());
        assert_eq!(c.outbound_calls_per_second, 1.0);
        assert_eq!(c.recordings_dir, std::path::PathBuf::from("./recordings"));
        let ok = Config::from_raw(&raw(|r| {
            r.transcription_provider = Some("OpenAI".into());
            r.analysis_base_url = Some("http://127.0.0.1:8080".into());
            r.smtp_url = Some("smtp://u:p%40ss@mail.example.com:587?tls=required".into());
            r.smtp_from = Some("Switchboard <noreply@example.com>".into());
        }))
        .unwrap();
        assert_eq!(ok.transcription.provider, TranscriptionProvider::OpenAi);
        assert_eq!(ok.transcription.model, DEFAULT_TRANSCRIPTION_MODEL);
        assert_eq!(ok.analysis.unwrap().model, DEFAULT_ANALYSIS_MODEL);
        assert!(ok.smtp.is_some());
        let cases: Vec<(RawConfig, &str)> = vec![
            (
                raw(|r| r.transcription_provider = Some("whisper".into())),
                "TRANSCRIPTION_PROVIDER",
            ),
            (
                raw(|r| r.analysis_base_url = Some("ftp://x".into())),
                "ANALYSIS_BASE_URL",
            ),
            (
                raw(|r| r.smtp_url = Some("smtp://mail.example.com".into())),
                "SMTP_FROM",
            ),
            (
                raw(|r| r.smtp_from = Some("a@example.com".into())),
                "SMTP_URL",
            ),
            (
                raw(|r| {
                    r.smtp_url = Some("http://mail.example.com".into());
                    r.smtp_from = Some("a@example.com".into());
                }),
                "SMTP_URL",
            ),
            (
                raw(|r| {
                    r.smtp_url = Some("smtp://mail.example.com".into());
                    r.smtp_from = Some("not an address".into());
                }),
                "SMTP_FROM",
            ),
            (
                raw(|r| r.outbound_calls_per_second = Some("-1".into())),
                "OUTBOUND_CALLS_PER_SECOND",
            ),
        ];
        for (r, var) in cases {
            assert_eq!(Config::from_raw(&r).unwrap_err().var, var);
        }
        let r = raw(|r| {
            r.smtp_url = Some("smtp://user:hunter2@mail.example.com".into());
            r.smtp_from = Some("a@example.com".into());
        });
        let text = format!("{:?}", describe(&r, &Config::from_raw(&r).unwrap()));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
