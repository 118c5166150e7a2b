//! Call-handling operator commands: a tenant's call history (`calls list`) and the routing policy
//! that decides how its calls are handled (`tenant routing show|set`).
//!
//! Like the other operator commands they validate through the API's own code: the listing through
//! [`calls::logs`], routing changes as an admin-API `PATCH` body through [`parse_json`] and
//! [`tenants::update`], so a bad value fails with the same field name and message as over HTTP.

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::ops::{fail, find_tenant, open, print_json};
use crate::calls::logs as calls;
use crate::config::Config;
use crate::db::{calls::Call, tenants::Tenant};
use crate::domain::RoutingPolicy;
use crate::tenants::manage as tenants;
use crate::web::error::ApiError;
use crate::web::extract::parse_json;

#[derive(Subcommand, Debug)]
pub enum CallsCmd {
    /// List a tenant's calls, newest first, times in the tenant's time zone.
    List {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        /// How many calls (1-100, default 50).
        #[arg(long)]
        limit: Option<i64>,
        /// completed, busy, no-answer, failed, canceled, in-progress, ringing, …
        #[arg(long)]
        status: Option<String>,
        /// SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT, GET_HOURS, GET_PRICING or OTHER.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RoutingCmd {
    /// Print a tenant's routing policy as JSON.
    Show {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Replace a tenant's routing policy (--json) and/or change single fields of it, then print it.
    Set {
        /// Tenant id or slug.
        tenant: String,
        #[command(flatten)]
        changes: RoutingChanges,
    },
}

#[derive(Args, Debug, Default)]
pub struct RoutingChanges {
    /// The whole policy as JSON, e.g. '{"strategy":"voicemail"}'; fields it leaves out take their defaults.
    #[arg(long)]
    pub json: Option<String>,
    /// forward, forward_external, voicemail, gather or ai_assistant.
    #[arg(long)]
    pub strategy: Option<String>,
    /// Strategy outside business hours (same values as --strategy).
    #[arg(long)]
    pub after_hours_strategy: Option<String>,
    /// E.164 number that forward_external rings; '' clears it.
    #[arg(long)]
    pub external_number: Option<String>,
    /// Seconds each dial rings before giving up (5-600).
    #[arg(long)]
    pub dial_timeout: Option<String>,
    /// priority or round_robin.
    #[arg(long)]
    pub staff_order: Option<String>,
    /// Greeting spoken first ({name} is the business name); '' restores the default greeting.
    #[arg(long)]
    pub greeting: Option<String>,
}

impl RoutingChanges {
    /// The admin API's `PATCH /api/admin/tenants/{id}` body for these changes to `current`.
    ///
    /// Values stay strings here (a dial timeout that is not a number included): the API's parser then
    /// refuses them naming `routingPolicy.<field>`, exactly as it would an HTTP request.
    fn to_update_body(&self, current: &RoutingPolicy) -> Result<Value, ApiError> {
        let mut policy = match &self.json {
            Some(j) => serde_json::from_str::<Value>(j)
                .map_err(|e| ApiError::validation("routingPolicy", format!("is not JSON: {e}")))?,
            None => serde_json::to_value(current).map_err(ApiError::internal)?,
        };
        // A --json that is not an object is left for the parser to refuse.
        if let Value::Object(m) = &mut policy {
            self.apply(m);
        }
        Ok(json!({ "routingPolicy": policy }))
    }

    fn apply(&self, m: &mut Map<String, Value>) {
        let text = |v: &str| Value::String(v.to_string());
        // '' means "back to unset" for the optional fields.
        let optional = |v: &str| {
            if v.trim().is_empty() {
                Value::Null
            } else {
                text(v)
            }
        };
        let mut set = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        set("strategy", self.strategy.as_deref().map(text));
        set(
            "afterHoursStrategy",
            self.after_hours_strategy.as_deref().map(text),
        );
        set(
            "externalNumber",
            self.external_number.as_deref().map(optional),
        );
        set(
            "dialTimeoutSecs",
            self.dial_timeout
                .as_deref()
                .map(|v| match v.trim().parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => text(v),
                }),
        );
        set("staffOrder", self.staff_order.as_deref().map(text));
        set("greeting", self.greeting.as_deref().map(optional));
    }

    fn is_empty(&self) -> bool {
        let RoutingChanges {
            json,
            strategy,
            after_hours_strategy,
            external_number,
            dial_timeout,
            staff_order,
            greeting,
        } = self;
        [
            json,
            strategy,
            after_hours_strategy,
            external_number,
            dial_timeout,
            staff_order,
            greeting,
        ]
        .iter()
        .all(|v| v.is_none())
    }
}

pub async fn calls(config: Config, cmd: CallsCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    let CallsCmd::List {
        tenant,
        limit,
        status,
        reason,
    } = cmd;
    let t = find_tenant(&state, &tenant).await?;
    let q = calls::CallLogQuery {
        limit,
        status,
        reason,
        ..Default::default()
    };
    let page = calls::list(&state.db, &t, &q).await.map_err(fail)?;
    print_calls(&t, &page);
    Ok(())
}

/// One line of the `calls list` table.
fn row([time, dir, from, to, status, dur, reason, flags]: [&str; 8]) -> String {
    format!(
        "{time:<26}  {dir:<9}  {from:<16}  {to:<16}  {status:<11}  {dur:>8}  {reason:<18}  {flags}"
    )
}

fn print_calls(t: &Tenant, page: &calls::CallPage) {
    let header = format!("TIME ({})", t.time_zone);
    println!(
        "{}",
        row([
            &header,
            "DIRECTION",
            "FROM",
            "TO",
            "STATUS",
            "DURATION",
            "REASON",
            "FLAGS"
        ])
    );
    let tz = t.time_zone.time_zone();
    for c in &page.calls {
        let time = jiff::Timestamp::from_millisecond(c.start_time)
            .map(|ts| {
                ts.to_zoned(tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .unwrap_or_else(|_| "?".into());
        let duration = c
            .duration_seconds
            .map(duration)
            .unwrap_or_else(|| "-".into());
        let reason = c.call_reason.as_deref().unwrap_or("-");
        println!(
            "{}",
            row([
                &time,
                &c.direction,
                &c.from_number,
                &c.to_number,
                c.status.as_str(),
                &duration,
                reason,
                &flags(c)
            ])
        );
    }
    println!(
        "{} of {} call(s) (offset {})",
        page.calls.len(),
        page.total,
        page.offset
    );
}

/// `65` → `1m05s`: short enough for a table column, unambiguous unlike `1:05`.
fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60),
    }
}

fn flags(c: &Call) -> String {
    let f: Vec<&str> = [(c.missed, "missed"), (c.voicemail, "voicemail")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f.join(",")
    }
}

pub async fn routing(state: &crate::state::AppState, cmd: RoutingCmd) -> anyhow::Result<()> {
    match cmd {
        RoutingCmd::Show { tenant } => {
            print_json(&find_tenant(state, &tenant).await?.routing_policy)
        }
        RoutingCmd::Set { tenant, changes } => {
            if changes.is_empty() {
                anyhow::bail!(
                    "nothing to change: give --json or one of --strategy, --after-hours-strategy, \
                     --external-number, --dial-timeout, --staff-order, --greeting"
                );
            }
            let t = find_tenant(state, &tenant).await?;
            let body = changes.to_update_body(&t.routing_policy).map_err(fail)?;
            let req: tenants::UpdateTenant =
                parse_json(body.to_string().as_bytes()).map_err(fail)?;
            let t = tenants::update(state, &t.id, req).await.map_err(fail)?;
            print_json(&t.routing_policy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(3725), "1h02m05s");
    }

    #[test]
    fn flags_change_only_their_field_of_the_current_policy() {
        let current = RoutingPolicy {
            greeting: Some("Hi".into()),
            ..Default::default()
        };
        let changes = RoutingChanges {
            strategy: Some("voicemail".into()),
            dial_timeout: Some("30".into()),
            greeting: Some("".into()),
            ..Default::default()
        };
        let body = changes.to_update_body(&current).unwrap();
        let p = &body["routingPolicy"];
        assert_eq!(p["strategy"], "voicemail");
        assert_eq!(p["dialTimeoutSecs"], 30);
        assert_eq!(p["greeting"], Value::Null);
        assert_eq!(p["afterHoursStrategy"], "voicemail");
        assert_eq!(p["voicemailMaxLengthSecs"], 120);
    }
}
