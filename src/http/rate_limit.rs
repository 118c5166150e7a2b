//! Per-client-IP rate limit for protected routes: a fixed window (default 100 requests per 15
//! minutes, as seed 000's express-rate-limit set-up), answered with 429 and `Retry-After` when spent.
//! Counters live in memory per instance; behind a load balancer each instance enforces its own share.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use super::client_ip::client_ip;
use crate::app::AppState;
use crate::error::ApiError;

pub struct RateLimiter {
    max: u32,
    window_ms: i64,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

/// The verdict for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed { remaining: u32, reset_secs: u64 },
    Limited { retry_after_secs: u64 },
}

impl RateLimiter {
    pub fn new(max: u32, window: std::time::Duration) -> Self {
        RateLimiter {
            max,
            window_ms: window.as_millis() as i64,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    pub fn check(&self, ip: IpAddr, now_ms: i64) -> Verdict {
        let mut map = self.windows.lock();
        if map.len() > 100_000 {
            // Bound memory under a spray of addresses: forget windows that have ended.
            map.retain(|_, (start, _)| now_ms - *start < self.window_ms);
        }
        let entry = map.entry(ip).or_insert((now_ms, 0));
        if now_ms - entry.0 >= self.window_ms {
            *entry = (now_ms, 0);
        }
        let reset_ms = (entry.0 + self.window_ms - now_ms).max(0);
        let reset_secs = (reset_ms as u64).div_ceil(1000).max(1);
        if entry.1 >= self.max {
            return Verdict::Limited {
                retry_after_secs: reset_secs,
            };
        }
        entry.1 += 1;
        Verdict::Allowed {
            remaining: self.max - entry.1,
            reset_secs,
        }
    }
}

/// Middleware for protected routers.
pub async fn limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let xff = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = client_ip(peer, xff, &state.config.trusted_proxies);
    match state.rate_limiter.check(ip, state.clock.now_ms()) {
        Verdict::Limited { retry_after_secs } => {
            tracing::warn!(client_ip = %ip, "rate limit exceeded");
            let mut res = ApiError::too_many_requests(retry_after_secs).into_response();
            set(
                &mut res,
                "ratelimit-limit",
                state.rate_limiter.max().to_string(),
            );
            set(&mut res, "ratelimit-remaining", "0".into());
            set(&mut res, "ratelimit-reset", retry_after_secs.to_string());
            res
        }
        Verdict::Allowed {
            remaining,
            reset_secs,
        } => {
            let mut res = next.run(req).await;
            set(
                &mut res,
                "ratelimit-limit",
                state.rate_limiter.max().to_string(),
            );
            set(&mut res, "ratelimit-remaining", remaining.to_string());
            set(&mut res, "ratelimit-reset", reset_secs.to_string());
            res
        }
    }
}

fn set(res: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fixed_window_per_ip() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a: IpAddr = "1.1.1.1".parse().unwrap();
        let b: IpAddr = "2.2.2.2".parse().unwrap();
        assert_eq!(
            rl.check(a, 0),
            Verdict::Allowed {
                remaining: 1,
                reset_secs: 60
            }
        );
        assert_eq!(
            rl.check(a, 1_000),
            Verdict::Allowed {
                remaining: 0,
                reset_secs: 59
            }
        );
        assert_eq!(
            rl.check(a, 30_000),
            Verdict::Limited {
                retry_after_secs: 30
            }
        );
        assert!(
            matches!(rl.check(b, 30_000), Verdict::Allowed { .. }),
            "other clients unaffected"
        );
        assert!(
            matches!(rl.check(a, 60_000), Verdict::Allowed { .. }),
            "a new window starts"
        );
    }
}
