//! The history `bench analytics` and `bench console` measure: a deterministic year-independent set
//! of calls, messages and notifications (SplitMix64, so every run seeds the same data), written
//! with multi-row INSERTs straight into the tables, for a measured tenant and its neighbour.

use std::time::{Duration, Instant};

use crate::db::tenants::Tenant;
use crate::domain::E164;
use crate::failure::Failure;
use crate::state::AppState;
use crate::tenants::manage::{self as tenants, CreateTenant};

/// The seeded range: 90 local days from Monday 2026-01-05 (to 2026-04-04 inclusive).
pub(super) const SEED_FIRST_DAY: jiff::civil::Date = jiff::civil::Date::constant(2026, 1, 5);
pub(super) const SEED_DAYS: i64 = 90;
pub(super) const SEED_ZONE: &str = "America/New_York";
/// Rows per INSERT statement: 400 × 19 columns stays under SQLite's 32,766 bound parameters.
pub(super) const SEED_BATCH: usize = 400;
pub(super) const REASONS: [&str; 6] = crate::domain::routing::CallReason::NAMES;

/// SplitMix64: a deterministic generator, so every run seeds the same data.
pub(super) struct Rng(pub(super) u64);

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
    status: &'static str,
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
    status: &'static str,
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
pub(super) struct Seeded {
    calls: Vec<SeedCall>,
    notifications: Vec<SeedNotification>,
    messages: Vec<SeedMessage>,
}

impl Seeded {
    /// Rows seeded so far: (calls, notifications, messages).
    pub(super) fn counts(&self) -> (usize, usize, usize) {
        (
            self.calls.len(),
            self.notifications.len(),
            self.messages.len(),
        )
    }

    /// `calls` calls of `tenant_id` (number `business`) over the seeded range, with the text-backs of
    /// the missed ones and a tenth as many inbound texts, 60% of them answered by the host app.
    pub(super) fn add_tenant(
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
                status: "completed",
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
                    c.status = "no-answer";
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
                        0 => "FAILED",
                        1 => "UNDELIVERED",
                        _ => "DELIVERED",
                    };
                    self.notifications.push(SeedNotification {
                        id: crate::domain::new_id(),
                        tenant_id: tenant_id.to_string(),
                        recipient: c.from_number.clone(),
                        status,
                        kind: "missed_call_text_back",
                        related_call_sid: Some(c.call_sid.clone()),
                        sent_at: (status != "FAILED").then(|| end + (2 + rng.below(28)) * 1000),
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
                    status: "DELIVERED",
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
pub(super) async fn insert_seeded(state: &AppState, seeded: &Seeded) -> anyhow::Result<()> {
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
                let delivered = (n.status == "DELIVERED").then_some(n.sent_at).flatten();
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

/// The measured tenant and its neighbour, seeded.
pub(super) struct SeededTenants {
    /// "Bench Salon" (measured), then "Bench Neighbour".
    pub tenants: Vec<Tenant>,
    /// Calls of the measured tenant.
    pub calls: usize,
    pub seeded: Seeded,
    pub seed_time: Duration,
}

/// Creates "Bench Salon" with `calls` calls and "Bench Neighbour" with a tenth as many (so every
/// figure is read among other tenants' rows), from the generator seeded with `rng_seed`; then
/// fresh planner statistics on PostgreSQL, as autovacuum would take soon after a bulk load.
pub(super) async fn seed_salon_and_neighbour(
    state: &AppState,
    calls: u64,
    rng_seed: u64,
) -> anyhow::Result<SeededTenants> {
    let fail = |e: Failure| anyhow::anyhow!("seeding: {}", e.describe());
    let zone = crate::domain::TimeZoneName::parse("timeZone", SEED_ZONE)
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut created = Vec::new();
    for (name, number) in [
        ("Bench Salon", "+14155550100"),
        ("Bench Neighbour", "+14155550101"),
    ] {
        let t = tenants::create(
            state,
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
        created.push((t, number));
    }
    let mut rng = Rng(rng_seed);
    let mut seeded = Seeded::default();
    seeded.add_tenant(&mut rng, &created[0].0.id, created[0].1, calls)?;
    let measured = seeded.counts().0;
    seeded.add_tenant(
        &mut rng,
        &created[1].0.id,
        created[1].1,
        (calls / 10).max(1),
    )?;
    let started = Instant::now();
    insert_seeded(state, &seeded).await?;
    let seed_time = started.elapsed();
    if let crate::db::Db::Postgres(p) = &state.db {
        sqlx::query("ANALYZE").execute(p).await?;
    }
    Ok(SeededTenants {
        tenants: created.into_iter().map(|(t, _)| t).collect(),
        calls: measured,
        seeded,
        seed_time,
    })
}
