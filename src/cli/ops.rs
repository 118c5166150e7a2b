//! Operator subcommands. They open the database directly and call the same `service` functions as
//! the admin API, so validation and error messages are identical; JSON-valued options go through
//! the API's JSON parser for the same reason.

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::clock::{Clock, rfc3339};
use crate::config::Config;
use crate::db;
use crate::failure::Failure;
use crate::jobs::store;
use crate::state::AppState;
use crate::state::Jobs;
use crate::tenants::{keys, manage as tenants, staff};
use crate::web::error::ApiError;
use crate::web::extract::parse_json;

#[derive(Subcommand, Debug)]
pub enum TenantCmd {
    /// Create a tenant.
    Create(TenantFields),
    /// List tenants.
    List,
    /// Show one tenant (by id or slug) as JSON.
    Show { tenant: String },
    /// Change a tenant (by id or slug).
    Update {
        tenant: String,
        #[command(flatten)]
        fields: TenantFields,
    },
    /// Show or change a tenant's routing policy.
    #[command(subcommand)]
    Routing(super::calls::RoutingCmd),
    /// Set a tenant's subscription status (ACTIVE, TRIALING, CANCELED, …): ACTIVE/TRIALING provision
    /// a number, CANCELED releases it after NUMBER_RELEASE_GRACE_HOURS.
    Subscription {
        /// Tenant id or slug.
        tenant: String,
        /// ACTIVE, TRIALING, PAST_DUE, CANCELED, UNPAID, PAUSED, INCOMPLETE, INCOMPLETE_EXPIRED or NONE.
        status: String,
    },
}

#[derive(Args, Debug, Default)]
pub struct TenantFields {
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub slug: Option<String>,
    /// IANA zone, e.g. America/New_York.
    #[arg(long)]
    pub time_zone: Option<String>,
    /// The tenant's Twilio number, E.164.
    #[arg(long)]
    pub phone_number: Option<String>,
    #[arg(long)]
    pub phone_number_sid: Option<String>,
    /// ACTIVE, TRIALING, CANCELED, …
    #[arg(long)]
    pub subscription_status: Option<String>,
    #[arg(long)]
    pub stripe_customer_id: Option<String>,
    /// JSON, e.g. '{"monday":[{"open":"09:00","close":"17:00"}]}'
    #[arg(long)]
    pub business_hours: Option<String>,
    /// JSON, e.g. '{"strategy":"voicemail"}'
    #[arg(long)]
    pub routing_policy: Option<String>,
    /// JSON, e.g. '{"smsAutoReply":"Thanks!"}'
    #[arg(long)]
    pub templates: Option<String>,
    /// JSON, e.g. '{"reminderOffsetsMinutes":[1440,120],"quietHours":{"start":"21:00","end":"08:00"}}'
    #[arg(long)]
    pub messaging: Option<String>,
}

impl TenantFields {
    /// The fields as the API's JSON body, so the CLI validates exactly as the API does.
    fn to_json(&self) -> Result<Value, ApiError> {
        let mut m = Map::new();
        let mut text = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), Value::String(v.clone()));
            }
        };
        text("name", &self.name);
        text("slug", &self.slug);
        text("timeZone", &self.time_zone);
        text("phoneNumber", &self.phone_number);
        text("phoneNumberSid", &self.phone_number_sid);
        text("subscriptionStatus", &self.subscription_status);
        text("stripeCustomerId", &self.stripe_customer_id);
        for (k, v) in [
            ("businessHours", &self.business_hours),
            ("routingPolicy", &self.routing_policy),
            ("templates", &self.templates),
            ("messaging", &self.messaging),
        ] {
            if let Some(v) = v {
                let parsed: Value = serde_json::from_str(v)
                    .map_err(|e| ApiError::validation(k, format!("is not JSON: {e}")))?;
                m.insert(k.into(), parsed);
            }
        }
        Ok(Value::Object(m))
    }
}

#[derive(Subcommand, Debug)]
pub enum StaffCmd {
    /// Add a staff member.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// E.164.
        #[arg(long)]
        phone: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Lower rings first.
        #[arg(long)]
        priority: Option<i64>,
        /// true or false (default true).
        #[arg(long)]
        on_duty: Option<bool>,
    },
    /// List a tenant's staff.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Remove a staff member.
    Remove {
        #[arg(long)]
        tenant: String,
        staff_id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Print a tenant JWT.
    Issue {
        #[arg(long)]
        tenant: String,
        /// Lifetime in seconds (default 86400).
        #[arg(long)]
        ttl: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApiKeyCmd {
    /// Create an API key and print it (shown once).
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke an API key by id.
    Revoke {
        #[arg(long)]
        tenant: String,
        key_id: String,
    },
    /// List a tenant's API keys.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// Count jobs by status, or list them.
    List {
        /// pending, running, done or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Give a dead job a fresh set of attempts.
    Retry { job_id: String },
}

pub(super) async fn open(config: Config) -> anyhow::Result<AppState> {
    AppState::build(config, Clock::System, Jobs::default()).await
}

/// An error a command prints: a use case's [`Failure`], or an [`ApiError`] where a command reads
/// JSON the way the API does.
pub(super) trait Printable {
    fn text(&self) -> String;
}
impl Printable for Failure {
    fn text(&self) -> String {
        self.describe()
    }
}
impl Printable for ApiError {
    fn text(&self) -> String {
        self.describe()
    }
}

pub(super) fn fail(e: impl Printable) -> anyhow::Error {
    anyhow::anyhow!("{}", e.text())
}

pub(super) async fn find_tenant(
    state: &AppState,
    key: &str,
) -> anyhow::Result<db::tenants::Tenant> {
    db::tenants::find(&state.db, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no tenant with id or slug '{key}'"))
}

pub(super) fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn tenant(config: Config, cmd: TenantCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        TenantCmd::Create(fields) => {
            let body = fields.to_json().map_err(fail)?;
            let req: tenants::CreateTenant =
                parse_json(body.to_string().as_bytes()).map_err(fail)?;
            let t = tenants::create(&state, req).await.map_err(fail)?;
            print_json(&tenants::TenantView::from(&t))
        }
        TenantCmd::List => {
            let (rows, total) = db::tenants::list(&state.db, 10_000, 0).await?;
            println!(
                "{:<36}  {:<24}  {:<16}  {:<20}  SUBSCRIPTION",
                "ID", "SLUG", "NUMBER", "TIME ZONE"
            );
            for t in &rows {
                let number = t
                    .twilio_number
                    .as_ref()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<36}  {:<24}  {:<16}  {:<20}  {}",
                    t.id,
                    t.slug.as_str(),
                    number,
                    t.time_zone,
                    t.subscription_status.as_str()
                );
            }
            println!("{total} tenant(s)");
            Ok(())
        }
        TenantCmd::Show { tenant } => print_json(&tenants::TenantView::from(
            &find_tenant(&state, &tenant).await?,
        )),
        TenantCmd::Update { tenant, fields } => {
            let t = find_tenant(&state, &tenant).await?;
            let body = fields.to_json().map_err(fail)?;
            let req: tenants::UpdateTenant =
                parse_json(body.to_string().as_bytes()).map_err(fail)?;
            let t = tenants::update(&state, &t.id, req).await.map_err(fail)?;
            print_json(&tenants::TenantView::from(&t))
        }
        TenantCmd::Routing(cmd) => super::calls::routing(&state, cmd).await,
        TenantCmd::Subscription { tenant, status } => {
            super::numbers::subscription(&state, &tenant, &status).await
        }
    }
}

pub async fn staff(config: Config, cmd: StaffCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        StaffCmd::Add {
            tenant,
            name,
            phone,
            email,
            role,
            priority,
            on_duty,
        } => {
            let t = find_tenant(&state, &tenant).await?;
            let body = json!({"name": name, "phone": phone, "email": email, "role": role, "priority": priority, "onDuty": on_duty});
            let req: staff::CreateStaff = parse_json(body.to_string().as_bytes()).map_err(fail)?;
            let s = staff::create(&state, &t.id, req).await.map_err(fail)?;
            print_json(&staff::StaffView::from(&s))
        }
        StaffCmd::List { tenant } => {
            let t = find_tenant(&state, &tenant).await?;
            println!(
                "{:<36}  {:<24}  {:<16}  {:<12}  {:>8}  ON DUTY",
                "ID", "NAME", "PHONE", "ROLE", "PRIORITY"
            );
            for s in db::staff::list(&state.db, &t.id).await? {
                println!(
                    "{:<36}  {:<24}  {:<16}  {:<12}  {:>8}  {}",
                    s.id, s.name, s.phone, s.role, s.priority, s.on_duty
                );
            }
            Ok(())
        }
        StaffCmd::Remove { tenant, staff_id } => {
            let t = find_tenant(&state, &tenant).await?;
            db::staff::delete(&state.db, &t.id, &staff_id)
                .await
                .map_err(|_| anyhow::anyhow!("no staff member '{staff_id}' in this tenant"))?;
            println!("removed {staff_id}");
            Ok(())
        }
    }
}

pub async fn token(config: Config, cmd: TokenCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    let TokenCmd::Issue { tenant, ttl } = cmd;
    let t = find_tenant(&state, &tenant).await?;
    let issued = keys::issue_token(&state, &t.id, ttl).map_err(fail)?;
    eprintln!(
        "token for tenant {} ({}), expires {}",
        t.slug.as_str(),
        t.id,
        issued.expires_at
    );
    println!("{}", issued.token);
    Ok(())
}

/// `console-link --tenant T`: prints a sign-in link for the tenant's console (single-use, valid
/// for `CONSOLE_LINK_TTL_SECS`).
pub async fn console_link(config: Config, tenant: &str) -> anyhow::Result<()> {
    let state = open(config).await?;
    let t = find_tenant(&state, tenant).await?;
    let link = crate::console::session::issue_link(&state, &t.id)
        .await
        .map_err(fail)?;
    eprintln!(
        "console sign-in link for tenant {} ({}), single-use, expires {}",
        t.slug.as_str(),
        t.id,
        crate::console::api_link::rfc3339(link.expires_at_ms)
    );
    println!("{}", link.url);
    Ok(())
}

pub async fn apikey(config: Config, cmd: ApiKeyCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        ApiKeyCmd::Create { tenant, name } => {
            let t = find_tenant(&state, &tenant).await?;
            let created = keys::create_api_key(&state, &t.id, keys::CreateApiKey { name })
                .await
                .map_err(fail)?;
            eprintln!(
                "API key {} for tenant {} (shown once; store it now)",
                created.details.id,
                t.slug.as_str()
            );
            println!("{}", created.key);
            Ok(())
        }
        ApiKeyCmd::Revoke { tenant, key_id } => {
            let t = find_tenant(&state, &tenant).await?;
            db::api_keys::revoke(&state.db, &t.id, &key_id, state.clock.now_ms())
                .await
                .map_err(|_| anyhow::anyhow!("no API key '{key_id}' in this tenant"))?;
            println!("revoked {key_id}");
            Ok(())
        }
        ApiKeyCmd::List { tenant } => {
            let t = find_tenant(&state, &tenant).await?;
            println!(
                "{:<36}  {:<14}  {:<20}  {:<24}  REVOKED",
                "ID", "PREFIX", "NAME", "CREATED"
            );
            for k in db::api_keys::list(&state.db, &t.id).await? {
                let revoked = k.revoked_at.map(rfc3339).unwrap_or_else(|| "-".into());
                println!(
                    "{:<36}  {:<14}  {:<20}  {:<24}  {}",
                    k.id,
                    k.prefix,
                    k.name,
                    rfc3339(k.created_at),
                    revoked
                );
            }
            Ok(())
        }
    }
}

pub async fn jobs(config: Config, cmd: JobsCmd) -> anyhow::Result<()> {
    let state = open(config).await?;
    match cmd {
        JobsCmd::List { status, limit } => {
            if status
                .as_deref()
                .is_some_and(|s| store::JobStatus::parse(s).is_none())
            {
                anyhow::bail!("--status must be one of pending, running, done, dead");
            }
            for (s, n) in store::counts(&state.db).await? {
                println!("{s:<8} {n}");
            }
            let (rows, _) = store::list(
                &state.db,
                status.as_deref(),
                None,
                limit.clamp(1, 10_000),
                0,
            )
            .await?;
            for j in rows {
                println!(
                    "{}  {:<20}  {:<8}  attempts {}/{}  {}",
                    j.id,
                    j.kind,
                    j.status,
                    j.attempts,
                    j.max_attempts,
                    j.last_error.unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsCmd::Retry { job_id } => {
            store::revive(&state.db, &job_id, state.clock.now_ms())
                .await
                .map_err(|_| anyhow::anyhow!("no dead job '{job_id}'"))?;
            println!("job {job_id} is pending again");
            Ok(())
        }
    }
}
