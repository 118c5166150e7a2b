//! Issuing tenant credentials: JWTs and API keys.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::api_key;
use crate::clock::rfc3339;
use crate::db::{self, api_keys::ApiKey};
use crate::domain::{self, text};
use crate::failure::Failure;
use crate::state::AppState;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueToken {
    /// Lifetime in seconds, 60 to 31,536,000 (a year); default 86,400.
    #[schema(minimum = 60, maximum = 31_536_000)]
    pub ttl_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub token: String,
    pub tenant_id: String,
    pub expires_at: String,
}

pub fn issue_token(
    state: &AppState,
    tenant_id: &str,
    ttl_seconds: Option<i64>,
) -> Result<IssuedToken, Failure> {
    let ttl = ttl_seconds.unwrap_or(86_400);
    if !(60..=31_536_000).contains(&ttl) {
        return Err(Failure::invalid(
            "ttlSeconds",
            "must be between 60 and 31536000",
        ));
    }
    let now = state.clock.now_ms() / 1000;
    Ok(IssuedToken {
        token: state.jwt.issue(tenant_id, now, ttl),
        tenant_id: tenant_id.to_string(),
        expires_at: rfc3339((now + ttl) * 1000),
    })
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    /// A label to recognise the key by (default "default").
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The public part of the key, to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        ApiKeyView {
            id: k.id.clone(),
            tenant_id: k.tenant_id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            created_at: rfc3339(k.created_at),
            last_used_at: k.last_used_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
        }
    }
}

/// A new key; `key` is shown this once and never stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    pub key: String,
    #[serde(flatten)]
    pub details: ApiKeyView,
}

pub async fn create_api_key(
    state: &AppState,
    tenant_id: &str,
    req: CreateApiKey,
) -> Result<CreatedApiKey, Failure> {
    let name = match req.name.as_deref() {
        Some(n) => text::required("name", n, 100)?,
        None => "default".into(),
    };
    let generated = api_key::generate();
    let row = ApiKey {
        id: domain::new_id(),
        tenant_id: tenant_id.to_string(),
        name,
        prefix: generated.prefix,
        key_hash: generated.hash,
        created_at: state.clock.now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    db::api_keys::insert(&state.db, &row).await?;
    Ok(CreatedApiKey {
        key: generated.plaintext,
        details: ApiKeyView::from(&row),
    })
}
