//! Group commit: the webhooks' writes go to a few writer tasks, each of which runs many requests'
//! units of work in one transaction and answers every request once that transaction has committed.
//!
//! Why: a transaction per webhook costs a `BEGIN`, a `COMMIT` and, on SQLite, a wait for the single
//! write lock with every other request; and every statement costs a round trip (to SQLite's
//! connection thread, or to PostgreSQL) that is far dearer than its work. One writer holding one
//! transaction for a batch pays the transaction once per batch.
//!
//! Two kinds of unit:
//! - [`BatchUnit`] (the hot webhooks): declares what it reads, then decides in memory over a
//!   [`Batch`] that the writer loaded for all such units at once and writes with one multi-row
//!   statement per table afterwards (see `db::batch`). No statement of its own.
//! - An async closure over the transaction ([`GroupWriter::run`]), for everything else.
//!
//! The guarantees are those of a transaction per request:
//! - A unit's result reaches its caller only after the batch that holds its writes has committed, so
//!   nothing answered is lost (SIGKILL included: a committed WAL frame or PostgreSQL commit survives).
//! - Units of one batch run in the order they arrived, and each sees what its predecessors wrote:
//!   a retried webhook that lands in the same batch as its original finds the original's rows.
//! - A unit that fails (an error, a constraint, a panic) gets its error and leaves nothing; its
//!   batch-mates commit as if it had never run. A batch is first tried without savepoints; when a
//!   statement fails, that try is rolled back and the batch runs again with a savepoint per unit.
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

use super::batch::{Batch, Keys, Loaded};
use super::{Db, Tx};
use crate::error::StoreError;
use crate::with_tx;

/// Most units in one transaction. Large enough to amortise the commit, small enough that a batch's
/// first unit does not wait long for its last.
pub const MAX_BATCH: usize = 512;
/// Units queued per writer before callers wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 4096;

type Output = Box<dyn Any + Send>;
/// A unit of work. `Fn`, not `FnOnce`: a batch that meets a failure is rolled back and run again
/// with a savepoint around each unit, so a unit may run twice (its first run left nothing behind).
type Work =
    Box<dyn for<'t> Fn(&'t mut Tx) -> BoxFuture<'t, Result<Output, StoreError>> + Send + Sync>;

/// A unit that decides in memory over a batch's loaded rows (see the module header).
pub trait BatchUnit: Send + Sync + 'static {
    type Output: Send + 'static;
    /// Names the rows [`apply`](Self::apply) reads.
    fn keys(&self, keys: &mut Keys);
    /// Reads and changes the batch. Must not fail half-way in a way it cannot undo: on an error
    /// or a panic the batch forgets everything it did and runs its other units again without it.
    fn apply(&self, batch: &mut Batch<'_>) -> Result<Self::Output, StoreError>;
}

/// [`BatchUnit`] with its output type erased, so units of every webhook share one queue.
trait ErasedUnit: Send + Sync {
    fn keys(&self, keys: &mut Keys);
    fn apply(&self, batch: &mut Batch<'_>) -> Result<Output, StoreError>;
}

impl<U: BatchUnit> ErasedUnit for U {
    fn keys(&self, keys: &mut Keys) {
        BatchUnit::keys(self, keys)
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<Output, StoreError> {
        BatchUnit::apply(self, batch).map(|v| Box::new(v) as Output)
    }
}

enum UnitWork {
    Closure(Work),
    Batched(Box<dyn ErasedUnit>),
}

struct Unit {
    work: UnitWork,
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
    /// batch has committed. `work` must only use the transaction it is given, and may be run a
    /// second time when its first run was rolled back with a failed batch-mate's.
    pub async fn run<T, F>(&self, key: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'t> Fn(&'t mut Tx) -> BoxFuture<'t, Result<T, StoreError>> + Send + Sync + 'static,
    {
        let work: Work = Box::new(move |tx| {
            let run = work(tx);
            async move { run.await.map(|v| Box::new(v) as Output) }.boxed()
        });
        self.submit(key, UnitWork::Closure(work)).await
    }

    /// Runs `unit` in the next batch of the writer chosen by `key` and returns its result once the
    /// batch has committed.
    pub async fn apply<U: BatchUnit>(&self, key: &str, unit: U) -> Result<U::Output, StoreError> {
        self.submit(key, UnitWork::Batched(Box::new(unit))).await
    }

    async fn submit<T: 'static>(&self, key: &str, work: UnitWork) -> Result<T, StoreError> {
        let shard = &self.shards[shard_of(key, self.shards.len())];
        let (done, answer) = oneshot::channel();
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

/// Runs one batch. First optimistically: every unit in one transaction with nothing around it,
/// which is what almost every batch is. If a statement fails, that whole attempt is rolled back and
/// the batch runs again carefully, each unit in its own savepoint. (Savepoints on every unit would
/// cost two statements each and, on PostgreSQL, a subtransaction each, which slows every other
/// session once a transaction holds more than 64 of them.)
async fn run_batch(db: &Db, batch: Vec<Unit>) {
    let begun = std::time::Instant::now();
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.into_iter().map(|u| u.done), &e),
    };
    metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => "begin")
        .record(begun.elapsed().as_secs_f64());
    let mut results: Vec<Result<Output, StoreError>> = Vec::with_capacity(batch.len());
    let mut clean = true;
    let mut i = 0;
    while i < batch.len() && clean {
        match &batch[i].work {
            UnitWork::Closure(work) => match attempt(work, &mut tx).await {
                Ok(out) => results.push(Ok(out)),
                Err(_) => clean = false,
            },
            UnitWork::Batched(_) => {
                // The whole run of consecutive batched units: one load, one flush.
                let end = (i..batch.len())
                    .find(|&j| !matches!(batch[j].work, UnitWork::Batched(_)))
                    .unwrap_or(batch.len());
                let units: Vec<&dyn ErasedUnit> = batch[i..end]
                    .iter()
                    .filter_map(|u| match &u.work {
                        UnitWork::Batched(b) => Some(b.as_ref()),
                        UnitWork::Closure(_) => None,
                    })
                    .collect();
                match segment(&mut tx, &units).await {
                    Ok(outs) => results.extend(outs),
                    Err(_) => clean = false,
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    let committing = std::time::Instant::now();
    if !clean {
        drop(results);
        if let Err(e) = tx.rollback().await {
            return fail_all(batch.into_iter().map(|u| u.done), &e);
        }
        metrics::counter!("switchboard_write_batch_replays_total").increment(1);
        return run_carefully(db, batch).await;
    }
    let committed = tx.commit().await;
    metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => "commit")
        .record(committing.elapsed().as_secs_f64());
    match committed {
        Ok(()) => {
            for (unit, out) in batch.into_iter().zip(results) {
                let _ = unit.done.send(out);
            }
        }
        Err(e) => fail_all(batch.into_iter().map(|u| u.done), &e),
    }
}

/// Loads what `units` read, runs them in order over one [`Batch`], and writes what they changed.
/// A unit that fails in memory is left out (the others run again without it) and gets its error;
/// an `Err` from here means a statement failed and the transaction is spoilt.
async fn segment(
    tx: &mut Tx,
    units: &[&dyn ErasedUnit],
) -> Result<Vec<Result<Output, StoreError>>, StoreError> {
    let mut keys = Keys::default();
    for u in units {
        u.keys(&mut keys);
    }
    let started = std::time::Instant::now();
    let loaded = Loaded::load(tx, &keys).await?;
    let loaded_at = std::time::Instant::now();
    metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => "load")
        .record((loaded_at - started).as_secs_f64());
    let mut failed: Vec<Option<StoreError>> = units.iter().map(|_| None).collect();
    'again: loop {
        let mut batch = Batch::new(&loaded);
        let mut outputs = Vec::with_capacity(units.len());
        for (k, u) in units.iter().enumerate() {
            if failed[k].is_some() {
                outputs.push(None);
                continue;
            }
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| u.apply(&mut batch)))
                .unwrap_or_else(|_| Err(panicked()));
            match applied {
                Ok(out) => outputs.push(Some(out)),
                Err(e) => {
                    failed[k] = Some(e);
                    continue 'again;
                }
            }
        }
        let applied_at = std::time::Instant::now();
        metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => "apply")
            .record((applied_at - loaded_at).as_secs_f64());
        batch.flush(tx).await?;
        metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => "flush")
            .record(applied_at.elapsed().as_secs_f64());
        return Ok(outputs
            .into_iter()
            .zip(failed)
            .map(|(out, err)| match (out, err) {
                (Some(out), _) => Ok(out),
                (None, Some(e)) => Err(e),
                (None, None) => Err(panicked()),
            })
            .collect());
    }
}

fn panicked() -> StoreError {
    StoreError::NotCommitted("a unit of work panicked; its writes were rolled back".into())
}

/// One run of a closure unit, a panic turned into an error.
async fn attempt(work: &Work, tx: &mut Tx) -> Result<Output, StoreError> {
    AssertUnwindSafe(work(tx))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(panicked()))
}

/// One unit of either kind on its own.
async fn attempt_alone(work: &UnitWork, tx: &mut Tx) -> Result<Output, StoreError> {
    match work {
        UnitWork::Closure(work) => attempt(work, tx).await,
        UnitWork::Batched(unit) => {
            let mut outs = segment(tx, &[unit.as_ref()]).await?;
            outs.pop().unwrap_or_else(|| Err(panicked()))
        }
    }
}

/// The batch again, each unit in its savepoint: a failing unit is rolled back alone and hears its
/// error; the others commit together.
async fn run_carefully(db: &Db, batch: Vec<Unit>) {
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
        match attempt_alone(&unit.work, &mut tx).await {
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
