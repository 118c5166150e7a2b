//! Retry decisions for jobs: pure functions of the attempt count, the error and a jitter draw, so
//! they can be tested exhaustively without a clock or a database.

use std::time::Duration;

/// How a kind of job is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total runs allowed, the first included; after the last failure the job is dead.
    pub max_attempts: u32,
    /// Delay before the second attempt (before jitter).
    pub base: Duration,
    /// Longest delay between attempts.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts over roughly an hour: 5 s, 10 s, 20 s … capped at 30 min.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(5),
            cap: Duration::from_secs(30 * 60),
        }
    }
}

/// Why a job run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Worth trying again later (network trouble, 429, 5xx). `retry_after` is a server's own hint.
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way every time (bad input, 4xx, missing handler): dead at once.
    Permanent { message: String },
    /// Not a failure: the job may not run before `until` (epoch ms), e.g. a sender's throughput slot.
    /// The run does not count as an attempt.
    Deferred { until: i64, message: String },
}

impl JobError {
    pub fn retryable(message: impl Into<String>) -> Self {
        JobError::Retryable {
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError::Permanent {
            message: message.into(),
        }
    }
    pub fn message(&self) -> &str {
        match self {
            JobError::Retryable { message, .. }
            | JobError::Permanent { message }
            | JobError::Deferred { message, .. } => message,
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// What happens to a job after a failed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Run again no earlier than this many milliseconds from now.
    RetryIn(u64),
    /// Park as dead with the last error.
    Dead,
    /// Run again at this instant (epoch ms) without counting the attempt.
    Defer(i64),
}

/// Exponential backoff with "equal jitter": half the exponential delay is fixed, half is random,
/// so retries spread out (no thundering herd) but never collapse to zero.
/// `attempt` is the number of the run that just failed (1 for the first); `jitter` is in [0, 1].
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exp = policy.base.as_millis() as f64 * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let capped = exp.min(policy.cap.as_millis() as f64);
    let jitter = jitter.clamp(0.0, 1.0);
    Duration::from_millis((capped / 2.0 + capped / 2.0 * jitter) as u64)
}

/// Decides the fate of a job whose run number `attempt` failed with `error`.
pub fn decide(policy: &RetryPolicy, attempt: u32, error: &JobError, jitter: f64) -> Decision {
    match error {
        JobError::Deferred { until, .. } => Decision::Defer(*until),
        JobError::Permanent { .. } => Decision::Dead,
        JobError::Retryable { .. } if attempt >= policy.max_attempts => Decision::Dead,
        JobError::Retryable { retry_after, .. } => {
            let delay = backoff(policy, attempt, jitter);
            // A server's Retry-After is a floor: retrying sooner is sure to fail again.
            let delay = retry_after.map_or(delay, |ra| delay.max(ra));
            Decision::RetryIn(delay.as_millis() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(20),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = policy();
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(&p, 2, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(&p, 3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(&p, 5, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(&p, 60, 1.0), Duration::from_secs(20));
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        let p = policy();
        assert_eq!(backoff(&p, 3, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(&p, 3, 0.5), Duration::from_secs(6));
        assert_eq!(
            backoff(&p, 3, 7.0),
            Duration::from_secs(8),
            "out-of-range jitter is clamped"
        );
    }

    #[test]
    fn deferral_is_not_an_attempt() {
        let e = JobError::Deferred {
            until: 42,
            message: "slot".into(),
        };
        // Even on the last attempt a deferral never kills the job.
        assert_eq!(decide(&policy(), 5, &e, 0.5), Decision::Defer(42));
    }

    #[test]
    fn permanent_errors_die_at_once() {
        assert_eq!(
            decide(&policy(), 1, &JobError::permanent("bad"), 0.5),
            Decision::Dead
        );
    }

    #[test]
    fn retryable_errors_retry_until_the_limit() {
        let p = policy();
        let e = JobError::retryable("timeout");
        assert_eq!(decide(&p, 1, &e, 1.0), Decision::RetryIn(2_000));
        assert_eq!(decide(&p, 4, &e, 1.0), Decision::RetryIn(16_000));
        assert_eq!(decide(&p, 5, &e, 1.0), Decision::Dead);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = policy();
        let e = JobError::Retryable {
            message: "429".into(),
            retry_after: Some(Duration::from_secs(60)),
        };
        assert_eq!(decide(&p, 1, &e, 0.0), Decision::RetryIn(60_000));
        let short = JobError::Retryable {
            message: "429".into(),
            retry_after: Some(Duration::from_millis(10)),
        };
        assert_eq!(decide(&p, 3, &short, 1.0), Decision::RetryIn(8_000));
    }
}
