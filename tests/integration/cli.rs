//! The `switchboard` binary: configuration errors, `config`, and the operator commands.

use std::process::{Command, Output};

use crate::support::{JWT_SECRET, app};

pub fn switchboard(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args)
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("DATABASE_URL", db_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "warn");
    // Run where no stray .env can leak in.
    cmd.current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run switchboard")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("PORT", "abc"),
        ("APP_URL", "not a url"),
        ("DEFAULT_TIME_ZONE", "Mars/Base"),
        ("RATE_LIMIT_MAX", "-1"),
    ] {
        let o = switchboard("sqlite::memory:", &["serve"], &[(var, value)]);
        assert_eq!(o.status.code(), Some(2), "{var}");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("configuration error: {var}=")),
            "{err}"
        );
    }
}

#[test]
fn config_prints_effective_settings_with_secrets_redacted() {
    let o = switchboard(
        "postgres://u:hunter2@db/x",
        &["config"],
        &[
            ("ADMIN_TOKEN", "super-secret-admin-token"),
            ("PORT", "4000"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("PORT") && out.contains("4000"));
    assert!(!out.contains("hunter2"));
    assert!(!out.contains("super-secret-admin-token"));
    assert!(!out.contains(JWT_SECRET));
    assert!(out.contains("built-in sandbox"));
}

#[tokio::test]
async fn operator_commands_manage_tenants_staff_tokens_and_keys() {
    let app = app().start().await;
    let url = app.db_url.clone();
    let o = switchboard(
        &url,
        &[
            "tenant",
            "create",
            "--name",
            "Bella Salon",
            "--time-zone",
            "Europe/Paris",
            "--phone-number",
            "+33612345678",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(t["slug"], "bella-salon");

    let o = switchboard(
        &url,
        &[
            "tenant",
            "create",
            "--name",
            "X",
            "--time-zone",
            "Nowhere/City",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("timeZone"), "{}", stderr(&o));

    let o = switchboard(
        &url,
        &[
            "tenant",
            "update",
            "bella-salon",
            "--routing-policy",
            r#"{"strategy":"voicemail"}"#,
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"voicemail\""));

    let o = switchboard(&url, &["tenant", "list"], &[]);
    assert!(stdout(&o).contains("bella-salon") && stdout(&o).contains("+33612345678"));

    let o = switchboard(
        &url,
        &[
            "staff",
            "add",
            "--tenant",
            "bella-salon",
            "--name",
            "Ann",
            "--phone",
            "+33612345679",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let staff_id = serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let o = switchboard(&url, &["staff", "list", "--tenant", "bella-salon"], &[]);
    assert!(stdout(&o).contains("Ann"));

    // A token from the CLI works against the running server (same database, same secret).
    let o = switchboard(&url, &["token", "issue", "--tenant", "bella-salon"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let token = stdout(&o).trim().to_string();
    let r = app.tenant_get("/api/telephony/staff", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["data"]["staff"][0]["id"], staff_id.as_str());

    let o = switchboard(
        &url,
        &[
            "apikey",
            "create",
            "--tenant",
            "bella-salon",
            "--name",
            "crm",
        ],
        &[],
    );
    let key = stdout(&o).trim().to_string();
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &key).await.status,
        200
    );
    let key_id = stderr(&o).split_whitespace().nth(2).unwrap().to_string();
    let o = switchboard(
        &url,
        &["apikey", "revoke", "--tenant", "bella-salon", &key_id],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        app.tenant_get("/api/telephony/tenant", &key).await.status,
        401
    );

    let o = switchboard(
        &url,
        &["staff", "remove", "--tenant", "bella-salon", &staff_id],
        &[],
    );
    assert!(o.status.success());
    let o = switchboard(&url, &["jobs", "list"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn half_a_twilio_account_or_a_short_service_key_is_a_configuration_error() {
    let sid = "AC0123456789abcdef0123456789abcdef";
    for (env, missing) in [
        (vec![("TWILIO_ACCOUNT_SID", sid)], "TWILIO_AUTH_TOKEN"),
        (
            vec![("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")],
            "TWILIO_ACCOUNT_SID",
        ),
        (
            vec![("INTERNAL_SERVICE_KEY", "short-key")],
            "INTERNAL_SERVICE_KEY",
        ),
    ] {
        let o = switchboard("sqlite::memory:", &["serve"], &env);
        assert_eq!(o.status.code(), Some(2), "{env:?}");
        let err = stderr(&o);
        assert!(
            err.starts_with(&format!("configuration error: {missing}=")),
            "{env:?}: {err}"
        );
        assert!(!err.contains("0123456789abcdef0123456789abcdef"), "{err}");
    }
}

/// `serve` says which Twilio it uses at start-up, but never prints an auth token, not even a real
/// one adopted by a forced sandbox.
#[test]
fn start_up_never_logs_the_auth_token() {
    let token = "real-auth-token-0f1e2d3c4b5a6978";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env_clear()
        .envs(crate::support::child_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        )
        .env("HOST", "127.0.0.1")
        .env("PORT", &port)
        .env("TWILIO_SANDBOX", "true")
        .env("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef")
        .env("TWILIO_AUTH_TOKEN", token)
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "info")
        .current_dir(dir.path())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("start serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("switchboard listening") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("built-in sandbox"), "{text}");
    assert!(text.contains("switchboard listening"), "{text}");
    assert!(!text.contains(token), "the token leaked: {text}");
}

/// `switchboard openapi | head -c 10`: the reader goes away early; the CLI ends quietly, as a Unix
/// filter does (killed by SIGPIPE or exiting cleanly), never with a panic.
#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("openapi")
        .env_clear()
        .envs(crate::support::child_env())
        .env("DATABASE_URL", "sqlite::memory:")
        .env("JWT_SECRET", JWT_SECRET)
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is dropped here: the pipe is closed with most of the document unwritten.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.status.success() || out.status.signal() == Some(13),
        "{:?}: {err}",
        out.status
    );
}

/// A `serve` with `PORT` (and `APP_URL` when given) and the development Twilio credentials,
/// owning one number; the process is killed when the returned handle drops.
async fn serve_with_a_number(
    testdb: &crate::support::TestDb,
    port: u16,
    app_url: Option<&str>,
) -> crate::kill::Proc {
    use switchboard::tenants::manage::{CreateTenant, create};
    let state = switchboard::AppState::build(
        switchboard::config::Config::from_raw(&crate::support::base_raw(&testdb.url)).unwrap(),
        switchboard::clock::Clock::System,
        switchboard::state::Jobs::default(),
    )
    .await
    .unwrap();
    create(
        &state,
        CreateTenant {
            name: "Simulated".into(),
            phone_number: Some(switchboard::domain::E164::parse("n", SIMULATED_NUMBER).unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    state.db.close().await;
    drop(state);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("serve")
        .env_clear()
        .envs(crate::support::child_env())
        .env("DATABASE_URL", &testdb.url)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env("TWILIO_SANDBOX", "true")
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "error")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(url) = app_url {
        cmd.env("APP_URL", url);
    }
    let server = crate::kill::Proc::spawn(cmd);
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_err()
    {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server
}

const SIMULATED_NUMBER: &str = "+14155550100";

#[tokio::test]
async fn simulate_signs_for_the_server_it_talks_to_and_a_refusal_names_the_url_signed() {
    crate::support::init();
    // The server runs on a port of its own without APP_URL; the simulator has neither PORT nor
    // APP_URL, only --url: it must sign for http://localhost:<that port>, as the server checks.
    let testdb = crate::support::TestDb::new().await;
    let port = crate::kill::free_port();
    let server = serve_with_a_number(&testdb, port, None).await;
    let url = format!("http://127.0.0.1:{port}");
    let call = ["simulate", "call", "--to", SIMULATED_NUMBER, "--url", &url];
    let o = switchboard(&testdb.url, &call, &[("TWILIO_SANDBOX", "true")]);
    assert!(
        o.status.success(),
        "{}\n{}\n{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    // The transcript's answers read "← 200"; a bare "403" could be part of a random SID.
    assert!(!stdout(&o).contains("← 403"), "{}", stdout(&o));
    drop(server);

    // A server whose APP_URL the simulator does not know refuses the signature; the error says
    // which URL was signed.
    let testdb = crate::support::TestDb::new().await;
    let port = crate::kill::free_port();
    let _server = serve_with_a_number(&testdb, port, Some("https://switchboard.example")).await;
    let url = format!("http://127.0.0.1:{port}");
    let call = ["simulate", "call", "--to", SIMULATED_NUMBER, "--url", &url];
    let o = switchboard(&testdb.url, &call, &[("TWILIO_SANDBOX", "true")]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("HTTP 403")
            && said.contains(&format!(
                "signature covered http://localhost:{port}/api/webhooks/twilio/voice"
            )),
        "{said}"
    );
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env_clear()
        .envs(crate::support::child_env())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        )
        .env("PORT", crate::kill::free_port().to_string())
        .env("HOST", "127.0.0.1")
        .env("JWT_SECRET", JWT_SECRET)
        .env("LOG_LEVEL", "info")
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("INFO"), "{line:?}");
    assert!(
        !line.contains('\u{1b}'),
        "colour codes in a piped log: {line:?}"
    );
}
