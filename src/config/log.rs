//! Logging: the format of log lines and which of them are written.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter (`RUST_LOG` wins over it).
    pub level: String,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// `human` or `json` (one object per line); human logs are coloured only on a terminal and
        /// without `NO_COLOR`
        log_format: LogFormat = |v| {
            let format = match v.text().map(str::to_ascii_lowercase).as_deref() {
                None | Some("human" | "text" | "pretty") => LogFormat::Human,
                Some("json") => LogFormat::Json,
                Some(other) => return Err(v.fail(other, "must be human or json")),
            };
            v.show(format!("{format:?}").to_lowercase());
            Ok(format)
        };

        /// tracing filter such as `info` or `switchboard=debug`; `RUST_LOG` wins
        log_level: String = |v| {
            let level = v.text_or("info");
            if tracing_subscriber::EnvFilter::try_new(&level).is_err() {
                return Err(v.fail(&level, "is not a tracing filter such as info or switchboard=debug"));
            }
            Ok(level)
        };
    ] [
        => LogConfig = LogConfig {
            format: log_format,
            level: log_level,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
