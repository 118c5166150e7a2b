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
pub mod batch_sqlite;
pub mod call_steps;
pub mod calls;
mod checkpoint;
pub mod console;
pub mod error;
pub mod events;
mod filter;
pub mod messages;
pub mod notifications;
pub mod opt_outs;
pub mod recordings;
pub mod routing_cache;
pub mod row;
pub mod settings;
pub mod staff;
pub mod tenants;
mod wal_gather;
pub mod writer;

pub use error::StoreError;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DbKind;

/// The outbox table's columns (the job store and group-commit batches both insert into it).
pub const JOB_COLUMNS: &str = "id, kind, payload, tenant_id, status, attempts, max_attempts, run_at, locked_until, \
    lease_token, last_error, dedupe_key, created_at, updated_at, finished_at";

/// One folder of migrations for both backends (`migrations/`), and one per backend for the few
/// whose SQL truly differs (`migrations/sqlite`, `migrations/postgres`: 0008's routing-version
/// triggers; 0010, which SQLite does by rebuilding tables and PostgreSQL by altering them). Each backend runs the shared ones and its own, in version order. The files' text is
/// what earlier two-folder builds applied, so the checksums of migrated databases still match.
static SHARED_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
static SQLITE_ONLY_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_ONLY_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| with_shared(&SQLITE_ONLY_MIGRATIONS));
static POSTGRES_MIGRATIONS: std::sync::LazyLock<sqlx::migrate::Migrator> =
    std::sync::LazyLock::new(|| with_shared(&POSTGRES_ONLY_MIGRATIONS));

fn with_shared(own: &sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator::with_migrations(
        SHARED_MIGRATIONS
            .iter()
            .chain(own.iter())
            .cloned()
            .collect(),
    )
}

#[derive(Clone, Debug)]
pub enum Db {
    /// With this process's write gate (see [`Db::begin`]) and the database file (`None` in memory).
    Sqlite(
        SqlitePool,
        Arc<tokio::sync::Mutex<()>>,
        Option<Arc<std::path::Path>>,
    ),
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

/// Where one statement runs: on the pool (a connection of its own, committed at once) or inside the
/// caller's transaction. Store functions take `impl Into<Conn>`, so one function serves both
/// (`&db` or `&mut tx`) instead of a pair of twins.
pub enum Conn<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Conn::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Conn::Tx(tx)
    }
}

/// How long a SQLite writer waits for this process's other writers before giving up, as the busy
/// timeout does for other processes' writers.
const WRITE_GATE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a group-commit writer's transaction begins on PostgreSQL. Every statement such a
/// transaction runs finds rows by key: the batch's loads, the foreign-key checks of its inserts
/// (`tenants` by id) and its writes. Their plans are made once per connection and kept
/// (`force_generic_plan`), where the pool's sessions otherwise plan every run
/// (`force_custom_plan`, see [`Db::connect`]): planning every run was about a seventh of
/// PostgreSQL's time under the webhook benchmark. The risk the pool's setting guards against, a
/// generic plan that scans a table that was small when the plan was made, cannot arise here:
/// with `enable_seqscan = off` the plan uses the key's index whatever the statistics said.
/// `jit = off` because that setting prices a scan it cannot avoid at 10^10, far past JIT's
/// threshold, and compiling a plan took about a second per run (seen when the batch's load once
/// had a part that scanned); key lookups never gain from JIT.
/// `SET LOCAL` ends with the transaction, so the connection goes back to the pool as it came.
pub(super) const PG_WRITER_BEGIN: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; \
     SET LOCAL enable_seqscan = off; SET LOCAL jit = off";

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

/// Runs `$body` with `$exec` bound to a [`Conn`]'s executor: the backend's pool, or the
/// transaction's connection.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$exec:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Pool($crate::db::Db::Sqlite($exec, ..)) => $body,
            $crate::db::Conn::Pool($crate::db::Db::Postgres($exec)) => $body,
            $crate::db::Conn::Tx($crate::db::Tx::Sqlite(t, ..)) => {
                let $exec = &mut **t;
                $body
            }
            $crate::db::Conn::Tx($crate::db::Tx::Postgres(t)) => {
                let $exec = &mut **t;
                $body
            }
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
        Self::connect_with_wal_reset(
            url,
            max_connections,
            crate::config::DEFAULT_SQLITE_WAL_RESET_MB,
        )
        .await
    }

    /// [`connect`](Self::connect), with SQLite's log started over past `wal_reset_mb` MiB (the
    /// `SQLITE_WAL_RESET_MB` setting; see `db::checkpoint`).
    pub async fn connect_with_wal_reset(
        url: &str,
        max_connections: u32,
        wal_reset_mb: u32,
    ) -> Result<Db, StoreError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?;
            // sqlx names an in-memory database itself; only a file can be opened a second time.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let file = (!in_memory).then(|| Arc::from(opts.get_filename()));
            let opts = opts
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // Checkpoints run beside the writers (see `db::checkpoint`), not inside their commits.
                .pragma("wal_autocheckpoint", "0");
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            let gate = Arc::new(tokio::sync::Mutex::new(()));
            if file.is_some() {
                // An in-memory database has no WAL to copy.
                let policy = checkpoint::CheckpointPolicy::resetting_at(wal_reset_mb);
                // Counted for the tests; a running server shows its holds on `/metrics`.
                let holds = Arc::new(AtomicU64::new(0));
                tokio::spawn(checkpoint::checkpoint_loop(
                    pool.clone(),
                    gate.clone(),
                    policy,
                    holds,
                ));
            }
            Ok(Db::Sqlite(pool, gate, file))
        } else {
            // Custom plans always: a prepared statement's generic plan is made from the table
            // statistics of its sixth run, and on a table that grew since (a new deployment's
            // calls, say) it keeps scanning the whole table until statistics are taken again.
            // Statements stay prepared (one round trip each); only the plan is made per run.
            let opts = PgConnectOptions::from_str(url)?
                .options([("plan_cache_mode", "force_custom_plan")]);
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
            Db::Sqlite(p, ..) => SQLITE_MIGRATIONS.run(p).await,
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
            Db::Sqlite(p, gate, _) => {
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

    /// Begins a group-commit writer's transaction ([`writer`]): on PostgreSQL with
    /// [`PG_WRITER_BEGIN`]'s settings, elsewhere as [`begin`](Self::begin).
    pub async fn begin_writer(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Postgres(p) => Ok(Tx::Postgres(p.begin_with(PG_WRITER_BEGIN).await?)),
            Db::Sqlite(..) => self.begin().await,
        }
    }

    /// A SQLite database's file and this process's write gate over it (`None` for PostgreSQL and
    /// for SQLite in memory), for a writer that opens a connection of its own.
    pub fn sqlite_file(&self) -> Option<(&std::path::Path, Arc<tokio::sync::Mutex<()>>)> {
        match self {
            Db::Sqlite(_, gate, Some(file)) => Some((file, gate.clone())),
            _ => None,
        }
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

    /// The clause that locks selected rows until the transaction ends: `FOR NO KEY UPDATE` on
    /// PostgreSQL; nothing on SQLite, whose `BEGIN IMMEDIATE` transactions already exclude other
    /// writers.
    ///
    /// Why not `FOR UPDATE`: the rows are locked to change columns other than their keys, and
    /// `FOR UPDATE` also blocks every foreign-key check on the row (`FOR KEY SHARE`). A writer
    /// holding a tenant for its round-robin cursor would stall every other writer inserting a row
    /// of that tenant (a call, an event, a job) until it committed. Two writers that both lock the
    /// row still take turns; a `DELETE` still takes the full lock itself.
    pub fn row_lock(&self) -> &'static str {
        match self {
            Tx::Sqlite(..) => "",
            Tx::Postgres(_) => "FOR NO KEY UPDATE",
        }
    }
}
