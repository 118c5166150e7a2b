//! `switchboard bench analytics`: seeds a tenant with many calls (100,000 by default), messages
//! and notifications, deterministically, and times the analytics and export requests over real HTTP.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use crate::clock::Clock;

use super::{BenchApp, CLIENT_TIMEOUT, build_kind, ms, on_scratch, percentile, snippet};

use super::history::{
    SEED_DAYS, SEED_FIRST_DAY, SEED_ZONE, SeededTenants, seed_salon_and_neighbour,
};

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

pub(super) async fn analytics(args: AnalyticsArgs) -> anyhow::Result<()> {
    let args = &args;
    let r = on_scratch(args.database_url.as_deref(), |url| async move {
        bench_analytics(args, &url).await
    })
    .await?;
    let build = build_kind();
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
    let app = BenchApp::start(db_url, Clock::System).await?;
    let (state, base, backend) = (&app.state, &app.base, app.backend());
    let result = async {
        let SeededTenants {
            tenants,
            calls,
            seeded,
            seed_time,
        } = seed_salon_and_neighbour(state, args.calls, 42).await?;

        let now = jiff::Timestamp::now().as_second();
        let token = state.jwt.issue(&tenants[0].id, now, 3600);
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
            neighbour_calls: seeded.counts().0 - calls,
            notifications: seeded.counts().1,
            messages: seeded.counts().2,
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
    app.stop().await;
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
