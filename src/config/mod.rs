//! Configuration: flags, environment variables and `.env`, each setting declared once.
//!
//! Every setting is declared in the file of its concern (`server.rs`, `db.rs`, `twilio.rs`, …) with
//! its name, its meaning, how its default reads and its parser; see [`declare`] for the form. From
//! those declarations come the flat clap struct [`RawConfig`] (a flag and an environment variable
//! per setting, read as text), the parsing into the typed [`Config`] of per-concern structs (a wrong
//! value stops start-up with one line naming the variable: `configuration error: PORT="abc" is not
//! a number between 1 and 65535`, rather than a clap usage dump that only names the flag),
//! `switchboard config` ([`describe`]) and the table of `docs/configuration.md` ([`markdown_table`]).

#[macro_use]
mod declare;
mod input;

mod auth;
mod db;
mod jobs;
mod log;
mod mail;
mod pacing;
mod prices;
mod rate_limit;
mod recordings;
mod server;
mod services;
mod tenants;
mod twilio;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

pub use auth::AuthConfig;
pub use db::{DEFAULT_SQLITE_WAL_RESET_MB, DbConfig, DbKind};
pub use declare::{Secrecy, Setting};
pub use input::{ConfigError, redact_url};
pub use jobs::JobsConfig;
pub use log::{LogConfig, LogFormat};
pub use mail::SmtpConfig;
pub use pacing::PacingConfig;
pub use prices::{PriceTable, format_price};
pub use rate_limit::RateLimitConfig;
pub use recordings::{
    AnalysisConfig, DEFAULT_ANALYSIS_MODEL, DEFAULT_TRANSCRIPTION_MODEL, RecordingsConfig,
    TranscriptionConfig, TranscriptionProvider,
};
pub use server::ServerConfig;
pub use services::ServicesConfig;
pub use tenants::TenantsConfig;
pub use twilio::{TwilioConfig, TwilioMode};

/// The concerns, in the order of [`RawConfig`], `switchboard config` and the documentation.
macro_rules! concerns {
    ($cb:ident) => {
        $cb! { server db twilio tenants auth services rate_limit jobs pacing prices recordings mail log }
    };
}

macro_rules! raw_config_of {
    ($($m:ident)*) => {
        raw_config_from!([] $($m)*);
    };
}
concerns!(raw_config_of);

macro_rules! all_settings {
    ($($m:ident)*) => {
        /// Every setting, in declaration order.
        pub fn settings() -> impl Iterator<Item = &'static Setting> {
            std::iter::empty()$(.chain($m::SETTINGS))*
        }
    };
}
concerns!(all_settings);

/// The parsed, validated configuration, one struct per concern.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub db: DbConfig,
    pub twilio: TwilioConfig,
    pub tenants: TenantsConfig,
    pub auth: AuthConfig,
    pub services: ServicesConfig,
    pub rate_limit: RateLimitConfig,
    pub jobs: JobsConfig,
    pub pacing: PacingConfig,
    /// Unit prices of the usage cost estimate (`PRICE_*`).
    pub prices: PriceTable,
    pub recordings: RecordingsConfig,
    /// Staff e-mail; `None`: no e-mail is queued.
    pub smtp: Option<SmtpConfig>,
    pub log: LogConfig,
}

/// Each setting's effective value as text (`None`: unset, no value), by environment variable.
type Shown = Vec<(&'static str, Option<String>)>;

impl Config {
    /// Where the URLs tenants choose may point: public destinations other than this deployment's
    /// own hosts, unless `ALLOW_PRIVATE_DESTINATIONS` allows any.
    pub fn destinations(&self) -> crate::domain::destination::Destinations {
        use crate::domain::destination::Destinations;
        if self.services.allow_private_destinations {
            Destinations::anywhere()
        } else {
            Destinations::public_only(self.server.public_hosts())
        }
    }

    pub fn from_raw(raw: &RawConfig) -> Result<Config, ConfigError> {
        Ok(Config::parse(raw)?.0)
    }

    /// The configuration with no settings at all: the embedded default.
    pub fn defaults() -> Config {
        Config::from_raw(&RawConfig::default()).expect("defaults are valid")
    }

    fn parse(raw: &RawConfig) -> Result<(Config, Shown), ConfigError> {
        let mut shown = Vec::new();
        let config = Config {
            server: server::parse(raw, &mut shown)?,
            db: db::parse(raw, &mut shown)?,
            twilio: twilio::parse(raw, &mut shown)?,
            tenants: tenants::parse(raw, &mut shown)?,
            auth: auth::parse(raw, &mut shown)?,
            services: services::parse(raw, &mut shown)?,
            rate_limit: rate_limit::parse(raw, &mut shown)?,
            jobs: jobs::parse(raw, &mut shown)?,
            pacing: pacing::parse(raw, &mut shown)?,
            prices: prices::parse(raw, &mut shown)?,
            recordings: recordings::parse(raw, &mut shown)?,
            smtp: mail::parse(raw, &mut shown)?,
            log: log::parse(raw, &mut shown)?,
        };
        Ok((config, shown))
    }
}

/// Shows which settings are given; secret values are redacted.
impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (s, (_, value)) in settings().zip(self.entries()) {
            if let Some(v) = value {
                m.entry(&s.env, &given(s, v));
            }
        }
        m.finish()
    }
}

/// A given value as it may be shown.
fn given(setting: &Setting, value: &str) -> String {
    match setting.secrecy {
        Secrecy::Plain => value.to_string(),
        Secrecy::Value => "(set, redacted)".to_string(),
        Secrecy::Password => redact_url(value),
    }
}

/// Lines for `switchboard config`: every setting and its effective value (given or default),
/// secrets redacted, then the Twilio mode in effect.
pub fn describe(raw: &RawConfig) -> Result<Vec<(String, String)>, ConfigError> {
    let (config, shown) = Config::parse(raw)?;
    let mut out = Vec::new();
    for (s, (_, value)) in settings().zip(raw.entries()) {
        let effective = shown
            .iter()
            .find(|(env, _)| *env == s.env)
            .and_then(|(_, v)| v.clone());
        let text = match (value.map(str::trim).filter(|v| !v.is_empty()), effective) {
            (Some(v), _) => given(s, v),
            (None, Some(e)) => e,
            (None, None) => match s.default {
                Some(d) => format!("({})", d.replace('`', "")),
                None => "(unset)".to_string(),
            },
        };
        out.push((s.env.to_string(), text));
    }
    out.push((
        "(twilio mode)".into(),
        match config.twilio.mode {
            TwilioMode::Live => "live Twilio".into(),
            TwilioMode::Sandbox => "built-in sandbox".into(),
        },
    ));
    Ok(out)
}

/// How each setting's default reads: its declared wording, else the value it takes when nothing is
/// set (in backticks), else "–".
fn default_texts() -> Vec<String> {
    let (_, shown) = Config::parse(&RawConfig::default()).expect("defaults are valid");
    settings()
        .map(
            |s| match (s.default, shown.iter().find(|(env, _)| *env == s.env)) {
                (Some(d), _) => d.to_string(),
                (None, Some((_, Some(v)))) => format!("`{v}`"),
                (None, _) => "–".to_string(),
            },
        )
        .collect()
}

/// The configuration table of `docs/configuration.md` (`switchboard config --markdown`).
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for (s, default) in settings().zip(default_texts()) {
        out.push_str(&format!("| `{}` | {default} | {} |\n", s.env, s.meaning()));
    }
    out
}

/// The `--help` text of a setting's flag: its meaning and default, without Markdown.
fn help(env: &str) -> &'static str {
    static HELP: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        settings()
            .zip(default_texts())
            .map(|(s, default)| {
                let text = format!("{} [default: {default}]", s.meaning());
                (s.env, text.replace('`', ""))
            })
            .collect()
    });
    HELP.iter()
        .find(|(e, _)| *e == env)
        .map_or("", |(_, h)| h.as_str())
}
