//! The machinery that turns each setting's one declaration into everything else.
//!
//! A concern's file (`server.rs`, `twilio.rs`, …) writes its settings once, inside its `declare!`
//! macro, as entries of this form:
//!
//! ```text
//! /// What it means (the configuration table's text and the flag's help).
//! #[default = "shown default"]   // optional: when the default is not just a value, say how it reads
//! #[redact(value)]               // optional: `value` (a secret) or `password` (a URL that may carry one)
//! raw_field: Type = |v| parse expression returning Result<Type, ConfigError>;
//! ```
//!
//! The field name is the flag (`--raw-field`) and, in upper case, the environment variable
//! (`RAW_FIELD`). `v` is an [`Input`](super::input::Input): the given text and the parsers
//! (`v.number(default, min, max)`, `v.boolean(default)`, `v.http_url()`, …), which also record the
//! effective value that `switchboard config` and the documentation show. An entry sees the settings
//! declared before it in its concern as local variables of their raw names (the default `APP_URL`
//! uses `port`).
//!
//! `declare!` hands the entries to a macro: [`settings!`] in the concern's own file generates its
//! `SETTINGS` table and `parse` function; `raw_config!` in `mod.rs` collects every concern's entries
//! into the one flat clap struct [`RawConfig`](super::RawConfig).

/// How a setting's given value may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// As given.
    Plain,
    /// Never: only whether it is set.
    Value,
    /// A URL shown with its password replaced by `****`.
    Password,
}

/// One setting as people see it.
#[derive(Debug)]
pub struct Setting {
    /// The environment variable (the flag is its lower-case, dashed form).
    pub env: &'static str,
    /// The field of [`RawConfig`](super::RawConfig), as written.
    pub field: &'static str,
    /// The lines of its doc comment; [`Setting::meaning`] joins them.
    pub doc: &'static [&'static str],
    /// How the default reads when it is not simply the value the parser falls back to.
    pub default: Option<&'static str>,
    pub secrecy: Secrecy,
}

impl Setting {
    /// The declaration's doc comment as one line of Markdown.
    pub fn meaning(&self) -> String {
        let words: Vec<&str> = self
            .doc
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        words.join(" ")
    }
}

/// `RAW_FIELD` from `raw_field`, at compile time (ASCII only).
pub const fn upper<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i].to_ascii_uppercase();
        i += 1;
    }
    out
}

/// The environment variable of a [`RawConfig`](super::RawConfig) field, as a `&'static str`.
macro_rules! env_name {
    ($raw:ident) => {{
        const BYTES: [u8; stringify!($raw).len()] =
            $crate::config::declare::upper(stringify!($raw));
        const NAME: &str = match std::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("setting names are ASCII"),
        };
        NAME
    }};
}

/// `Some(x)` for a present optional macro argument, `None` for an absent one.
macro_rules! optional {
    () => {
        None
    };
    ($x:expr) => {
        Some($x)
    };
}

/// The [`Secrecy`] named by `#[redact(…)]`.
macro_rules! secrecy {
    () => {
        $crate::config::declare::Secrecy::Plain
    };
    (value) => {
        $crate::config::declare::Secrecy::Value
    };
    (password) => {
        $crate::config::declare::Secrecy::Password
    };
}

/// One concern's `SETTINGS` table and `parse` function, from its entries (see the module header).
/// The second bracket, `[=> Type = build]`, names what `parse` returns and builds it from the
/// parsed locals (inside `declare!` too, so that it sees them).
macro_rules! settings {
    (
        [$(
            $(#[doc = $doc:literal])*
            $(#[default = $default:literal])?
            $(#[redact($red:ident)])?
            $raw:ident : $ty:ty = |$v:ident| $parse:expr;
        )*]
        [=> $out:ty = $build:expr]
    ) => {
        /// This concern's settings, in declaration order.
        pub(super) const SETTINGS: &[$crate::config::declare::Setting] = &[$(
            $crate::config::declare::Setting {
                env: env_name!($raw),
                field: stringify!($raw),
                doc: &[$($doc),*],
                default: optional!($($default)?),
                secrecy: secrecy!($($red)?),
            }
        ),*];

        /// Parses this concern's settings in declaration order; `shown` receives each one's
        /// effective value as text (`None`: unset, no value).
        pub(super) fn parse(
            raw: &$crate::config::RawConfig,
            shown: &mut Vec<(&'static str, Option<String>)>,
        ) -> Result<$out, $crate::config::ConfigError> {
            $(
                let $v = $crate::config::input::Input::new(env_name!($raw), raw.$raw.as_deref());
                // In a closure of its own, so that `return` and `?` leave only this entry.
                #[allow(clippy::redundant_closure_call)]
                let $raw: $ty = (|| -> Result<$ty, $crate::config::ConfigError> { $parse })()?;
                shown.push(($v.var, $v.take_shown()));
            )*
            Ok($build)
        }
    };
}

/// The flat [`RawConfig`](super::RawConfig) clap struct from every concern's entries.
macro_rules! raw_config {
    ($(
        $(#[doc = $doc:literal])*
        $(#[default = $default:literal])?
        $(#[redact($red:ident)])?
        $raw:ident : $ty:ty = |$v:ident| $parse:expr;
    )*) => {
        /// Settings as given: a flag wins over the environment variable of the same name, which wins
        /// over `.env`. Every field is declared in a concern's file (see [`declare`]).
        #[derive(clap::Args, Clone, Default)]
        pub struct RawConfig {
            $(
                #[arg(
                    long,
                    env = env_name!($raw),
                    global = true,
                    hide_env_values = true,
                    help = help(env_name!($raw)),
                )]
                pub $raw: Option<String>,
            )*
        }

        impl RawConfig {
            /// (environment variable, value) for every setting, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
                vec![$( (env_name!($raw), self.$raw.as_deref()) ),*]
            }
        }
    };
}

/// Collects the entries of the concern modules named, in order, and hands them to `raw_config!`.
macro_rules! raw_config_from {
    ([$($new:tt)*] [$($build:tt)*] @merge [$($acc:tt)*] $($rest:ident)*) => {
        raw_config_from!([$($acc)* $($new)*] $($rest)*);
    };
    ([$($acc:tt)*]) => {
        raw_config! { $($acc)* }
    };
    ([$($acc:tt)*] $m:ident $($rest:ident)*) => {
        $m::declare!(raw_config_from!(@merge [$($acc)*] $($rest)*));
    };
}
