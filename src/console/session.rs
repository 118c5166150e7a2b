//! Console sign-in as use cases: the single-use login link a host app asks for on behalf of one of
//! its businesses, the operator's sign-in with `ADMIN_TOKEN`, and the sessions both open.
//!
//! Tokens are 32 random bytes (URL-safe base64); only their SHA-256 digests are stored
//! (`db::console`), so the tables sign no one in. A session carries its own CSRF token, which
//! every form posts back (see `console::auth::Form`).

use axum::http::StatusCode;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::{self, console::ConsoleSession};
use crate::failure::Failure;
use crate::state::AppState;

/// A fresh sign-in link: open `url` in a browser within the link's lifetime, once.
#[derive(Debug, Clone)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at_ms: i64,
}

/// A session just opened: `token` goes into the browser's cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub token: String,
    pub tenant_id: Option<String>,
    pub max_age_secs: u64,
}

/// 32 random bytes, URL-safe base64 without padding (43 characters).
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the tables store of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a sign-in link for the tenant `tenant_id` (404 when there is none).
pub async fn issue_link(state: &AppState, tenant_id: &str) -> Result<IssuedLink, Failure> {
    let tenant = db::tenants::get(&state.db, tenant_id)
        .await?
        .ok_or_else(|| Failure::not_found("tenant"))?;
    let token = new_token();
    let now = state.clock.now_ms();
    let expires_at_ms = now + ttl_ms(state.config.auth.console_link_ttl);
    db::console::insert_link(&state.db, &digest(&token), &tenant.id, now, expires_at_ms).await?;
    let base = state.config.server.app_url.as_str().trim_end_matches('/');
    Ok(IssuedLink {
        url: format!("{base}/console/link/{token}"),
        expires_at_ms,
    })
}

/// Signs the operator in with `ADMIN_TOKEN`.
pub async fn sign_in_operator(state: &AppState, given: &str) -> Result<OpenedSession, Failure> {
    let Some(expected) = &state.config.auth.admin_token else {
        return Err(Failure::refused(
            StatusCode::FORBIDDEN,
            "OPERATOR_SIGN_IN_DISABLED",
            "operator sign-in is disabled: set ADMIN_TOKEN to enable it",
        ));
    };
    // Comparing digests keeps the comparison constant-time in the token's length too.
    let (a, b) = (
        Sha256::digest(given.trim().as_bytes()),
        Sha256::digest(expected.expose().as_bytes()),
    );
    if !bool::from(a.as_slice().ct_eq(b.as_slice())) {
        return Err(Failure::refused(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "that is not the operator token",
        )
        .with_field("token"));
    }
    open_session(state, None).await
}

/// Uses up a sign-in link and opens a session for its tenant.
pub async fn redeem_link(state: &AppState, token: &str) -> Result<OpenedSession, Failure> {
    let now = state.clock.now_ms();
    let tenant_id = db::console::redeem_link(&state.db, &digest(token), now)
        .await?
        .ok_or_else(|| {
            Failure::refused(
                StatusCode::UNAUTHORIZED,
                "LINK_INVALID",
                "this sign-in link has expired or has been used already; ask your app for a new one",
            )
        })?;
    open_session(state, Some(tenant_id)).await
}

async fn open_session(
    state: &AppState,
    tenant_id: Option<String>,
) -> Result<OpenedSession, Failure> {
    let now = state.clock.now_ms();
    db::console::purge_expired(&state.db, now).await?;
    let ttl = state.config.auth.console_session_ttl;
    let token = new_token();
    db::console::insert_session(
        &state.db,
        &ConsoleSession {
            token_hash: digest(&token),
            tenant_id: tenant_id.clone(),
            csrf_token: new_token(),
            created_at: now,
            expires_at: now + ttl_ms(ttl),
        },
    )
    .await?;
    Ok(OpenedSession {
        token,
        tenant_id,
        max_age_secs: ttl.as_secs(),
    })
}

/// The live session a cookie names, if any.
pub async fn session_for(state: &AppState, token: &str) -> Result<Option<ConsoleSession>, Failure> {
    Ok(db::console::get_session(&state.db, &digest(token), state.clock.now_ms()).await?)
}

/// Ends the session a cookie names.
pub async fn sign_out(state: &AppState, token: &str) -> Result<(), Failure> {
    Ok(db::console::delete_session(&state.db, &digest(token)).await?)
}

fn ttl_ms(ttl: std::time::Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Compares a posted CSRF token with the session's, in constant time.
pub fn csrf_matches(session: &ConsoleSession, given: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(session.csrf_token.as_bytes()),
    );
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}
