//! Background jobs: how many run at once, how often idle workers look, how long a claim lasts.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Jobs run at once per instance.
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub lease: Duration,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// jobs run at once per instance
        worker_concurrency: usize = |v| v.number(4, 1, 256);

        /// how often idle workers look for due jobs
        job_poll_interval_ms: u64 = |v| v.number(500, 10, 60_000);

        /// how long a claimed job is leased before another worker may take it over
        job_lease_secs: u64 = |v| v.number(300, 5, 86_400);
    ] [
        => JobsConfig = JobsConfig {
            concurrency: worker_concurrency,
            poll_interval: Duration::from_millis(job_poll_interval_ms),
            lease: Duration::from_secs(job_lease_secs),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
