//! The sandbox's outgoing side: signed webhook requests and the background tasks that pace them.
//!
//! Each request is signed like Twilio's (`X-Twilio-Signature` over the URL plus sorted form
//! parameters, keyed by the auth token; TWILIO_FACTS B1) and carries a fresh
//! `I-Twilio-Idempotency-Token` per event (B2). Like Twilio, the sandbox does not retry a status
//! callback that answered with an error, and gives each request 15 seconds.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use super::Inner;
use super::state::{SentWebhook, new_sid, push_capped};
use crate::signature::{SIGNATURE_HEADER, compute_signature};

/// Counts background tasks so tests can wait for quiet instead of sleeping.
pub(crate) struct Tasks {
    pending: Arc<watch::Sender<usize>>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            pending: Arc::new(watch::Sender::new(0)),
        }
    }
}

/// Decrements the pending count when its task ends, however it ends (a panic included).
struct PendingGuard(Arc<watch::Sender<usize>>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

impl Tasks {
    /// Spawns `task`, counted from this call (not from when it first runs), so a handler that
    /// spawns before answering is already counted when its client calls `wait_idle`.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.pending.send_modify(|n| *n += 1);
        let guard = PendingGuard(self.pending.clone());
        tokio::spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    pub(crate) async fn idle(&self) {
        let mut rx = self.pending.subscribe();
        // The sender lives as long as `self`, so this only ends once the count is zero.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

/// Sends one signed webhook and logs it. `method` is `GET` or `POST` (anything else is sent as
/// POST, Twilio's default). Returns the status and body, or `None` when the request failed.
pub(crate) async fn send(
    inner: &Inner,
    kind: &str,
    url: &str,
    method: &str,
    params: Vec<(String, String)>,
) -> Option<(u16, String)> {
    let is_get = method.eq_ignore_ascii_case("GET");
    // For a GET, Twilio signs the full URL with the parameters in its query and no body params.
    let (target, body_params) = if is_get {
        match url::Url::parse(url) {
            Ok(mut u) => {
                u.query_pairs_mut().extend_pairs(params.iter());
                (u.to_string(), Vec::new())
            }
            Err(_) => (url.to_owned(), Vec::new()),
        }
    } else {
        (url.to_owned(), params.clone())
    };
    let signature = compute_signature(&inner.config.auth_token, &target, &body_params);
    let request = if is_get {
        inner.http.get(&target)
    } else {
        inner.http.post(&target).form(&body_params)
    };
    let result = request
        .header(SIGNATURE_HEADER, signature)
        .header("I-Twilio-Idempotency-Token", new_sid("ID"))
        .header(reqwest::header::USER_AGENT, "TwilioProxy/1.1")
        .send()
        .await;
    let (status, body, error) = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.text().await {
                Ok(body) => (Some(status), Some(body), None),
                Err(e) => (Some(status), None, Some(e.to_string())),
            }
        }
        Err(e) => (None, None, Some(e.to_string())),
    };
    if let Some(e) = &error {
        tracing::warn!(kind, url = %target, error = %e, "sandbox webhook failed");
    }
    let entry = SentWebhook {
        kind: kind.to_owned(),
        method: if is_get { "GET" } else { "POST" }.to_owned(),
        url: target,
        params,
        status,
        error,
        time: jiff::Timestamp::now(),
    };
    push_capped(&mut inner.store.lock().webhooks, entry);
    Some((status?, body?))
}

/// Sleeps for the configured pause between status changes (a no-op at zero).
pub(crate) async fn pause(inner: &Inner) {
    let delay = inner.config.callback_delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}
