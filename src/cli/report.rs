//! `switchboard report --tenant T [--month YYYY-MM]`: a tenant's month at a glance, read directly from
//! the database: the month's activity (the analytics summary) and its usage with the estimated cost,
//! as a table for people or, with `--json`, the API's two JSON documents for scripts.
//!
//! It goes through [`crate::analytics`], the code behind `/api/telephony/analytics` and `/usage`, so a
//! bad month fails with the API's message and the figures are the API's figures.

use clap::Args;
use serde_json::json;

use super::ops::{fail, find_tenant, open, print_json};
use crate::analytics::usage::{self, UsageQuery, UsageReport};
use crate::analytics::{self, AnalyticsQuery, AnalyticsReport, Scope};
use crate::config::{Config, format_price};
use crate::db::tenants::Tenant;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Tenant id or slug.
    #[arg(long)]
    pub tenant: String,
    /// The month, YYYY-MM, in the tenant's time zone [default: the current month].
    #[arg(long)]
    pub month: Option<String>,
    /// Print the analytics and usage documents as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn report(config: Config, args: ReportArgs) -> anyhow::Result<()> {
    let state = open(config).await?;
    let t = find_tenant(&state, &args.tenant).await?;
    let now = state.clock.now_ms();
    let tz = t.time_zone.time_zone();
    let month = UsageQuery { month: args.month }
        .validate(&tz, now)
        .map_err(fail)?;
    let last_day = month
        .checked_add(jiff::Span::new().months(1))
        .and_then(|next| next.yesterday())
        .map_err(|_| anyhow::anyhow!("month: is out of range"))?;
    let req = AnalyticsQuery {
        from: Some(month.to_string()),
        to: Some(last_day.to_string()),
        granularity: Some("month".into()),
    }
    .validate(&t.time_zone, now)
    .map_err(fail)?;
    let activity = analytics::analytics(&state.db, Scope::Tenant(&t.id), &req)
        .await
        .map_err(fail)?;
    let used = usage::usage(&state.db, &t, month, &state.config.prices, now)
        .await
        .map_err(fail)?;
    if args.json {
        return print_json(&json!({ "analytics": activity, "usage": used }));
    }
    print!("{}", render(&t, &activity, &used));
    Ok(())
}

/// `65` → `1m05s`.
fn duration(secs: f64) -> String {
    let s = secs.round() as i64;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// Dollars to four decimals: the prices go down to tenths of a cent.
fn usd(x: f64) -> String {
    format!("{x:.4}")
}

/// The report as text.
pub fn render(t: &Tenant, a: &AnalyticsReport, u: &UsageReport) -> String {
    let s = &a.summary;
    let c = &s.calls;
    let mut out = String::new();
    let mut line = |l: String| {
        // Rows with an empty detail column would end in padding.
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(format!(
        "{} ({}), {} in {}",
        t.name,
        t.slug.as_str(),
        u.month,
        u.time_zone
    ));
    line(format!("from {} to {}", u.from, u.to));
    line(String::new());
    line("ACTIVITY".into());
    let row = |label: &str, n: i64, detail: String| format!("  {label:<22}{n:>8}   {detail}");
    line(row(
        "calls",
        c.total,
        format!(
            "answered {}, missed {}, voicemail {} ({} in, {} out)",
            c.answered, c.missed, c.voicemail, c.inbound, c.outbound
        ),
    ));
    line(format!(
        "  {:<22}{:>8}   average {}, p90 {}",
        "answered duration",
        "",
        c.average_duration_seconds
            .map(duration)
            .unwrap_or_else(|| "-".into()),
        c.p90_duration_seconds
            .map(|d| duration(d as f64))
            .unwrap_or_else(|| "-".into())
    ));
    line(row(
        "missed-call texts",
        s.text_back.sent,
        match s.text_back.median_seconds {
            Some(m) => format!("median {} after the call", duration(m)),
            None => "-".into(),
        },
    ));
    line(row(
        "SMS sent",
        s.sms.sent,
        format!(
            "delivered {}, failed {}, pending {}, delivery rate {}",
            s.sms.delivered,
            s.sms.failed,
            s.sms.pending,
            percent(s.sms.delivery_rate)
        ),
    ));
    line(row(
        "inbound SMS",
        s.inbound_sms.messages,
        format!(
            "{} conversations, {} replied within 24 h ({})",
            s.inbound_sms.conversations,
            s.inbound_sms.replied,
            percent(s.inbound_sms.reply_rate)
        ),
    ));
    line(row("opt-outs", s.sms.opt_outs, String::new()));
    let busiest: Vec<String> = {
        let mut hours: Vec<_> = c.by_hour.iter().filter(|h| h.total > 0).collect();
        hours.sort_by(|x, y| y.total.cmp(&x.total).then(x.hour.cmp(&y.hour)));
        hours
            .iter()
            .take(3)
            .map(|h| format!("{:02}:00 ({})", h.hour, h.total))
            .collect()
    };
    if !busiest.is_empty() {
        line(format!(
            "  {:<22}{:>8}   {}",
            "busiest hours",
            "",
            busiest.join(", ")
        ));
    }
    let reasons: Vec<String> = c
        .by_reason
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if !reasons.is_empty() {
        line(format!(
            "  {:<22}{:>8}   {}",
            "call reasons",
            "",
            reasons.join(", ")
        ));
    }
    line(String::new());
    line(format!(
        "USAGE AND ESTIMATED COST ({})",
        u.estimated_cost.currency
    ));
    line(format!(
        "  {:<22}{:>8}   {:>10}   {:>10}",
        "ITEM", "QUANTITY", "UNIT PRICE", "AMOUNT"
    ));
    for l in &u.estimated_cost.lines {
        line(format!(
            "  {:<22}{:>8}   {:>10}   {:>10}",
            l.item.replace('_', " "),
            l.quantity,
            // The unit price as configured (no padding zeros), the amount to a tenth of a cent.
            format_price((l.unit_price * 1_000_000.0).round() as i64),
            usd(l.amount)
        ));
    }
    line(format!(
        "  {:<22}{:>8}   {:>10}   {:>10}",
        "total",
        "",
        "",
        usd(u.estimated_cost.total)
    ));
    line(format!(
        "  ({} inbound and {} outbound calls, {} SMS in and {} out, {} recordings, {} transcriptions)",
        u.inbound_calls,
        u.outbound_calls,
        u.inbound_messages,
        u.outbound_messages,
        u.recordings,
        u.transcriptions
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_at_a_glance() {
        assert_eq!(duration(7.4), "7s");
        assert_eq!(duration(65.0), "1m05s");
        assert_eq!(duration(3725.0), "1h02m05s");
        assert_eq!(percent(Some(0.9432)), "94.3%");
        assert_eq!(percent(None), "-");
        assert_eq!(usd(1.0), "1.0000");
    }
}
