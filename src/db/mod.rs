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
pub mod console;
pub mod error;
pub mod events;
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
use std::sync::atomic::{AtomicU64, Ordering};
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
/// `SET LOCAL` ends with the transaction, so the connection goes back to the pool as it came.
pub(super) const PG_WRITER_BEGIN: &str =
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off";

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
                // Checkpoints run beside the writers (see `checkpoint_loop`), not inside their commits.
                .pragma("wal_autocheckpoint", "0");
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            let gate = Arc::new(tokio::sync::Mutex::new(()));
            if file.is_some() {
                // An in-memory database has no WAL to copy.
                let policy = CheckpointPolicy::default();
                let holds = Arc::new(AtomicU64::new(0));
                tokio::spawn(checkpoint_loop(pool.clone(), gate.clone(), policy, holds));
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

/// When the SQLite checkpointer copies and restarts the WAL (see [`checkpoint_loop`]).
#[derive(Clone, Copy)]
struct CheckpointPolicy {
    every: Duration,
    reset_pages: i64,
    restart_pages: i64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            every: CHECKPOINT_EVERY,
            reset_pages: WAL_RESET_PAGES,
            restart_pages: WAL_RESTART_PAGES,
        }
    }
}

/// How often the SQLite checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// WAL frames (4 KiB each) past which the checkpointer restarts the WAL from its beginning, so the
/// file stays bounded (about 256 MiB). Each restart holds the writers for a few milliseconds to a
/// few tens (see [`checkpoint_loop`]); a longer log means fewer of them. In the webhook benchmark,
/// 16,384 frames gave about 35 batches slower than 8 ms in 11 s and 14,500 webhooks/s; 65,536 gave
/// 13 and 15,300/s.
const WAL_RESET_PAGES: i64 = 65_536;
/// A copy beside the writers that took less than this has left little behind it: the moment to hold
/// the writers and finish, because what the held copy must do is what was written meanwhile.
const CAUGHT_UP: Duration = Duration::from_millis(5);
/// Copies in a row, at most, while waiting for one that catches up; then the writers are held anyway.
const CATCH_UP_TRIES: u32 = 8;
/// WAL frames past which the writers are held at once, whatever it costs them (a safety net).
const WAL_RESTART_PAGES: i64 = 131_072;

/// Copies SQLite's write-ahead log into the database file every [`CHECKPOINT_EVERY`], and restarts
/// the log once it has grown past [`WAL_RESET_PAGES`], until the pool closes.
///
/// Why here and not in SQLite's automatic checkpoint: that runs inside the commit that crosses its
/// threshold, and a checkpoint syncs the WAL and the database file; under load on this machine such
/// a commit took 10–50 ms instead of under one, and every webhook of its batch (and the batches
/// queued behind it) waited for it: the largest part of the webhook benchmark's p99. So no writer
/// connection checkpoints by itself (`wal_autocheckpoint = 0`); a passive checkpoint on a pool
/// connection copies the WAL beside the writers and never blocks them.
///
/// The log can only start again from its beginning once every frame is in the database file, which
/// a copy beside busy writers never reaches. So once it is long enough, the checkpointer copies
/// again at once until one copy was quick (little was appended during it, [`CAUGHT_UP`]), then
/// holds this process's write gate for one last copy of that little; the writer's next transaction
/// starts the log over. The writers wait for that last copy only.
///
/// `holds` counts the times the writers were held (also on `/metrics`, with how long each took).
async fn checkpoint_loop(
    pool: SqlitePool,
    gate: Arc<tokio::sync::Mutex<()>>,
    policy: CheckpointPolicy,
    holds: Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval(policy.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tries = 0;
    // The WAL's length when the writers were last held: until a writer starts it over (its next
    // transaction), the log keeps that length, and holding the writers again would do nothing.
    let mut held_at = 0;
    loop {
        if tries == 0 {
            tick.tick().await;
        }
        if pool.is_closed() {
            return;
        }
        let started = std::time::Instant::now();
        let wal_pages = match checkpoint(&pool, "PRAGMA wal_checkpoint(PASSIVE)").await {
            Ok(pages) => pages,
            Err(e) if pool.is_closed() => return drop(e),
            Err(e) => {
                tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
                tries = 0;
                continue;
            }
        };
        if wal_pages < policy.reset_pages || wal_pages == held_at {
            tries = 0;
            continue;
        }
        tries += 1;
        let caught_up = started.elapsed() < CAUGHT_UP;
        if caught_up || tries >= CATCH_UP_TRIES || wal_pages > policy.restart_pages {
            let asked = std::time::Instant::now();
            let _turn = gate.lock().await;
            let last = if wal_pages > policy.restart_pages {
                "PRAGMA wal_checkpoint(RESTART)"
            } else {
                "PRAGMA wal_checkpoint(PASSIVE)"
            };
            match checkpoint(&pool, last).await {
                // The log's length after the held copy, which includes what the writers appended
                // since `wal_pages` was read: the length the next copy finds until a writer starts
                // the log over. Remembering `wal_pages` instead held the writers a second time.
                Ok(pages) => held_at = pages,
                Err(e) => tracing::warn!(error = %e, "SQLite restarting checkpoint failed"),
            }
            drop(_turn);
            holds.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("switchboard_sqlite_wal_holds_total").increment(1);
            metrics::histogram!("switchboard_sqlite_wal_hold_seconds")
                .record(asked.elapsed().as_secs_f64());
            tries = 0;
        }
    }
}

/// Runs a `wal_checkpoint` pragma; returns the WAL's length in frames.
async fn checkpoint(pool: &SqlitePool, pragma: &'static str) -> Result<i64, sqlx::Error> {
    let (_, wal_pages, _): (i64, i64, i64) = sqlx::query_as(pragma).fetch_one(pool).await?;
    Ok(wal_pages)
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

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    /// A writer that never checkpoints by itself (as the group-commit writer's connection) keeps
    /// appending; the checkpointer alone must keep its WAL bounded by restarting it, holding the
    /// write gate only for the last copy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_restarts_the_wal_of_a_writer_that_never_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()), 4)
            .await
            .unwrap();
        let Db::Sqlite(pool, gate, _) = &db else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .execute(pool)
            .await
            .unwrap();
        let policy = CheckpointPolicy {
            every: Duration::from_millis(2),
            reset_pages: 64,
            restart_pages: 256,
        };
        let holds = Arc::new(AtomicU64::new(0));
        tokio::spawn(checkpoint_loop(
            pool.clone(),
            gate.clone(),
            policy,
            holds.clone(),
        ));

        let writer_gate = gate.clone();
        let wal = path.with_extension("db-wal");
        let (largest_wal, restarts) = tokio::task::spawn_blocking(move || {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = NORMAL;")
                .unwrap();
            let mut largest = 0u64;
            // How often the log was started over: each start writes a new salt into its header.
            let mut restarts = 0u64;
            let mut salt = wal_salt(&wal);
            for round in 0..400 {
                let _turn = writer_gate.blocking_lock();
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                for i in 0..20 {
                    c.execute(
                        "INSERT INTO t (v) VALUES (?1)",
                        [format!("{round}-{i}-{}", "x".repeat(300))],
                    )
                    .unwrap();
                }
                c.execute_batch("COMMIT").unwrap();
                drop(_turn);
                let now = wal_salt(&wal);
                restarts += u64::from(now != salt);
                salt = now;
                largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
                std::thread::sleep(Duration::from_micros(300));
            }
            (largest, restarts)
        })
        .await
        .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(rows, 8_000, "every row committed");
        // 8,000 rows of ~330 bytes fill ~650 table pages, and each of the 400 transactions appends
        // its dirty pages again: never restarted, the WAL passes 5 MB.
        let bound = (policy.restart_pages as u64 + 200) * 4_120;
        assert!(
            largest_wal < bound,
            "the WAL grew to {largest_wal} bytes (bound {bound}): it was never restarted"
        );
        let (_, log, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(
            log < policy.restart_pages,
            "the log was started over: {log} frames now"
        );
        // Each hold lets the writer start the log over, so the writers are held once per restart
        // (the last hold may not have been followed by a write yet).
        let holds = holds.load(Ordering::Relaxed);
        assert!(restarts > 0, "the log was never started over");
        assert!(
            holds <= restarts + 1,
            "the writers were held {holds} times for {restarts} restarts of the log"
        );
    }

    /// Frames a writer appends while the checkpointer waits for the gate are copied by the held
    /// copy, and the checkpointer remembers the length that copy left: it must not hold the writers
    /// a second time for a log that has not grown since.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writers_are_held_once_for_frames_appended_while_the_checkpointer_waited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hold.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()), 4)
            .await
            .unwrap();
        let Db::Sqlite(pool, gate, _) = &db else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .execute(pool)
            .await
            .unwrap();
        let policy = CheckpointPolicy {
            every: Duration::from_millis(2),
            reset_pages: 64,
            restart_pages: 1_000_000,
        };
        let holds = Arc::new(AtomicU64::new(0));
        tokio::spawn(checkpoint_loop(
            pool.clone(),
            gate.clone(),
            policy,
            holds.clone(),
        ));

        let writer_gate = gate.clone();
        tokio::task::spawn_blocking(move || {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = NORMAL;")
                .unwrap();
            let write = |rows: usize| {
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                for i in 0..rows {
                    c.execute(
                        "INSERT INTO t (v) VALUES (?1)",
                        [format!("{i}{}", "x".repeat(300))],
                    )
                    .unwrap();
                }
                c.execute_batch("COMMIT").unwrap();
            };
            let turn = writer_gate.blocking_lock();
            // Past `reset_pages`: the checkpointer copies it and then waits for the gate.
            write(2_000);
            // A reader on that log, so that the next write appends to it instead of starting it
            // over (SQLite starts a log over only when no reader is using it).
            let reader = rusqlite::Connection::open(c.path().unwrap()).unwrap();
            reader.execute_batch("BEGIN").unwrap();
            let _: i64 = reader
                .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap();
            std::thread::sleep(Duration::from_millis(150));
            // Appended while the checkpointer waits: the log is longer than it read before asking.
            write(200);
            reader.execute_batch("COMMIT").unwrap();
            drop(turn);
        })
        .await
        .unwrap();
        // The writer is quiet now; give the checkpointer many rounds.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            holds.load(Ordering::Relaxed),
            1,
            "one hold copies everything; a log that has not grown since needs no other"
        );
    }

    /// The salt in the WAL's header (bytes 16..24), which SQLite draws anew each time it starts
    /// the log over.
    fn wal_salt(wal: &std::path::Path) -> Vec<u8> {
        use std::io::Read;
        let mut header = vec![0; 24];
        match std::fs::File::open(wal).and_then(|mut f| f.read_exact(&mut header)) {
            Ok(()) => header.split_off(16),
            Err(_) => Vec::new(),
        }
    }
}
