//! Group commit: the webhooks' writes go to a few writer tasks, each of which runs many requests'
//! units of work in one transaction and answers every request once that transaction has committed.
//!
//! Why: a transaction per webhook costs a `BEGIN`, a `COMMIT` and, on SQLite, a wait for the single
//! write lock with every other request; at thousands of webhooks a second that is most of the work.
//! One writer holding one transaction for a batch pays those once per batch.
//!
//! The guarantees are those of a transaction per request:
//! - A unit's result reaches its caller only after the batch that holds its writes has committed, so
//!   nothing answered is lost (SIGKILL included: a committed WAL frame or PostgreSQL commit survives).
//! - Each unit runs inside its own savepoint. A unit that fails (an error, a constraint, a panic) is
//!   rolled back to it alone and gets its error; its batch-mates commit as if it had never run.
//! - Units of one batch run one after another on one connection, so a unit sees everything its
//!   predecessors wrote: a retried webhook that lands in the same batch as its original finds the
//!   original's row, exactly as it would in the next transaction.
//! - If the commit itself fails, every unit of the batch gets that error and none of its writes stay.
//!
//! Units must be short and touch only the database: the batch waits for each of them.
//! Several writers (PostgreSQL) are chosen by a key, so the units of one tenant or one call always
//! queue on the same writer and never wait on each other's row locks across writers.

use std::any::Any;
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::{Db, Tx};
use crate::error::StoreError;
use crate::with_tx;

/// Most units in one transaction. Large enough to amortise the commit, small enough that a batch's
/// first unit does not wait long for its last.
pub const MAX_BATCH: usize = 512;
/// Units queued per writer before callers wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 4096;

type Output = Box<dyn Any + Send>;
type Work = Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<Output, StoreError>> + Send>;

struct Unit {
    work: Work,
    done: oneshot::Sender<Result<Output, StoreError>>,
}

/// The handle the request handlers use. Cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    shards: Arc<[mpsc::Sender<Unit>]>,
    /// Batches run so far (committed or not), for metrics and for tests that need to know which
    /// units shared a batch.
    batches: Arc<AtomicU64>,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter")
            .field("writers", &self.shards.len())
            .finish()
    }
}

impl GroupWriter {
    /// Starts `writers` writer tasks over `db` (at least one). They stop when the last handle is dropped.
    pub fn start(db: &Db, writers: usize) -> GroupWriter {
        let batches = Arc::new(AtomicU64::new(0));
        let shards: Vec<_> = (0..writers.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(write_loop(db.clone(), rx, batches.clone()));
                tx
            })
            .collect();
        GroupWriter {
            shards: shards.into(),
            batches,
        }
    }

    /// Batches begun so far, over all writers.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::SeqCst)
    }

    /// Units waiting for a writer to take them into a batch.
    pub fn queued(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.max_capacity() - s.capacity())
            .sum()
    }

    /// Runs `work` in the next batch of the writer chosen by `key` and returns its result once the
    /// batch has committed. `work` must only use the transaction it is given.
    pub async fn run<T, F>(&self, key: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
    {
        let shard = &self.shards[shard_of(key, self.shards.len())];
        let (done, answer) = oneshot::channel();
        let work: Work = Box::new(move |tx| {
            async move { work(tx).await.map(|v| Box::new(v) as Output) }.boxed()
        });
        shard
            .send(Unit { work, done })
            .await
            .map_err(|_| stopped())?;
        let out = answer.await.map_err(|_| stopped())??;
        Ok(*out
            .downcast::<T>()
            .expect("a unit's output has the type its caller asked for"))
    }
}

fn stopped() -> StoreError {
    StoreError::NotCommitted("the database writer has stopped".into())
}

fn shard_of(key: &str, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % n as u64) as usize
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Unit>, batches: Arc<AtomicU64>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let size = batch.len();
        batches.fetch_add(1, Ordering::SeqCst);
        run_batch(&db, std::mem::take(&mut batch)).await;
        metrics::histogram!("switchboard_write_batch_units").record(size as f64);
        batch.reserve(MAX_BATCH);
    }
}

/// Runs one batch: every unit in its savepoint, then one commit, then the answers.
async fn run_batch(db: &Db, batch: Vec<Unit>) {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.into_iter().map(|u| u.done), &e),
    };
    let mut committed = Vec::with_capacity(batch.len());
    for unit in batch {
        if let Err(e) = exec(&mut tx, "SAVEPOINT unit").await {
            // The connection no longer takes statements: nothing of this batch can commit.
            let waiting = committed.into_iter().map(|(done, _)| done);
            return fail_all(waiting.chain(std::iter::once(unit.done)), &e);
        }
        let outcome = AssertUnwindSafe((unit.work)(&mut tx)).catch_unwind().await;
        let outcome = outcome.unwrap_or_else(|_| {
            Err(StoreError::NotCommitted(
                "a unit of work panicked; its writes were rolled back".into(),
            ))
        });
        match outcome {
            Ok(out) => match exec(&mut tx, "RELEASE SAVEPOINT unit").await {
                Ok(()) => committed.push((unit.done, out)),
                Err(e) => {
                    let waiting = committed.into_iter().map(|(done, _)| done);
                    return fail_all(waiting.chain(std::iter::once(unit.done)), &e);
                }
            },
            Err(e) => {
                // Undo this unit alone; it hears its own error now (nothing of it will commit).
                let undone = exec(&mut tx, "ROLLBACK TO SAVEPOINT unit").await;
                let released = match undone {
                    Ok(()) => exec(&mut tx, "RELEASE SAVEPOINT unit").await,
                    Err(e) => Err(e),
                };
                let _ = unit.done.send(Err(e));
                if let Err(e) = released {
                    let waiting = committed.into_iter().map(|(done, _)| done);
                    return fail_all(waiting, &e);
                }
            }
        }
    }
    match tx.commit().await {
        Ok(()) => {
            for (done, out) in committed {
                let _ = done.send(Ok(out));
            }
        }
        Err(e) => fail_all(committed.into_iter().map(|(done, _)| done), &e),
    }
}

async fn exec(tx: &mut Tx, sql: &'static str) -> Result<(), StoreError> {
    with_tx!(tx, |c| sqlx::raw_sql(sql).execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Answers every waiting unit with the batch's failure (logged once, here).
fn fail_all(
    waiting: impl Iterator<Item = oneshot::Sender<Result<Output, StoreError>>>,
    e: &StoreError,
) {
    tracing::error!(error = %e, "a write batch failed; none of its units were kept");
    for done in waiting {
        let _ = done.send(Err(StoreError::NotCommitted(format!(
            "its write batch failed: {e}"
        ))));
    }
}
