//! `switchboard bench voice`: a load benchmark of the voice webhook.
//!
//! It starts the real app in-process on a loopback port-0 listener, on a database of its own (a SQLite
//! file in a temporary directory, or a throwaway `sb_bench_<uuid>` database created on the PostgreSQL
//! server named by `--database-url` and dropped afterwards), so it never touches real data and never
//! sends a byte beyond 127.0.0.1. It seeds tenants that are open around the clock and forward to
//! staff, fires correctly signed `POST /api/webhooks/twilio/voice` requests over real HTTP with a
//! fixed number in flight, then reports throughput and latency percentiles and checks that every
//! request was logged exactly once in `calls`.
//!
//! The settings of the benchmarked app come from a fresh [`RawConfig`], not from the environment or
//! `.env`: a configured `DATABASE_URL` or Twilio account must not change what is measured, nor be
//! touched. `DB_MAX_CONNECTIONS` is the one exception, because it is the knob worth benchmarking.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use switchboard_twilio::signature::{SIGNATURE_HEADER, sign_form};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, RawConfig};
use crate::domain::E164;
use crate::start;
use crate::state::AppState;
use crate::state::Jobs;
use crate::with_db;

use super::{
    CLIENT_TIMEOUT, Scratch, given_on_command_line, ms, percentile, seed_numbers, snippet,
};

/// The canonical voice webhook path (seed 000).
const VOICE_PATH: &str = "/api/webhooks/twilio/voice";
/// Tenant `i` owns +1 415 555 0000 + `i`; the exchange 555-0000..9999 bounds `--tenants`.
const FIRST_TENANT_NUMBER: u64 = 14_155_550_000;
const MAX_TENANTS: u64 = 10_000;
/// How many failed answers are described on stderr (the rest are only counted).
const FAILURE_SAMPLES: usize = 5;
#[derive(Args, Debug)]
pub struct VoiceArgs {
    /// Webhook requests to send in total (each a distinct call).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Tenants to create, each with its own number and two staff members; calls go round-robin.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=MAX_TENANTS))]
    pub tenants: u64,
    /// A PostgreSQL server (postgres://…) on which a throwaway database is created and then dropped
    /// [default: a SQLite file in a temporary directory; DATABASE_URL is ignored]
    // Same id as the global DATABASE_URL setting, so clap lets this one shadow it here instead of
    // rejecting a second `--database-url`. Clap still copies the environment's value into it, which
    // is why `server_flag` only believes a value given on the command line.
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}

/// The PostgreSQL server to benchmark on, only when `--database-url` is on the command line: a
/// `DATABASE_URL` from the environment or `.env` names the deployment's own database, and the
/// benchmark must not create databases on that server unasked.
fn server_flag(args: &VoiceArgs) -> Option<&str> {
    given_on_command_line(args.database_url.as_deref())
}

/// The figures of one run.
struct Report {
    backend: &'static str,
    requests: usize,
    concurrency: usize,
    tenants: usize,
    wall: Duration,
    /// Per-request latencies, sorted.
    latencies: Vec<Duration>,
    failures: usize,
    call_rows: i64,
}

pub(super) async fn voice(outer: &Config, args: VoiceArgs) -> anyhow::Result<()> {
    let (scratch, db_url) = Scratch::create(server_flag(&args)).await?;
    // Ctrl-C still removes the scratch database: the benchmark future is dropped, then cleanup runs.
    let outcome = tokio::select! {
        r = bench(outer, &args, &db_url) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    scratch.remove().await;
    let report = outcome?;
    report.print();
    let expected = report.requests as i64;
    if report.failures > 0 || report.call_rows != expected {
        bail!(
            "benchmark failed: {} failed request(s), {} call row(s) for {} request(s)",
            report.failures,
            report.call_rows,
            report.requests
        );
    }
    Ok(())
}

/// One request, encoded and signed before the clock starts.
struct Prepared {
    body: String,
    signature: String,
}

async fn bench(outer: &Config, args: &VoiceArgs, db_url: &str) -> anyhow::Result<Report> {
    let requests = usize::try_from(args.requests)?;
    let concurrency = usize::try_from(args.concurrency)?;
    let tenant_count = usize::try_from(args.tenants)?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let raw = RawConfig {
        database_url: Some(db_url.to_string()),
        app_url: Some(base.clone()),
        db_max_connections: Some(outer.db.max_connections.to_string()),
        log_level: Some("warn".into()),
        ..Default::default()
    };
    let config = Config::from_raw(&raw)?;
    let state = AppState::build(config, Clock::System, Jobs::default()).await?;
    let backend = match state.db.kind() {
        crate::config::DbKind::Sqlite => "sqlite",
        crate::config::DbKind::Postgres => "postgres",
    };
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(start::serve_http(state.clone(), listener, shutdown.clone()));

    let result = async {
        let numbers = seed(&state, tenant_count).await?;
        let url = format!("{base}{VOICE_PATH}");
        let prepared = prepare(&state, &url, &numbers, requests);
        let client = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .pool_max_idle_per_host(concurrency)
            .build()?;
        let (wall, latencies, failures) = fire(&client, &url, prepared, concurrency).await;
        let call_rows = count_calls(&state).await?;
        Ok(Report {
            backend,
            requests,
            concurrency,
            tenants: tenant_count,
            wall,
            latencies,
            failures,
            call_rows,
        })
    }
    .await;

    shutdown.cancel();
    let _ = server.await;
    state.db.close().await;
    result
}

/// Creates the tenants and their staff; returns each tenant's number.
async fn seed(state: &AppState, tenants: usize) -> anyhow::Result<Vec<String>> {
    let numbers = (0..tenants)
        .map(|i| {
            E164::parse(
                "phoneNumber",
                &format!("+{}", FIRST_TENANT_NUMBER + i as u64),
            )
            .map_err(|e| anyhow::anyhow!("tenant number: {}", e.message))
        })
        .collect::<anyhow::Result<Vec<E164>>>()?;
    seed_numbers(state, &numbers).await?;
    Ok(numbers.iter().map(E164::to_string).collect())
}

/// Encodes and signs every request up front, so the client's HMAC cost stays out of the timings.
fn prepare(state: &AppState, url: &str, numbers: &[String], requests: usize) -> Vec<Prepared> {
    let token = &state.twilio.auth_token;
    (0..requests)
        .map(|n| {
            let params: Vec<(String, String)> = [
                ("AccountSid", state.twilio.account_sid.clone()),
                ("ApiVersion", "2010-04-01".to_string()),
                ("CallSid", format!("CA{}", uuid::Uuid::new_v4().simple())),
                ("CallStatus", "ringing".to_string()),
                ("Direction", "inbound".to_string()),
                ("From", format!("+1917555{:04}", n % 10_000)),
                ("To", numbers[n % numbers.len()].clone()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            Prepared {
                body: serde_urlencoded::to_string(&params).expect("strings encode"),
                signature: sign_form(token, url, &params),
            }
        })
        .collect()
}

/// Sends every request with `concurrency` in flight; returns the wall time, the sorted latencies and
/// the number of answers that were not a 200 with a `<Dial>`.
async fn fire(
    client: &reqwest::Client,
    url: &str,
    prepared: Vec<Prepared>,
    concurrency: usize,
) -> (Duration, Vec<Duration>, usize) {
    let prepared = Arc::new(prepared);
    let next = Arc::new(AtomicUsize::new(0));
    let described = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    // Worker tasks rather than one stream, so the client side spreads over the runtime's threads too.
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(prepared.len()) {
        let (client, url) = (client.clone(), url.to_string());
        let (prepared, next, described) = (prepared.clone(), next.clone(), described.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = prepared.get(i) else { break };
                let t0 = Instant::now();
                let outcome = send(&client, &url, p).await;
                latencies.push(t0.elapsed());
                if let Err(why) = outcome {
                    failures += 1;
                    if described.fetch_add(1, Ordering::Relaxed) < FAILURE_SAMPLES {
                        eprintln!("request {i} failed: {why}");
                    }
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::with_capacity(prepared.len());
    let mut failures = 0;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((l, f)) => {
                latencies.extend(l);
                failures += f;
            }
            // Counted below: a worker that panicked took its requests' results with it.
            Err(e) => eprintln!("a benchmark worker failed: {e}"),
        }
    }
    let wall = started.elapsed();
    // Every request is either timed (passed or failed) or was lost with a dead worker: a failure too.
    failures += prepared.len() - latencies.len();
    latencies.sort_unstable();
    (wall, latencies, failures)
}

/// One webhook call, timed by the caller up to the end of the body.
async fn send(client: &reqwest::Client, url: &str, p: &Prepared) -> Result<(), String> {
    let res = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(SIGNATURE_HEADER, &p.signature)
        .body(p.body.clone())
        .send()
        .await
        .map_err(|e| format!("{e}"))?;
    let status = res.status();
    let body = res.text().await.map_err(|e| format!("{e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("HTTP {status}: {}", snippet(&body)));
    }
    if !body.contains("<Dial") {
        return Err(format!("no <Dial> in the answer: {}", snippet(&body)));
    }
    Ok(())
}

async fn count_calls(state: &AppState) -> anyhow::Result<i64> {
    let row: (i64,) = with_db!(&state.db, |p| {
        sqlx::query_as("SELECT COUNT(*) FROM calls")
            .fetch_one(p)
            .await
    })?;
    Ok(row.0)
}

impl Report {
    fn print(&self) {
        let secs = self.wall.as_secs_f64();
        let rate = if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        };
        let l = &self.latencies;
        println!("backend:      {}", self.backend);
        println!("requests:     {}", self.requests);
        println!("concurrency:  {}", self.concurrency);
        println!("tenants:      {}", self.tenants);
        println!("wall time:    {secs:.3} s");
        println!("requests/s:   {rate:.1}");
        println!(
            "latency ms:   p50 {}  p90 {}  p99 {}  max {}",
            ms(percentile(l, 50.0)),
            ms(percentile(l, 90.0)),
            ms(percentile(l, 99.0)),
            ms(l.last().copied().unwrap_or_default())
        );
        println!("failures:     {}", self.failures);
        println!(
            "call rows:    {} (expected {})",
            self.call_rows, self.requests
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// `switchboard bench analytics`: how long the analytics request takes for a tenant with many calls.
//
// It seeds one tenant (America/New_York, so the range crosses the March DST change) with `--calls`
// calls over 90 days, the missed calls' text-backs, and inbound texts with some replies, plus a
// neighbour tenant with a tenth as many calls (so the tenant filter has something to filter), all with
// batched multi-row INSERTs in one transaction. Then it times `GET /api/telephony/analytics` over real
// HTTP (day, week and month buckets over the whole 90 days), `GET /api/telephony/usage` for one month,
// and one full CSV export of the calls, and checks the answer counted every seeded call.
