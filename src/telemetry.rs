//! Structured logs and the metrics recorder. Logs are human-readable by default, one JSON object
//! per line with `LOG_FORMAT=json`.
//! `RUST_LOG` overrides `LOG_LEVEL`. Human logs are coloured only when they go to a terminal (and
//! `NO_COLOR` is unset): a file or a pipe gets plain text.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

pub fn init(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = match config.log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Human => builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}

/// The process-wide Prometheus recorder. `metrics` has one global recorder, and tests build many
/// apps in one process, so it is installed once and shared.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = with_buckets(PrometheusBuilder::new()).build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// Upper bounds of the duration histograms' buckets, seconds.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the batch-size histogram's buckets, units.
const UNITS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The histograms as Prometheus histograms with fixed buckets, not the exporter's default
/// summaries. Why: a summary's quantiles cover a short recent window, and under the webhook
/// benchmark they showed a slowest commit of 5 ms while commits of 10–55 ms were happening; bucket
/// counts only grow, so a tail shows (and can be summed across instances and rated over any range).
fn with_buckets(builder: PrometheusBuilder) -> PrometheusBuilder {
    use metrics_exporter_prometheus::Matcher;
    let seconds = Matcher::Suffix("_seconds".into());
    let units = Matcher::Full("switchboard_write_batch_units".into());
    builder
        .set_buckets_for_metric(seconds, SECONDS_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(units, UNITS_BUCKETS))
        .expect("the bucket lists are not empty")
}
