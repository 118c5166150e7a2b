//! Time source. Production reads the system clock; tests use a manual clock they advance, so backoff,
//! lease expiry and token expiry are tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock starting at `start_ms` (Unix epoch milliseconds).
    pub fn manual(start_ms: i64) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start_ms)))
    }

    /// Now, in Unix epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => jiff::Timestamp::now().as_millisecond(),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }

    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Moves a manual clock forward; a no-op on the system clock.
    pub fn advance_ms(&self, ms: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// Formats epoch milliseconds as RFC 3339 UTC ("2026-11-22T10:30:00.000Z"), the API's timestamp form.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances() {
        let c = Clock::manual(1_000);
        c.advance_ms(500);
        assert_eq!(c.now_ms(), 1_500);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }
}
