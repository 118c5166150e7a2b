//! The durable job queue: retry with backoff, dead-letter, admin retry, lease expiry, exactly-once
//! claiming by concurrent workers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use reqwest::Method;
use serde_json::json;
use switchboard::AppState;
use switchboard::jobs::{Job, JobError, JobHandler, NewJob, RetryPolicy, store, worker};

use crate::support::app;

/// Fails the first `fail_times` runs (retryably), then succeeds; records every run.
struct Flaky {
    fail_times: usize,
    runs: AtomicUsize,
    permanent: bool,
}

#[async_trait::async_trait]
impl JobHandler<AppState> for Flaky {
    fn kind(&self) -> &'static str {
        "test.flaky"
    }
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
        }
    }
    async fn run(&self, _: &AppState, _: &Job) -> Result<(), JobError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_times {
            if self.permanent {
                Err(JobError::permanent("bad input"))
            } else {
                Err(JobError::retryable(format!("boom {n}")))
            }
        } else {
            Ok(())
        }
    }
}

fn flaky(fail_times: usize, permanent: bool) -> Arc<Flaky> {
    Arc::new(Flaky {
        fail_times,
        runs: AtomicUsize::new(0),
        permanent,
    })
}

#[tokio::test]
async fn retries_with_backoff_then_succeeds() {
    let h = flaky(1, false);
    let app = app().handler(h.clone()).start().await;
    let id = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({"x": 1})))
        .await
        .unwrap()
        .unwrap();
    let s = worker::run_pending_jobs(&app.state).await.unwrap();
    assert_eq!((s.succeeded, s.retried), (0, 1));
    let job = store::get(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!(job.status, "pending");
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("boom 0"));
    let delay = job.run_at - app.clock.now_ms();
    assert!(
        (5_000..=10_000).contains(&delay),
        "first retry after 5-10 s with jitter, got {delay} ms"
    );
    // Not due yet: nothing runs.
    assert_eq!(worker::run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    app.clock.advance_ms(delay);
    let s = worker::run_pending_jobs(&app.state).await.unwrap();
    assert_eq!(s.succeeded, 1);
    let job = store::get(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("done", 2));
    assert_eq!(h.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn exhausted_jobs_go_dead_and_can_be_retried_from_the_admin_api() {
    let h = flaky(3, false);
    let app = app().handler(h.clone()).start().await;
    let id = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({})))
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        worker::run_pending_jobs(&app.state).await.unwrap();
        app.clock.advance_ms(120_000);
    }
    let job = store::get(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("dead", 3));
    assert_eq!(job.last_error.as_deref(), Some("boom 2"));

    let r = app
        .admin(Method::GET, "/api/admin/jobs?status=dead", None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["data"]["total"], 1);
    assert_eq!(r.json["data"]["jobs"][0]["lastError"], "boom 2");
    let r = app
        .admin(Method::GET, "/api/admin/jobs?status=zombie", None)
        .await;
    assert_eq!((r.status, r.field()), (400, "status"));

    let r = app
        .admin(Method::POST, &format!("/api/admin/jobs/{id}/retry"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["status"], "pending");
    assert_eq!(
        worker::run_pending_jobs(&app.state)
            .await
            .unwrap()
            .succeeded,
        1
    );
    // Only dead jobs can be retried.
    let r = app
        .admin(Method::POST, &format!("/api/admin/jobs/{id}/retry"), None)
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        app.admin(Method::POST, "/api/admin/jobs/nope/retry", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn permanent_errors_die_at_once_and_unknown_kinds_wait() {
    let h = flaky(1, true);
    let app = app().handler(h.clone()).start().await;
    let a = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({})))
        .await
        .unwrap()
        .unwrap();
    let b = app
        .state
        .enqueue_now(NewJob::new("nobody.handles.this", json!({})))
        .await
        .unwrap()
        .unwrap();
    let s = worker::run_pending_jobs(&app.state).await.unwrap();
    assert_eq!((s.dead, s.ran()), (1, 1));
    let a = store::get(&app.state.db, &a).await.unwrap().unwrap();
    assert_eq!(
        (a.status.as_str(), a.attempts, a.last_error.as_deref()),
        ("dead", 1, Some("bad input"))
    );
    // No worker here can run this kind: it stays pending and visible for one that can.
    let b = store::get(&app.state.db, &b).await.unwrap().unwrap();
    assert_eq!((b.status.as_str(), b.attempts), ("pending", 0));
}

#[tokio::test]
async fn expired_lease_lets_another_worker_take_over() {
    let h = flaky(0, false);
    let app = app().handler(h.clone()).start().await;
    let id = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({})))
        .await
        .unwrap()
        .unwrap();
    // A worker claims the job and then "crashes" (never reports).
    let lease_ms = app.state.config.jobs.lease.as_millis() as i64;
    let claimed = store::claim(
        &app.state.db,
        app.clock.now_ms(),
        lease_ms,
        10,
        &["test.flaky"],
    )
    .await
    .unwrap();
    assert_eq!(claimed.len(), 1);
    // While the lease holds, nobody else may run it.
    assert_eq!(worker::run_pending_jobs(&app.state).await.unwrap().ran(), 0);
    app.clock.advance_ms(lease_ms + 1);
    assert_eq!(
        worker::run_pending_jobs(&app.state)
            .await
            .unwrap()
            .succeeded,
        1
    );
    assert_eq!(h.runs.load(Ordering::SeqCst), 1);
    // The crashed worker's late report cannot overwrite the newer outcome, whether it goes
    // through the group writer (as the worker records a success) or alone.
    assert!(
        !worker::complete(&app.state, &claimed[0], app.clock.now_ms())
            .await
            .unwrap()
    );
    assert!(
        !store::complete(&app.state.db, &claimed[0], app.clock.now_ms())
            .await
            .unwrap()
    );
    assert!(
        !store::bury(&app.state.db, &claimed[0], app.clock.now_ms(), "late")
            .await
            .unwrap()
    );
    let job = store::get(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("done", 2));
}

#[tokio::test]
async fn dedupe_key_enqueues_once_and_enqueue_rolls_back_with_its_transaction() {
    let h = flaky(0, false);
    let app = app().handler(h).start().await;
    let first = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({})).dedupe("k1"))
        .await
        .unwrap();
    let second = app
        .state
        .enqueue_now(NewJob::new("test.flaky", json!({})).dedupe("k1"))
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(second.is_none());
    // Enqueued in a transaction that is dropped (rolled back): no job.
    let mut tx = app.state.db.begin().await.unwrap();
    app.state
        .enqueue(&mut tx, NewJob::new("test.flaky", json!({})))
        .await
        .unwrap();
    drop(tx);
    let (_, total) = store::list(&app.state.db, None, None, 10, 0).await.unwrap();
    assert_eq!(total, 1);
}

/// Counts how often each job id ran.
struct Recorder {
    runs: Mutex<HashMap<String, usize>>,
}

#[async_trait::async_trait]
impl JobHandler<AppState> for Recorder {
    fn kind(&self) -> &'static str {
        "test.record"
    }
    async fn run(&self, _: &AppState, job: &Job) -> Result<(), JobError> {
        // Yield so the two workers really interleave.
        tokio::task::yield_now().await;
        *self.runs.lock().entry(job.id.clone()).or_default() += 1;
        Ok(())
    }
}

#[tokio::test]
async fn two_workers_run_each_of_1000_jobs_exactly_once() {
    let recorder = Arc::new(Recorder {
        runs: Mutex::new(HashMap::new()),
    });
    let a = app()
        .handler(recorder.clone())
        .config(|c| c.worker_concurrency = Some("8".into()))
        .start()
        .await;
    // A second instance on the same database, with its own pool.
    let b = app()
        .handler(recorder.clone())
        .config(|c| c.worker_concurrency = Some("8".into()))
        .same_database(&a)
        .start()
        .await;
    let mut tx = a.state.db.begin().await.unwrap();
    for i in 0..1000 {
        a.state
            .enqueue(&mut tx, NewJob::new("test.record", json!({ "n": i })))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let (sa, sb) = tokio::join!(
        worker::run_pending_jobs(&a.state),
        worker::run_pending_jobs(&b.state)
    );
    let (sa, sb) = (sa.unwrap(), sb.unwrap());
    assert_eq!(sa.succeeded + sb.succeeded, 1000, "a: {sa:?} b: {sb:?}");
    assert!(
        sa.succeeded > 0 && sb.succeeded > 0,
        "both workers took part: a {sa:?} b {sb:?}"
    );
    {
        let runs = recorder.runs.lock();
        assert_eq!(runs.len(), 1000);
        assert!(runs.values().all(|&n| n == 1), "some job ran twice");
    }
    let counts = store::counts(&a.state.db).await.unwrap();
    assert_eq!(counts, vec![("done".to_string(), 1000)]);
}

#[tokio::test]
async fn serve_workers_pick_up_jobs_without_a_test_drain() {
    let h = flaky(0, false);
    let app = app().handler(h.clone()).start().await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(worker::work(app.state.clone(), shutdown.clone()));
    app.state
        .enqueue_now(NewJob::new("test.flaky", json!({})))
        .await
        .unwrap();
    for _ in 0..200 {
        if h.runs.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.runs.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    task.await.unwrap();
}

/// A claim takes jobs whose lease expired first, then due pending jobs oldest first, never more
/// than asked for and never one not yet due; the rest wait for the next claim in the same order.
#[tokio::test]
async fn claims_take_expired_leases_then_due_jobs_in_order_up_to_the_limit() {
    let app = app().start().await;
    let now = app.clock.now_ms();
    let lease_ms = app.state.config.jobs.lease.as_millis() as i64;
    let kind = "test.order";
    let mut due = Vec::new();
    // Written newest first, so the order claimed is the order due, not the order written.
    for ago in [1_000, 5_000, 3_000, 4_000, 2_000] {
        let id = app
            .state
            .enqueue_now(NewJob::new(kind, json!({ "ago": ago })).at(now - ago))
            .await
            .unwrap()
            .unwrap();
        due.push((now - ago, id));
    }
    due.sort();
    let later = app
        .state
        .enqueue_now(NewJob::new(kind, json!({ "later": true })).at(now + 60_000))
        .await
        .unwrap()
        .unwrap();
    // A worker took the newest one and vanished; its lease runs out.
    let lost = store::claim(&app.state.db, now - 1_000, 1_000, 1, &[kind])
        .await
        .unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].id, due[0].1, "the first claim takes the oldest");
    let ids = |jobs: &[Job]| jobs.iter().map(|j| j.id.clone()).collect::<Vec<_>>();
    let first = store::claim(&app.state.db, now, lease_ms, 3, &[kind])
        .await
        .unwrap();
    assert_eq!(
        ids(&first),
        [due[0].1.clone(), due[1].1.clone(), due[2].1.clone()],
        "the expired lease, then the two oldest due"
    );
    assert_eq!(
        first[0].attempts, 2,
        "the reclaimed job counts its second attempt"
    );
    let rest = store::claim(&app.state.db, now, lease_ms, 10, &[kind])
        .await
        .unwrap();
    assert_eq!(ids(&rest), [due[3].1.clone(), due[4].1.clone()]);
    assert!(
        !ids(&rest).contains(&later),
        "a job not yet due is not claimed"
    );
}
