//! `switchboard bench sms`: how fast queued notifications drain to Twilio (the embedded sandbox,
//! over loopback HTTP), and whether the per-sender pace holds.
//!
//! - `--rate 0` (default): the throughput limit off; N notifications across several senders; reports
//!   messages per second until every one is SENT (or later) or FAILED.
//! - `--rate R`: one sender limited to R segments/s for `--seconds`; reports the measured rate
//!   (messages accepted by the sandbox per second of the window) against R.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;
use tokio_util::sync::CancellationToken;

use super::on_scratch;
use crate::clock::Clock;
use crate::config::{Config, RawConfig};
use crate::db;
use crate::domain::E164;
use crate::domain::states::NotificationStatus;
use crate::messaging::notifications::{NewSms, NotificationKind, queue};
use crate::state::AppState;
use crate::state::Jobs;
use crate::tenants::manage::{CreateTenant, create};

#[derive(Args, Debug)]
pub struct SmsArgs {
    /// Notifications to queue and drain (throughput mode).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=200_000))]
    pub messages: u64,
    /// Sending numbers (tenants) the messages are spread over (throughput mode).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub senders: u64,
    /// Jobs run at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub concurrency: u64,
    /// Segments per second per sender; 0 measures raw throughput, anything else checks the pace.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Length of the pacing window, seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=300))]
    pub seconds: u64,
    /// A PostgreSQL server for a throwaway database [default: SQLite in a temporary directory].
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}

pub async fn run(args: SmsArgs) -> anyhow::Result<()> {
    if !(0.0..=1000.0).contains(&args.rate) {
        bail!("--rate must be between 0 and 1000");
    }
    let args = &args;
    on_scratch(args.database_url.as_deref(), |url| async move {
        bench(args, &url).await
    })
    .await
}

async fn bench(args: &SmsArgs, db_url: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let raw = RawConfig {
        database_url: Some(db_url.to_string()),
        app_url: Some(format!("http://{addr}")),
        worker_concurrency: Some(args.concurrency.to_string()),
        sms_segments_per_second: Some(args.rate.to_string()),
        sandbox_callback_delay_ms: Some("0".into()),
        job_poll_interval_ms: Some("10".into()),
        db_max_connections: Some("20".into()),
        log_level: Some("error".into()),
        ..Default::default()
    };
    let config = Config::from_raw(&raw).map_err(|e| anyhow::anyhow!("{e}"))?;
    let backend = if db_url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let state = AppState::build(config, Clock::System, Jobs::default()).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(crate::start::serve_http(
        state.clone(),
        listener,
        shutdown.clone(),
    ));

    let pacing = args.rate > 0.0;
    let senders = if pacing { 1 } else { args.senders as usize };
    let count = if pacing {
        ((args.rate * args.seconds as f64) * 2.0).ceil() as usize + 10
    } else {
        args.messages as usize
    };
    let mut tenant_ids = Vec::new();
    for i in 0..senders {
        let number =
            E164::parse("n", &format!("+1646555{:04}", i)).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t = create(
            &state,
            CreateTenant {
                name: format!("Sender {i}"),
                phone_number: Some(number),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.describe()))?;
        tenant_ids.push(t.id);
    }
    let mut tx = state.db.begin().await?;
    for i in 0..count {
        let to = E164::parse("to", &format!("+1415555{:04}", i % 10_000))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sms = NewSms::new(
            &tenant_ids[i % senders],
            NotificationKind::Api,
            to,
            format!("bench message {i}"),
        );
        queue(&state, &mut tx, sms).await?;
    }
    tx.commit().await?;

    let start = Instant::now();
    let workers = tokio::spawn(crate::jobs::worker::work(state.clone(), shutdown.clone()));
    if pacing {
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        shutdown.cancel();
        let _ = workers.await;
        // What Twilio (the sandbox) accepted is the exact figure; row statuses keep moving.
        let sent = state
            .twilio
            .sandbox
            .as_ref()
            .map(|s| s.messages().len())
            .unwrap_or(0);
        let measured = sent as f64 / args.seconds as f64;
        println!("backend:            {backend}");
        println!(
            "configured pace:    {:.2} segments/s for one sender (1 segment per message)",
            args.rate
        );
        println!("window:             {} s", args.seconds);
        println!("messages sent:      {sent} of {count} queued");
        println!(
            "measured rate:      {measured:.2} messages/s ({:.0}% of the limit)",
            measured / args.rate * 100.0
        );
        if measured > args.rate * 1.05 + 1.0 / args.seconds as f64 {
            bail!("the pace was exceeded");
        }
    } else {
        loop {
            let left = unfinished(&state).await?;
            if left == 0 {
                break;
            }
            let done = count - left.min(count);
            if start.elapsed() > Duration::from_secs(900) {
                bail!("gave up after 15 minutes with {done} of {count} done");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let wall = start.elapsed();
        shutdown.cancel();
        let _ = workers.await;
        let failed = status_count(&state, &tenant_ids, NotificationStatus::Failed).await?;
        let accepted = state
            .twilio
            .sandbox
            .as_ref()
            .map(|s| s.messages().len())
            .unwrap_or(0);
        println!("backend:            {backend}");
        println!(
            "notifications:      {count} over {senders} senders, {} concurrent jobs, pace off",
            args.concurrency
        );
        println!("wall time:          {:.3} s", wall.as_secs_f64());
        println!(
            "throughput:         {:.1} messages/s",
            count as f64 / wall.as_secs_f64()
        );
        println!("failed:             {failed}");
        println!("sandbox accepted:   {accepted} (expected {count})");
        if failed > 0 || accepted != count {
            bail!("benchmark failed: {failed} failed, {accepted} accepted for {count}");
        }
    }
    shutdown.cancel();
    state.db.close().await;
    Ok(())
}

async fn status_count(
    state: &AppState,
    tenants: &[String],
    status: NotificationStatus,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for t in tenants {
        let f = db::notifications::NotificationFilter {
            status: Some(status),
            ..Default::default()
        };
        n += db::notifications::list(&state.db, t, &f, 1, 0).await?.1 as usize;
    }
    Ok(n)
}

/// Notifications not yet at Twilio's door (QUEUED or SENDING), in one statement over the status
/// index: a consistent count that stays cheap however many rows the run has written (the scratch
/// database holds this run's tenants only). Polled every 50 ms, so it must not cost the drain it
/// measures.
async fn unfinished(state: &AppState) -> anyhow::Result<usize> {
    let (n,): (i64,) = crate::with_db!(&state.db, |p| sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE status IN ('QUEUED', 'SENDING')"
    )
    .fetch_one(p)
    .await)?;
    Ok(usize::try_from(n).unwrap_or(0))
}
