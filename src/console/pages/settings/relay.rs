//! Settings › Relay endpoints: where the business's events are POSTed (the `events` feature),
//! each with its recent deliveries and their attempts; adding one, turning one off and on,
//! removing one after a confirmation page, and replaying a delivery.
//!
//! The use cases are the admin API's (`events::manage::{create, update, delete, replay}`), behind
//! the tenant-scoped lookups `events::manage::{tenant_endpoint, tenant_delivery}`: a business sees
//! and touches only endpoints with its own tenant id. Global endpoints (no tenant) are the
//! operator's, so neither they nor their deliveries appear here, and their ids answer 404.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Map, Value};

use super::{Input, Tabs, done, parse_body, unplaced};
use crate::console::auth::{Form, TenantView};
use crate::console::format;
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::db;
use crate::events::EVENT_TYPES;
use crate::events::manage::{self, CreateEndpoint, UpdateEndpoint};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/settings/relay", get(show).post(add))
        .route(
            "/console/t/{tenant}/settings/relay/{endpoint}/enabled",
            post(enable),
        )
        .route(
            "/console/t/{tenant}/settings/relay/{endpoint}/delete",
            get(confirm_delete).post(delete),
        )
        .route(
            "/console/t/{tenant}/settings/relay/deliveries/{delivery}/replay",
            post(replay),
        )
}

/// Deliveries shown per endpoint, newest first.
const RECENT: i64 = 10;

/// One attempt to deliver.
struct AttemptRow {
    at: String,
    code: String,
    latency: String,
    error: String,
}

/// One delivery with its attempts.
struct DeliveryRow {
    id: String,
    event_id: String,
    created: String,
    status: String,
    status_class: &'static str,
    attempts: Vec<AttemptRow>,
    replayable: bool,
}

/// One endpoint with its recent deliveries.
struct EndpointCard {
    id: String,
    url: String,
    description: String,
    types: String,
    enabled: bool,
    disabled_reason: String,
    secret: String,
    deliveries: Vec<DeliveryRow>,
}

/// One event type's checkbox in the add form.
struct TypeBox {
    value: &'static str,
    id: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/settings/relay.html")]
struct RelayPage {
    chrome: Chrome,
    tabs: Tabs,
    endpoints: Vec<EndpointCard>,
    add: Vec<Input>,
    types: Vec<TypeBox>,
    types_error: Option<String>,
    general: Option<String>,
    /// The tenant's time zone, which the times are in.
    zone: String,
}

#[derive(Template)]
#[template(path = "console/settings/relay_delete.html")]
struct DeletePage {
    chrome: Chrome,
    tabs: Tabs,
    id: String,
    url: String,
}

/// The add form as typed.
#[derive(Debug, Clone, Default)]
struct NewEndpoint {
    url: String,
    description: String,
    types: Vec<String>,
}

impl NewEndpoint {
    fn from_form(form: &Form) -> NewEndpoint {
        NewEndpoint {
            url: form.get("endpoint-url").unwrap_or("").trim().to_string(),
            description: form
                .get("endpoint-description")
                .unwrap_or("")
                .trim()
                .to_string(),
            types: form
                .all("event-types")
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }

    /// The admin API's `POST /api/admin/relay-endpoints` body for the tenant's own endpoint.
    fn body(&self, tenant_id: &str) -> Value {
        let mut b = Map::new();
        b.insert("url".into(), Value::from(self.url.as_str()));
        b.insert("tenantId".into(), Value::from(tenant_id));
        b.insert("eventTypes".into(), Value::from(self.types.clone()));
        if !self.description.is_empty() {
            b.insert("description".into(), Value::from(self.description.as_str()));
        }
        Value::Object(b)
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "delivered" => "pill pill-ok",
        "dead" => "pill pill-bad",
        _ => "pill pill-warn",
    }
}

async fn relay_page(
    state: &AppState,
    view: &TenantView,
    tabs: Tabs,
    new: &NewEndpoint,
    e: &FormError,
) -> ConsoleResult<RelayPage> {
    let tz = format::zone(view.tenant.time_zone.as_str());
    let mut endpoints = Vec::new();
    for ep in db::events::list_endpoints(&state.db, Some(&view.tenant.id)).await? {
        let deliveries = manage::recent_deliveries(state, &ep.id, RECENT)
            .await?
            .into_iter()
            .map(|(d, attempts)| DeliveryRow {
                created: format::date_time(d.created_at, &tz),
                status_class: status_class(&d.status),
                replayable: d.status != "pending",
                attempts: attempts
                    .into_iter()
                    .map(|a| AttemptRow {
                        at: format::date_time(a.at, &tz),
                        code: a
                            .status_code
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "no answer".into()),
                        latency: format!("{} ms", a.latency_ms),
                        error: a.error.unwrap_or_default(),
                    })
                    .collect(),
                status: d.status,
                event_id: d.event_id,
                id: d.id,
            })
            .collect();
        let types = ep.types();
        endpoints.push(EndpointCard {
            types: if types.is_empty() {
                "All events".into()
            } else {
                types.join(", ")
            },
            id: ep.id,
            url: ep.url,
            description: ep.description.unwrap_or_default(),
            enabled: ep.enabled,
            disabled_reason: ep.disabled_reason.unwrap_or_default(),
            secret: ep.secret,
            deliveries,
        });
    }
    let add = vec![
        Input::new("endpoint-url", "URL", "url")
            .value(new.url.clone())
            .hint("Where events are POSTed, signed with the endpoint's secret (Standard Webhooks).")
            .extra("autocomplete=\"off\"")
            .error_of(e, "url"),
        Input::new("endpoint-description", "Description (optional)", "text")
            .value(new.description.clone())
            .error_of(e, "description"),
    ];
    let types = EVENT_TYPES
        .iter()
        .map(|t| TypeBox {
            value: t,
            id: format!("event-type-{}", t.replace('.', "-")),
            checked: new.types.iter().any(|x| x == t),
        })
        .collect();
    let types_error = e.for_field("eventTypes").map(str::to_string);
    let general = if types_error.is_some() {
        None
    } else {
        unplaced(e, &add.iter().collect::<Vec<_>>())
    };
    Ok(RelayPage {
        chrome: view.chrome("Settings: relay endpoints", "settings"),
        tabs,
        endpoints,
        add,
        types,
        types_error,
        general,
        zone: view.tenant.time_zone.to_string(),
    })
}

async fn show(
    State(state): State<AppState>,
    view: TenantView,
    Query(q): Query<HashMap<String, String>>,
) -> ConsoleResult {
    let tabs = Tabs::new(&view, "relay", &q);
    let p = relay_page(
        &state,
        &view,
        tabs,
        &NewEndpoint::default(),
        &FormError::default(),
    )
    .await?;
    Ok(page(&p))
}

async fn add(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let new = NewEndpoint::from_form(&form);
    let added = match parse_body::<CreateEndpoint>(&new.body(&view.tenant.id)) {
        Ok(req) => manage::create(&state, req).await,
        Err(f) => Err(f),
    };
    match added {
        Ok(_) => Ok(done(&view, "relay", "saved")),
        Err(f) => {
            let e = FormError::from_failure(f);
            let tabs = Tabs::new(&view, "relay", &HashMap::new());
            let p = relay_page(&state, &view, tabs, &new, &e).await?;
            Ok(page_with_status(e.http_status(), &p))
        }
    }
}

/// Turns an endpoint on (`enabled` = `true`) or off.
async fn enable(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    let ep = manage::tenant_endpoint(&state, &view.tenant.id, &id).await?;
    let req = UpdateEndpoint {
        enabled: Some(form.get("enabled") == Some("true")),
        ..UpdateEndpoint::default()
    };
    manage::update(&state, &ep.id, req).await?;
    Ok(done(&view, "relay", "saved"))
}

async fn confirm_delete(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
) -> ConsoleResult {
    let ep = manage::tenant_endpoint(&state, &view.tenant.id, &id).await?;
    Ok(page(&DeletePage {
        chrome: view.chrome("Remove a relay endpoint", "settings"),
        tabs: Tabs::new(&view, "relay", &HashMap::new()),
        id: ep.id,
        url: ep.url,
    }))
}

async fn delete(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    _: Form,
) -> ConsoleResult {
    let ep = manage::tenant_endpoint(&state, &view.tenant.id, &id).await?;
    manage::delete(&state, &ep.id).await?;
    Ok(done(&view, "relay", "removed"))
}

async fn replay(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    _: Form,
) -> ConsoleResult {
    let d = manage::tenant_delivery(&state, &view.tenant.id, &id).await?;
    manage::replay(&state, &d.id).await?;
    Ok(done(&view, "relay", "replayed"))
}
