//! Number operator commands: `switchboard numbers search|buy|release|repair|status`, and
//! `tenant subscription TENANT STATUS` (the admin API's subscription change, provisioning included).
//!
//! They call Twilio through the configured REST client. In sandbox mode (no Twilio credentials)
//! that is the sandbox of the Switchboard server running at `APP_URL`, so `serve` must be running;
//! against a standalone `switchboard sandbox`, set `TWILIO_API_BASE_URL` and its credentials.

use clap::Subcommand;
use serde_json::json;

use super::ops::{fail, find_tenant, open, print_json};
use crate::config::{Config, TwilioMode};
use crate::domain::{E164, SubscriptionStatus};
use crate::failure::Failure;
use crate::numbers::api::{ProvisioningPreferences, apply_preferences};
use crate::numbers::ops::{self, Released};
use crate::numbers::search::SearchQuery;
use crate::numbers::{self, NumberError, Provisioned};
use crate::state::AppState;
use crate::tenants::manage::{self as tenants, TenantView, UpdateTenant};
use crate::web::error::ApiError;

#[derive(Subcommand, Debug)]
pub enum NumbersCmd {
    /// Search the numbers Twilio offers.
    Search {
        /// Three-digit area code (US and Canada).
        #[arg(long)]
        area_code: Option<String>,
        /// ISO country code [default: US].
        #[arg(long)]
        country: Option<String>,
        /// Digits or letters the number must contain (* matches any digit).
        #[arg(long)]
        contains: Option<String>,
        /// local, toll-free or mobile [default: local].
        #[arg(long = "type")]
        kind: Option<String>,
        /// Only numbers with SMS.
        #[arg(long)]
        sms: bool,
        /// Only numbers with voice.
        #[arg(long)]
        voice: bool,
        /// How many (1-100) [default: 20].
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Buy a number for a tenant that has none, with this deployment's webhooks: an exact --number,
    /// or one in --area-code, or (neither) as automatic provisioning would.
    Buy {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
        /// The exact E.164 number to buy.
        #[arg(long, conflicts_with = "area_code")]
        number: Option<String>,
        /// Preferred area code (kept as the tenant's preference).
        #[arg(long)]
        area_code: Option<String>,
    },
    /// Release a tenant's number now (no grace period) and clear it from the tenant.
    Release {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
    },
    /// Re-point numbers whose Twilio webhooks drifted: one tenant, or every tenant with a number.
    Repair {
        /// Tenant id or slug.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        tenant: Option<String>,
        /// Every tenant that has a number.
        #[arg(long)]
        all: bool,
    },
    /// Show a tenant's number provisioning (state, reason, Twilio code, job) as JSON.
    Status {
        /// Tenant id or slug.
        #[arg(long)]
        tenant: String,
    },
}

/// Errors from Twilio in sandbox mode are usually "nobody is serving the sandbox": say so.
fn twilio_fail(state: &AppState, e: NumberError) -> anyhow::Error {
    let sandbox_down = state.twilio.mode == TwilioMode::Sandbox
        && matches!(
            &e,
            NumberError::Twilio(switchboard_twilio::rest::TwilioError::Connect(_))
        );
    let message = ApiError::from(e).message;
    if sandbox_down {
        anyhow::anyhow!(
            "{message}\nIn sandbox mode the CLI uses the sandbox of the server at APP_URL ({}): is `switchboard serve` running there?",
            state.config.server.app_url
        )
    } else {
        anyhow::anyhow!("{message}")
    }
}

pub async fn numbers(config: Config, cmd: NumbersCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        NumbersCmd::Search {
            area_code,
            country,
            contains,
            kind,
            sms,
            voice,
            limit,
        } => {
            let mut q = SearchQuery::default();
            if let Some(a) = &area_code {
                q.area_code =
                    Some(crate::numbers::search::parse_area_code("--area-code", a).map_err(fail)?);
            }
            if let Some(c) = &country {
                q.country = crate::numbers::search::parse_country("--country", c).map_err(fail)?;
            }
            if let Some(c) = &contains {
                q.contains =
                    Some(crate::numbers::search::parse_contains("--contains", c).map_err(fail)?);
            }
            if let Some(k) = &kind {
                q.kind = crate::numbers::search::parse_kind("--type", k).map_err(fail)?;
            }
            q.sms_enabled = sms.then_some(true);
            q.voice_enabled = voice.then_some(true);
            if let Some(l) = limit {
                if !(1..=100).contains(&l) {
                    anyhow::bail!("--limit: must be between 1 and 100");
                }
                q.limit = l;
            }
            let found = crate::numbers::search::search(&state, &q)
                .await
                .map_err(|e| twilio_fail(&state, NumberError::Twilio(e)))?;
            println!(
                "{:<16}  {:<20}  {:<8}  CAPABILITIES",
                "NUMBER", "LOCALITY", "REGION"
            );
            for n in &found {
                let caps: Vec<&str> = [
                    (n.capabilities.voice, "voice"),
                    (n.capabilities.sms, "sms"),
                    (n.capabilities.mms, "mms"),
                ]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
                println!(
                    "{:<16}  {:<20}  {:<8}  {}",
                    n.phone_number.as_deref().unwrap_or("-"),
                    n.locality.as_deref().unwrap_or("-"),
                    n.region.as_deref().unwrap_or("-"),
                    caps.join(",")
                );
            }
            println!("{} number(s)", found.len());
            Ok(())
        }
        NumbersCmd::Buy {
            tenant,
            number,
            area_code,
        } => {
            let t = find_tenant(&state, &tenant).await?;
            if t.twilio_number.is_some() {
                return Err(fail(Failure::from(NumberError::AlreadyProvisioned)));
            }
            let outcome = match number {
                Some(n) => {
                    let n = E164::parse("--number", &n).map_err(|e| fail(Failure::from(e)))?;
                    ops::provision(&state, &t.id, None, Some(&n)).await
                }
                None => {
                    if let Some(a) = area_code {
                        let prefs = ProvisioningPreferences {
                            area_code: Some(Some(a)),
                            ..Default::default()
                        };
                        apply_preferences(&state, &t, prefs).await.map_err(|e| {
                            anyhow::anyhow!(e.message.replace("areaCode", "--area-code"))
                        })?;
                    }
                    numbers::request_number(&state, &t.id, true, ops::LEASE_MS)
                        .await
                        .map_err(|e| fail(Failure::from(e)))?;
                    ops::provision(&state, &t.id, None, None).await
                }
            };
            match outcome.map_err(|e| twilio_fail(&state, e))? {
                Provisioned::Acquired {
                    phone_number,
                    adopted,
                    ..
                } => {
                    let how = if adopted { "adopted" } else { "bought" };
                    eprintln!("{how} {phone_number} for {}", t.slug.as_str());
                }
                Provisioned::Existing(n) => eprintln!("{} already has {n}", t.slug.as_str()),
                Provisioned::Skipped => {}
            }
            let t = find_tenant(&state, &t.id).await?;
            print_json(&numbers::view(&state, &t).await?)
        }
        NumbersCmd::Release { tenant } => {
            let t = find_tenant(&state, &tenant).await?;
            match ops::release(&state, &t.id, None)
                .await
                .map_err(|e| twilio_fail(&state, e))?
            {
                Released::Released(n) | Released::Reprovisioning(n) if !n.is_empty() => {
                    eprintln!("released {}", n.join(", "))
                }
                _ => eprintln!("{} had no number on the Twilio account", t.slug.as_str()),
            }
            let t = find_tenant(&state, &t.id).await?;
            print_json(&numbers::view(&state, &t).await?)
        }
        NumbersCmd::Repair { tenant, all } => {
            let targets = match tenant {
                Some(key) if !all => vec![find_tenant(&state, &key).await?],
                _ => {
                    let (rows, _) = crate::db::tenants::list(&state.db, 100_000, 0).await?;
                    rows.into_iter()
                        .filter(|t| t.twilio_number.is_some())
                        .collect()
                }
            };
            let mut failures = 0;
            for t in &targets {
                match ops::repair(&state, t).await {
                    Ok(r) if r.repaired => println!(
                        "{:<24}  {:<16}  repaired: {}",
                        t.slug.as_str(),
                        r.phone_number,
                        r.drift.join(", ")
                    ),
                    Ok(r) => println!("{:<24}  {:<16}  ok", t.slug.as_str(), r.phone_number),
                    Err(e) => {
                        failures += 1;
                        println!(
                            "{:<24}  {:<16}  failed: {}",
                            t.slug.as_str(),
                            t.twilio_number.as_ref().map(E164::as_str).unwrap_or("-"),
                            twilio_fail(&state, e)
                        );
                    }
                }
            }
            if failures > 0 {
                anyhow::bail!("{failures} number(s) could not be repaired");
            }
            Ok(())
        }
        NumbersCmd::Status { tenant } => {
            let t = find_tenant(&state, &tenant).await?;
            print_json(&numbers::view(&state, &t).await?)
        }
    }
}

/// `tenant subscription TENANT STATUS`: the admin API's subscription change.
pub async fn subscription(state: &AppState, tenant: &str, status: &str) -> anyhow::Result<()> {
    let status = SubscriptionStatus::parse("STATUS", status).map_err(|e| fail(Failure::from(e)))?;
    let t = find_tenant(state, tenant).await?;
    let t = tenants::update(
        state,
        &t.id,
        UpdateTenant {
            subscription_status: Some(status),
            ..Default::default()
        },
    )
    .await
    .map_err(fail)?;
    print_json(&json!({
        "tenant": TenantView::from(&t),
        "provisioning": numbers::view(state, &t).await?,
    }))
}
