//! `switchboard bench …`: load benchmarks of an in-process app on 127.0.0.1 — the voice webhook
//! (`voice`), draining notifications to the sandbox (`sms`), the analytics request of a tenant with
//! many calls (`analytics`), the console's calls list and overview of such a tenant (`console`) —
//! and `bench seed`, the set-up of `bench/webhooks.sh`.
//!
//! Every benchmark starts the real app in-process on a loopback port-0 listener, on a database of
//! its own (a SQLite file in a temporary directory, or a throwaway `sb_bench_<uuid>` database
//! created on the PostgreSQL server named by `--database-url` and dropped afterwards: [`Scratch`]),
//! so it never touches real data and never sends a byte beyond 127.0.0.1.

mod analytics;
mod console;
mod history;
mod sms;
mod voice;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use url::Url;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::hours::BusinessHours;
use crate::domain::{E164, RoutingPolicy};
use crate::failure::Failure;
use crate::state::AppState;
use crate::state::Jobs;
use crate::tenants::manage::{self as tenants, CreateTenant};
use crate::tenants::staff::{self, CreateStaff};

/// No single request may hang the benchmark: well above the app's own 14 s request timeout.
pub(super) const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Load-test the voice webhook of an in-process app on 127.0.0.1 and report latency percentiles.
    Voice(voice::VoiceArgs),
    /// Drain queued notifications to the embedded sandbox: throughput, or the per-sender pace.
    Sms(sms::SmsArgs),
    /// Time the analytics request of a tenant with many calls (100,000 by default).
    Analytics(analytics::AnalyticsArgs),
    /// Time the console's calls list (first, deep and filtered page) and 30-day overview of a
    /// tenant with many calls (100,000 by default).
    Console(console::ConsoleArgs),
    /// Seed the configured database (DATABASE_URL) with one benchmark tenant per number in a file,
    /// open around the clock with two staff members each: the set-up of `bench/webhooks.sh`.
    Seed(SeedArgs),
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// One E.164 number per line (blank lines and `#` comments skipped), e.g. ../shared/bench/tenants.txt.
    #[arg(long)]
    pub numbers_file: PathBuf,
}

pub async fn run(config: Config, cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Voice(args) => voice::voice(&config, args).await,
        BenchCmd::Sms(args) => sms::run(args).await,
        BenchCmd::Analytics(args) => analytics::analytics(args).await,
        BenchCmd::Console(args) => console::console(args).await,
        BenchCmd::Seed(args) => seed_from_file(config, args).await,
    }
}

/// `bench seed`: one tenant per number of the file, in the configured database.
async fn seed_from_file(config: Config, args: SeedArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.numbers_file)
        .with_context(|| format!("cannot read {}", args.numbers_file.display()))?;
    let numbers = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            E164::parse("numbers-file", l).map_err(|e| anyhow::anyhow!("{l:?}: {}", e.message))
        })
        .collect::<anyhow::Result<Vec<E164>>>()?;
    let state = AppState::build(config, Clock::System, Jobs::default()).await?;
    seed_numbers(&state, &numbers).await?;
    println!("seeded {} tenant(s)", numbers.len());
    Ok(())
}

/// `value` only if `--database-url` was typed on the command line (see [`server_flag`]).
pub(super) fn given_on_command_line(value: Option<&str>) -> Option<&str> {
    let given = std::env::args_os()
        .any(|a| a == "--database-url" || a.to_string_lossy().starts_with("--database-url="));
    value.filter(|_| given)
}

/// Runs `bench` on a database of its own (see [`Scratch`]: `--database-url` only if typed on the
/// command line), which is removed afterwards whatever happens, Ctrl-C included.
pub(super) async fn on_scratch<T, Fut>(
    database_url: Option<&str>,
    bench: impl FnOnce(String) -> Fut,
) -> anyhow::Result<T>
where
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let (scratch, db_url) = Scratch::create(given_on_command_line(database_url)).await?;
    let outcome = tokio::select! {
        r = bench(db_url) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    scratch.remove().await;
    outcome
}

/// `debug` or `release`: timings of a debug build are no figure to quote.
pub(super) fn build_kind() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// Where the benchmark's database lives, so it can be removed whatever happens.
pub(super) enum Scratch {
    Sqlite { dir: PathBuf },
    Postgres { server: String, name: String },
}

impl Scratch {
    pub(super) async fn create(server: Option<&str>) -> anyhow::Result<(Scratch, String)> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let Some(server) = server else {
            let dir = std::env::temp_dir().join(format!("sb_bench_{id}"));
            std::fs::create_dir(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            return Ok((Scratch::Sqlite { dir }, url));
        };
        if !(server.starts_with("postgres://") || server.starts_with("postgresql://")) {
            bail!("--database-url must be a postgres:// server URL (SQLite is the default)");
        }
        let mut url = Url::parse(server).context("--database-url is not a URL")?;
        // The name is ours (a UUID in hex), never input, so it is safe to splice into DDL.
        let name = format!("sb_bench_{id}");
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(server)
            .await
            .with_context(|| format!("cannot connect to {}", crate::config::redact_url(server)))?;
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .with_context(|| format!("cannot create database {name}"))?;
        let _ = sqlx::Connection::close(conn).await;
        url.set_path(&format!("/{name}"));
        let scratch = Scratch::Postgres {
            server: server.to_string(),
            name,
        };
        Ok((scratch, url.to_string()))
    }

    pub(super) async fn remove(self) {
        match self {
            Scratch::Sqlite { dir } => {
                if let Err(e) = std::fs::remove_dir_all(&dir) {
                    eprintln!("warning: could not remove {}: {e}", dir.display());
                }
            }
            Scratch::Postgres { server, name } => {
                let dropped = async {
                    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&server).await?;
                    sqlx::Executor::execute(
                        &mut c,
                        sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                    )
                    .await?;
                    let _ = sqlx::Connection::close(c).await;
                    Ok::<_, sqlx::Error>(())
                };
                if let Err(e) = dropped.await {
                    eprintln!("warning: could not drop database {name}: {e}");
                }
            }
        }
    }
}

/// The real app served on a loopback port over a benchmark's database, without rate limits (the
/// timed requests must not be limited, however many runs are asked for).
pub(super) struct BenchApp {
    pub state: AppState,
    /// `http://127.0.0.1:port`.
    pub base: String,
    shutdown: tokio_util::sync::CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl BenchApp {
    pub(super) async fn start(db_url: &str, clock: Clock) -> anyhow::Result<BenchApp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1")?;
        let base = format!("http://{}", listener.local_addr()?);
        let raw = crate::config::RawConfig {
            database_url: Some(db_url.to_string()),
            app_url: Some(base.clone()),
            log_level: Some("warn".into()),
            rate_limit_max: Some("1000000".into()),
            tenant_rate_limit_max: Some("1000000".into()),
            ..Default::default()
        };
        let state = AppState::build(Config::from_raw(&raw)?, clock, Jobs::default()).await?;
        let shutdown = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(crate::start::serve_http(
            state.clone(),
            listener,
            shutdown.clone(),
        ));
        Ok(BenchApp {
            state,
            base,
            shutdown,
            server,
        })
    }

    pub(super) fn backend(&self) -> &'static str {
        match self.state.db.kind() {
            crate::config::DbKind::Sqlite => "sqlite",
            crate::config::DbKind::Postgres => "postgres",
        }
    }

    pub(super) async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
        self.state.db.close().await;
    }
}

/// One tenant per number, open around the clock, forwarding to two staff members.
pub(super) async fn seed_numbers(state: &AppState, numbers: &[E164]) -> anyhow::Result<()> {
    let fail = |e: Failure| anyhow::anyhow!("seeding: {}", e.describe());
    // Open around the clock so every call is forwarded, whatever the time of the run.
    let hours = BusinessHours::always_open();
    for (i, number) in numbers.iter().enumerate() {
        let tenant = tenants::create(
            state,
            CreateTenant {
                name: format!("Bench Tenant {i}"),
                phone_number: Some(number.clone()),
                business_hours: Some(hours.clone()),
                routing_policy: Some(RoutingPolicy::default()),
                ..Default::default()
            },
        )
        .await
        .map_err(fail)?;
        for (k, (name, area)) in [("Ann", 646), ("Bob", 718)].into_iter().enumerate() {
            let phone = E164::parse("phone", &format!("+1{area}555{i:04}"))
                .map_err(|e| anyhow::anyhow!("staff phone: {}", e.message))?;
            staff::create(
                state,
                &tenant.id,
                CreateStaff {
                    name: format!("{name} {i}"),
                    phone,
                    email: None,
                    role: None,
                    priority: Some(k as i64),
                    on_duty: Some(true),
                },
            )
            .await
            .map_err(fail)?;
        }
    }
    Ok(())
}

/// The nearest-rank percentile `p` (0-100) of sorted `v`.
pub(super) fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The start of an answer's body, for an error message.
pub(super) fn snippet(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&v[..1], 90.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
