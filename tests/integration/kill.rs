//! The crash test of the messaging promise: a real `switchboard serve` process is SIGKILLed while it
//! sends 2,000 queued notifications to a standalone `switchboard sandbox` process, then restarted.
//! Every notification must end SENT (or later) or FAILED, and the sandbox must have accepted each
//! message exactly once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard::clock::Clock;
use switchboard::config::Config;
use switchboard::db;
use switchboard::domain::E164;
use switchboard::messaging::notifications::{NewSms, NotificationKind, queue};
use switchboard::state::Jobs;
use switchboard::tenants::manage::{CreateTenant, create};
use switchboard_twilio::sandbox::{DEV_ACCOUNT_SID, DEV_AUTH_TOKEN};

use crate::support::{TestDb, base_raw, init};

const COUNT: usize = 2000;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) struct Proc(Child);
impl Proc {
    /// Starts `cmd`; the process is killed when the handle drops.
    pub(crate) fn spawn(mut cmd: Command) -> Proc {
        Proc(cmd.spawn().expect("start switchboard"))
    }
}
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sandbox() -> (Proc, String) {
    let port = free_port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["sandbox", "--port", &port])
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SANDBOX_CALLBACK_DELAY_MS", "0")
        .env("LOG_LEVEL", "error")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sandbox");
    let mut first = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    // Keep draining: a closed pipe would kill the sandbox on its next line of output.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = first
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (Proc(child), url)
}

pub(crate) fn start_serve(db_url: &str, port: u16, sandbox: &str) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("APP_URL", format!("http://127.0.0.1:{port}"))
        .env("TWILIO_ACCOUNT_SID", DEV_ACCOUNT_SID)
        .env("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN)
        .env("TWILIO_API_BASE_URL", sandbox)
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .env("SMS_SEGMENTS_PER_SECOND", "0")
        .env("JOB_LEASE_SECS", "5")
        .env("JOB_POLL_INTERVAL_MS", "50")
        .env("WORKER_CONCURRENCY", "16")
        .env("LOG_LEVEL", "error")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    Proc(child)
}

/// Bodies of the messages the sandbox accepted (HTTP 201), with how often each was accepted.
async fn accepted(client: &reqwest::Client, sandbox: &str) -> HashMap<String, usize> {
    let reqs: Vec<Value> = client
        .get(format!("{sandbox}/sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = HashMap::new();
    for r in reqs {
        if r["method"] == "POST"
            && r["path"].as_str().unwrap_or("").ends_with("/Messages.json")
            && r["status"] == 201
        {
            let body = r["params"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0] == "Body")
                .map(|p| p[1].as_str().unwrap().to_string())
                .unwrap();
            *out.entry(body).or_default() += 1;
        }
    }
    out
}

async fn unfinished(state: &switchboard::AppState, tenant: &str) -> i64 {
    let mut n = 0;
    for status in ["QUEUED", "SENDING"] {
        let f = db::notifications::NotificationFilter {
            status: Some(status.parse().unwrap()),
            ..Default::default()
        };
        n += db::notifications::list(&state.db, tenant, &f, 1, 0)
            .await
            .unwrap()
            .1;
    }
    n
}

#[tokio::test]
async fn sigkill_mid_run_loses_nothing_and_sends_nothing_twice() {
    init();
    let testdb = TestDb::new().await;
    let (_sandbox, sandbox_url) = start_sandbox();
    let port = free_port();
    // Queue the notifications directly in the database the server will use.
    let mut raw = base_raw(&testdb.url);
    raw.app_url = Some(format!("http://127.0.0.1:{port}"));
    raw.twilio_account_sid = Some(DEV_ACCOUNT_SID.into());
    raw.twilio_auth_token = Some(DEV_AUTH_TOKEN.into());
    raw.twilio_api_base_url = Some(sandbox_url.clone());
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
            name: "Kill Test".into(),
            phone_number: Some(E164::parse("n", "+15005550006").unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut tx = state.db.begin().await.unwrap();
    for i in 0..COUNT {
        let to = E164::parse("to", &format!("+1415555{:04}", i % 10_000)).unwrap();
        queue(
            &state,
            &mut tx,
            NewSms::new(
                &tenant.id,
                NotificationKind::Api,
                to,
                format!("kill test message {i}"),
            ),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let client = reqwest::Client::new();
    let first = start_serve(&testdb.url, port, &sandbox_url);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent: usize = accepted(&client, &sandbox_url).await.values().sum();
        if sent >= COUNT / 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first server never got going ({sent} sent)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(first); // SIGKILL, no goodbye
    let mid_unfinished = unfinished(&state, &tenant.id).await;
    let sending = db::notifications::list(
        &state.db,
        &tenant.id,
        &db::notifications::NotificationFilter {
            status: Some("SENDING".parse().unwrap()),
            ..Default::default()
        },
        1,
        0,
    )
    .await
    .unwrap()
    .1;
    assert!(mid_unfinished > 0, "the kill must interrupt the run");

    let _second = start_serve(&testdb.url, port, &sandbox_url);
    let deadline = Instant::now() + Duration::from_secs(180);
    while unfinished(&state, &tenant.id).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the restarted server did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (all, total) =
        db::notifications::list(&state.db, &tenant.id, &Default::default(), 10_000, 0)
            .await
            .unwrap();
    assert_eq!(total as usize, COUNT);
    assert!(
        all.iter()
            .all(|n| ["SENT", "DELIVERED", "FAILED"].contains(&n.status.as_str()))
    );
    let failed = all.iter().filter(|n| n.status == "FAILED").count();
    let bodies = accepted(&client, &sandbox_url).await;
    let twice: Vec<_> = bodies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(
        bodies.len(),
        COUNT - failed,
        "every notification that did not fail reached Twilio"
    );
    assert_eq!(failed, 0, "nothing failed in this run");
    println!(
        "kill test: {mid_unfinished} of {COUNT} unfinished at the kill ({sending} caught mid-send); all {COUNT} sent exactly once"
    );
    state.db.close().await;
}
