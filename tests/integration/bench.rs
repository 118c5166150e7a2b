//! `switchboard bench voice` end to end: a smoke test of the benchmark itself (it must seed, send
//! signed webhooks, count the call rows and clean up), not a timed test, so no timing is asserted.

use std::process::Command;

use crate::support::backend;

fn run_bench(extra: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args([
        "bench",
        "voice",
        "--requests",
        "200",
        "--concurrency",
        "8",
        "--tenants",
        "5",
    ])
    .args(extra)
    .env_clear()
    .envs(crate::support::child_env())
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    // A configured database must never be used (nor a database created on its server) unless
    // `--database-url` is given: this one does not even exist.
    .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/not_here")
    // Run where no stray .env can leak in.
    .current_dir(std::env::temp_dir());
    let o = cmd.output().expect("run switchboard bench");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The value printed after `label:` on its own line.
fn figure<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"))
}

#[test]
fn bench_voice_sends_every_request_and_logs_every_call() {
    let pg_url;
    let extra: Vec<&str> = if backend() == "postgres" {
        pg_url = std::env::var("SWITCHBOARD_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        vec!["--database-url", &pg_url]
    } else {
        vec![]
    };
    let (ok, out, err) = run_bench(&extra);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    let expected_backend = if backend() == "postgres" {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(figure(&out, "backend"), expected_backend, "{out}");
    assert_eq!(figure(&out, "requests"), "200", "{out}");
    assert_eq!(figure(&out, "concurrency"), "8", "{out}");
    assert_eq!(figure(&out, "tenants"), "5", "{out}");
    assert_eq!(figure(&out, "failures"), "0", "{out}");
    assert_eq!(figure(&out, "call rows"), "200 (expected 200)", "{out}");
}

/// Runs `switchboard bench SUBCOMMAND ARGS` on the test backend: a throwaway database on the test
/// PostgreSQL server, or SQLite. A configured database must never be used: the one given in
/// `DATABASE_URL` does not even exist.
pub fn run_bench_on_test_backend(subcommand: &str, args: &[&str]) -> (bool, String, String) {
    let pg_url = std::env::var("SWITCHBOARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["bench", subcommand]).args(args);
    if backend() == "postgres" {
        cmd.args(["--database-url", &pg_url]);
    }
    let o = cmd
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/not_here")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("run bench {subcommand}: {e}"));
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `switchboard bench sms ARGS` on the test backend.
fn run_bench_sms(args: &[&str]) -> (bool, String, String) {
    run_bench_on_test_backend("sms", args)
}

#[test]
fn bench_sms_drains_every_notification_and_keeps_the_pace() {
    let (ok, out, err) = run_bench_sms(&["--messages", "60", "--senders", "3"]);
    assert!(ok, "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(
        figure(&out, "sandbox accepted"),
        "60 (expected 60)",
        "{out}"
    );
    assert_eq!(figure(&out, "failed"), "0", "{out}");
    let (ok, out, err) = run_bench_sms(&["--rate", "10", "--seconds", "2"]);
    assert!(ok, "the pace must hold: stdout:\n{out}\nstderr:\n{err}");
    assert!(
        figure(&out, "measured rate").ends_with("of the limit)"),
        "{out}"
    );
}
