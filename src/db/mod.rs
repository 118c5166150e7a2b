//! Storage: one [`Db`] handle over SQLite or PostgreSQL, chosen once from the URL scheme.
//!
//! Queries are written once with `$N` placeholders (both backends accept them) and run through
//! [`with_db!`]/[`with_tx!`], which expand the same expression for each backend's pool or connection.
//! Portable column types only: TEXT (ids, JSON documents), BIGINT (counts, epoch milliseconds),
//! BOOLEAN. Branch on [`Db::kind`] only where SQL truly differs (e.g. `FOR UPDATE SKIP LOCKED`).
//! SQL built with `format!` splices only compile-time constants (column lists, lock clauses), never
//! input; that is what each `AssertSqlSafe` asserts. Values always go through `.bind`.

pub mod api_keys;
pub mod appointments;
pub mod batch;
pub mod calls;
pub mod events;
pub mod messages;
pub mod notifications;
pub mod opt_outs;
pub mod recordings;
pub mod routing_cache;
pub mod settings;
pub mod staff;
pub mod tenants;
pub mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DbKind;
use crate::error::StoreError;

/// The outbox table's columns (the job store and group-commit batches both insert into it).
pub const JOB_COLUMNS: &str = "id, kind, payload, tenant_id, status, attempts, max_attempts, run_at, locked_until, \
    lease_token, last_error, dedupe_key, created_at, updated_at, finished_at";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub enum Db {
    /// With this process's write gate: see [`Db::begin`].
    Sqlite(SqlitePool, Arc<tokio::sync::Mutex<()>>),
    Postgres(PgPool),
}

/// An open write transaction on either backend. On SQLite it holds the write gate until it ends.
pub enum Tx {
    Sqlite(
        sqlx::Transaction<'static, sqlx::Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// How long a SQLite writer waits for this process's other writers before giving up, as the busy
/// timeout does for other processes' writers.
const WRITE_GATE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `$body` with `$pool` bound to the backend's pool (`&SqlitePool` or `&PgPool`).
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, ..) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut SqliteConnection`/`&mut PgConnection`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t, ..) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Opens a pool. SQLite: creates the file if missing, WAL journal, 5 s busy timeout, foreign keys on.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool, Arc::new(tokio::sync::Mutex::new(()))))
        } else {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Db::Sqlite(..) => DbKind::Sqlite,
            Db::Postgres(_) => DbKind::Postgres,
        }
    }

    /// Applies pending migrations (same version numbers on both backends).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let res = match self {
            Db::Sqlite(p, _) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        };
        res.map_err(|e| StoreError::Database(sqlx::Error::Migrate(Box::new(e))))
    }

    /// The migration versions this build carries for `kind`.
    pub fn migration_versions(kind: DbKind) -> Vec<i64> {
        let m = match kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.iter().map(|m| m.version).collect()
    }

    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, taking the write lock up front so
    /// that concurrent writers wait instead of failing with SQLITE_BUSY on upgrade; and this process's
    /// writers first queue on an in-process gate. SQLite has one write lock, so the gate costs no
    /// concurrency, but it hands the lock from one writer to the next at once, in arrival order:
    /// without it, writers that find the lock taken sleep in SQLite's busy handler (1, 2, 5, … up
    /// to 100 ms at a time), which under load is most of the time a write takes. Other processes
    /// (the CLI, another instance) still meet the busy timeout.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p, gate) => {
                let turn = tokio::time::timeout(WRITE_GATE_TIMEOUT, gate.clone().lock_owned())
                    .await
                    .map_err(|_| {
                        StoreError::NotCommitted(
                            "timed out waiting for this process's other SQLite writers".into(),
                        )
                    })?;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A cheap round trip, for `/ready`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_db!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ())
            .map_err(StoreError::from))
    }

    pub async fn close(&self) {
        with_db!(self, |p| p.close().await)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls back now (dropping a transaction only queues the rollback on its connection, which on
    /// SQLite keeps the write lock until that connection is next used).
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Tx::Sqlite(..) => DbKind::Sqlite,
            Tx::Postgres(_) => DbKind::Postgres,
        }
    }

    /// The clause that locks selected rows until the transaction ends: `FOR UPDATE` on PostgreSQL;
    /// nothing on SQLite, whose `BEGIN IMMEDIATE` transactions already exclude other writers.
    pub fn row_lock(&self) -> &'static str {
        match self {
            Tx::Sqlite(..) => "",
            Tx::Postgres(_) => "FOR UPDATE",
        }
    }
}
