//! A configured secret (auth token, service key, signing secret): usable as a `&str` where it is
//! needed, and never shown by `Debug`, so a configuration dumped to a log or a panic message does not
//! leak it.

use std::fmt;
use std::ops::Deref;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it (a signature, an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "Secret(redacted)");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(redacted))");
        assert_eq!(s.expose(), "hunter2-hunter2-hunter2");
        assert_eq!(s.len(), 23, "usable as a str");
    }
}
