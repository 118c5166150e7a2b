//! Migrations on both backends and single-business mode.

use reqwest::Method;
use switchboard::config::DbKind;
use switchboard::db::{self, Db};

use crate::support::app;

#[test]
fn both_backends_carry_the_same_migration_versions() {
    let sqlite = Db::migration_versions(DbKind::Sqlite);
    let postgres = Db::migration_versions(DbKind::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    // A backend's own migration never repeats a shared one's version.
    assert!(
        sqlite.windows(2).all(|w| w[0] < w[1]),
        "versions repeat: {sqlite:?}"
    );
}

#[tokio::test]
async fn migrations_apply_once_and_are_idempotent() {
    let app = app().start().await;
    // The app already migrated on start; running again changes nothing and fails nothing.
    app.state.db.migrate().await.unwrap();
    let expected = Db::migration_versions(app.state.db.kind());
    let applied: Vec<(i64,)> = switchboard::with_db!(&app.state.db, |p| {
        sqlx::query_as("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(p)
            .await
    })
    .unwrap();
    assert_eq!(
        applied.into_iter().map(|r| r.0).collect::<Vec<_>>(),
        expected
    );
    for table in ["tenants", "staff", "api_keys", "jobs", "app_settings"] {
        let n: (i64,) = switchboard::with_db!(&app.state.db, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(p)
                .await
        })
        .unwrap();
        assert!(n.0 >= 0);
    }
    let want = match crate::support::backend().as_str() {
        "postgres" => DbKind::Postgres,
        _ => DbKind::Sqlite,
    };
    assert_eq!(
        app.state.db.kind(),
        want,
        "the suite runs on the backend it was asked for"
    );
}

/// Appointments are read by tenant and start time; calls have one index by tenant and time.
#[tokio::test]
async fn indexes_fit_the_queries() {
    let app = app().start().await;
    let sql = match app.state.db.kind() {
        DbKind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index'",
        DbKind::Postgres => "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()",
    };
    let names: Vec<(String,)> = switchboard::with_db!(&app.state.db, |p| {
        sqlx::query_as(sql).fetch_all(p).await
    })
    .unwrap();
    let names: Vec<String> = names.into_iter().map(|r| r.0).collect();
    assert!(
        names.iter().any(|n| n == "appointments_by_tenant_start"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "calls_analytics"), "{names:?}");
    // Events (0015): by time first on SQLite, where a batch of many tenants' webhooks then appends
    // to one leaf; by tenant first on PostgreSQL, where that costs little and serves a tenant's page.
    let (events_index, not_events_index) = match app.state.db.kind() {
        DbKind::Sqlite => ("events_by_time", "events_by_tenant"),
        DbKind::Postgres => ("events_by_tenant", "events_by_time"),
    };
    assert!(names.iter().any(|n| n == events_index), "{names:?}");
    // One time index on calls (analytics, usage and the call log's keyset pages share it), so a
    // webhook's call row updates one, not two.
    for gone in [
        "calls_by_tenant_time",
        "calls_by_tenant_time_id",
        not_events_index,
    ] {
        assert!(!names.iter().any(|n| n == gone), "{names:?}");
    }
}

#[tokio::test]
async fn single_business_mode_creates_one_default_tenant_across_restarts() {
    let configure = |c: &mut switchboard::config::RawConfig| {
        c.twilio_phone_number = Some("+15005550006".into());
        c.user_phone_number = Some("+14155550199".into());
    };
    let first = app().config(configure).start().await;
    let t = db::tenants::get_by_number(
        &first.state.db,
        &switchboard::domain::E164::parse("n", "+15005550006").unwrap(),
    )
    .await
    .unwrap()
    .expect("default tenant exists");
    assert_eq!(t.slug.as_str(), "default");
    assert_eq!(
        t.routing_policy.strategy,
        switchboard::domain::routing::Strategy::ForwardExternal
    );
    assert_eq!(
        t.routing_policy.external_number.as_ref().unwrap().as_str(),
        "+14155550199"
    );
    // A restart (and a second instance) finds it instead of creating another.
    let second = app().config(configure).same_database(&first).start().await;
    let third = app()
        .config(|c| {
            c.twilio_phone_number = Some("+15005550006".into());
            c.user_phone_number = Some("+14155550123".into());
        })
        .same_database(&first)
        .start()
        .await;
    let r = second.admin(Method::GET, "/api/admin/tenants", None).await;
    assert_eq!(r.json["data"]["total"], 1);
    let t2 = db::tenants::get(&third.state.db, &t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t2.routing_policy.external_number.unwrap().as_str(),
        "+14155550123",
        "USER_PHONE_NUMBER changes are applied"
    );
}

#[tokio::test]
async fn generated_jwt_secret_is_shared_by_instances() {
    let a = app().config(|c| c.jwt_secret = None).start().await;
    let b = app()
        .config(|c| c.jwt_secret = None)
        .same_database(&a)
        .start()
        .await;
    let t = a.create_tenant(serde_json::json!({"name": "A"})).await;
    let token = a.token_for(t["id"].as_str().unwrap()).await;
    assert_eq!(
        b.tenant_get("/api/telephony/tenant", &token).await.status,
        200
    );
}

/// A unique-key violation is a `Conflict` naming the column wherever a driver error meets `?`,
/// not only at call sites that remember to map it.
#[tokio::test]
async fn any_unique_violation_is_a_conflict() {
    let app = app().start().await;
    async fn insert(db: &Db) -> Result<u64, db::StoreError> {
        let done = switchboard::with_db!(db, |p| {
            sqlx::query("INSERT INTO app_settings (key, value) VALUES ('dup_probe', 'x')")
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done)
    }
    assert_eq!(insert(&app.state.db).await.unwrap(), 1);
    match insert(&app.state.db).await {
        Err(db::StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// A transaction that locks a tenant to change it (the group writer's round-robin cursor, a
/// settings change) must not hold up other writers' rows of that tenant: their foreign-key checks
/// take a key-share lock on the tenant, which `FOR UPDATE` would block until the first commits
/// and `FOR NO KEY UPDATE` does not (`Tx::row_lock`). On SQLite one writer excludes every other by
/// design (the process's write gate), so there is nothing to lock.
#[tokio::test]
async fn a_tenant_locked_for_a_change_does_not_hold_up_rows_that_reference_it() {
    let app = app().start().await;
    let tenant = app
        .create_tenant(serde_json::json!({"name": "Lock Salon", "timeZone": "UTC"}))
        .await;
    let tenant_id = tenant["id"].as_str().unwrap().to_string();
    let mut holder = app.state.db.begin().await.unwrap();
    let locked = db::tenants::get_for_update(&mut holder, &tenant_id)
        .await
        .unwrap();
    assert!(locked.is_some());
    let Db::Postgres(pool) = &app.state.db else {
        assert_eq!(holder.row_lock(), "", "SQLite locks nothing per row");
        return;
    };
    let mut other = pool.begin().await.unwrap();
    // Fails the insert instead of waiting, were the tenant's row locked against key-share.
    sqlx::query("SET LOCAL lock_timeout = '5s'")
        .execute(&mut *other)
        .await
        .unwrap();
    let inserted = sqlx::query(
        "INSERT INTO calls (id, tenant_id, call_sid, direction, from_number, to_number, status, strategy, \
         start_time, created_at, updated_at) VALUES ('lock-call', $1, 'CA0000000000000000000000000000000b', \
         'inbound', '+1', '+2', 'ringing', 'simultaneous', 1, 1, 1)",
    )
    .bind(&tenant_id)
    .execute(&mut *other)
    .await;
    assert!(
        inserted.is_ok(),
        "the other writer's row went in while the tenant was locked: {inserted:?}"
    );
    other.commit().await.unwrap();
    holder.rollback().await.unwrap();
}

/// PostgreSQL connections plan every statement for its values (`plan_cache_mode`): the group
/// writer's loads are prepared once per connection, and a generic plan made while a new
/// deployment's tables were empty would keep scanning them whole as they grow. SQLite plans every
/// statement anew anyway.
#[tokio::test]
async fn postgres_connections_plan_each_statement_for_its_values() {
    let app = app().start().await;
    let Db::Postgres(pool) = &app.state.db else {
        assert_eq!(app.state.db.kind(), DbKind::Sqlite);
        return;
    };
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "force_custom_plan");
}

/// The admin events list: newest first (ties by id), filtered by tenant and/or type, paged, with
/// the filtered total; and on SQLite it reads `events_by_time` backwards instead of sorting the
/// table (migration 0015), whichever filters are given.
#[tokio::test]
async fn the_events_list_pages_newest_first_along_the_time_index() {
    let app = app().start().await;
    let db = &app.state.db;
    let rows = [
        ("evt_a1", Some("tenant-a"), "call.incoming", 1_000),
        ("evt_a2", Some("tenant-a"), "call.missed", 2_000),
        ("evt_a3", Some("tenant-a"), "call.incoming", 2_000),
        ("evt_a4", Some("tenant-a"), "call.incoming", 3_000),
        ("evt_b1", Some("tenant-b"), "call.incoming", 1_500),
        ("evt_b2", Some("tenant-b"), "call.missed", 2_500),
        ("evt_n1", None, "number.released", 500),
    ];
    let mut tx = db.begin().await.unwrap();
    for (id, tenant, kind, at) in rows {
        let event = db::events::Event {
            id: id.into(),
            tenant_id: tenant.map(Into::into),
            r#type: kind.into(),
            ordering_key: None,
            payload: "{}".into(),
            created_at: at,
        };
        db::events::insert_event(&mut tx, &event).await.unwrap();
    }
    tx.commit().await.unwrap();

    let ids = |page: &[db::events::Event]| page.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    let (all, total) = db::events::list_events(db, None, None, 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 7);
    assert_eq!(
        ids(&all),
        [
            "evt_a4", "evt_b2", "evt_a3", "evt_a2", "evt_b1", "evt_a1", "evt_n1"
        ]
    );
    let (page, total) = db::events::list_events(db, Some("tenant-a"), None, 2, 1)
        .await
        .unwrap();
    assert_eq!(total, 4);
    assert_eq!(ids(&page), ["evt_a3", "evt_a2"]);
    let (page, total) = db::events::list_events(db, Some("tenant-a"), Some("call.incoming"), 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(ids(&page), ["evt_a4", "evt_a3", "evt_a1"]);
    let (page, total) = db::events::list_events(db, None, Some("call.missed"), 1, 0)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(ids(&page), ["evt_b2"]);
    let (page, total) = db::events::list_events(db, Some("tenant-c"), None, 10, 0)
        .await
        .unwrap();
    assert_eq!((page.len(), total), (0, 0));

    let Db::Sqlite(pool, ..) = db else {
        assert_eq!(db.kind(), DbKind::Postgres);
        return;
    };
    for (by_tenant, by_type) in [(false, false), (true, false), (false, true), (true, true)] {
        let (sql, _) = db::events::list_events_sql(by_tenant, by_type);
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(pool)
                .await
                .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|r| r.3).collect();
        assert!(
            plan.iter().any(|step| step.contains("events_by_time")),
            "{by_tenant} {by_type}: {plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|step| step == "USE TEMP B-TREE FOR ORDER BY"),
            "{by_tenant} {by_type}: sorts the whole match: {plan:?}"
        );
    }
}
