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

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use switchboard_twilio::signature::{SIGNATURE_HEADER, sign_form};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::clock::Clock;
use crate::config::{Config, RawConfig};
use crate::domain::hours::BusinessHours;
use crate::domain::states::{CallStatus, NotificationStatus};
use crate::domain::{E164, RoutingPolicy};
use crate::start;
use crate::state::AppState;
use crate::state::Jobs;
use crate::tenants::manage::{self as tenants, CreateTenant};
use crate::tenants::staff::{self, CreateStaff};
use crate::web::error::ApiError;
use crate::with_db;

/// The canonical voice webhook path (seed 000).
const VOICE_PATH: &str = "/api/webhooks/twilio/voice";
/// Tenant `i` owns +1 415 555 0000 + `i`; the exchange 555-0000..9999 bounds `--tenants`.
const FIRST_TENANT_NUMBER: u64 = 14_155_550_000;
const MAX_TENANTS: u64 = 10_000;
/// No single request may hang the benchmark: well above the app's own 14 s request timeout.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many failed answers are described on stderr (the rest are only counted).
const FAILURE_SAMPLES: usize = 5;

#[derive(Subcommand, Debug)]
pub enum BenchCmd {
    /// Load-test the voice webhook of an in-process app on 127.0.0.1 and report latency percentiles.
    Voice(VoiceArgs),
    /// Drain queued notifications to the embedded sandbox: throughput, or the per-sender pace.
    Sms(super::bench_sms::SmsArgs),
    /// Time the analytics request of a tenant with many calls (100,000 by default).
    Analytics(AnalyticsArgs),
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

pub async fn run(config: Config, cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Voice(args) => voice(&config, args).await,
        BenchCmd::Sms(args) => super::bench_sms::run(args).await,
        BenchCmd::Analytics(args) => analytics(args).await,
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

/// The PostgreSQL server to benchmark on, only when `--database-url` is on the command line: a
/// `DATABASE_URL` from the environment or `.env` names the deployment's own database, and the
/// benchmark must not create databases on that server unasked.
fn server_flag(args: &VoiceArgs) -> Option<&str> {
    given_on_command_line(args.database_url.as_deref())
}

/// `value` only if `--database-url` was typed on the command line (see [`server_flag`]).
pub(super) fn given_on_command_line(value: Option<&str>) -> Option<&str> {
    let given = std::env::args_os()
        .any(|a| a == "--database-url" || a.to_string_lossy().starts_with("--database-url="));
    value.filter(|_| given)
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

async fn voice(outer: &Config, args: VoiceArgs) -> anyhow::Result<()> {
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
        db_max_connections: Some(outer.db_max_connections.to_string()),
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

/// One tenant per number, open around the clock, forwarding to two staff members.
async fn seed_numbers(state: &AppState, numbers: &[E164]) -> anyhow::Result<()> {
    let fail = |e: ApiError| anyhow::anyhow!("seeding: {}", e.describe());
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

fn snippet(s: &str) -> String {
    s.chars().take(200).collect()
}

async fn count_calls(state: &AppState) -> anyhow::Result<i64> {
    let row: (i64,) = with_db!(&state.db, |p| {
        sqlx::query_as("SELECT COUNT(*) FROM calls")
            .fetch_one(p)
            .await
    })?;
    Ok(row.0)
}

/// The nearest-rank percentile `p` (0-100) of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
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

/// The seeded range: 90 local days from Monday 2026-01-05 (to 2026-04-04 inclusive).
const SEED_FIRST_DAY: jiff::civil::Date = jiff::civil::Date::constant(2026, 1, 5);
const SEED_DAYS: i64 = 90;
const SEED_ZONE: &str = "America/New_York";
/// Rows per INSERT statement: 400 × 19 columns stays under SQLite's 32,766 bound parameters.
const SEED_BATCH: usize = 400;
const REASONS: [&str; 6] = [
    "SETUP_APPOINTMENT",
    "CANCEL_APPOINTMENT",
    "MODIFY_APPOINTMENT",
    "GET_HOURS",
    "GET_PRICING",
    "OTHER",
];

#[derive(Args, Debug)]
pub struct AnalyticsArgs {
    /// Calls of the measured tenant (its neighbour gets a tenth as many).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(10..=2_000_000))]
    pub calls: u64,
    /// Timed requests per figure; the median is reported.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub runs: u64,
    /// A PostgreSQL server (postgres://…) on which a throwaway database is created and then dropped
    /// [default: a SQLite file in a temporary directory; DATABASE_URL is ignored]
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}

/// SplitMix64: a deterministic generator, so every run seeds the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n.max(1)) as i64
    }
    fn chance(&mut self, percent: i64) -> bool {
        self.below(100) < percent
    }
}

struct SeedCall {
    id: String,
    tenant_id: String,
    call_sid: String,
    direction: &'static str,
    from_number: String,
    to_number: String,
    status: CallStatus,
    call_reason: Option<&'static str>,
    recording_url: Option<String>,
    voicemail: bool,
    missed: bool,
    forwarded_to: Option<String>,
    start_time: i64,
    answered_at: Option<i64>,
    end_time: Option<i64>,
    duration_seconds: Option<i64>,
}

struct SeedNotification {
    id: String,
    tenant_id: String,
    recipient: String,
    status: NotificationStatus,
    kind: &'static str,
    related_call_sid: Option<String>,
    sent_at: Option<i64>,
    created_at: i64,
}

struct SeedMessage {
    id: String,
    tenant_id: String,
    direction: &'static str,
    customer: String,
    business: String,
    notification_id: Option<String>,
    created_at: i64,
}

#[derive(Default)]
struct Seeded {
    calls: Vec<SeedCall>,
    notifications: Vec<SeedNotification>,
    messages: Vec<SeedMessage>,
}

impl Seeded {
    /// `calls` calls of `tenant_id` (number `business`) over the seeded range, with the text-backs of
    /// the missed ones and a tenth as many inbound texts, 60% of them answered by the host app.
    fn add_tenant(
        &mut self,
        rng: &mut Rng,
        tenant_id: &str,
        business: &str,
        calls: u64,
    ) -> anyhow::Result<()> {
        let tz = jiff::tz::TimeZone::get(SEED_ZONE)?;
        let day_starts: Vec<i64> = (0..SEED_DAYS)
            .map(|d| {
                let date = SEED_FIRST_DAY.checked_add(jiff::Span::new().days(d))?;
                Ok(date.to_zoned(tz.clone())?.timestamp().as_millisecond())
            })
            .collect::<Result<_, jiff::Error>>()?;
        let at = |rng: &mut Rng| {
            let day = day_starts[rng.below(SEED_DAYS as u64) as usize];
            // Mostly opening hours, some at any time of day.
            let minute = if rng.chance(90) {
                8 * 60 + rng.below(11 * 60)
            } else {
                rng.below(24 * 60)
            };
            day + minute * 60_000 + rng.below(60_000)
        };
        let customers = (calls / 3).max(1);
        let customer = |rng: &mut Rng| format!("+1917{:07}", rng.below(customers));
        for _ in 0..calls {
            let start = at(rng);
            let caller = customer(rng);
            let mut c = SeedCall {
                id: crate::domain::new_id(),
                tenant_id: tenant_id.to_string(),
                call_sid: format!("CA{}", uuid::Uuid::new_v4().simple()),
                direction: "inbound",
                from_number: caller.clone(),
                to_number: business.to_string(),
                status: CallStatus::Completed,
                call_reason: None,
                recording_url: None,
                voicemail: false,
                missed: false,
                forwarded_to: None,
                start_time: start,
                answered_at: None,
                end_time: None,
                duration_seconds: None,
            };
            if rng.chance(10) {
                c.direction = "outbound";
                (c.from_number, c.to_number) = (business.to_string(), caller);
                if rng.chance(80) {
                    let talk = 30 + rng.below(870);
                    c.answered_at = Some(start + 8_000);
                    c.duration_seconds = Some(talk + 8);
                    c.end_time = Some(start + (talk + 8) * 1000);
                } else {
                    c.status = CallStatus::NoAnswer;
                    c.duration_seconds = Some(0);
                    c.end_time = Some(start + 30_000);
                }
            } else {
                if rng.chance(70) {
                    c.call_reason = Some(REASONS[rng.below(6) as usize]);
                }
                if rng.chance(70) {
                    let ring = 3 + rng.below(15);
                    let talk = 20 + rng.below(580);
                    c.answered_at = Some(start + ring * 1000);
                    c.duration_seconds = Some(ring + talk);
                    c.end_time = Some(start + (ring + talk) * 1000);
                    c.forwarded_to = Some("+16465550100".into());
                } else {
                    c.missed = true;
                    c.voicemail = rng.chance(60);
                    let secs = if c.voicemail {
                        25 + rng.below(90)
                    } else {
                        20 + rng.below(10)
                    };
                    c.duration_seconds = Some(secs);
                    c.end_time = Some(start + secs * 1000);
                    if c.voicemail {
                        c.recording_url = Some(format!(
                            "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE{}",
                            uuid::Uuid::new_v4().simple()
                        ));
                    }
                    let end = start + secs * 1000;
                    let status = match rng.below(20) {
                        0 => NotificationStatus::Failed,
                        1 => NotificationStatus::Undelivered,
                        _ => NotificationStatus::Delivered,
                    };
                    self.notifications.push(SeedNotification {
                        id: crate::domain::new_id(),
                        tenant_id: tenant_id.to_string(),
                        recipient: c.from_number.clone(),
                        status,
                        kind: "missed_call_text_back",
                        related_call_sid: Some(c.call_sid.clone()),
                        sent_at: (status != NotificationStatus::Failed)
                            .then(|| end + (2 + rng.below(28)) * 1000),
                        created_at: end,
                    });
                }
            }
            self.calls.push(c);
        }
        for _ in 0..(calls / 10).max(1) {
            let created = at(rng);
            let who = customer(rng);
            self.messages.push(SeedMessage {
                id: crate::domain::new_id(),
                tenant_id: tenant_id.to_string(),
                direction: "inbound",
                customer: who.clone(),
                business: business.to_string(),
                notification_id: None,
                created_at: created,
            });
            if rng.chance(60) {
                let sent = created + (1 + rng.below(36 * 60)) * 60_000;
                let n = SeedNotification {
                    id: crate::domain::new_id(),
                    tenant_id: tenant_id.to_string(),
                    recipient: who.clone(),
                    status: NotificationStatus::Delivered,
                    kind: "api",
                    related_call_sid: None,
                    sent_at: Some(sent),
                    created_at: sent,
                };
                self.messages.push(SeedMessage {
                    id: crate::domain::new_id(),
                    tenant_id: tenant_id.to_string(),
                    direction: "outbound",
                    customer: who,
                    business: business.to_string(),
                    notification_id: Some(n.id.clone()),
                    created_at: sent,
                });
                self.notifications.push(n);
            }
        }
        Ok(())
    }
}

/// `INSERT INTO table (columns) VALUES ($1, …), (…)` for `rows` rows of `width` values.
fn multi_row_insert(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}

const SEED_CALL_COLUMNS: &str = "id, tenant_id, call_sid, direction, from_number, to_number, status, strategy, \
    call_reason, recording_url, voicemail, missed, forwarded_to, start_time, answered_at, end_time, duration_seconds, \
    created_at, updated_at";
const SEED_NOTIFICATION_COLUMNS: &str = "id, tenant_id, type, recipient, message, status, kind, related_call_sid, \
    sent_at, delivered_at, created_at, updated_at";
const SEED_MESSAGE_COLUMNS: &str = "id, tenant_id, message_sid, direction, customer, from_number, to_number, body, \
    status, notification_id, created_at, updated_at";

/// Writes `seeded` in one transaction, [`SEED_BATCH`] rows per statement.
async fn insert_seeded(state: &AppState, seeded: &Seeded) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    for chunk in seeded.calls.chunks(SEED_BATCH) {
        // Table and column names are constants; every value is bound.
        let sql = multi_row_insert("calls", SEED_CALL_COLUMNS, 19, chunk.len());
        crate::with_tx!(&mut tx, |conn| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for c in chunk {
                q = q
                    .bind(&c.id)
                    .bind(&c.tenant_id)
                    .bind(&c.call_sid)
                    .bind(c.direction)
                    .bind(&c.from_number)
                    .bind(&c.to_number)
                    .bind(c.status)
                    .bind("forward")
                    .bind(c.call_reason)
                    .bind(&c.recording_url)
                    .bind(c.voicemail)
                    .bind(c.missed)
                    .bind(&c.forwarded_to)
                    .bind(c.start_time)
                    .bind(c.answered_at)
                    .bind(c.end_time)
                    .bind(c.duration_seconds)
                    .bind(c.start_time)
                    .bind(c.end_time.unwrap_or(c.start_time));
            }
            q.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in seeded.notifications.chunks(SEED_BATCH) {
        let sql = multi_row_insert("notifications", SEED_NOTIFICATION_COLUMNS, 12, chunk.len());
        crate::with_tx!(&mut tx, |conn| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for n in chunk {
                let delivered = (n.status == NotificationStatus::Delivered)
                    .then_some(n.sent_at)
                    .flatten();
                q = q
                    .bind(&n.id)
                    .bind(&n.tenant_id)
                    .bind("SMS")
                    .bind(&n.recipient)
                    .bind("Sorry we missed your call!")
                    .bind(n.status)
                    .bind(n.kind)
                    .bind(&n.related_call_sid)
                    .bind(n.sent_at)
                    .bind(delivered)
                    .bind(n.created_at)
                    .bind(n.sent_at.unwrap_or(n.created_at));
            }
            q.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    for chunk in seeded.messages.chunks(SEED_BATCH) {
        let sql = multi_row_insert("messages", SEED_MESSAGE_COLUMNS, 12, chunk.len());
        crate::with_tx!(&mut tx, |conn| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for m in chunk {
                let inbound = m.direction == "inbound";
                let (from, to) = if inbound {
                    (&m.customer, &m.business)
                } else {
                    (&m.business, &m.customer)
                };
                q = q
                    .bind(&m.id)
                    .bind(&m.tenant_id)
                    .bind(format!("SM{}", uuid::Uuid::new_v4().simple()))
                    .bind(m.direction)
                    .bind(&m.customer)
                    .bind(from)
                    .bind(to)
                    .bind("Can I book a cut on Friday?")
                    .bind(if inbound { "received" } else { "delivered" })
                    .bind(&m.notification_id)
                    .bind(m.created_at)
                    .bind(m.created_at);
            }
            q.execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// Median, min and max of one figure, in milliseconds.
struct Timing {
    label: &'static str,
    runs: Vec<Duration>,
}

impl Timing {
    fn line(&self) -> String {
        let mut v = self.runs.clone();
        v.sort_unstable();
        format!(
            "{:<17} median {} ms  min {} ms  max {} ms",
            format!("{}:", self.label),
            ms(percentile(&v, 50.0)),
            ms(v.first().copied().unwrap_or_default()),
            ms(v.last().copied().unwrap_or_default())
        )
    }
}

struct AnalyticsBench {
    backend: &'static str,
    calls: usize,
    neighbour_calls: usize,
    notifications: usize,
    messages: usize,
    seed_time: Duration,
    runs: usize,
    timings: Vec<Timing>,
    counted_calls: i64,
    export_rows: usize,
    export_bytes: usize,
    export_time: Duration,
}

async fn analytics(args: AnalyticsArgs) -> anyhow::Result<()> {
    let (scratch, db_url) =
        Scratch::create(given_on_command_line(args.database_url.as_deref())).await?;
    let outcome = tokio::select! {
        r = bench_analytics(&args, &db_url) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    scratch.remove().await;
    let r = outcome?;
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("backend:         {} ({build} build)", r.backend);
    println!(
        "seeded:          {} calls for the measured tenant, {} for a neighbour, {} notifications, {} messages in {:.1} s",
        r.calls,
        r.neighbour_calls,
        r.notifications,
        r.messages,
        r.seed_time.as_secs_f64()
    );
    println!(
        "range:           {} to {} ({SEED_ZONE}, {SEED_DAYS} days)",
        SEED_FIRST_DAY,
        SEED_FIRST_DAY
            .checked_add(jiff::Span::new().days(SEED_DAYS - 1))
            .unwrap_or(SEED_FIRST_DAY)
    );
    println!("runs:            {}", r.runs);
    for t in &r.timings {
        println!("{}", t.line());
    }
    println!(
        "export calls:    {} rows, {:.1} MB in {:.2} s",
        r.export_rows,
        r.export_bytes as f64 / 1e6,
        r.export_time.as_secs_f64()
    );
    println!(
        "calls counted:   {} (expected {})",
        r.counted_calls, r.calls
    );
    if r.counted_calls != r.calls as i64 || r.export_rows != r.calls {
        bail!(
            "benchmark failed: the analytics counted {} calls and the export had {} rows, for {} seeded",
            r.counted_calls,
            r.export_rows,
            r.calls
        );
    }
    Ok(())
}

async fn bench_analytics(args: &AnalyticsArgs, db_url: &str) -> anyhow::Result<AnalyticsBench> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1")?;
    let base = format!("http://{}", listener.local_addr()?);
    let raw = RawConfig {
        database_url: Some(db_url.to_string()),
        app_url: Some(base.clone()),
        log_level: Some("warn".into()),
        // The timed requests must not be rate limited, however many runs are asked for.
        rate_limit_max: Some("1000000".into()),
        tenant_rate_limit_max: Some("1000000".into()),
        ..Default::default()
    };
    let state = AppState::build(Config::from_raw(&raw)?, Clock::System, Jobs::default()).await?;
    let backend = match state.db.kind() {
        crate::config::DbKind::Sqlite => "sqlite",
        crate::config::DbKind::Postgres => "postgres",
    };
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(start::serve_http(state.clone(), listener, shutdown.clone()));
    let result = async {
        let fail = |e: ApiError| anyhow::anyhow!("seeding: {}", e.describe());
        let zone = crate::domain::TimeZoneName::parse("timeZone", SEED_ZONE)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let mut ids = Vec::new();
        for (name, number) in [
            ("Bench Salon", "+14155550100"),
            ("Bench Neighbour", "+14155550101"),
        ] {
            let t = tenants::create(
                &state,
                CreateTenant {
                    name: name.into(),
                    time_zone: Some(zone.clone()),
                    phone_number: Some(
                        E164::parse("phoneNumber", number)
                            .map_err(|e| anyhow::anyhow!("{}", e.message))?,
                    ),
                    ..Default::default()
                },
            )
            .await
            .map_err(fail)?;
            ids.push((t.id, number));
        }
        let mut rng = Rng(42);
        let mut seeded = Seeded::default();
        seeded.add_tenant(&mut rng, &ids[0].0, ids[0].1, args.calls)?;
        let calls = seeded.calls.len();
        seeded.add_tenant(&mut rng, &ids[1].0, ids[1].1, (args.calls / 10).max(1))?;
        let started = Instant::now();
        insert_seeded(&state, &seeded).await?;
        let seed_time = started.elapsed();
        if let crate::db::Db::Postgres(p) = &state.db {
            // What autovacuum would do soon after a bulk load: fresh statistics for the planner.
            sqlx::query("ANALYZE").execute(p).await?;
        }

        let now = jiff::Timestamp::now().as_second();
        let token = state.jwt.issue(&ids[0].0, now, 3600);
        let client = reqwest::Client::builder().timeout(CLIENT_TIMEOUT).build()?;
        let last_day = SEED_FIRST_DAY.checked_add(jiff::Span::new().days(SEED_DAYS - 1))?;
        let range = format!("from={SEED_FIRST_DAY}&to={last_day}");
        let figures = [
            (
                "analytics day",
                format!("/api/telephony/analytics?{range}&granularity=day"),
            ),
            (
                "analytics week",
                format!("/api/telephony/analytics?{range}&granularity=week"),
            ),
            (
                "analytics month",
                format!("/api/telephony/analytics?{range}&granularity=month"),
            ),
            (
                "usage month",
                "/api/telephony/usage?month=2026-03".to_string(),
            ),
        ];
        let runs = usize::try_from(args.runs)?;
        let mut timings = Vec::new();
        let mut counted_calls = -1;
        for (label, path) in figures {
            let url = format!("{base}{path}");
            // One untimed request first: connection set-up and cold caches are not the figure.
            get_json(&client, &url, &token).await?;
            let mut t = Timing {
                label,
                runs: Vec::with_capacity(runs),
            };
            for _ in 0..runs {
                let t0 = Instant::now();
                let body = get_json(&client, &url, &token).await?;
                t.runs.push(t0.elapsed());
                if label == "analytics day" {
                    counted_calls = body["data"]["summary"]["calls"]["total"]
                        .as_i64()
                        .unwrap_or(-1);
                }
            }
            timings.push(t);
        }

        let t0 = Instant::now();
        let res = client
            .get(format!("{base}/api/telephony/export?kind=calls"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(600))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("export answered HTTP {}", res.status());
        }
        let csv = res.bytes().await?;
        let export_time = t0.elapsed();
        // CRLF-terminated records, minus the header (bodies of seeded calls hold no line breaks).
        let export_rows = csv
            .windows(2)
            .filter(|w| w == b"\r\n")
            .count()
            .saturating_sub(1);

        Ok(AnalyticsBench {
            backend,
            calls,
            neighbour_calls: seeded.calls.len() - calls,
            notifications: seeded.notifications.len(),
            messages: seeded.messages.len(),
            seed_time,
            runs,
            timings,
            counted_calls,
            export_rows,
            export_bytes: csv.len(),
            export_time,
        })
    }
    .await;
    shutdown.cancel();
    let _ = server.await;
    state.db.close().await;
    result
}

/// GETs `url` with the tenant's token; the JSON body of a 200, or an error.
async fn get_json(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<serde_json::Value> {
    let res = client.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    let text = res.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered HTTP {status}: {}", snippet(&text));
    }
    Ok(serde_json::from_str(&text)?)
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
