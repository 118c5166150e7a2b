//! Group commit: the webhooks' writes go to a few writers, each of which runs many requests' units
//! of work in one transaction and answers every request once that transaction has committed.
//!
//! Why: a transaction per webhook costs a `BEGIN`, a `COMMIT` and, on SQLite, a wait for the single
//! write lock with every other request; and every statement costs a round trip (to SQLite's
//! connection thread, or to PostgreSQL) that is far dearer than its work. One writer holding one
//! transaction for a batch pays the transaction once per batch.
//!
//! A unit ([`BatchUnit`]) declares what it reads, then decides in memory over a [`Batch`] that the
//! writer loaded for all units of the batch at once; the writer stores what they changed when the
//! batch ends (see `db::batch`). Units make no statements of their own.
//!
//! Where a writer runs ([`BatchIo`]): on a SQLite file, on a thread of its own with its own
//! connection (`db::batch_sqlite`: no hand-offs per statement); otherwise (PostgreSQL, in-memory
//! SQLite) as a task over the pool. The batching, ordering and failure handling below are the same.
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
//! Several writers (PostgreSQL) are chosen by a key, so the units of one tenant or one call always
//! queue on the same writer and never wait on each other's row locks across writers.

use std::any::Any;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::batch::{Batch, Keys, Loaded};
use super::batch_sqlite::SqliteBatchConn;
use super::{Db, Tx};
use crate::db::StoreError;
use crate::with_tx;

/// Most units in one transaction. Large enough to amortise the commit, small enough that a batch's
/// first unit does not wait long for its last.
pub const MAX_BATCH: usize = 512;
/// Units queued per writer before callers wait (back-pressure instead of unbounded memory).
const QUEUE: usize = 4096;

type Output = Box<dyn Any + Send>;
type Answer = oneshot::Sender<Result<Output, StoreError>>;

/// A unit that decides in memory over a batch's loaded rows (see the module header).
pub trait BatchUnit: Send + Sync + 'static {
    type Output: Send + 'static;
    /// Names the rows [`apply`](Self::apply) reads.
    fn keys(&self, keys: &mut Keys);
    /// Reads and changes the batch. May run more than once (a batch that meets a failure runs
    /// again); on an error or a panic the batch forgets everything it did and runs its other units
    /// again without it.
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

struct Unit {
    work: Box<dyn ErasedUnit>,
    done: Answer,
}

enum Queued {
    Unit(Unit),
    /// Holds the writer, between two batches, until `resume` fires or is dropped.
    Pause {
        paused: oneshot::Sender<()>,
        resume: oneshot::Receiver<()>,
    },
}

/// The handle the request handlers use. Cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    shards: Arc<[mpsc::Sender<Queued>]>,
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
    /// Starts `writers` writers over `db` (at least one). They stop when the last handle is dropped.
    /// Fails when a SQLite writer cannot open its connection.
    pub fn start(db: &Db, writers: usize) -> Result<GroupWriter, StoreError> {
        let batches = Arc::new(AtomicU64::new(0));
        let mut shards = Vec::new();
        for n in 0..writers.max(1) {
            let (tx, rx) = mpsc::channel(QUEUE);
            let inbox = Inbox {
                rx,
                pending: VecDeque::new(),
            };
            match db.sqlite_file() {
                Some((path, gate)) => {
                    let io = SqliteBatchConn::open(path, gate)?;
                    let batches = batches.clone();
                    std::thread::Builder::new()
                        .name(format!("sb-writer-{n}"))
                        .spawn(move || futures::executor::block_on(write_loop(io, inbox, batches)))
                        .map_err(|e| {
                            StoreError::NotCommitted(format!("cannot start a writer thread: {e}"))
                        })?;
                }
                None => {
                    let io = PoolIo {
                        db: db.clone(),
                        tx: None,
                    };
                    tokio::spawn(write_loop(io, inbox, batches.clone()));
                }
            }
            shards.push(tx);
        }
        Ok(GroupWriter {
            shards: shards.into(),
            batches,
        })
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

    /// Runs `unit` in the next batch of the writer chosen by `key` and returns its result once the
    /// batch has committed.
    pub async fn apply<U: BatchUnit>(&self, key: &str, unit: U) -> Result<U::Output, StoreError> {
        let (done, answer) = oneshot::channel();
        let unit = Unit {
            work: Box::new(unit),
            done,
        };
        self.shard(key)
            .send(Queued::Unit(unit))
            .await
            .map_err(|_| stopped())?;
        let out = answer.await.map_err(|_| stopped())??;
        Ok(*out
            .downcast::<U::Output>()
            .expect("a unit's output has the type its caller asked for"))
    }

    /// Holds the writer chosen by `key` between two batches until the returned sender is used or
    /// dropped; returns once it is held. Units sent meanwhile queue, and the writer takes them as
    /// its next batch. For tests that decide which units share a batch.
    pub async fn pause(&self, key: &str) -> Result<oneshot::Sender<()>, StoreError> {
        let (paused, held) = oneshot::channel();
        let (resume, resumed) = oneshot::channel();
        self.shard(key)
            .send(Queued::Pause {
                paused,
                resume: resumed,
            })
            .await
            .map_err(|_| stopped())?;
        held.await.map_err(|_| stopped())?;
        Ok(resume)
    }

    fn shard(&self, key: &str) -> &mpsc::Sender<Queued> {
        &self.shards[shard_of(key, self.shards.len())]
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

/// A writer's queue, read a batch at a time.
struct Inbox {
    rx: mpsc::Receiver<Queued>,
    /// Taken from the channel but not yet run (what follows a pause).
    pending: VecDeque<Queued>,
}

enum Next {
    Batch(Vec<Unit>),
    Pause {
        paused: oneshot::Sender<()>,
        resume: oneshot::Receiver<()>,
    },
    Stop,
}

impl Inbox {
    /// Nothing queued: the next [`next`](Self::next) would wait.
    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.rx.is_empty()
    }

    /// Waits for work, then returns everything queued up to [`MAX_BATCH`] units (or a pause).
    async fn next(&mut self) -> Next {
        if self.pending.is_empty() {
            match self.rx.recv().await {
                Some(q) => self.pending.push_back(q),
                None => return Next::Stop,
            }
        }
        while self.pending.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(q) => self.pending.push_back(q),
                Err(_) => break,
            }
        }
        let mut units = Vec::new();
        while units.len() < MAX_BATCH {
            match self.pending.pop_front() {
                Some(Queued::Unit(u)) => units.push(u),
                Some(Queued::Pause { paused, resume }) if units.is_empty() => {
                    return Next::Pause { paused, resume };
                }
                Some(pause) => {
                    self.pending.push_front(pause);
                    break;
                }
                None => break,
            }
        }
        Next::Batch(units)
    }
}

/// The database side of a writer: one write transaction at a time.
pub(super) trait BatchIo {
    /// Begins a write transaction.
    async fn begin(&mut self) -> Result<(), StoreError>;
    /// Loads, in the transaction, the rows `keys` name, locking those units may change.
    async fn load(&mut self, keys: &Keys) -> Result<Loaded, StoreError>;
    /// Writes what `batch`'s units changed, in the transaction.
    async fn flush(&mut self, batch: &Batch<'_>) -> Result<(), StoreError>;
    /// Runs a savepoint statement in the transaction.
    async fn exec(&mut self, sql: &'static str) -> Result<(), StoreError>;
    async fn commit(&mut self) -> Result<(), StoreError>;
    async fn rollback(&mut self) -> Result<(), StoreError>;
    /// Called when the writer has nothing queued, before it waits: lets go of what it holds.
    async fn idle(&mut self) {}
    /// Writes what `batch`'s units changed and commits; which of the two failed is in the error.
    async fn flush_and_commit(&mut self, batch: &Batch<'_>) -> Result<(), Ended> {
        let flushing = Instant::now();
        self.flush(batch).await.map_err(Ended::Flush)?;
        let committing = phase("flush", flushing);
        let committed = self.commit().await.map_err(Ended::Commit);
        phase("commit", committing);
        committed
    }
}

/// How a batch's transaction failed to end.
pub(super) enum Ended {
    /// A write failed: the transaction is spoilt and must be rolled back.
    Flush(StoreError),
    /// The commit failed: nothing of the batch was kept.
    Commit(StoreError),
}

impl Ended {
    fn error(self) -> StoreError {
        match self {
            Ended::Flush(e) | Ended::Commit(e) => e,
        }
    }
}

/// A writer over the pool (PostgreSQL, or SQLite in memory).
struct PoolIo {
    db: Db,
    tx: Option<Tx>,
}

impl PoolIo {
    fn tx(&mut self) -> Result<&mut Tx, StoreError> {
        self.tx
            .as_mut()
            .ok_or_else(|| StoreError::NotCommitted("no write transaction is open".into()))
    }

    fn take(&mut self) -> Result<Tx, StoreError> {
        self.tx
            .take()
            .ok_or_else(|| StoreError::NotCommitted("no write transaction is open".into()))
    }
}

impl BatchIo for PoolIo {
    async fn begin(&mut self) -> Result<(), StoreError> {
        // A PostgreSQL transaction left open by the last batch's `flush_and_commit` is used as it
        // is: it has run nothing yet.
        if self.tx.is_none() {
            self.tx = Some(self.db.begin_writer().await?);
        }
        Ok(())
    }
    async fn load(&mut self, keys: &Keys) -> Result<Loaded, StoreError> {
        Loaded::load(self.tx()?, keys).await
    }
    async fn flush(&mut self, batch: &Batch<'_>) -> Result<(), StoreError> {
        batch.flush(self.tx()?).await
    }
    async fn exec(&mut self, sql: &'static str) -> Result<(), StoreError> {
        with_tx!(self.tx()?, |c| sqlx::raw_sql(sql)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
    async fn commit(&mut self) -> Result<(), StoreError> {
        self.take()?.commit().await
    }
    async fn rollback(&mut self) -> Result<(), StoreError> {
        self.take()?.rollback().await
    }
    /// Ends the empty transaction a folded commit left open, so the connection goes back to the
    /// pool while the writer waits (and `Db::close` is not kept waiting for it).
    async fn idle(&mut self) {
        if let Some(tx) = self.tx.take()
            && let Err(e) = tx.commit().await
        {
            tracing::debug!(error = %e, "ending a writer's empty transaction failed");
        }
    }
    /// On PostgreSQL the writes, `COMMIT` and the next batch's `BEGIN` go in one round trip (two
    /// round trips fewer per batch, and as many fewer wake-ups of the server and of this process).
    /// The connection then waits in an empty transaction, which holds no snapshot and no lock,
    /// until the next batch. If anything in that round trip fails, it cannot tell whether the
    /// writes or the commit did, so it reports the writes: the batch is rolled back (a `ROLLBACK`
    /// after a failed `COMMIT` does nothing) and run again unit by unit, which is safe because
    /// nothing of it was kept, or, had the commit succeeded and only `BEGIN` failed, because every
    /// unit finds its own rows as a retried webhook does.
    async fn flush_and_commit(&mut self, batch: &Batch<'_>) -> Result<(), Ended> {
        let started = Instant::now();
        let tx = self.tx().map_err(Ended::Flush)?;
        let folded = batch.flush_commit_begin(tx).await.map_err(Ended::Flush)?;
        if folded {
            phase("commit", started);
            return Ok(());
        }
        let committing = phase("flush", started);
        let committed = self.commit().await.map_err(Ended::Commit);
        phase("commit", committing);
        committed
    }
}

async fn write_loop<I: BatchIo>(mut io: I, mut inbox: Inbox, batches: Arc<AtomicU64>) {
    loop {
        if inbox.is_empty() {
            io.idle().await;
        }
        match inbox.next().await {
            Next::Stop => return,
            Next::Pause { paused, resume } => {
                io.idle().await;
                let _ = paused.send(());
                let _ = resume.await;
            }
            Next::Batch(units) => {
                let size = units.len();
                batches.fetch_add(1, Ordering::SeqCst);
                run_batch(&mut io, units).await;
                metrics::histogram!("switchboard_write_batch_units").record(size as f64);
            }
        }
    }
}

fn phase(name: &'static str, since: Instant) -> Instant {
    let now = Instant::now();
    metrics::histogram!("switchboard_write_batch_phase_seconds", "phase" => name)
        .record((now - since).as_secs_f64());
    now
}

/// Runs one batch. First optimistically: every unit in one transaction with nothing around it,
/// which is what almost every batch is. If a statement fails, that whole attempt is rolled back and
/// the batch runs again carefully, each unit in its own savepoint. (Savepoints on every unit would
/// cost two statements each and, on PostgreSQL, a subtransaction each, which slows every other
/// session once a transaction holds more than 64 of them.)
async fn run_batch<I: BatchIo>(io: &mut I, batch: Vec<Unit>) {
    let begun = Instant::now();
    if let Err(e) = io.begin().await {
        return fail_all(batch.into_iter().map(|u| u.done), &e);
    }
    phase("begin", begun);
    let units: Vec<&dyn ErasedUnit> = batch.iter().map(|u| u.work.as_ref()).collect();
    let outcome = segment(io, &units, true).await;
    drop(units);
    match outcome {
        Ok(results) => {
            for (unit, out) in batch.into_iter().zip(results) {
                let _ = unit.done.send(out);
            }
        }
        Err(Ended::Flush(_)) => {
            if let Err(e) = io.rollback().await {
                return fail_all(batch.into_iter().map(|u| u.done), &e);
            }
            metrics::counter!("switchboard_write_batch_replays_total").increment(1);
            run_carefully(io, batch).await
        }
        Err(Ended::Commit(e)) => fail_all(batch.into_iter().map(|u| u.done), &e),
    }
}

/// Loads what `units` read, runs them in order over one [`Batch`], and writes what they changed,
/// then commits if `commit`. A unit that fails in memory is left out (the others run again without
/// it) and gets its error; an `Err` from here says whether a statement failed (the transaction is
/// spoilt) or the commit did.
async fn segment<I: BatchIo>(
    io: &mut I,
    units: &[&dyn ErasedUnit],
    commit: bool,
) -> Result<Vec<Result<Output, StoreError>>, Ended> {
    let mut keys = Keys::default();
    // Where each unit's owners lie in `keys.owners`: a unit stores only for its own.
    let mut owners = Vec::with_capacity(units.len());
    for u in units {
        let from = keys.owners.len();
        u.keys(&mut keys);
        owners.push(from..keys.owners.len());
    }
    let started = Instant::now();
    let loaded = io.load(&keys).await.map_err(Ended::Flush)?;
    let loaded_at = phase("load", started);
    let owners: Vec<&[String]> = owners.into_iter().map(|r| &keys.owners[r]).collect();
    let (batch, results) = apply_all(&loaded, &owners, units);
    let applied_at = phase("apply", loaded_at);
    if commit {
        io.flush_and_commit(&batch).await?;
    } else {
        io.flush(&batch).await.map_err(Ended::Flush)?;
        phase("flush", applied_at);
    }
    Ok(results)
}

/// Runs `units` in order over one [`Batch`] of `loaded`, each allowed to store for its `owners`. A
/// unit that fails or panics gets its error and the batch is built again from the start without
/// it, so nothing it did remains.
fn apply_all<'l>(
    loaded: &'l Loaded,
    owners: &[&'l [String]],
    units: &[&dyn ErasedUnit],
) -> (Batch<'l>, Vec<Result<Output, StoreError>>) {
    let mut failed: Vec<Option<StoreError>> = units.iter().map(|_| None).collect();
    'again: loop {
        let mut batch = Batch::new(loaded);
        let mut outputs = Vec::with_capacity(units.len());
        for (k, u) in units.iter().enumerate() {
            if failed[k].is_some() {
                outputs.push(None);
                continue;
            }
            batch.set_owners(owners[k]);
            let applied = std::panic::catch_unwind(AssertUnwindSafe(|| u.apply(&mut batch)))
                .unwrap_or_else(|_| Err(panicked()));
            let applied = match (applied, batch.take_unowned()) {
                (Ok(_), Some(tenant)) => Err(unowned(&tenant)),
                (applied, _) => applied,
            };
            match applied {
                Ok(out) => outputs.push(Some(out)),
                Err(e) => {
                    failed[k] = Some(e);
                    continue 'again;
                }
            }
        }
        let results = outputs
            .into_iter()
            .zip(failed)
            .map(|(out, err)| match (out, err) {
                (Some(out), _) => Ok(out),
                (None, Some(e)) => Err(e),
                (None, None) => Err(panicked()),
            })
            .collect();
        return (batch, results);
    }
}

/// A unit stored a call or message for a tenant its batch does not hold for it (`Keys::owners`,
/// either backend): the tenant was deleted after the request found it, or the unit did not name
/// it. Nothing of the unit is kept, as with a foreign-key violation.
fn unowned(tenant: &str) -> StoreError {
    StoreError::NotCommitted(format!(
        "tenant {tenant} does not exist (deleted meanwhile) or was not named among the unit's owners; \
         nothing of the unit was kept"
    ))
}

fn panicked() -> StoreError {
    StoreError::NotCommitted("a unit of work panicked; its writes were rolled back".into())
}

/// The batch again, each unit in its savepoint: a failing unit is rolled back alone and hears its
/// error; the others commit together.
async fn run_carefully<I: BatchIo>(io: &mut I, batch: Vec<Unit>) {
    if let Err(e) = io.begin().await {
        return fail_all(batch.into_iter().map(|u| u.done), &e);
    }
    let mut committed = Vec::with_capacity(batch.len());
    for unit in batch {
        if let Err(e) = io.exec("SAVEPOINT unit").await {
            // The connection no longer takes statements: nothing of this batch can commit.
            let _ = io.rollback().await;
            let waiting = committed.into_iter().map(|(done, _)| done);
            return fail_all(waiting.chain(std::iter::once(unit.done)), &e);
        }
        let alone = segment(io, &[unit.work.as_ref()], false)
            .await
            .map_err(Ended::error)
            .and_then(|mut outs| outs.pop().unwrap_or_else(|| Err(panicked())));
        match alone {
            Ok(out) => match io.exec("RELEASE SAVEPOINT unit").await {
                Ok(()) => committed.push((unit.done, out)),
                Err(e) => {
                    let _ = io.rollback().await;
                    let waiting = committed.into_iter().map(|(done, _)| done);
                    return fail_all(waiting.chain(std::iter::once(unit.done)), &e);
                }
            },
            Err(e) => {
                // Undo this unit alone; it hears its own error now (nothing of it will commit).
                let undone = io.exec("ROLLBACK TO SAVEPOINT unit").await;
                let released = match undone {
                    Ok(()) => io.exec("RELEASE SAVEPOINT unit").await,
                    Err(e) => Err(e),
                };
                let _ = unit.done.send(Err(e));
                if let Err(e) = released {
                    let _ = io.rollback().await;
                    let waiting = committed.into_iter().map(|(done, _)| done);
                    return fail_all(waiting, &e);
                }
            }
        }
    }
    match io.commit().await {
        Ok(()) => {
            for (done, out) in committed {
                let _ = done.send(Ok(out));
            }
        }
        Err(e) => fail_all(committed.into_iter().map(|(done, _)| done), &e),
    }
}

/// Answers every waiting unit with the batch's failure (logged once, here).
fn fail_all(waiting: impl Iterator<Item = Answer>, e: &StoreError) {
    tracing::error!(error = %e, "a write batch failed; none of its units were kept");
    for done in waiting {
        let _ = done.send(Err(StoreError::NotCommitted(format!(
            "its write batch failed: {e}"
        ))));
    }
}
