//! Group commit (`db::writer`): many webhooks' writes in one transaction must keep every promise of a
//! transaction per webhook. To put chosen requests in one batch, a test holds the writer busy with a
//! "gate" unit, queues the requests behind it, and opens the gate: the writer then takes everything
//! queued as its next batch (checked with the writer's batch counter).

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::domain::{CallSid, MessageSid};

use serde_json::json;
use sqlx::Row;
use switchboard::clock::Clock;
use switchboard::config::{Config, DbKind};
use switchboard::db::StoreError;
use switchboard::db::batch::{Batch, Keys};
use switchboard::db::messages::MessageRow;
use switchboard::db::writer::BatchUnit;
use switchboard::db::{self, Db};
use switchboard::domain::E164;
use switchboard::state::Jobs;
use switchboard::tenants::manage::{CreateTenant, create};
use switchboard::{with_db, with_tx};
use switchboard_twilio::sandbox::DEV_AUTH_TOKEN;
use switchboard_twilio::signature::sign_form;
use tokio::sync::{Mutex, oneshot};

use crate::support::{TestApp, TestDb, app, base_raw, init};
use crate::voice::{MONDAY_10AM_NY, NUMBER, salon, set_clock, signed_post};

const CALLER: &str = "+14155550142";

/// Holds the writer that serves `key` until the returned sender is used (or dropped). Returns
/// once it is held, i.e. once later units can only queue behind it.
async fn hold_writer(app: &TestApp, key: &str) -> oneshot::Sender<()> {
    app.state
        .writer
        .pause(key)
        .await
        .expect("the writer pauses")
}

/// Waits until `n` units are queued behind the gate, then opens it.
async fn open_when_queued(app: &TestApp, n: usize, open: oneshot::Sender<()>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.state.writer.queued() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} units queued",
            app.state.writer.queued()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    open.send(()).unwrap();
}

async fn count(db: &Db, sql: &'static str, key: &str) -> i64 {
    with_db!(db, |p| sqlx::query_scalar::<_, i64>(sql)
        .bind(key)
        .fetch_one(p)
        .await
        .unwrap())
}

fn voice(sid: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", sid.to_string()),
        ("From", CALLER.to_string()),
        ("To", NUMBER.to_string()),
        ("CallStatus", "ringing".to_string()),
    ]
}

async fn post(app: &TestApp, path: &str, params: &[(&'static str, String)]) -> (u16, String) {
    let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    signed_post(app, path, &p).await
}

/// A started app with one salon and the clock on a Monday within its hours. Returns the app and
/// the tenant's id.
async fn open_salon() -> (TestApp, String) {
    let app = app().start().await;
    let tenant = salon(&app, json!({})).await;
    set_clock(&app, MONDAY_10AM_NY);
    (app, tenant)
}

/// [`open_salon`] with the answered call `first`: the routing cache and the writer know the
/// tenant from here on.
async fn salon_with_an_answered_call(first: &str) -> (TestApp, String) {
    let (app, tenant) = open_salon().await;
    let (status, body) = post(&app, "/api/webhooks/twilio/voice", &voice(first)).await;
    assert_eq!(status, 200, "{body}");
    (app, tenant)
}

#[tokio::test]
async fn a_retry_in_the_same_batch_as_its_original_is_logged_once_and_answered_the_same() {
    let (app, tenant) = open_salon().await;
    let sid = format!("CA{:032x}", 0xba7c4);
    let open = hold_writer(&app, &tenant).await;
    let before = app.state.writer.batches();
    let params = voice(&sid);
    let (first, retry, ()) = tokio::join!(
        post(&app, "/api/webhooks/twilio/voice", &params),
        post(&app, "/api/webhooks/twilio/voice", &params),
        open_when_queued(&app, 2, open),
    );
    assert_eq!(
        app.state.writer.batches(),
        before + 1,
        "the original and its retry shared one batch"
    );
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(retry.0, 200, "{}", retry.1);
    assert!(first.1.contains("<Dial"), "{}", first.1);
    assert_eq!(first.1, retry.1, "the retry gets the same answer");
    let db = &app.state.db;
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM calls WHERE call_sid = $1", &sid).await,
        1
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM events WHERE type = 'call.incoming' AND ordering_key = $1",
            &sid
        )
        .await,
        1,
        "logged once"
    );
}

/// An inbound text from `CALLER` to `NUMBER`, as a unit of these tests stores it.
fn inbound_row(id: String, tenant_id: &str, message_sid: Option<String>, body: &str) -> MessageRow {
    MessageRow {
        id,
        tenant_id: tenant_id.to_string(),
        message_sid,
        direction: "inbound".into(),
        customer: CALLER.into(),
        from_number: CALLER.into(),
        to_number: NUMBER.into(),
        body: body.into(),
        num_media: 0,
        media_urls: "[]".into(),
        status: "received".parse().unwrap(),
        segments: 1,
        error_code: None,
        notification_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// A batched unit that stores two messages with one id: its writes hit a primary-key violation
/// when the batch is written, after its batch-mates' writes were already sent.
struct Clashes {
    tenant_id: String,
    id: String,
}

impl BatchUnit for Clashes {
    type Output = ();
    fn keys(&self, keys: &mut Keys) {
        keys.message_sids
            .push(MessageSid::stored(format!("SM{}a", self.id)));
        keys.owners.push(self.tenant_id.clone());
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        for n in ["a", "b"] {
            batch.add_message(inbound_row(
                self.id.clone(),
                &self.tenant_id,
                Some(format!("SM{}{n}", self.id)),
                "clash",
            ));
        }
        Ok(())
    }
}

/// A batched unit that stores a call, then panics while deciding: the batch must forget the call.
struct PanicsMidway(String);

impl BatchUnit for PanicsMidway {
    type Output = ();
    fn keys(&self, keys: &mut Keys) {
        keys.call_sids.push(CallSid::stored(&self.0));
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        let mut call = batch.call(&CallSid::stored(&self.0)).expect("loaded");
        call.notes = Some("written by a unit that then panicked".into());
        batch.put_call(call);
        panic!("a batched unit that panics after changing a call");
    }
}

#[tokio::test]
async fn a_failing_unit_does_not_fail_its_batch_mates() {
    let (app, tenant) = open_salon().await;
    let (a, b) = (format!("CA{:032x}", 0xa1), format!("CA{:032x}", 0xb2));
    let (pa, pb) = (voice(&a), voice(&b));
    // Refused before it reaches the writer: it never joins the batch.
    let bad = [
        ("CallSid", "not-a-sid".to_string()),
        ("To", NUMBER.to_string()),
    ];
    // A call stored before, which a panicking batched unit changes in memory.
    let earlier = format!("CA{:032x}", 0xe1);
    assert_eq!(
        post(&app, "/api/webhooks/twilio/voice", &voice(&earlier))
            .await
            .0,
        200
    );
    let open = hold_writer(&app, &tenant).await;
    let before = app.state.writer.batches();
    let batched_panic = app
        .state
        .writer
        .apply(&tenant, PanicsMidway(earlier.clone()));
    let conflict = app.state.writer.apply(
        &tenant,
        Clashes {
            tenant_id: tenant.clone(),
            id: "group-commit-clash".into(),
        },
    );
    let (va, conflict, invalid, batched_panic, vb, ()) = tokio::join!(
        post(&app, "/api/webhooks/twilio/voice", &pa),
        conflict,
        post(&app, "/api/webhooks/twilio/voice", &bad),
        batched_panic,
        post(&app, "/api/webhooks/twilio/voice", &pb),
        open_when_queued(&app, 4, open),
    );
    assert!(
        matches!(batched_panic, Err(StoreError::NotCommitted(_))),
        "{batched_panic:?}"
    );
    let stored = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&earlier))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.notes, None,
        "the panicking unit's change was forgotten"
    );
    assert_eq!(app.state.writer.batches(), before + 1, "one batch");
    assert_eq!(invalid.0, 400, "{}", invalid.1);
    assert!(
        matches!(conflict, Err(StoreError::Conflict(_))),
        "the unit that hit the constraint hears its own error: {conflict:?}"
    );
    for (sid, (status, body)) in [(&a, va), (&b, vb)] {
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<Dial"), "{body}");
        assert_eq!(
            count(
                &app.state.db,
                "SELECT COUNT(*) FROM calls WHERE call_sid = $1",
                sid
            )
            .await,
            1,
            "the batch-mates committed"
        );
    }
    assert_eq!(
        count(
            &app.state.db,
            "SELECT COUNT(*) FROM messages WHERE id = $1",
            "group-commit-clash"
        )
        .await,
        0,
        "the failed unit's first write was rolled back too"
    );
}

/// A batched unit that stores a new call (a copy of `template` under its own SID) and a message
/// for `tenant_id`, naming `owner` (if any) as the tenant it stores for.
struct StoresFor {
    tenant_id: String,
    owner: Option<String>,
    template: db::calls::Call,
    call_sid: String,
}

impl BatchUnit for StoresFor {
    type Output = ();
    fn keys(&self, keys: &mut Keys) {
        keys.call_sids.push(CallSid::stored(&self.call_sid));
        keys.owners.extend(self.owner.clone());
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        batch.put_call(db::calls::Call {
            id: format!("call-{}", self.call_sid),
            call_sid: self.call_sid.clone(),
            tenant_id: self.tenant_id.clone(),
            ..self.template.clone()
        });
        batch.add_message(inbound_row(
            format!("msg-{}", self.call_sid),
            &self.tenant_id,
            None,
            "stored for another",
        ));
        Ok(())
    }
}

/// A batched unit that changes a call an earlier unit of its batch created, naming no owner.
struct Touches(String);

impl BatchUnit for Touches {
    type Output = ();
    fn keys(&self, keys: &mut Keys) {
        keys.call_sids.push(CallSid::stored(&self.0));
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        let mut call = batch
            .call(&CallSid::stored(&self.0))
            .expect("created earlier in the batch");
        call.notes = Some("touched".into());
        batch.put_call(call);
        Ok(())
    }
}

/// Calls and messages are stored only for tenants the batch holds (`Keys::owners`; on PostgreSQL
/// in place of their foreign keys to tenants, migration 0016): a unit storing for a tenant deleted
/// since its request found it, or for a tenant it did not name, fails alone; deleting a tenant
/// still deletes its calls and messages.
#[tokio::test]
async fn a_unit_storing_for_a_tenant_the_batch_does_not_hold_fails_alone() {
    let earlier = format!("CA{:032x}", 0xe2);
    let (app, tenant) = salon_with_an_answered_call(&earlier).await;
    let template = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&earlier))
        .await
        .unwrap()
        .unwrap();
    let (a, b) = (format!("CA{:032x}", 0xa3), format!("CA{:032x}", 0xb4));
    let (pa, pb) = (voice(&a), voice(&b));
    let (gone_sid, unnamed_sid) = (format!("CA{:032x}", 0x60), format!("CA{:032x}", 0x61));
    let made_sid = format!("CA{:032x}", 0x62);
    let open = hold_writer(&app, &tenant).await;
    let before = app.state.writer.batches();
    let gone = app.state.writer.apply(
        &tenant,
        StoresFor {
            tenant_id: "tenant-deleted-meanwhile".into(),
            owner: Some("tenant-deleted-meanwhile".into()),
            template: template.clone(),
            call_sid: gone_sid.clone(),
        },
    );
    let unnamed = app.state.writer.apply(
        &tenant,
        StoresFor {
            tenant_id: tenant.clone(),
            owner: None,
            template: template.clone(),
            call_sid: unnamed_sid.clone(),
        },
    );
    // Its own tenant, named: stored; then changed by a later unit that names no owner.
    let made = app.state.writer.apply(
        &tenant,
        StoresFor {
            tenant_id: tenant.clone(),
            owner: Some(tenant.clone()),
            template: template.clone(),
            call_sid: made_sid.clone(),
        },
    );
    let touched = app.state.writer.apply(&tenant, Touches(made_sid.clone()));
    let (va, gone, unnamed, made, touched, vb, ()) = tokio::join!(
        post(&app, "/api/webhooks/twilio/voice", &pa),
        gone,
        unnamed,
        made,
        touched,
        post(&app, "/api/webhooks/twilio/voice", &pb),
        open_when_queued(&app, 6, open),
    );
    assert_eq!(app.state.writer.batches(), before + 1, "one batch");
    for (result, named) in [
        (&gone, "tenant-deleted-meanwhile"),
        (&unnamed, tenant.as_str()),
    ] {
        assert!(
            matches!(result, Err(StoreError::NotCommitted(m)) if m.contains(named)),
            "the unit hears that its tenant is not held: {result:?}"
        );
    }
    for sid in [&gone_sid, &unnamed_sid] {
        let call = "SELECT COUNT(*) FROM calls WHERE call_sid = $1";
        assert_eq!(count(&app.state.db, call, sid).await, 0, "no call of {sid}");
        let message = "SELECT COUNT(*) FROM messages WHERE id = 'msg-' || $1";
        assert_eq!(
            count(&app.state.db, message, sid).await,
            0,
            "no message of {sid}"
        );
    }
    for (sid, (status, body)) in [(&a, va), (&b, vb)] {
        assert_eq!(status, 200, "{body}");
        let call = "SELECT COUNT(*) FROM calls WHERE call_sid = $1";
        assert_eq!(
            count(&app.state.db, call, sid).await,
            1,
            "the batch-mates committed"
        );
    }
    made.expect("a unit storing for its own tenant commits");
    touched.expect("a unit changing a call its batch created needs no owner");
    let stored = db::calls::get_by_sid(&app.state.db, &CallSid::stored(&made_sid))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.notes.as_deref(), Some("touched"));

    // Deleting the tenant deletes its calls and messages (a cascade on SQLite, a trigger on
    // PostgreSQL).
    let text = [
        ("MessageSid", format!("SM{:032x}", 0x5e)),
        ("From", CALLER.to_string()),
        ("To", NUMBER.to_string()),
        ("Body", "Can I book for Friday?".to_string()),
    ];
    assert_eq!(post(&app, "/api/webhooks/twilio/sms", &text).await.0, 200);
    let calls = "SELECT COUNT(*) FROM calls WHERE tenant_id = $1";
    let messages = "SELECT COUNT(*) FROM messages WHERE tenant_id = $1";
    assert_eq!(count(&app.state.db, calls, &tenant).await, 4);
    assert!(count(&app.state.db, messages, &tenant).await >= 1);
    db::tenants::delete(&app.state.db, &tenant).await.unwrap();
    assert_eq!(
        count(&app.state.db, calls, &tenant).await,
        0,
        "calls deleted"
    );
    assert_eq!(
        count(&app.state.db, messages, &tenant).await,
        0,
        "messages deleted"
    );
}

/// A tenant deleted while one of its webhooks waits for its batch: the delete's transaction holds
/// the tenant (PostgreSQL its row, which the batch's load locks `FOR KEY SHARE`; SQLite the write
/// lock), so the batch loads once the delete has committed, does not find the tenant, and the
/// webhook stores nothing, neither a row of a tenant that is gone nor one the delete missed.
#[tokio::test]
async fn a_tenant_deleted_while_its_webhook_waits_for_the_batch_leaves_no_rows() {
    // The routing cache holds the tenant from here on, as it would for a busy number.
    let (app, tenant) = salon_with_an_answered_call(&format!("CA{:032x}", 0xd1)).await;
    let mut delete = app.state.db.begin().await.unwrap();
    with_tx!(&mut delete, |c| sqlx::query(
        "DELETE FROM tenants WHERE id = $1"
    )
    .bind(&tenant)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let late = format!("CA{:032x}", 0xd2);
    let pl = voice(&late);
    let ((status, body), ()) = tokio::join!(post(&app, "/api/webhooks/twilio/voice", &pl), async {
        // Long enough for the webhook to reach its batch's load and wait there; the outcome
        // checked below is the same if it had not.
        tokio::time::sleep(Duration::from_millis(300)).await;
        delete.commit().await.unwrap();
    },);
    // Twilio hears the apology a failed write gets, not a routed call.
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("try again later") && !body.contains("<Dial"),
        "{body}"
    );
    let calls = "SELECT COUNT(*) FROM calls WHERE tenant_id = $1";
    assert_eq!(
        count(&app.state.db, calls, &tenant).await,
        0,
        "{status} {body}"
    );
    let by_sid = "SELECT COUNT(*) FROM calls WHERE call_sid = $1";
    assert_eq!(count(&app.state.db, by_sid, &late).await, 0);
}

/// A real `serve` is SIGKILLed while 32 clients send voice webhooks and "no-answer" status callbacks
/// as fast as it answers. Every webhook that got its answer must have left all its rows and jobs.
#[tokio::test]
async fn sigkill_under_webhook_load_keeps_everything_that_was_answered() {
    init();
    let testdb = TestDb::new().await;
    let port = crate::kill::free_port();
    let mut raw = base_raw(&testdb.url);
    raw.app_url = Some(format!("http://127.0.0.1:{port}"));
    let state = switchboard::AppState::build(
        Config::from_raw(&raw).unwrap(),
        Clock::System,
        Jobs::default(),
    )
    .await
    .unwrap();
    let tenant = create(
        &state,
        CreateTenant {
            name: "Kill Load".into(),
            phone_number: Some(E164::parse("n", NUMBER).unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    state.db.close().await;
    drop(state);

    // No REST call happens while answering webhooks; the text-back jobs only need to exist.
    let server = crate::kill::start_serve(&testdb.url, port, "http://127.0.0.1:9");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let answered_voice = Arc::new(Mutex::new(Vec::<String>::new()));
    let answered_missed = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let mut clients = Vec::new();
    for _ in 0..32 {
        let (client, base) = (client.clone(), base.clone());
        let (voice_ok, missed_ok, next) = (
            answered_voice.clone(),
            answered_missed.clone(),
            next.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let sid = format!("CA{n:032x}");
                let Some(body) =
                    send(&client, &base, "/api/webhooks/twilio/voice", &voice(&sid)).await
                else {
                    return;
                };
                assert!(body.contains("<Record"), "{body}");
                voice_ok.lock().await.push(sid.clone());
                let status = [
                    ("CallSid", sid.clone()),
                    ("CallStatus", "no-answer".to_string()),
                ];
                if send(&client, &base, "/api/webhooks/twilio/voice/status", &status)
                    .await
                    .is_none()
                {
                    return;
                }
                missed_ok.lock().await.push(sid);
            }
        }));
    }
    // Kill once the load is well under way, with requests in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered_missed.lock().await.len() < 1000 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(server);
    for c in clients {
        c.await.unwrap();
    }

    let db = Db::connect(&testdb.url, 2).await.unwrap();
    let voice_ok = answered_voice.lock().await.clone();
    let missed_ok = answered_missed.lock().await.clone();
    for sid in &voice_ok {
        let call = db::calls::get_by_sid(&db, &CallSid::stored(sid))
            .await
            .unwrap();
        let call = call.unwrap_or_else(|| panic!("answered call {sid} has no row"));
        assert_eq!(call.tenant_id, tenant.id);
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM events WHERE type = 'call.incoming' AND ordering_key = $1",
                sid
            )
            .await,
            1,
            "{sid}: call.incoming"
        );
    }
    for sid in &missed_ok {
        let call = db::calls::get_by_sid(&db, &CallSid::stored(sid))
            .await
            .unwrap()
            .unwrap();
        assert!(call.missed && call.status == "no-answer", "{sid}: {call:?}");
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM jobs WHERE dedupe_key = $1",
                &format!("missed-call-text-back:{sid}")
            )
            .await,
            1,
            "{sid}: its text-back job"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM events WHERE type = 'call.missed' AND ordering_key = $1",
                sid
            )
            .await,
            1,
            "{sid}: call.missed"
        );
    }
    eprintln!(
        "group commit kill test: {} calls and {} missed-call callbacks answered before SIGKILL, all kept",
        voice_ok.len(),
        missed_ok.len()
    );
    db.close().await;
}

/// Posts a webhook signed with the sandbox token; the body when it was answered 200, `None` when the
/// server is gone.
async fn send(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&'static str, String)],
) -> Option<String> {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let sig = sign_form(DEV_AUTH_TOKEN, &format!("{base}{path}"), &owned);
    let res = client
        .post(format!("{base}{path}"))
        .header("x-twilio-signature", sig)
        .form(&owned)
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body = res.text().await.ok()?;
    assert_eq!(status, 200, "{path}: {body}");
    Some(body)
}

/// An app whose sandbox never calls back during the test (the callbacks are the test's own), with
/// one SMS to `CALLER` queued by a salon. Returns the notification's id.
async fn app_with_queued_sms(message: &str) -> (TestApp, String) {
    let app = app()
        .config(|c| {
            c.sandbox_callback_delay_ms = Some("60000".into());
            c.sms_segments_per_second = Some("0".into());
        })
        .start()
        .await;
    let tenant = salon(&app, json!({})).await;
    let token = app.token_for(&tenant).await;
    let queued = app
        .send(
            reqwest::Method::POST,
            "/api/telephony/sms",
            Some(&token),
            Some(json!({"phoneNumber": CALLER, "message": message})),
            &[],
        )
        .await;
    assert_eq!(queued.status, 200, "{}", queued.text);
    let id = queued.json["data"]["id"].as_str().unwrap().to_string();
    (app, id)
}

/// Message status callbacks that share a batch: each sees what the one before it did, so the
/// notification and the message move forward once each, and a callback that beats the sender's own
/// write of an unknown message still leaves one row with the latest status.
#[tokio::test]
async fn message_status_callbacks_in_one_batch_move_forward_once() {
    let (app, id) = app_with_queued_sms("See you at 3").await;
    switchboard::jobs::worker::run_pending_jobs(&app.state)
        .await
        .unwrap();
    let n = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.status, "SENT");
    let sid = n.twilio_sid.unwrap();
    let unknown = format!("SM{:032x}", 0x5eed);

    let report = |sid: &str, status: &str| {
        vec![
            ("MessageSid", sid.to_string()),
            ("MessageStatus", status.to_string()),
            ("To", CALLER.to_string()),
            ("From", NUMBER.to_string()),
        ]
    };
    let (a, b, c) = (
        report(&sid, "delivered"),
        report(&sid, "sent"),
        report(&sid, "delivered"),
    );
    let (d, e) = (report(&unknown, "sent"), report(&unknown, "delivered"));
    let path = "/api/webhooks/twilio/sms/status";
    // One batch per MessageSid (with several writers the two SIDs may meet different ones).
    let open = hold_writer(&app, &sid).await;
    let before = app.state.writer.batches();
    let (ra, rb, rc, ()) = tokio::join!(
        post(&app, path, &a),
        post(&app, path, &b),
        post(&app, path, &c),
        open_when_queued(&app, 3, open),
    );
    assert_eq!(app.state.writer.batches(), before + 1, "one batch");
    let open = hold_writer(&app, &unknown).await;
    let before = app.state.writer.batches();
    let (rd, re, ()) = tokio::join!(
        post(&app, path, &d),
        post(&app, path, &e),
        open_when_queued(&app, 2, open),
    );
    for (status, body) in [ra, rb, rc, rd, re] {
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(app.state.writer.batches(), before + 1, "one batch");
    let n = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.status, "DELIVERED");
    let db = &app.state.db;
    for (message_sid, status) in [(&sid, "delivered"), (&unknown, "delivered")] {
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM messages WHERE message_sid = $1",
                message_sid
            )
            .await,
            1,
            "{message_sid}: one row"
        );
        let stored: String = with_db!(db, |p| sqlx::query_scalar(
            "SELECT status FROM messages WHERE message_sid = $1"
        )
        .bind(message_sid)
        .fetch_one(p)
        .await
        .unwrap());
        assert_eq!(stored, status, "{message_sid}");
    }
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM events WHERE type = 'message.status' AND payload LIKE '%' || $1 || '%'",
            &sid
        )
        .await,
        1,
        "the notification moved once: SENT to DELIVERED"
    );
}

/// What the sender's own write does once Twilio accepted a message (`sender::RecordSent`): the
/// notification gets its SID and SENT, and its outbound message row is stored.
struct RecordsSend {
    notification_id: String,
    /// The notification's tenant, whose row the message is stored for.
    tenant_id: String,
    sid: String,
}

impl BatchUnit for RecordsSend {
    type Output = ();
    fn keys(&self, keys: &mut Keys) {
        keys.notification_ids.push(self.notification_id.clone());
        keys.message_sids.push(MessageSid::stored(&self.sid));
        keys.owners.push(self.tenant_id.clone());
    }
    fn apply(&self, batch: &mut Batch<'_>) -> Result<(), StoreError> {
        let mut n = batch.notification(&self.notification_id).expect("loaded");
        n.status = "SENT".parse().unwrap();
        n.twilio_sid = Some(self.sid.clone());
        batch.add_message(MessageRow {
            id: format!("msg-{}", self.sid),
            tenant_id: n.tenant_id.clone(),
            message_sid: Some(self.sid.clone()),
            direction: "outbound".into(),
            customer: n.recipient.clone(),
            from_number: NUMBER.into(),
            to_number: n.recipient.clone(),
            body: n.message.clone(),
            num_media: 0,
            media_urls: "[]".into(),
            status: "queued".parse().unwrap(),
            segments: 1,
            error_code: None,
            notification_id: Some(n.id.clone()),
            created_at: 0,
            updated_at: 0,
        });
        batch.put_notification(n);
        Ok(())
    }
}

/// The sender's write of a send and that message's first status callback in one batch (the
/// sandbox, like Twilio, may call back at once): the callback must find the notification by the
/// SID the write before it gave it, as it would in the next transaction, and move it on.
#[tokio::test]
async fn a_status_callback_in_the_batch_that_recorded_its_send_moves_the_notification() {
    let (app, id) = app_with_queued_sms("See you at 4").await;
    let sid = format!("SM{:032x}", 0xca11_ba4c_u32);

    let open = hold_writer(&app, &sid).await;
    let before = app.state.writer.batches();
    let writer = app.state.writer.clone();
    let tenant_id = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .expect("queued")
        .tenant_id;
    let unit = RecordsSend {
        notification_id: id.clone(),
        tenant_id,
        sid: sid.clone(),
    };
    let key = sid.clone();
    let recorded = tokio::spawn(async move { writer.apply(&key, unit).await });
    // The send's write queues first, the callback behind it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.state.writer.queued() < 1 {
        assert!(Instant::now() < deadline, "the send's write never queued");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let delivered = vec![
        ("MessageSid", sid.clone()),
        ("MessageStatus", "delivered".to_string()),
        ("To", CALLER.to_string()),
        ("From", NUMBER.to_string()),
    ];
    let ((status, body), ()) = tokio::join!(
        post(&app, "/api/webhooks/twilio/sms/status", &delivered),
        open_when_queued(&app, 2, open),
    );
    assert_eq!(status, 200, "{body}");
    recorded.await.unwrap().expect("the send's write committed");
    assert_eq!(app.state.writer.batches(), before + 1, "one batch");

    let n = db::notifications::get(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (n.status.as_str(), n.twilio_sid.as_deref()),
        ("DELIVERED", Some(sid.as_str()))
    );
    assert!(n.delivered_at.is_some());
    let db = &app.state.db;
    let stored: String = with_db!(db, |p| sqlx::query_scalar(
        "SELECT status FROM messages WHERE message_sid = $1"
    )
    .bind(&sid)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(stored, "delivered");
}

/// On PostgreSQL a writer leaves the next batch's transaction open after each commit (one round
/// trip fewer); once nothing is queued it must end it and give its connection back, or closing the
/// database (shutdown) waits for it for ever.
#[tokio::test]
async fn an_idle_writer_gives_its_connection_back() {
    let app = app().start().await;
    salon(&app, json!({})).await;
    for i in 0..4u32 {
        let (status, body) = post(
            &app,
            "/api/webhooks/twilio/voice",
            &voice(&format!("CA{i:032x}")),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), app.state.db.close()).await;
    assert!(
        closed.is_ok(),
        "closing the database waited on a writer's connection"
    );
}

/// A writer's transaction keeps its statements' plans (PostgreSQL: `force_generic_plan`), so those
/// plans must use the key's index even when made on a new, empty table, whose statistics would
/// otherwise choose to scan it, and keep scanning it as it grows. Checked with the batch's load of
/// calls by CallSid, the foreign-key check a new row makes on its tenant (opt-outs, notifications;
/// calls and messages on SQLite), and (PostgreSQL) the statement that loads a batch, every part of
/// which (its owners' lock included) must find its rows through an index.
/// That transaction also compiles nothing (`jit` off): a scan priced past JIT's threshold cost
/// about a second per run.
#[tokio::test]
async fn a_writers_plans_use_the_keys_index_on_a_new_database() {
    let app = app().start().await;
    let db = &app.state.db;
    let mut tx = db.begin_writer().await.expect("a writer's transaction");
    let plans: Vec<String> = match db.kind() {
        DbKind::Postgres => {
            let jit: String = with_tx!(&mut tx, |c| {
                sqlx::query_scalar("SHOW jit").fetch_one(&mut *c).await
            })
            .unwrap();
            assert_eq!(jit, "off", "a writer's transaction may compile its plans");
            let load = format!(
                "PREPARE batch_load({}) AS {}",
                ["text[]"; 10].join(", "),
                switchboard::db::batch::pg_load_statement()
            );
            let mut plans = Vec::new();
            for (name, sql, args) in [
                (
                    "calls_by_sid",
                    "PREPARE calls_by_sid(text[]) AS SELECT id FROM calls WHERE call_sid = ANY($1) FOR NO KEY UPDATE",
                    "'{CA1}'",
                ),
                (
                    "tenant_key",
                    "PREPARE tenant_key(text) AS SELECT 1 FROM ONLY tenants x WHERE id = $1 FOR KEY SHARE OF x",
                    "'t'",
                ),
                (
                    "batch_load",
                    load.as_str(),
                    "'{CA1}', '{SM1}', '{SM2}', '{n1}', '{j1}', '{t1}', '{+15005550006}', '{t1}', '{t1}', '{t1}'",
                ),
            ] {
                let explain = format!("EXPLAIN EXECUTE {name}({args})");
                let plan = with_tx!(&mut tx, |c| {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut *c)
                        .await
                        .unwrap();
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(explain))
                        .fetch_all(&mut *c)
                        .await
                        .unwrap()
                });
                plans.push(plan.join("\n"));
            }
            plans
        }
        DbKind::Sqlite => {
            // SQLite plans each statement when it is prepared, from the schema alone.
            let plan = with_tx!(&mut tx, |c| {
                sqlx::query("EXPLAIN QUERY PLAN SELECT id FROM calls WHERE call_sid IN (?)")
                    .bind("CA1")
                    .fetch_all(&mut *c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>("detail"))
                    .collect::<Vec<_>>()
            });
            vec![plan.join("\n")]
        }
    };
    tx.rollback().await.unwrap();
    for plan in plans {
        assert!(
            plan.contains("Index") || plan.contains("INDEX"),
            "a key lookup planned without its index:\n{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "a full scan:\n{plan}");
    }
}
