//! Settings › Phone number: the tenant's number and its provisioning (the view the admin API's
//! `GET /api/admin/tenants/{id}/provisioning` shows), searching Twilio's numbers (the query of
//! `GET /api/twilio/available-numbers`, read by the same validation), buying one (the use case of
//! `POST /api/twilio/purchase-number`) and releasing the number after a confirmation page
//! (`numbers::ops::release_own`). In sandbox mode all of it runs against the built-in sandbox.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::json;

use super::{Input, Tabs, done, parse_body};
use crate::console::auth::{Form, TenantView};
use crate::console::format;
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::failure::Failure;
use crate::numbers::api::{AvailableNumbersQuery, PurchaseNumber};
use crate::numbers::{self, ProvisioningState, ops, search};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/t/{tenant}/settings/number", get(show))
        .route(
            "/console/t/{tenant}/settings/number/buy",
            axum::routing::post(buy),
        )
        .route(
            "/console/t/{tenant}/settings/number/release",
            get(confirm_release).post(release),
        )
}

/// A fact about the number, `(label, value)`.
type Fact = (&'static str, String);

/// A number Twilio offers.
struct Offer {
    /// The number's digits, for the buy button's id.
    id: String,
    number: String,
    place: String,
    capabilities: String,
}

#[derive(Template)]
#[template(path = "console/settings/number.html")]
struct NumberPage {
    chrome: Chrome,
    tabs: Tabs,
    number: Option<String>,
    state: &'static str,
    state_class: &'static str,
    facts: Vec<Fact>,
    search: Vec<Input>,
    /// `None`: no search made; `Some(empty)`: nothing found.
    offers: Option<Vec<Offer>>,
    buy: Input,
    general: Option<String>,
}

#[derive(Template)]
#[template(path = "console/settings/number_release.html")]
struct ReleasePage {
    chrome: Chrome,
    tabs: Tabs,
    number: String,
}

fn state_words(s: ProvisioningState) -> (&'static str, &'static str) {
    match s {
        ProvisioningState::None => ("Not started", "pill"),
        ProvisioningState::Provisioning => ("Being provisioned", "pill pill-warn"),
        ProvisioningState::Active => ("Active", "pill pill-ok"),
        ProvisioningState::Releasing => ("Being released", "pill pill-warn"),
        ProvisioningState::Released => ("Released", "pill"),
        ProvisioningState::Failed => ("Failed, retrying", "pill pill-bad"),
    }
}

/// An RFC 3339 time of the provisioning view on the tenant's clock.
fn when(rfc: &str, tz: &jiff::tz::TimeZone) -> String {
    rfc.parse::<jiff::Timestamp>()
        .map(|t| format::date_time(t.as_millisecond(), tz))
        .unwrap_or_else(|_| rfc.to_string())
}

/// The page: the provisioning view, the search form with `q`'s values, `offers` and `e`.
async fn number_page(
    state: &AppState,
    view: &TenantView,
    tabs: Tabs,
    q: &HashMap<String, String>,
    offers: Option<Vec<Offer>>,
    buy_value: &str,
    e: &FormError,
) -> ConsoleResult<NumberPage> {
    let v = numbers::view(state, &view.tenant).await?;
    let tz = format::zone(&view.tenant.time_zone.to_string());
    let (words, class) = state_words(v.state);
    let mut facts: Vec<Fact> = vec![("Subscription", v.subscription_status.as_str().into())];
    if let Some(sid) = &v.phone_number_sid {
        facts.push(("Twilio SID", sid.clone()));
    }
    if let Some(r) = &v.reason {
        facts.push(("Why the last attempt failed", r.clone()));
    }
    if let Some(c) = v.twilio_code {
        facts.push(("Twilio error code", c.to_string()));
    }
    if v.attempts > 0 {
        facts.push(("Attempts", v.attempts.to_string()));
    }
    if let Some(t) = &v.last_attempt_at {
        facts.push(("Last attempt", when(t, &tz)));
    }
    if let Some(t) = &v.release_after {
        facts.push(("Released after", when(t, &tz)));
    }
    if let Some(t) = &v.released_at {
        facts.push(("Released at", when(t, &tz)));
    }
    if let Some(j) = &v.job {
        facts.push((
            "Background job",
            format!(
                "{} ({} of {} attempts), next run {}",
                j.status,
                j.attempts,
                j.max_attempts,
                when(&j.run_at, &tz)
            ),
        ));
    }
    let val = |k: &str| q.get(k).cloned().unwrap_or_default();
    let country = match val("country") {
        c if c.is_empty() => v.country.clone(),
        c => c,
    };
    let search = vec![
        Input::new("country", "Country", "text")
            .value(country)
            .hint("Two letters, such as US or CA.")
            .extra("maxlength=\"2\" autocomplete=\"off\"")
            .error_of(e, "country"),
        Input::new("area-code", "Area code", "text")
            .value(val("area-code"))
            .hint("Three digits (US and Canada), such as 415.")
            .extra("inputmode=\"numeric\" maxlength=\"3\" autocomplete=\"off\"")
            .error_of(e, "areaCode"),
        Input::new("contains", "Contains", "text")
            .value(val("contains"))
            .hint("Digits or letters the number must contain; * matches any digit.")
            .extra("autocomplete=\"off\"")
            .error_of(e, "contains"),
    ];
    let buy = Input::new("phone-number", "Number", "tel")
        .value(buy_value)
        .hint("In international form, such as +14155550100.")
        .extra("autocomplete=\"off\"")
        .error_of(e, "phoneNumber");
    let mut all: Vec<&Input> = search.iter().collect();
    all.push(&buy);
    let general = super::unplaced(e, &all);
    Ok(NumberPage {
        chrome: view.chrome("Settings: phone number", "settings"),
        tabs,
        number: v.phone_number,
        state: words,
        state_class: class,
        facts,
        search,
        offers,
        buy,
        general,
    })
}

/// The query's search, validated as the API validates `available-numbers`.
async fn find(state: &AppState, q: &HashMap<String, String>) -> Result<Vec<Offer>, Failure> {
    let given = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let query = AvailableNumbersQuery {
        area_code: given("area-code"),
        country: given("country"),
        contains: given("contains"),
        kind: None,
        sms_enabled: None,
        voice_enabled: None,
        limit: Some(20),
    }
    .to_search()
    .map_err(super::refusal)?;
    let found = search::available(state, &query).await?;
    Ok(found
        .into_iter()
        .filter_map(|n| {
            let place: Vec<String> = [n.locality, n.region, n.iso_country]
                .into_iter()
                .flatten()
                .collect();
            let caps: Vec<&str> = [
                (n.capabilities.voice, "voice"),
                (n.capabilities.sms, "SMS"),
                (n.capabilities.mms, "MMS"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            let number = n.phone_number?;
            Some(Offer {
                id: number.trim_start_matches('+').to_string(),
                number,
                place: place.join(", "),
                capabilities: caps.join(", "),
            })
        })
        .collect())
}

async fn show(
    State(state): State<AppState>,
    view: TenantView,
    Query(q): Query<HashMap<String, String>>,
) -> ConsoleResult {
    let tabs = Tabs::new(&view, "number", &q);
    let searching = ["country", "area-code", "contains"]
        .iter()
        .any(|k| q.contains_key(*k));
    let (offers, error) = if searching {
        match find(&state, &q).await {
            Ok(found) => (Some(found), FormError::default()),
            Err(f) => (None, FormError::from_failure(f)),
        }
    } else {
        (None, FormError::default())
    };
    let p = number_page(&state, &view, tabs, &q, offers, "", &error).await?;
    Ok(if error.message.is_empty() {
        page(&p)
    } else {
        page_with_status(error.http_status(), &p)
    })
}

async fn buy(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let number = form.get("phone-number").unwrap_or("").trim().to_string();
    let bought = async {
        let req: PurchaseNumber = parse_body(&json!({ "phoneNumber": number }))?;
        ops::purchase(&state, &view.tenant.id, &req.phone_number).await
    }
    .await;
    match bought {
        Ok(_) => Ok(done(&view, "number", "bought")),
        Err(f) => {
            let e = FormError::from_failure(f);
            let tabs = Tabs::new(&view, "number", &HashMap::new());
            let p = number_page(&state, &view, tabs, &HashMap::new(), None, &number, &e).await?;
            Ok(page_with_status(e.http_status(), &p))
        }
    }
}

async fn confirm_release(view: TenantView) -> ConsoleResult {
    let Some(number) = view.tenant.twilio_number.as_ref().map(|n| n.to_string()) else {
        return Err(Failure::from(numbers::NumberError::NoNumber).into());
    };
    Ok(page(&ReleasePage {
        chrome: view.chrome("Release the phone number", "settings"),
        tabs: Tabs::new(&view, "number", &HashMap::new()),
        number,
    }))
}

async fn release(State(state): State<AppState>, view: TenantView, _: Form) -> ConsoleResult {
    ops::release_own(&state, &view.tenant)
        .await
        .map_err(Failure::from)?;
    Ok(done(&view, "number", "released"))
}
