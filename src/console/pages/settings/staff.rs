//! Settings › Staff: the people calls are forwarded to, in dialling order; adding one, changing
//! one (its own page), taking one on or off duty from the list, and removing one after a
//! confirmation page. Everything goes through `tenants::staff::{create, update, delete}` with the
//! admin API's request bodies read by the API's parser; every lookup is scoped to the tenant, so
//! another tenant's staff id is a 404.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde_json::{Map, Value};

use super::{Input, Tabs, done, number_or_text, parse_body, text_or_null, unplaced};
use crate::console::auth::{Form, TenantView};
use crate::console::render::{
    Chrome, ConsoleError, ConsoleResult, FormError, page, page_with_status,
};
use crate::db::{self, staff::Staff};
use crate::state::AppState;
use crate::tenants::staff::{self, CreateStaff, UpdateStaff};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/settings/staff", get(list).post(add))
        .route(
            "/console/t/{tenant}/settings/staff/{staff}",
            get(edit).post(change),
        )
        .route(
            "/console/t/{tenant}/settings/staff/{staff}/duty",
            post(duty),
        )
        .route(
            "/console/t/{tenant}/settings/staff/{staff}/delete",
            get(confirm_delete).post(delete),
        )
}

/// A staff member as the form holds it: text as typed.
#[derive(Debug, Clone, Default)]
struct Person {
    name: String,
    phone: String,
    email: String,
    role: String,
    priority: String,
    on_duty: bool,
}

impl Person {
    fn of(s: &Staff) -> Person {
        Person {
            name: s.name.clone(),
            phone: s.phone.to_string(),
            email: s.email.clone().unwrap_or_default(),
            role: s.role.clone(),
            priority: s.priority.to_string(),
            on_duty: s.on_duty,
        }
    }

    fn from_form(form: &Form) -> Person {
        let v = |id: &str| form.get(id).unwrap_or("").trim().to_string();
        Person {
            name: v("staff-name"),
            phone: v("staff-phone"),
            email: v("staff-email"),
            role: v("staff-role"),
            priority: v("staff-priority"),
            on_duty: form.checked("staff-on-duty"),
        }
    }

    /// The admin API's body: `POST …/staff` (`new`) or `PATCH …/staff/{id}`. A blank role or
    /// priority is left out (the default on create, unchanged on change); a blank e-mail clears it.
    fn body(&self, new: bool) -> Value {
        let mut b = Map::new();
        b.insert("name".into(), Value::from(self.name.as_str()));
        b.insert("phone".into(), Value::from(self.phone.as_str()));
        b.insert("email".into(), text_or_null(&self.email));
        if !self.role.is_empty() {
            b.insert("role".into(), Value::from(self.role.as_str()));
        }
        if !self.priority.is_empty() {
            b.insert("priority".into(), number_or_text(&self.priority));
        }
        b.insert("onDuty".into(), Value::from(self.on_duty));
        if new && self.email.is_empty() {
            b.remove("email");
        }
        Value::Object(b)
    }

    /// The form's controls, showing `e` next to the field it names.
    fn inputs(&self, e: &FormError) -> Vec<Input> {
        vec![
            Input::new("staff-name", "Name", "text")
                .value(self.name.clone())
                .extra("autocomplete=\"off\"")
                .error_of(e, "name"),
            Input::new("staff-phone", "Phone", "tel")
                .value(self.phone.clone())
                .hint("Calls are forwarded here. International form: +14155550100.")
                .extra("autocomplete=\"off\"")
                .error_of(e, "phone"),
            Input::new("staff-email", "E-mail (optional)", "email")
                .value(self.email.clone())
                .extra("autocomplete=\"off\"")
                .error_of(e, "email"),
            Input::new("staff-role", "Role", "text")
                .value(self.role.clone())
                .hint("Such as owner, stylist or assistant. Blank: staff.")
                .error_of(e, "role"),
            Input::new("staff-priority", "Priority", "number")
                .value(self.priority.clone())
                .hint("0 to 1000; lower numbers ring first.")
                .extra("inputmode=\"numeric\"")
                .error_of(e, "priority"),
            Input::new(
                "staff-on-duty",
                "On duty (calls may ring this person)",
                "checkbox",
            )
            .checked(self.on_duty)
            .error_of(e, "onDuty"),
        ]
    }
}

/// One row of the staff table.
struct Row {
    id: String,
    name: String,
    phone: String,
    email: String,
    role: String,
    priority: i64,
    on_duty: bool,
}

#[derive(Template)]
#[template(path = "console/settings/staff.html")]
struct StaffPage {
    chrome: Chrome,
    tabs: Tabs,
    rows: Vec<Row>,
    add: Vec<Input>,
    general: Option<String>,
}

#[derive(Template)]
#[template(path = "console/settings/staff_edit.html")]
struct EditPage {
    chrome: Chrome,
    tabs: Tabs,
    id: String,
    name: String,
    inputs: Vec<Input>,
    general: Option<String>,
}

#[derive(Template)]
#[template(path = "console/settings/staff_delete.html")]
struct DeletePage {
    chrome: Chrome,
    tabs: Tabs,
    id: String,
    name: String,
    phone: String,
}

async fn list_page(
    state: &AppState,
    view: &TenantView,
    tabs: Tabs,
    add: &Person,
    e: &FormError,
) -> ConsoleResult<StaffPage> {
    let rows = db::staff::list(&state.db, &view.tenant.id)
        .await?
        .into_iter()
        .map(|s| Row {
            phone: s.phone.to_string(),
            email: s.email.unwrap_or_default(),
            id: s.id,
            name: s.name,
            role: s.role,
            priority: s.priority,
            on_duty: s.on_duty,
        })
        .collect();
    let add = add.inputs(e);
    let general = unplaced(e, &add.iter().collect::<Vec<_>>());
    Ok(StaffPage {
        chrome: view.chrome("Settings: staff", "settings"),
        tabs,
        rows,
        add,
        general,
    })
}

/// The tenant's staff member `id`, or the 404 page (another tenant's id included).
async fn member(state: &AppState, view: &TenantView, id: &str) -> ConsoleResult<Staff> {
    db::staff::get(&state.db, &view.tenant.id, id)
        .await?
        .ok_or_else(ConsoleError::not_found)
}

async fn list(
    State(state): State<AppState>,
    view: TenantView,
    Query(q): Query<HashMap<String, String>>,
) -> ConsoleResult {
    let tabs = Tabs::new(&view, "staff", &q);
    let fresh = Person {
        on_duty: true,
        ..Person::default()
    };
    Ok(page(
        &list_page(&state, &view, tabs, &fresh, &FormError::default()).await?,
    ))
}

async fn add(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let person = Person::from_form(&form);
    let added = match parse_body::<CreateStaff>(&person.body(true)) {
        Ok(req) => staff::create(&state, &view.tenant.id, req).await,
        Err(f) => Err(f),
    };
    match added {
        Ok(_) => Ok(done(&view, "staff", "saved")),
        Err(f) => {
            let e = FormError::from_failure(f);
            let tabs = Tabs::new(&view, "staff", &HashMap::new());
            let p = list_page(&state, &view, tabs, &person, &e).await?;
            Ok(page_with_status(e.http_status(), &p))
        }
    }
}

fn edit_page(view: &TenantView, s: &Staff, person: &Person, e: &FormError) -> EditPage {
    let inputs = person.inputs(e);
    let general = unplaced(e, &inputs.iter().collect::<Vec<_>>());
    EditPage {
        chrome: view.chrome(format!("Settings: {}", s.name), "settings"),
        tabs: Tabs::new(view, "staff", &HashMap::new()),
        id: s.id.clone(),
        name: s.name.clone(),
        inputs,
        general,
    }
}

async fn edit(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
) -> ConsoleResult {
    let s = member(&state, &view, &id).await?;
    Ok(page(&edit_page(
        &view,
        &s,
        &Person::of(&s),
        &FormError::default(),
    )))
}

async fn change(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    let s = member(&state, &view, &id).await?;
    let person = Person::from_form(&form);
    let changed = match parse_body::<UpdateStaff>(&person.body(false)) {
        Ok(req) => staff::update(&state, &view.tenant.id, &s.id, req).await,
        Err(f) => Err(f),
    };
    match changed {
        Ok(_) => Ok(done(&view, "staff", "saved")),
        Err(f) => {
            let e = FormError::from_failure(f);
            Ok(page_with_status(
                e.http_status(),
                &edit_page(&view, &s, &person, &e),
            ))
        }
    }
}

/// The list's on/off duty button: `on-duty` is `true` or `false`.
async fn duty(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    form: Form,
) -> ConsoleResult {
    let s = member(&state, &view, &id).await?;
    let req = UpdateStaff {
        on_duty: Some(form.get("on-duty") == Some("true")),
        ..UpdateStaff::default()
    };
    staff::update(&state, &view.tenant.id, &s.id, req).await?;
    Ok(done(&view, "staff", "saved"))
}

async fn confirm_delete(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
) -> ConsoleResult {
    let s = member(&state, &view, &id).await?;
    Ok(page(&DeletePage {
        chrome: view.chrome(format!("Remove {}", s.name), "settings"),
        tabs: Tabs::new(&view, "staff", &HashMap::new()),
        phone: s.phone.to_string(),
        id: s.id,
        name: s.name,
    }))
}

async fn delete(
    State(state): State<AppState>,
    view: TenantView,
    Path((_, id)): Path<(String, String)>,
    _: Form,
) -> ConsoleResult {
    staff::delete(&state, &view.tenant.id, &id).await?;
    Ok(done(&view, "staff", "removed"))
}
