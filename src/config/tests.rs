//! The configuration's parsing, redaction and generated texts, and the check that
//! `docs/configuration.md` shows the generated table.

use super::*;

fn raw(f: impl FnOnce(&mut RawConfig)) -> RawConfig {
    let mut r = RawConfig::default();
    f(&mut r);
    r
}

#[test]
fn debug_output_of_the_configuration_redacts_every_secret() {
    let secrets = [
        "tok-0123456789-twilio",
        "apikeysecret-0123456789",
        "service-key-0123456789",
        "whsec_stripe0123456789",
        "sk-transcribe-0123456789",
        "sk-analyse-0123456789",
        "jwt-secret-0123456789",
        "admin-token-0123456789",
        "smtp-password-0123456789",
    ];
    let r = raw(|r| {
        r.twilio_account_sid = Some("AC0123456789abcdef0123456789abcdef".into());
        r.twilio_auth_token = Some(secrets[0].into());
        r.twilio_api_key_sid = Some("SK0123456789abcdef0123456789abcdef".into());
        r.twilio_api_key_secret = Some(secrets[1].into());
        r.internal_service_key = Some(secrets[2].into());
        r.stripe_webhook_secret = Some(secrets[3].into());
        r.transcription_api_key = Some(secrets[4].into());
        r.analysis_base_url = Some("https://llm.example.com".into());
        r.analysis_api_key = Some(secrets[5].into());
        r.jwt_secret = Some(secrets[6].into());
        r.database_url = Some(format!("postgres://u:{}@db/x", secrets[7]));
        r.admin_token = Some(secrets[7].into());
        r.smtp_url = Some(format!("smtp://user:{}@mail.example.com", secrets[8]));
        r.smtp_from = Some("a@example.com".into());
    });
    let c = Config::from_raw(&r).unwrap();
    for shown in [format!("{c:?}"), format!("{r:?}"), format!("{c:#?}")] {
        for s in secrets {
            assert!(!shown.contains(s), "{s} leaked: {shown}");
        }
    }
    assert!(format!("{r:?}").contains("TWILIO_ACCOUNT_SID"));
    assert_eq!(
        c.twilio.auth_token.as_deref(),
        Some(secrets[0]),
        "still usable"
    );
}

#[test]
fn defaults_are_the_embedded_setup() {
    let c = Config::defaults();
    assert_eq!(c.server.port, 3000);
    assert_eq!(c.db.kind, DbKind::Sqlite);
    assert_eq!(c.db.sqlite_wal_reset_mb, DEFAULT_SQLITE_WAL_RESET_MB);
    assert_eq!(c.twilio.mode, TwilioMode::Sandbox);
    assert_eq!(c.server.app_url.as_str(), "http://localhost:3000/");
    assert!(c.twilio.validate_signatures);
}

#[test]
fn each_bad_value_names_its_variable() {
    let cases: Vec<(RawConfig, &str)> = vec![
        (raw(|r| r.port = Some("abc".into())), "PORT"),
        (raw(|r| r.port = Some("70000".into())), "PORT"),
        (raw(|r| r.app_url = Some("not a url".into())), "APP_URL"),
        (raw(|r| r.app_url = Some("ftp://x".into())), "APP_URL"),
        (
            raw(|r| r.default_time_zone = Some("Mars/Base".into())),
            "DEFAULT_TIME_ZONE",
        ),
        (
            raw(|r| r.database_url = Some("mysql://x".into())),
            "DATABASE_URL",
        ),
        (
            raw(|r| r.twilio_phone_number = Some("555".into())),
            "TWILIO_PHONE_NUMBER",
        ),
        (
            raw(|r| r.twilio_account_sid = Some("XY123".into())),
            "TWILIO_ACCOUNT_SID",
        ),
        (
            raw(|r| r.trusted_proxies = Some("10.0.0.0/8,bogus".into())),
            "TRUSTED_PROXIES",
        ),
        (
            raw(|r| r.twilio_sandbox = Some("maybe".into())),
            "TWILIO_SANDBOX",
        ),
        (
            raw(|r| r.rate_limit_max = Some("0".into())),
            "RATE_LIMIT_MAX",
        ),
        (
            raw(|r| r.tenant_rate_limit_max = Some("0".into())),
            "TENANT_RATE_LIMIT_MAX",
        ),
        (
            raw(|r| r.tenant_rate_limit_window_secs = Some("forever".into())),
            "TENANT_RATE_LIMIT_WINDOW_SECS",
        ),
        (
            raw(|r| r.sqlite_wal_reset_mb = Some("8".into())),
            "SQLITE_WAL_RESET_MB",
        ),
    ];
    for (r, var) in cases {
        let err = Config::from_raw(&r).unwrap_err();
        assert_eq!(err.var, var);
        let line = err.to_string();
        assert!(
            line.starts_with(&format!("configuration error: {var}=")),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}

#[test]
fn credentials_choose_live_unless_sandbox_forced() {
    let sid = "AC0123456789abcdef0123456789abcdef";
    let live = raw(|r| {
        r.twilio_account_sid = Some(sid.into());
        r.twilio_auth_token = Some("tok".into());
    });
    assert_eq!(
        Config::from_raw(&live).unwrap().twilio.mode,
        TwilioMode::Live
    );
    let mut forced = live.clone();
    forced.twilio_sandbox = Some("true".into());
    assert_eq!(
        Config::from_raw(&forced).unwrap().twilio.mode,
        TwilioMode::Sandbox
    );
}

#[test]
fn prices_default_to_seed_002_and_read_dollars_exactly() {
    assert_eq!(Config::defaults().prices, PriceTable::SEED_002);
    let c = Config::from_raw(&raw(|r| {
        r.price_inbound_per_min = Some("0.01".into());
        r.price_number_monthly = Some("$1.15".into());
        r.price_sms_per_segment = Some(".000001".into());
        r.price_recording_per_min = Some("0".into());
    }))
    .unwrap();
    assert_eq!(c.prices.inbound_per_min, 10_000);
    assert_eq!(c.prices.number_monthly, 1_150_000);
    assert_eq!(c.prices.sms_per_segment, 1);
    assert_eq!(c.prices.recording_per_min, 0);
    assert_eq!(c.prices.outbound_per_min, 13_000, "unset keeps the default");
    for bad in ["-1", "0.0000001", "abc", "1,5", "1001", ".", "1.2.3"] {
        let err =
            Config::from_raw(&raw(|r| r.price_outbound_per_min = Some(bad.into()))).unwrap_err();
        assert_eq!(err.var, "PRICE_OUTBOUND_PER_MIN", "{bad}");
    }
    assert_eq!(format_price(8_500), "0.0085");
    assert_eq!(format_price(1_000_000), "1");
    assert_eq!(format_price(13_000), "0.013");
    assert_eq!(format_price(0), "0");
}

#[test]
fn describe_redacts_secrets() {
    let r = raw(|r| {
        r.jwt_secret = Some("a-very-long-secret-value".into());
        r.database_url = Some("postgres://u:pw@localhost/db".into());
    });
    let lines = describe(&r).unwrap();
    let text = format!("{lines:?}");
    assert!(!text.contains("a-very-long-secret-value"));
    assert!(!text.contains(":pw@"));
    assert!(text.contains("(set, redacted)"));
}

#[test]
fn recording_settings_default_off_and_validate() {
    let c = Config::defaults();
    assert_eq!(
        c.recordings.transcription.provider,
        TranscriptionProvider::None
    );
    assert!(c.recordings.analysis.is_none() && c.smtp.is_none());
    assert_eq!(c.pacing.outbound_calls_per_second, 1.0);
    assert_eq!(c.recordings.dir, std::path::PathBuf::from("./recordings"));
    let ok = Config::from_raw(&raw(|r| {
        r.transcription_provider = Some("OpenAI".into());
        r.analysis_base_url = Some("http://127.0.0.1:8080".into());
        r.smtp_url = Some("smtp://u:p%40ss@mail.example.com:587?tls=required".into());
        r.smtp_from = Some("Switchboard <noreply@example.com>".into());
    }))
    .unwrap();
    assert_eq!(
        ok.recordings.transcription.provider,
        TranscriptionProvider::OpenAi
    );
    assert_eq!(
        ok.recordings.transcription.model,
        DEFAULT_TRANSCRIPTION_MODEL
    );
    assert_eq!(
        ok.recordings.analysis.unwrap().model,
        DEFAULT_ANALYSIS_MODEL
    );
    assert!(ok.smtp.is_some());
    let cases: Vec<(RawConfig, &str)> = vec![
        (
            raw(|r| r.transcription_provider = Some("whisper".into())),
            "TRANSCRIPTION_PROVIDER",
        ),
        (
            raw(|r| r.analysis_base_url = Some("ftp://x".into())),
            "ANALYSIS_BASE_URL",
        ),
        (
            raw(|r| r.smtp_url = Some("smtp://mail.example.com".into())),
            "SMTP_FROM",
        ),
        (
            raw(|r| r.smtp_from = Some("a@example.com".into())),
            "SMTP_URL",
        ),
        (
            raw(|r| {
                r.smtp_url = Some("http://mail.example.com".into());
                r.smtp_from = Some("a@example.com".into());
            }),
            "SMTP_URL",
        ),
        (
            raw(|r| {
                r.smtp_url = Some("smtp://mail.example.com".into());
                r.smtp_from = Some("not an address".into());
            }),
            "SMTP_FROM",
        ),
        (
            raw(|r| r.outbound_calls_per_second = Some("-1".into())),
            "OUTBOUND_CALLS_PER_SECOND",
        ),
    ];
    for (r, var) in cases {
        assert_eq!(Config::from_raw(&r).unwrap_err().var, var);
    }
    let r = raw(|r| {
        r.smtp_url = Some("smtp://user:hunter2@mail.example.com".into());
        r.smtp_from = Some("a@example.com".into());
    });
    let text = format!("{:?}", describe(&r).unwrap());
    assert!(!text.contains("hunter2"), "{text}");
}

/// Flags as clap reads them, so a setting can be given by its name.
fn from_flags(flags: &[&str]) -> RawConfig {
    use clap::{Args, FromArgMatches};
    let cmd = RawConfig::augment_args(clap::Command::new("t").no_binary_name(true));
    RawConfig::from_arg_matches(&cmd.get_matches_from(flags)).unwrap()
}

fn shown<'a>(lines: &'a [(String, String)], var: &str) -> &'a str {
    &lines.iter().find(|(v, _)| v == var).expect(var).1
}

#[test]
fn each_setting_is_declared_once_under_its_own_name() {
    let all: Vec<&Setting> = settings().collect();
    let raw = RawConfig::default();
    let entries = raw.entries();
    assert_eq!(all.len(), entries.len());
    let mut seen = std::collections::HashSet::new();
    for (s, (env, _)) in all.iter().zip(&entries) {
        assert_eq!(s.env, *env, "RawConfig and the settings table in one order");
        assert_eq!(s.env, s.field.to_ascii_uppercase());
        assert!(seen.insert(s.env), "{} declared twice", s.env);
        let meaning = s.meaning();
        assert!(!meaning.is_empty(), "{} has no meaning", s.env);
        assert!(
            !meaning.contains('|'),
            "{}: a | would break the table",
            s.env
        );
    }
}

#[test]
fn flags_and_environment_come_from_the_declaration() {
    use clap::Args;
    let cmd = RawConfig::augment_args(clap::Command::new("t"));
    let port = cmd.get_arguments().find(|a| a.get_id() == "port").unwrap();
    assert_eq!(port.get_long(), Some("port"));
    assert_eq!(port.get_env(), Some(std::ffi::OsStr::new("PORT")));
    assert_eq!(
        port.get_help().unwrap().to_string(),
        "HTTP port [default: 3000]"
    );
    let writers = cmd
        .get_arguments()
        .find(|a| a.get_id() == "db_writers")
        .unwrap();
    assert!(
        writers
            .get_help()
            .unwrap()
            .to_string()
            .ends_with("[default: 1 on SQLite, 2 on PostgreSQL]")
    );
    let r = from_flags(&["--rate-limit-max", "7", "--database-url", "sqlite::memory:"]);
    assert_eq!(Config::from_raw(&r).unwrap().rate_limit.max, 7);
}

#[test]
fn describe_shows_effective_values_given_or_default() {
    let lines = describe(&RawConfig::default()).unwrap();
    assert_eq!(shown(&lines, "PORT"), "3000");
    assert_eq!(shown(&lines, "DB_WRITERS"), "1");
    assert_eq!(shown(&lines, "SQLITE_WAL_RESET_MB"), "1024");
    assert_eq!(shown(&lines, "APP_URL"), "http://localhost:3000/");
    assert_eq!(shown(&lines, "TWILIO_SANDBOX"), "true", "sandbox in effect");
    assert_eq!(
        shown(&lines, "JWT_SECRET"),
        "(generated, stored in the database)"
    );
    assert_eq!(shown(&lines, "TWILIO_ACCOUNT_SID"), "(unset)");
    assert_eq!(shown(&lines, "PRICE_INBOUND_PER_MIN"), "0.0085");
    assert_eq!(shown(&lines, "JOB_LEASE_SECS"), "300");
    assert_eq!(shown(&lines, "LOG_FORMAT"), "human");
    assert_eq!(shown(&lines, "(twilio mode)"), "built-in sandbox");
    let r = from_flags(&["--port", "4000", "--database-url", "postgres://u:pw@db/x"]);
    let lines = describe(&r).unwrap();
    assert_eq!(shown(&lines, "PORT"), "4000");
    assert_eq!(shown(&lines, "APP_URL"), "http://localhost:4000/");
    assert_eq!(shown(&lines, "DB_WRITERS"), "2");
    assert_eq!(shown(&lines, "DATABASE_URL"), "postgres://u:****@db/x");
}

#[test]
fn every_secret_setting_is_redacted_wherever_it_is_shown() {
    let value = "secret-value-0123456789abcdef";
    let mut flags = Vec::new();
    let mut names = Vec::new();
    for s in settings().filter(|s| s.secrecy == Secrecy::Value) {
        names.push(s.env);
        flags.push(format!("--{}", s.field.replace('_', "-")));
        flags.push(value.to_string());
    }
    assert!(names.contains(&"ADMIN_TOKEN") && names.contains(&"TWILIO_AUTH_TOKEN"));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let r = from_flags(&flags);
    let debug = format!("{r:?}");
    assert!(!debug.contains(value), "{debug}");
    for name in names {
        assert!(debug.contains(name), "{debug}");
    }
}

const DOC: &str = "docs/configuration.md";
const START: &str = "<!-- config-table:start -->\n";
const END: &str = "<!-- config-table:end -->";

/// The table in `docs/configuration.md` is the generated one. With `SWITCHBOARD_UPDATE_DOCS=1` the
/// test writes the generated table into the file instead.
#[test]
fn docs_table_is_generated() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let text = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = text.split_once(START).expect("start marker");
    let (table, tail) = rest.split_once(END).expect("end marker");
    let generated = markdown_table();
    if table == generated {
        return;
    }
    if std::env::var_os("SWITCHBOARD_UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{head}{START}{generated}{END}{tail}")).unwrap();
        return;
    }
    panic!(
        "{DOC}: the configuration table differs from the settings' declarations; regenerate it with\n\
         SWITCHBOARD_UPDATE_DOCS=1 cargo test -q -p switchboard --lib config::tests::docs_table_is_generated\n\
         (`switchboard config --markdown` prints the table)"
    );
}
