//! `switchboard bench console`: seeds one tenant with many calls (100,000 by default) in a
//! throwaway database, signs a console session in for it, and times the console's heaviest pages
//! over real HTTP: the calls list (first page, a page deep in the history, a filtered page) and the
//! 30-day overview, printing the median and 95th percentile. Then it walks every page of the calls
//! list through its "Older" links and checks each call is listed exactly once.
//!
//! The app's clock is set to the last seeded day, so "the last 30 days" of the overview hold data.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Args;

use crate::calls::logs;
use crate::clock::Clock;
use crate::console::session;
use crate::failure::Failure;

use super::history::{
    SEED_DAYS, SEED_FIRST_DAY, SEED_ZONE, SeededTenants, seed_salon_and_neighbour,
};
use super::{BenchApp, CLIENT_TIMEOUT, build_kind, ms, on_scratch, percentile, snippet};

#[derive(Args, Debug)]
pub struct ConsoleArgs {
    /// Calls of the measured tenant (a neighbour gets a tenth as many).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(10..=2_000_000))]
    pub calls: u64,
    /// Timed requests per page; the median and 95th percentile are reported.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub runs: u64,
    /// A PostgreSQL server (postgres://…) on which a throwaway database is created and then dropped
    /// [default: a SQLite file in a temporary directory; DATABASE_URL is ignored]
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}

struct Figure {
    label: &'static str,
    runs: Vec<Duration>,
}

impl Figure {
    fn line(&self) -> String {
        let mut v = self.runs.clone();
        v.sort_unstable();
        format!(
            "{:<17} median {} ms  p95 {} ms  max {} ms",
            format!("{}:", self.label),
            ms(percentile(&v, 50.0)),
            ms(percentile(&v, 95.0)),
            ms(v.last().copied().unwrap_or_default())
        )
    }
}

struct Outcome {
    backend: &'static str,
    calls: usize,
    seed_time: Duration,
    figures: Vec<Figure>,
    listed: usize,
    pages: usize,
    walk_time: Duration,
}

pub(super) async fn console(args: ConsoleArgs) -> anyhow::Result<()> {
    let args = &args;
    let r = on_scratch(args.database_url.as_deref(), |url| async move {
        bench(args, &url).await
    })
    .await?;
    let build = build_kind();
    println!("backend:         {} ({build} build)", r.backend);
    println!(
        "seeded:          {} calls for the measured tenant in {:.1} s ({SEED_ZONE}, {SEED_DAYS} days from {SEED_FIRST_DAY})",
        r.calls,
        r.seed_time.as_secs_f64()
    );
    println!("runs:            {}", args.runs);
    for f in &r.figures {
        println!("{}", f.line());
    }
    println!(
        "walked:          {} pages of the calls list in {:.2} s",
        r.pages,
        r.walk_time.as_secs_f64()
    );
    println!("calls listed:    {} (expected {})", r.listed, r.calls);
    if r.listed != r.calls {
        bail!(
            "benchmark failed: the calls list showed {} distinct calls, {} were seeded",
            r.listed,
            r.calls
        );
    }
    Ok(())
}

async fn bench(args: &ConsoleArgs, db_url: &str) -> anyhow::Result<Outcome> {
    // Noon on the last seeded day: the overview's "last 30 days" end there.
    let last_day = SEED_FIRST_DAY.checked_add(jiff::Span::new().days(SEED_DAYS - 1))?;
    let noon = last_day
        .at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get(SEED_ZONE)?)?
        .timestamp()
        .as_millisecond();
    let app = BenchApp::start(db_url, Clock::manual(noon)).await?;
    let (state, base, backend) = (&app.state, &app.base, app.backend());
    let result = async {
        let fail = |e: Failure| anyhow::anyhow!("signing in: {}", e.describe());
        let SeededTenants {
            tenants,
            calls,
            seed_time,
            ..
        } = seed_salon_and_neighbour(state, args.calls, 7).await?;
        let tenant = &tenants[0];
        let link = session::issue_link(state, &tenant.id).await.map_err(fail)?;
        let token = link.url.rsplit('/').next().unwrap_or_default().to_string();
        let opened = session::redeem_link(state, &token).await.map_err(fail)?;
        let cookie = format!("{}={}", crate::console::auth::COOKIE, opened.token);
        let client = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;

        // A cursor half-way through the history: the page after it is as deep as pages get.
        let middle = crate::db::calls::list(
            &state.db,
            &tenant.id,
            &Default::default(),
            1,
            (calls / 2) as i64,
        )
        .await?
        .0;
        let deep = middle.first().map(logs::cursor_of).unwrap_or_default();
        let calls_page = format!("/console/t/{}/calls", tenant.id);
        let figures_to_take = [
            ("calls first page", calls_page.clone()),
            ("calls deep page", format!("{calls_page}?before={deep}")),
            (
                "calls filtered",
                format!(
                    "{calls_page}?outcome=voicemail&reason=GET_HOURS&from=2026-02-01&to=2026-03-31"
                ),
            ),
            (
                "overview 30 days",
                format!("/console/t/{}?range=30d", tenant.id),
            ),
        ];
        let mut figures = Vec::new();
        for (label, path) in figures_to_take {
            let url = format!("{base}{path}");
            // One untimed request first: connection set-up and cold caches are not the figure.
            get_page(&client, &url, &cookie).await?;
            let mut f = Figure {
                label,
                runs: Vec::new(),
            };
            for _ in 0..args.runs {
                let t0 = Instant::now();
                get_page(&client, &url, &cookie).await?;
                f.runs.push(t0.elapsed());
            }
            figures.push(f);
        }

        // Every page, through the "Older" links.
        let walk = Instant::now();
        let mut seen = HashSet::new();
        let mut next = Some(format!("{calls_page}?limit=100"));
        let mut pages = 0;
        while let Some(path) = next.take() {
            let html = get_page(&client, &format!("{base}{path}"), &cookie).await?;
            pages += 1;
            for id in html.split("data-call-id=\"").skip(1) {
                let id = &id[..id.find('"').unwrap_or(0)];
                if !seen.insert(id.to_string()) {
                    bail!("call {id} listed twice (page {pages})");
                }
            }
            next = older_link(&html);
        }
        Ok(Outcome {
            backend,
            calls,
            seed_time,
            figures,
            listed: seen.len(),
            pages,
            walk_time: walk.elapsed(),
        })
    }
    .await;
    app.stop().await;
    result
}

/// The "Older" link of a calls page, unescaped.
fn older_link(html: &str) -> Option<String> {
    let at = html.find("id=\"calls-older\"")?;
    let start = html[..at].rfind("href=\"")? + "href=\"".len();
    let end = start + html[start..].find('"')?;
    // Askama writes `&` as `&#38;`.
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// GETs a console page with the session cookie; its HTML, or an error unless 200.
async fn get_page(client: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<String> {
    let res = client
        .get(url)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?;
    let status = res.status();
    let text = res.text().await?;
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered HTTP {status}: {}", snippet(&text));
    }
    Ok(text)
}
