//! SQLite's checkpointer: copies the write-ahead log into the database file beside the writers, and
//! starts the log over once it is long, holding the writers only for one last short copy.
//!
//! The held copy's length is what the webhooks of the batches it holds wait: it copies what was
//! appended since the last copy and syncs the WAL and the database file (`/metrics`:
//! `switchboard_sqlite_wal_hold_seconds`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::SqlitePool;

/// When the SQLite checkpointer copies and restarts the WAL (see [`checkpoint_loop`]).
#[derive(Clone, Copy)]
pub(super) struct CheckpointPolicy {
    every: Duration,
    reset_pages: i64,
    restart_pages: i64,
}

impl CheckpointPolicy {
    /// Starts the log over past `mb` MiB of it; holds the writers at once past twice that.
    pub(super) fn resetting_at(mb: u32) -> Self {
        let reset_pages = i64::from(mb) * 1024 * 1024 / WAL_FRAME_BYTES;
        CheckpointPolicy {
            every: CHECKPOINT_EVERY,
            reset_pages,
            restart_pages: 2 * reset_pages,
        }
    }
}

/// How often the SQLite checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
/// A WAL frame: a 4 KiB page and its 24-byte header.
const WAL_FRAME_BYTES: i64 = 4096 + 24;
/// A copy beside the writers (with its sync) that took less than this has left little behind it: the moment to hold
/// the writers and finish, because what the held copy must do is what was written meanwhile.
const CAUGHT_UP: Duration = Duration::from_millis(5);
/// Copies in a row, at most, while waiting for one that catches up; then the writers are held anyway.
const CATCH_UP_TRIES: u32 = 8;

/// Copies SQLite's write-ahead log into the database file every [`CHECKPOINT_EVERY`], and restarts
/// the log once it has grown past `policy.reset_pages`, until the pool closes. Past
/// `policy.restart_pages` (a safety net) the writers are held at once, whatever it costs them.
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
/// again at once, syncing the database file after each copy (`sync_database_file`), until one copy
/// was quick (little was appended during it, [`CAUGHT_UP`]), then holds this process's write gate
/// for one last copy of that little; the writer's next transaction starts the log over. The
/// writers wait for that last copy only.
///
/// `holds` counts the times the writers were held (also on `/metrics`, with how long each took).
pub(super) async fn checkpoint_loop(
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
    let file = pool.connect_options().get_filename().to_path_buf();
    loop {
        if tries == 0 {
            tick.tick().await;
        }
        if pool.is_closed() {
            return;
        }
        let started = Instant::now();
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
        sync_database_file(&file).await;
        tries += 1;
        let caught_up = started.elapsed() < CAUGHT_UP;
        if caught_up || tries >= CATCH_UP_TRIES || wal_pages > policy.restart_pages {
            let last = if wal_pages > policy.restart_pages {
                "PRAGMA wal_checkpoint(RESTART)"
            } else {
                "PRAGMA wal_checkpoint(PASSIVE)"
            };
            let asked = Instant::now();
            let turn = gate.lock().await;
            match checkpoint(&pool, last).await {
                // The log's length after the held copy, which includes what the writers appended
                // since `wal_pages` was read: the length the next copy finds until a writer starts
                // the log over. Remembering `wal_pages` instead held the writers a second time.
                Ok(pages) => held_at = pages,
                Err(e) => tracing::warn!(error = %e, "SQLite restarting checkpoint failed"),
            }
            drop(turn);
            metrics::histogram!("switchboard_sqlite_wal_hold_seconds")
                .record(asked.elapsed().as_secs_f64());
            holds.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("switchboard_sqlite_wal_holds_total").increment(1);
            tries = 0;
        }
    }
}

/// Syncs the database file beside the writers, after each copy that leads up to a hold.
///
/// Why: SQLite syncs the database file in a copy only when that copy has copied the whole log,
/// which a copy beside busy writers never does. So every page those copies wrote since the last
/// hold was left for the held copy's sync to write back: about 220 ms of the writers' wait under
/// the webhook benchmark, where the copy before it took 10 ms. Synced here, the held copy's sync
/// has only what the held copy itself wrote; holds measured 59 and 65 ms instead (same machine, same
/// hour). Durability does not depend on this sync: the WAL keeps every page until a copy that
/// syncs has completed.
async fn sync_database_file(file: &std::path::Path) {
    let file = file.to_path_buf();
    let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&file)?.sync_data()).await;
    if let Ok(Err(e)) = synced {
        tracing::debug!(error = %e, "syncing the SQLite file before a hold failed");
    }
}

/// Runs a `wal_checkpoint` pragma; returns the WAL's length in frames.
async fn checkpoint(pool: &SqlitePool, pragma: &'static str) -> Result<i64, sqlx::Error> {
    let (_, wal_pages, _): (i64, i64, i64) = sqlx::query_as(pragma).fetch_one(pool).await?;
    Ok(wal_pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// A database file with a table `t`, and a checkpointer over it that copies every 2 ms and
    /// starts the log over past 64 frames (holding the writers at once past `restart_pages`),
    /// counting its holds.
    async fn start(
        restart_pages: i64,
    ) -> (
        tempfile::TempDir,
        Db,
        std::path::PathBuf,
        CheckpointPolicy,
        Arc<AtomicU64>,
    ) {
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
            restart_pages,
        };
        let holds = Arc::new(AtomicU64::new(0));
        tokio::spawn(checkpoint_loop(
            pool.clone(),
            gate.clone(),
            policy,
            holds.clone(),
        ));
        (dir, db, path, policy, holds)
    }

    /// A writer that never checkpoints by itself (as the group-commit writer's connection) keeps
    /// appending; the checkpointer alone must keep its WAL bounded by restarting it, holding the
    /// write gate only for the last copy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_restarts_the_wal_of_a_writer_that_never_checkpoints() {
        let (_dir, db, path, policy, holds) = start(256).await;
        let Db::Sqlite(pool, gate, _) = &db else {
            unreachable!()
        };

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
        let (_dir, db, path, _, holds) = start(1_000_000).await;
        let Db::Sqlite(_, gate, _) = &db else {
            unreachable!()
        };

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

    #[test]
    fn the_reset_setting_counts_the_logs_frames() {
        let p = CheckpointPolicy::resetting_at(1024);
        // 1 GiB of 4,120-byte frames.
        assert_eq!(p.reset_pages, 260_616);
        assert_eq!(p.restart_pages, 2 * 260_616);
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
