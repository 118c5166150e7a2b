//! A small WebDriver (W3C) client for the console's browser tests: starts Debian's `chromedriver`
//! on a free loopback port, opens a headless Chromium session, and offers what the tests need
//! (navigate, find, click, type, run a script, wait, screenshot). Only loopback is ever visited.
//!
//! Without `chromedriver` on the PATH the browser tests are skipped with a message, unless
//! `SWITCHBOARD_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs Chromium), where that fails.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Browser tests take turns: each starts its own Chromium, and two cores do not run many at once.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running chromedriver with one browser session; both end on drop.
pub struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    child: Child,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Where chromedriver is, if anywhere.
fn chromedriver() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(String::from)
        .chain(std::env::var("CHROMEDRIVER").ok())
        .find(|p| std::path::Path::new(p).exists())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Driver {
    /// A headless browser with a window of `width`×`height`, or `None` (test skipped) when there
    /// is no chromedriver and none is required.
    pub async fn start(width: u32, height: u32) -> Option<Driver> {
        let Some(path) = chromedriver() else {
            if std::env::var("SWITCHBOARD_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("SWITCHBOARD_REQUIRE_BROWSER=1 but chromedriver is not installed");
            }
            eprintln!(
                "browser test skipped: chromedriver is not installed (apt install chromium chromium-driver)"
            );
            return None;
        };
        crate::support::init();
        let turn = TURN.lock().await;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Under `faketime` (.ci/run) the app's clock is what is tested, not the browser's.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not start");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                         "--autoplay-policy=no-user-gesture-required",
                         format!("--window-size={width},{height}")]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let d = Driver {
            http,
            base,
            session,
            child,
            _turn: turn,
        };
        d.resize(width, height).await;
        Some(d)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Value = req
            .send()
            .await
            .expect("webdriver answers")
            .json()
            .await
            .unwrap();
        if let Some(err) = r["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", r["value"]["message"]);
        }
        r["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.script(
            "return document.body ? document.body.innerText : '';",
            json!([]),
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    pub async fn find(&self, css: &str) -> Element {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        Element(v[ELEMENT].as_str().expect("element").to_string())
    }

    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        v.as_array().map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{}/click", e.0), json!({}))
            .await;
    }

    /// Replaces the value of the input `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{}/clear", e.0), json!({}))
            .await;
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await;
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Waits up to `secs` for the page's text to contain `needle` (htmx polling, redirects).
    pub async fn wait_for_text(&self, needle: &str, secs: u64) -> bool {
        for _ in 0..secs * 10 {
            if self.text().await.contains(needle) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Waits up to `secs` for `css` to match something.
    pub async fn wait_for(&self, css: &str, secs: u64) -> bool {
        for _ in 0..secs * 10 {
            if self.count(css).await > 0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// A PNG of the whole page at the window's width (the window grows to the page's height).
    pub async fn screenshot(&self, width: u32) -> Vec<u8> {
        let h = self
            .script(
                "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);",
                json!([]),
            )
            .await
            .as_u64()
            .unwrap_or(900) as u32;
        self.resize(width, h.clamp(400, 6000)).await;
        // From the top, whatever the page scrolled to (a form's anchor, a focused field).
        self.script("window.scrollTo(0, 0); return true;", json!([]))
            .await;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .expect("base64 PNG")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closing the session quits Chromium (a plain blocking HTTP/1.1 DELETE: drop cannot
        // await); then the driver goes.
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://").to_string();
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
