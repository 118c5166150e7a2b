//! The test harness: a real Switchboard app in-process on a port-0 listener, on a fresh database per
//! test. The backend is chosen once per run by `SWITCHBOARD_TEST_DB` (`sqlite`, the default, or
//! `postgres`; then `SWITCHBOARD_TEST_PG_URL`, default postgres://postgres@127.0.0.1:5432/postgres,
//! is the server where a throwaway database is created and dropped for each test).

use std::sync::Once;

use reqwest::Method;
use serde_json::Value;
use switchboard::AppState;
use switchboard::clock::Clock;
use switchboard::config::{Config, RawConfig};
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef";

pub fn backend() -> String {
    std::env::var("SWITCHBOARD_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

fn pg_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A throwaway database, dropped when the test ends.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match backend().as_str() {
            "postgres" => {
                let name = format!("sbt_{}", uuid::Uuid::new_v4().simple());
                let admin = pg_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .expect("create db");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/test.db", dir.path().display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop is sync and may run inside a runtime: do it on a thread with its own runtime.
            let admin = pg_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        switchboard_twilio::tls::ensure_crypto_provider();
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .try_init();
        }
    });
}

/// The configuration every test starts from.
pub fn base_raw(db_url: &str) -> RawConfig {
    RawConfig {
        database_url: Some(db_url.into()),
        admin_token: Some(ADMIN_TOKEN.into()),
        jwt_secret: Some(JWT_SECRET.into()),
        db_max_connections: Some("5".into()),
        ..Default::default()
    }
}

pub struct TestApp {
    pub state: AppState,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    shutdown: CancellationToken,
    pub db_url: String,
    _db: Option<TestDb>,
}

pub struct Builder {
    raw: Option<RawConfig>,
    registry: switchboard::state::Jobs,
    shared_url: Option<String>,
}

pub fn app() -> Builder {
    Builder {
        raw: None,
        registry: switchboard::state::Jobs::default(),
        shared_url: None,
    }
}

impl Builder {
    /// Changes settings on top of [`base_raw`].
    pub fn config(mut self, f: impl FnOnce(&mut RawConfig)) -> Self {
        let mut raw = self
            .raw
            .take()
            .unwrap_or_else(|| base_raw("sqlite::memory:"));
        f(&mut raw);
        self.raw = Some(raw);
        self
    }
    /// Lets tenants' relay endpoints and AI providers point anywhere (`ALLOW_PRIVATE_DESTINATIONS`),
    /// for tests whose receivers are wiremock servers on 127.0.0.1; every other test runs with the
    /// default, public destinations only.
    pub fn private_destinations(self) -> Self {
        self.config(|c| c.allow_private_destinations = Some("true".into()))
    }
    pub fn handler(
        mut self,
        h: std::sync::Arc<dyn switchboard::jobs::JobHandler<AppState>>,
    ) -> Self {
        self.registry.register(h);
        self
    }
    /// Shares `other`'s database (a restart, or a second instance). `other` keeps owning it.
    pub fn same_database(mut self, other: &TestApp) -> Self {
        self.shared_url = Some(other.db_url.clone());
        self
    }

    pub async fn start(self) -> TestApp {
        init();
        let (db, db_url) = match self.shared_url {
            Some(url) => (None, url),
            None => {
                let d = TestDb::new().await;
                let url = d.url.clone();
                (Some(d), url)
            }
        };
        let mut raw = self.raw.unwrap_or_else(|| base_raw(&db_url));
        raw.database_url = Some(db_url.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        if raw.app_url.is_none() {
            raw.app_url = Some(format!("http://{addr}"));
        }
        let config = Config::from_raw(&raw).expect("test config is valid");
        let clock = Clock::manual(jiff::Timestamp::now().as_millisecond());
        let state = AppState::build(config, clock.clone(), self.registry)
            .await
            .expect("app builds");
        let shutdown = CancellationToken::new();
        tokio::spawn(switchboard::start::serve_http(
            state.clone(),
            listener,
            shutdown.clone(),
        ));
        TestApp {
            state,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            clock,
            shutdown,
            db_url,
            _db: db,
        }
    }
}

/// An HTTP answer with its JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> &str {
        self.json["error"]["field"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send(method, path, Some(ADMIN_TOKEN), body, &[]).await
    }

    pub async fn tenant_get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    /// Creates a tenant through the admin API and returns its JSON.
    pub async fn create_tenant(&self, body: Value) -> Value {
        let r = self
            .admin(Method::POST, "/api/admin/tenants", Some(body))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["data"].clone()
    }

    /// Issues a JWT for `tenant_id` through the admin API.
    pub async fn token_for(&self, tenant_id: &str) -> String {
        let r = self
            .admin(
                Method::POST,
                &format!("/api/admin/tenants/{tenant_id}/tokens"),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["data"]["token"].as_str().unwrap().to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The environment a spawned `switchboard` keeps after `env_clear()`: `PATH`, and libfaketime's
/// variables when the suite runs under `faketime` (`.ci/run` does once), so a child process shares
/// the test's clock instead of the real one.
pub fn child_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k == "PATH" || k == "LD_PRELOAD" || k.starts_with("FAKETIME"))
        .collect()
}
