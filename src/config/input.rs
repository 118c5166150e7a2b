//! One setting's given text and the parsers that read it: each names the variable in its error and
//! records the effective value for `switchboard config` and the configuration table.

use std::cell::RefCell;
use std::fmt::Display;
use std::str::FromStr;

use url::Url;

use crate::domain::E164;
use crate::secret::Secret;

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {var}={value:?} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

/// The error of variable `var` with `value`.
pub fn fail(var: &'static str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// A setting's text as given, blank counting as unset.
pub struct Input<'a> {
    /// The environment variable.
    pub var: &'static str,
    text: Option<&'a str>,
    shown: RefCell<Option<String>>,
}

impl<'a> Input<'a> {
    pub fn new(var: &'static str, given: Option<&'a str>) -> Self {
        Input {
            var,
            text: given.map(str::trim).filter(|s| !s.is_empty()),
            shown: RefCell::new(None),
        }
    }

    /// The present, non-blank, trimmed value.
    pub fn text(&self) -> Option<&'a str> {
        self.text
    }

    /// This variable's error with `value`.
    pub fn fail(&self, value: &str, reason: impl Into<String>) -> ConfigError {
        fail(self.var, value, reason)
    }

    /// Records `value` as the effective value shown to people.
    pub fn show(&self, value: impl Display) {
        *self.shown.borrow_mut() = Some(value.to_string());
    }

    /// The effective value recorded by [`Input::show`] or a parser.
    pub fn take_shown(&self) -> Option<String> {
        self.shown.borrow_mut().take()
    }

    /// A number in `min..=max`, `default` when unset.
    pub fn number<T: FromStr + PartialOrd + Display + Copy>(
        &self,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let n = match self.text {
            None => default,
            Some(s) => match s.parse::<T>() {
                Ok(n) if n >= min && n <= max => n,
                _ => {
                    return Err(self.fail(s, format!("is not a number between {min} and {max}")));
                }
            },
        };
        self.show(n);
        Ok(n)
    }

    /// true/false (also 1/0, yes/no, on/off), `default` when unset.
    pub fn boolean(&self, default: bool) -> Result<bool, ConfigError> {
        let b = match self.text.map(str::to_ascii_lowercase).as_deref() {
            None => default,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => return Err(self.fail(other, "is not true or false")),
        };
        self.show(b);
        Ok(b)
    }

    /// The text as given, `default` when unset.
    pub fn text_or(&self, default: &str) -> String {
        let s = self.text.unwrap_or(default).to_string();
        self.show(&s);
        s
    }

    /// The text as given, if any.
    pub fn given(&self) -> Option<String> {
        self.text.map(str::to_string)
    }

    /// The value as a [`Secret`], if any (never shown).
    pub fn secret(&self) -> Option<Secret> {
        self.text.map(Secret::new)
    }

    /// A secret that guards an endpoint: it must not be guessable, so 16 characters at least.
    pub fn long_secret(&self) -> Result<Option<Secret>, ConfigError> {
        match self.text {
            Some(s) if s.chars().count() < 16 => {
                Err(self.fail("(redacted)", "must be at least 16 characters"))
            }
            other => Ok(other.map(Secret::new)),
        }
    }

    /// An http:// or https:// URL with a host, if given.
    pub fn http_url(&self) -> Result<Option<Url>, ConfigError> {
        let Some(s) = self.text else { return Ok(None) };
        let u = parse_http_url(self.var, s)?;
        self.show(&u);
        Ok(Some(u))
    }

    /// An http:// or https:// URL with a host, `default` when unset (shown as written).
    pub fn http_url_or(&self, default: &'static str) -> Result<Url, ConfigError> {
        match self.http_url()? {
            Some(u) => Ok(u),
            None => {
                self.show(default);
                Ok(Url::parse(default).expect("static URL"))
            }
        }
    }

    /// Comma-separated items, blanks skipped.
    pub fn list(&self) -> impl Iterator<Item = &'a str> {
        self.text
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A phone number in E.164, if given.
    pub fn phone(&self) -> Result<Option<E164>, ConfigError> {
        let Some(s) = self.text else { return Ok(None) };
        E164::parse(self.var, s)
            .map(Some)
            .map_err(|e| self.fail(s, e.message))
    }
}

/// An http:// or https:// URL with a host; errors name `var`.
pub fn parse_http_url(var: &'static str, s: &str) -> Result<Url, ConfigError> {
    match Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(u),
        Ok(_) => Err(fail(
            var,
            s,
            "must be an http:// or https:// URL with a host",
        )),
        Err(e) => Err(fail(var, s, format!("is not a URL ({e})"))),
    }
}

/// Hides the password in a URL (a database's or a mail server's).
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
