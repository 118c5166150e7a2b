//! Adding, changing and presenting a tenant's staff.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::rfc3339;
use crate::db::{self, staff::Staff};
use crate::domain::{self, E164, ValidationError, text};
use crate::failure::Failure;
use crate::state::AppState;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateStaff {
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// E.164 phone the call is forwarded to.
    pub phone: E164,
    pub email: Option<String>,
    /// Free text such as owner, stylist, assistant (default `staff`).
    pub role: Option<String>,
    /// Lower rings first (0-1000, default 0).
    #[schema(minimum = 0, maximum = 1000)]
    pub priority: Option<i64>,
    /// Whether calls may be forwarded to this person now (default true).
    pub on_duty: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStaff {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub phone: Option<E164>,
    #[serde(default, deserialize_with = "crate::domain::patch::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub role: Option<String>,
    #[schema(minimum = 0, maximum = 1000)]
    pub priority: Option<i64>,
    pub on_duty: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffView {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub role: String,
    pub priority: i64,
    pub on_duty: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Staff> for StaffView {
    fn from(s: &Staff) -> Self {
        StaffView {
            id: s.id.clone(),
            tenant_id: s.tenant_id.clone(),
            name: s.name.clone(),
            phone: s.phone.to_string(),
            email: s.email.clone(),
            role: s.role.clone(),
            priority: s.priority,
            on_duty: s.on_duty,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// `{"staff": [...]}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffList {
    pub staff: Vec<StaffView>,
}

fn email(v: &str) -> Result<Option<String>, ValidationError> {
    let Some(v) = text::optional("email", v, 254)? else {
        return Ok(None);
    };
    let valid = matches!(v.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        && !v.contains(char::is_whitespace);
    if valid {
        Ok(Some(v))
    } else {
        Err(ValidationError::new(
            "email",
            "must be an e-mail address like name@example.com",
        ))
    }
}

fn priority(p: i64) -> Result<i64, ValidationError> {
    if (0..=1000).contains(&p) {
        Ok(p)
    } else {
        Err(ValidationError::new(
            "priority",
            "must be between 0 and 1000",
        ))
    }
}

pub async fn create(state: &AppState, tenant_id: &str, req: CreateStaff) -> Result<Staff, Failure> {
    let now = state.clock.now_ms();
    let staff = Staff {
        id: domain::new_id(),
        tenant_id: tenant_id.to_string(),
        name: text::required("name", &req.name, 200)?,
        phone: req.phone,
        email: req.email.as_deref().map(email).transpose()?.flatten(),
        role: req
            .role
            .as_deref()
            .map(|r| text::required("role", r, 64))
            .transpose()?
            .unwrap_or_else(|| "staff".into()),
        priority: priority(req.priority.unwrap_or(0))?,
        on_duty: req.on_duty.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    db::staff::insert(&state.db, &staff).await?;
    state.routing.invalidate();
    Ok(staff)
}

pub async fn update(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    req: UpdateStaff,
) -> Result<Staff, Failure> {
    let mut s = db::staff::get(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("staff member"))?;
    if let Some(n) = req.name {
        s.name = text::required("name", &n, 200)?;
    }
    if let Some(p) = req.phone {
        s.phone = p;
    }
    if let Some(e) = req.email {
        s.email = e.as_deref().map(email).transpose()?.flatten();
    }
    if let Some(r) = req.role {
        s.role = text::required("role", &r, 64)?;
    }
    if let Some(p) = req.priority {
        s.priority = priority(p)?;
    }
    if let Some(d) = req.on_duty {
        s.on_duty = d;
    }
    s.updated_at = state.clock.now_ms();
    db::staff::update(&state.db, &s)
        .await
        .map_err(|_| Failure::not_found("staff member"))?;
    state.routing.invalidate();
    Ok(s)
}

/// Removes a staff member of `tenant_id` (another tenant's id is not found).
pub async fn delete(state: &AppState, tenant_id: &str, id: &str) -> Result<(), Failure> {
    db::staff::delete(&state.db, tenant_id, id)
        .await
        .map_err(|e| match e {
            crate::db::StoreError::NotFound => Failure::not_found("staff member"),
            other => other.into(),
        })?;
    state.routing.invalidate();
    Ok(())
}
