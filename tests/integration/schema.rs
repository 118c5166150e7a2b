//! The schema rule for distributing by tenant (docs/scaling.md, "Past one primary"): read from the
//! migrated database itself (SQLite: `sqlite_master` and the `pragma_*` tables; PostgreSQL:
//! `information_schema` and `pg_index`/`pg_constraint`), every table is either
//! - `tenants`, the distribution root, whose primary key and unique indexes include `id`;
//! - tenant-owned: a NOT NULL `tenant_id`, a primary key and every unique index (or constraint) that
//!   include it, and foreign keys to other tenant-owned tables that carry it;
//! - or one of the global tables listed in [`GLOBAL`], each with the reason it is not distributed.
//!
//! A new table that fits none of these fails the test, which names the table and the constraint.

use switchboard::config::DbKind;
use switchboard::db::Db;

use crate::support::app;

/// The distribution root: its own `id` is the tenant id.
const ROOT: &str = "tenants";

/// Tables that are not distributed by tenant, and why (docs/scaling.md says where each goes).
const GLOBAL: &[(&str, &str)] = &[
    (
        "app_settings",
        "settings of the deployment (the generated JWT_SECRET), one value for every instance",
    ),
    (
        "routing_version",
        "one global counter that moves when any tenant's routing changes",
    ),
    (
        "relay_endpoints",
        "a few operator-managed endpoints; a NULL tenant_id is a global endpoint for every tenant",
    ),
    (
        "tenant_keys",
        "the directory of slugs, Twilio numbers and Stripe customers: unique across tenants, read \
         before the tenant is known",
    ),
    (
        "api_key_prefixes",
        "the directory of API key prefixes: unique across tenants, read before the tenant is known",
    ),
    (
        "console_links",
        "console sign-in links, found by the digest of their token before the tenant is known",
    ),
    (
        "console_sessions",
        "console sessions, found by the digest of their cookie; an operator's has no tenant",
    ),
    (
        "sender_pacing",
        "pacing per Twilio sender number, whose throughput limit is Twilio's whichever tenant holds it",
    ),
    (
        "jobs",
        "the outbox: tenant-less jobs exist (relay deliveries of tenant-less events, replays), \
         workers claim across tenants, and dedupe keys are global",
    ),
    (
        "events",
        "the relay log: events without a tenant exist (tenant_id is nullable)",
    ),
    (
        "deliveries",
        "deliveries of events (some tenant-less) to endpoints (some global); no tenant_id",
    ),
    (
        "delivery_attempts",
        "the attempts of a delivery; no tenant_id",
    ),
];

/// What the rule needs to know about one table.
#[derive(Debug, Default)]
struct Table {
    name: String,
    /// Column name and whether it is NOT NULL.
    columns: Vec<(String, bool)>,
    primary_key: Vec<String>,
    /// Unique indexes and constraints other than the primary key: name and columns.
    uniques: Vec<(String, Vec<String>)>,
    /// Foreign keys: name (PostgreSQL; SQLite's have none), referenced table, columns.
    foreign_keys: Vec<(String, String, Vec<String>)>,
}

async fn read_schema(db: &Db) -> Vec<Table> {
    match db {
        Db::Sqlite(p, ..) => read_sqlite(p).await,
        Db::Postgres(p) => read_postgres(p).await,
    }
}

async fn read_sqlite(p: &sqlx::SqlitePool) -> Vec<Table> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (name,) in names {
        let mut t = Table {
            name: name.clone(),
            ..Table::default()
        };
        let cols: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
                .bind(&name)
                .fetch_all(p)
                .await
                .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for (col, not_null, pk_pos) in cols {
            // SQLite lets a PRIMARY KEY column of a rowid table hold NULL unless it says NOT NULL.
            t.columns.push((col.clone(), not_null != 0));
            if pk_pos > 0 {
                pk.push((pk_pos, col));
            }
        }
        pk.sort();
        t.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, origin FROM pragma_index_list(?1) WHERE \"unique\" = 1 ORDER BY name",
        )
        .bind(&name)
        .fetch_all(p)
        .await
        .unwrap();
        for (index, origin) in indexes {
            if origin == "pk" {
                continue; // the primary key, read above
            }
            let cols: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(p)
                    .await
                    .unwrap();
            t.uniques
                .push((index, cols.into_iter().map(|c| c.0).collect()));
        }
        let fks: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, \"table\", \"from\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(p)
        .await
        .unwrap();
        let mut by_id: Vec<(i64, String, Vec<String>)> = Vec::new();
        for (id, parent, col) in fks {
            match by_id.last_mut() {
                Some((last, _, cols)) if *last == id => cols.push(col),
                _ => by_id.push((id, parent, vec![col])),
            }
        }
        t.foreign_keys = by_id
            .into_iter()
            .map(|(_, parent, cols)| (String::new(), parent, cols))
            .collect();
        out.push(t);
    }
    out
}

async fn read_postgres(p: &sqlx::PgPool) -> Vec<Table> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(p)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (name,) in names {
        let mut t = Table {
            name: name.clone(),
            ..Table::default()
        };
        let cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(p)
        .await
        .unwrap();
        t.columns = cols.into_iter().map(|(c, n)| (c, n == "NO")).collect();
        // Every unique index, whether made by CREATE UNIQUE INDEX, a UNIQUE constraint or the
        // primary key, with its key columns in order.
        let indexes: Vec<(String, bool, Vec<String>)> = sqlx::query_as(
            "SELECT i.relname::text, ix.indisprimary, \
               ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                     ORDER BY k.ord) \
             FROM pg_index ix \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relname = $1 AND ix.indisunique \
             ORDER BY i.relname",
        )
        .bind(&name)
        .fetch_all(p)
        .await
        .unwrap();
        for (index, primary, cols) in indexes {
            if primary {
                t.primary_key = cols;
            } else {
                t.uniques.push((index, cols));
            }
        }
        t.foreign_keys = sqlx::query_as(
            "SELECT c.conname::text, r.relname::text, \
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
                     ORDER BY k.ord) \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_class r ON r.oid = c.confrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 \
             ORDER BY c.conname",
        )
        .bind(&name)
        .fetch_all(p)
        .await
        .unwrap();
        out.push(t);
    }
    out
}

fn is_global(table: &str) -> bool {
    GLOBAL.iter().any(|(name, _)| *name == table)
}

/// Every way the tables break the rule, one line each, naming the table and the constraint.
fn violations(tables: &[Table]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        if is_global(&t.name) {
            continue;
        }
        let key = if t.name == ROOT { "id" } else { "tenant_id" };
        let name = &t.name;
        match t.columns.iter().find(|(c, _)| c == key) {
            None => {
                out.push(format!(
                    "{name}: no {key} column, and not a listed global table"
                ));
                continue;
            }
            Some((_, false)) => out.push(format!("{name}: {key} may be NULL")),
            Some(_) => {}
        }
        let has_key = |cols: &[String]| cols.iter().any(|c| c == key);
        if t.primary_key.is_empty() {
            out.push(format!("{name}: no primary key"));
        } else if !has_key(&t.primary_key) {
            out.push(format!(
                "{name}: primary key ({}) does not include {key}",
                t.primary_key.join(", ")
            ));
        }
        for (index, cols) in &t.uniques {
            if !has_key(cols) {
                out.push(format!(
                    "{name}: unique index {index} ({}) does not include {key}",
                    cols.join(", ")
                ));
            }
        }
        for (fk, parent, cols) in &t.foreign_keys {
            // A key into a global table (or into the root by tenant_id itself) is co-located
            // anyway; one into another tenant-owned table must carry the tenant.
            if is_global(parent) || has_key(cols) {
                continue;
            }
            let fk = if fk.is_empty() {
                String::new()
            } else {
                format!(" {fk}")
            };
            out.push(format!(
                "{name}: foreign key{fk} ({}) -> {parent} does not include {key}",
                cols.join(", ")
            ));
        }
    }
    out
}

#[tokio::test]
async fn every_key_of_a_tenant_owned_table_includes_the_tenant() {
    let app = app().start().await;
    let tables = read_schema(&app.state.db).await;
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    // The reading found the schema: the root, tenant-owned tables with composite keys, and the
    // global tables, every one of which still exists (a stale entry would hide nothing, but lie).
    for want in [
        "tenants",
        "calls",
        "messages",
        "notifications",
        "recordings",
    ] {
        assert!(names.contains(&want), "{want} not read: {names:?}");
    }
    for (global, _) in GLOBAL {
        assert!(
            names.contains(global),
            "{global} is listed as global but no longer exists"
        );
    }
    let calls = tables.iter().find(|t| t.name == "calls").unwrap();
    assert_eq!(calls.primary_key, ["id", "tenant_id"]);
    assert!(
        calls
            .uniques
            .iter()
            .any(|(n, c)| n == "calls__call_sid" && c == &["call_sid", "tenant_id"]),
        "{:?}",
        calls.uniques
    );
    let recordings = tables.iter().find(|t| t.name == "recordings").unwrap();
    assert!(
        recordings
            .foreign_keys
            .iter()
            .any(|(_, parent, cols)| parent == "calls" && cols == &["call_id", "tenant_id"]),
        "{:?}",
        recordings.foreign_keys
    );
    let found = violations(&tables);
    assert!(
        found.is_empty(),
        "tables that break the tenant-key rule (see docs/scaling.md):\n{}",
        found.join("\n")
    );
}

#[tokio::test]
async fn the_rule_names_a_table_that_breaks_it() {
    let app = app().start().await;
    let db = &app.state.db;
    let ddl = [
        // Keyed by id alone, with a unique code across tenants.
        "CREATE TABLE widgets (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), \
         code TEXT NOT NULL)",
        "CREATE UNIQUE INDEX widgets__code ON widgets (code)",
        // Keyed right, but its key into widgets leaves the tenant out.
        "CREATE TABLE widget_parts (id TEXT NOT NULL, tenant_id TEXT NOT NULL, widget_id TEXT NOT NULL \
         REFERENCES widgets (id), PRIMARY KEY (id, tenant_id))",
        // A tenant that may be NULL, and no primary key.
        "CREATE TABLE cogs (id TEXT NOT NULL, tenant_id TEXT, UNIQUE (id, tenant_id))",
        // No tenant at all, and not a listed global table.
        "CREATE TABLE gadgets (id TEXT PRIMARY KEY, name TEXT NOT NULL)",
        // A global key on the root itself.
        "CREATE UNIQUE INDEX tenants__name ON tenants (name)",
    ];
    for sql in ddl {
        switchboard::with_db!(db, |p| sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
    }
    let found = violations(&read_schema(db).await);
    let expect = |needle: &str| {
        assert!(
            found.iter().any(|v| v.contains(needle)),
            "{needle:?} not reported in {found:#?}"
        );
    };
    expect("widgets: primary key (id) does not include tenant_id");
    expect("widgets: unique index widgets__code (code) does not include tenant_id");
    expect("cogs: tenant_id may be NULL");
    expect("cogs: no primary key");
    expect("widget_parts: foreign key");
    expect("(widget_id) -> widgets does not include tenant_id");
    expect("gadgets: no tenant_id column, and not a listed global table");
    expect("tenants: unique index tenants__name (name) does not include id");
    if db.kind() == DbKind::Postgres {
        // PostgreSQL names its foreign keys; the report carries the name.
        expect("widget_parts: foreign key widget_parts_widget_id_fkey (widget_id)");
    }
    assert_eq!(found.len(), 7, "nothing else is reported: {found:#?}");
}

/// A database that deployments already have: migrated up to 0009, with rows in the rebuilt and
/// re-keyed tables. Migration 0010 keeps every row, and the directory tables and composite keys
/// work on them at once.
#[tokio::test]
async fn migration_0010_keeps_the_rows_of_an_existing_database() {
    static SHARED: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    let test_db = crate::support::TestDb::new().await;
    let db = Db::connect(&test_db.url, 2).await.unwrap();
    let own = match db.kind() {
        DbKind::Sqlite => &SQLITE,
        DbKind::Postgres => &POSTGRES,
    };
    let before: Vec<_> = SHARED
        .iter()
        .chain(own.iter())
        .filter(|m| m.version < 10)
        .cloned()
        .collect();
    let mut before = sqlx::migrate::Migrator::with_migrations(before);
    before.migrations.to_mut().sort_by_key(|m| m.version);
    switchboard::with_db!(&db, |p| before.run(p).await).unwrap();
    let rows = [
        "INSERT INTO tenants (id, name, slug, time_zone, twilio_number, stripe_customer_id, business_hours, \
         routing_policy, templates, created_at, updated_at) VALUES \
         ('t1', 'A', 'a', 'UTC', '+15005550006', 'cus_1', '{}', '{}', '{}', 1, 1), \
         ('t2', 'B', 'b', 'UTC', NULL, NULL, '{}', '{}', '{}', 1, 1)",
        "INSERT INTO staff (id, tenant_id, name, phone, role, created_at, updated_at) \
         VALUES ('s1', 't1', 'S', '+15005550007', 'agent', 1, 1)",
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at) \
         VALUES ('k1', 't1', 'key', 'sb_abc', 'hash', 1)",
        "INSERT INTO calls (id, tenant_id, call_sid, direction, from_number, to_number, status, strategy, \
         start_time, created_at, updated_at) VALUES ('c1', 't1', 'CA1', 'inbound', '+1', '+15005550006', \
         'completed', 'simultaneous', 1, 1, 1)",
        "INSERT INTO recordings (id, tenant_id, call_id, call_sid, recording_sid, kind, status, processing, \
         created_at, updated_at) VALUES ('r1', 't1', 'c1', 'CA1', 'RE1', 'voicemail', 'completed', 'done', 1, 1)",
        "INSERT INTO transcriptions (id, tenant_id, recording_id, call_id, provider, text, summary, \
         call_reason, sentiment, analysis_source, created_at) \
         VALUES ('x1', 't1', 'r1', 'c1', 'none', '', '', 'other', 'neutral', 'rules', 1)",
        "INSERT INTO outbound_calls (call_id, tenant_id, created_at) VALUES ('c1', 't1', 1)",
        "INSERT INTO messages (id, tenant_id, message_sid, direction, customer, from_number, to_number, \
         body, status, created_at, updated_at) \
         VALUES ('m1', 't1', 'SM1', 'inbound', '+1', '+1', '+15005550006', 'hi', 'received', 1, 1)",
        "INSERT INTO notifications (id, tenant_id, type, recipient, message, status, kind, twilio_sid, \
         created_at, updated_at) VALUES ('n1', 't1', 'SMS', '+1', 'hi', 'SENT', 'manual', 'SM2', 1, 1)",
        "INSERT INTO appointments (id, tenant_id, external_id, customer_name, customer_phone, starts_at, \
         status, created_at, updated_at) VALUES ('a1', 't1', 'e1', 'C', '+1', 1, 'booked', 1, 1)",
        "INSERT INTO number_provisioning (tenant_id, created_at, updated_at) VALUES ('t1', 1, 1)",
    ];
    let exec = |sql: &'static str| {
        let db = db.clone();
        async move { switchboard::with_db!(&db, |p| sqlx::query(sql).execute(p).await.map(|_| ())) }
    };
    for sql in rows {
        exec(sql).await.unwrap();
    }
    db.migrate().await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let n: (i64,) =
                switchboard::with_db!(&db, |p| sqlx::query_as(sql).fetch_one(p).await).unwrap();
            n.0
        }
    };
    for (table, want) in [
        ("tenants", 2),
        ("staff", 1),
        ("api_keys", 1),
        ("calls", 1),
        ("recordings", 1),
        ("transcriptions", 1),
        ("outbound_calls", 1),
        ("messages", 1),
        ("notifications", 1),
        ("appointments", 1),
        ("number_provisioning", 1),
        ("tenant_keys", 2),
        ("api_key_prefixes", 1),
    ] {
        let sql: &'static str = format!("SELECT COUNT(*) FROM {table}").leak();
        assert_eq!(count(sql).await, want, "{table}");
    }
    // The directories carry what the old unique indexes did.
    let by_number = switchboard::db::tenants::get_by_number(
        &db,
        &switchboard::domain::E164::parse("n", "+15005550006").unwrap(),
    )
    .await
    .unwrap()
    .expect("found by number");
    assert_eq!(by_number.id, "t1");
    let key = switchboard::db::api_keys::get_by_prefix(&db, "sb_abc")
        .await
        .unwrap()
        .expect("found by prefix");
    assert_eq!(key.tenant_id, "t1");
    // Another tenant cannot take the number, and the clash is named as before.
    let clash = exec("UPDATE tenants SET twilio_number = '+15005550006' WHERE id = 't2'")
        .await
        .map_err(switchboard::db::StoreError::from_sqlx);
    assert!(
        matches!(&clash, Err(switchboard::db::StoreError::Conflict(c)) if c == "twilio_number"),
        "{clash:?}"
    );
    // The composite foreign keys cascade: deleting the tenant leaves nothing of it.
    exec("DELETE FROM tenants WHERE id = 't1'").await.unwrap();
    for table in [
        "staff",
        "api_keys",
        "calls",
        "recordings",
        "transcriptions",
        "outbound_calls",
        "api_key_prefixes",
    ] {
        let sql: &'static str = format!("SELECT COUNT(*) FROM {table}").leak();
        assert_eq!(count(sql).await, 0, "{table}");
    }
    assert_eq!(count("SELECT COUNT(*) FROM tenant_keys").await, 1);
}

/// A database migrated up to 0013 holds steps in the `call_steps` table. Migration 0014 moves them
/// onto their calls' rows, oldest first, and the timeline reads them back from there.
#[tokio::test]
async fn migration_0014_moves_recorded_steps_onto_their_calls() {
    static SHARED: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    let test_db = crate::support::TestDb::new().await;
    let db = Db::connect(&test_db.url, 2).await.unwrap();
    let own = match db.kind() {
        DbKind::Sqlite => &SQLITE,
        DbKind::Postgres => &POSTGRES,
    };
    let mut before = sqlx::migrate::Migrator::with_migrations(
        SHARED
            .iter()
            .chain(own.iter())
            .filter(|m| m.version < 14)
            .cloned()
            .collect(),
    );
    before.migrations.to_mut().sort_by_key(|m| m.version);
    switchboard::with_db!(&db, |p| before.run(p).await).unwrap();
    let rows = [
        "INSERT INTO tenants (id, name, slug, time_zone, twilio_number, business_hours, routing_policy, \
         templates, created_at, updated_at) VALUES ('t1', 'A', 'a', 'UTC', '+15005550006', '{}', '{}', '{}', 1, 1)",
        "INSERT INTO calls (id, tenant_id, call_sid, direction, from_number, to_number, status, strategy, \
         start_time, created_at, updated_at) VALUES \
         ('c1', 't1', 'CA1', 'inbound', '+1', '+15005550006', 'completed', 'simultaneous', 1, 1, 1), \
         ('c2', 't1', 'CA2', 'inbound', '+1', '+15005550006', 'completed', 'simultaneous', 1, 1, 1)",
        // Written out of order, and two in one millisecond (ids order them).
        "INSERT INTO call_steps (id, tenant_id, call_id, at, kind, detail) VALUES \
         ('s3', 't1', 'c1', 3000, 'status', '{\"kind\":\"status\",\"status\":\"completed\",\"previous\":\"in-progress\",\"applied\":true,\"duration_seconds\":2,\"source\":\"callback\"}'), \
         ('s1', 't1', 'c1', 1000, 'incoming', '{\"kind\":\"incoming\",\"from\":\"+1\",\"strategy\":\"simultaneous\",\"after_hours\":false,\"targets\":[\"+2\"]}'), \
         ('s2a', 't1', 'c1', 2000, 'voicemail', '{\"kind\":\"voicemail\",\"recording_duration_seconds\":4}'), \
         ('s2b', 't1', 'c1', 2000, 'ai', '{\"kind\":\"ai\",\"note\":\"after\"}')",
    ];
    for sql in rows {
        switchboard::with_db!(&db, |p| sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
    }
    db.migrate().await.unwrap();
    let steps = switchboard::db::call_steps::for_call(&db, "t1", "c1")
        .await
        .unwrap();
    let kinds: Vec<(i64, String)> = steps
        .iter()
        .map(|s| {
            let v: serde_json::Value = serde_json::from_str(&s.detail).unwrap();
            (s.at, v["kind"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (1000, "incoming".to_string()),
            (2000, "voicemail".to_string()),
            (2000, "ai".to_string()),
            (3000, "status".to_string()),
        ]
    );
    let incoming: serde_json::Value = serde_json::from_str(&steps[0].detail).unwrap();
    assert_eq!(
        incoming["targets"][0], "+2",
        "the step's detail survives whole"
    );
    assert!(
        switchboard::db::call_steps::for_call(&db, "t1", "c2")
            .await
            .unwrap()
            .is_empty(),
        "a call without steps has none"
    );
    let gone = switchboard::with_db!(&db, |p| sqlx::query("SELECT 1 FROM call_steps")
        .execute(p)
        .await
        .map(|_| ()));
    assert!(gone.is_err(), "the table of steps is dropped");
}
