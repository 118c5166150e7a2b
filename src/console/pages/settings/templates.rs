//! Settings › Templates: every message template with a live preview.
//!
//! Each template is previewed with sample values through `domain::template::fill`, the filler the
//! senders use, with the placeholders its sender fills (`{name}` everywhere; the appointment
//! texts also `{customerName}`, `{service}`, `{staffName}`, `{businessName}`, `{date}`, `{time}`,
//! `{when}`, worded by `appointments::texts` as the real texts are). Texts show their length and
//! SMS segment count (`switchboard_twilio::segments`, GSM-7 or UCS-2, as Twilio bills them).
//!
//! htmx posts the form to `…/templates/preview` as one types (the template's name in `template`)
//! and swaps in that template's preview; without JavaScript the Preview button posts the same and
//! gets the whole page back with every preview. Saving sends `templates` through the admin API's
//! parser to `tenants::manage::update`; a blank template goes back to the built-in wording.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{Input, Tabs, done, parse_body, text_or_null, unplaced};
use crate::appointments::texts;
use crate::console::auth::{Form, TenantView};
use crate::console::render::{Chrome, ConsoleResult, FormError, page, page_with_status};
use crate::db::{self, tenants::Tenant};
use crate::domain::{Templates, template};
use crate::failure::Failure;
use crate::state::AppState;
use crate::tenants::manage::{self, UpdateTenant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console/t/{tenant}/settings/templates",
            get(show).post(save),
        )
        .route(
            "/console/t/{tenant}/settings/templates/preview",
            post(preview),
        )
}

/// One template: its API name, label, when it is used, whether it is a text (else spoken), whether
/// the appointment placeholders apply, and the sender's wording when it is blank (if public).
struct Kind {
    key: &'static str,
    label: &'static str,
    used: &'static str,
    sms: bool,
    appointment: bool,
    default: Option<&'static str>,
}

const KINDS: [Kind; 8] = [
    Kind {
        key: "smsAutoReply",
        label: "Automatic reply to texts",
        used: "Sent in reply to a customer's text (when automatic replies are on).",
        sms: true,
        appointment: false,
        default: Some(crate::messaging::inbound::DEFAULT_AUTO_REPLY),
    },
    Kind {
        key: "priceList",
        label: "Price list",
        used: "Read to callers who ask about prices.",
        sms: false,
        appointment: false,
        default: None,
    },
    Kind {
        key: "missedCallTextBack",
        label: "Missed-call text-back",
        used: "Texted to callers nobody answered (when text-back is on).",
        sms: true,
        appointment: false,
        default: Some(crate::messaging::text_back::DEFAULT_TEXT),
    },
    Kind {
        key: "appointmentConfirmation",
        label: "Appointment confirmation",
        used: "Texted when an appointment is booked.",
        sms: true,
        appointment: true,
        default: None,
    },
    Kind {
        key: "appointmentReminder",
        label: "Appointment reminder",
        used: "Texted before an appointment.",
        sms: true,
        appointment: true,
        default: None,
    },
    Kind {
        key: "helpReply",
        label: "Reply to HELP",
        used: "Texted to customers who send HELP.",
        sms: true,
        appointment: false,
        default: Some(crate::messaging::inbound::DEFAULT_HELP_REPLY),
    },
    Kind {
        key: "voicemailPrompt",
        label: "Voicemail prompt",
        used: "Spoken before the beep.",
        sms: false,
        appointment: false,
        default: None,
    },
    Kind {
        key: "afterHoursGreeting",
        label: "After-hours greeting",
        used: "Spoken to callers outside business hours.",
        sms: false,
        appointment: false,
        default: None,
    },
];

fn kind(key: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.key == key)
}

/// What previews are filled for: the business, its first staff member, and now.
struct Samples {
    tenant: Tenant,
    staff: String,
    now_ms: i64,
}

impl Samples {
    async fn of(state: &AppState, t: &Tenant) -> Result<Samples, Failure> {
        let staff = db::staff::list(&state.db, &t.id)
            .await?
            .into_iter()
            .next()
            .map(|s| s.name)
            .unwrap_or_else(|| "Sam".into());
        Ok(Samples {
            tenant: t.clone(),
            staff,
            now_ms: state.clock.now_ms(),
        })
    }

    /// `text` filled by the same code its sender fills it with.
    fn fill(&self, k: &Kind, text: &str) -> String {
        if k.appointment {
            texts::preview(&self.tenant, text, &self.staff, self.now_ms)
        } else {
            template::fill_business_name(text, &self.tenant.name)
        }
    }

    fn placeholders(k: &Kind) -> &'static str {
        if k.appointment {
            texts::PLACEHOLDERS
        } else {
            template::BUSINESS_PLACEHOLDERS
        }
    }
}

/// A template's preview: `templates/console/settings/fields.html`'s `preview` macro draws it.
pub struct Preview {
    pub key: &'static str,
    /// The filled text ("" when blank without a known built-in wording).
    pub text: String,
    /// Blank: the built-in wording is used (shown when it is known).
    pub blank: bool,
    pub sms: bool,
    pub chars: usize,
    pub segments: u32,
}

impl Preview {
    fn of(k: &'static Kind, value: &str, samples: &Samples) -> Preview {
        let blank = value.trim().is_empty();
        let source = if blank {
            k.default.unwrap_or("")
        } else {
            value
        };
        let text = if source.is_empty() {
            String::new()
        } else {
            samples.fill(k, source)
        };
        Preview {
            key: k.key,
            chars: text.chars().count(),
            segments: switchboard_twilio::segments::count(&text),
            text,
            blank,
            sms: k.sms,
        }
    }
    pub fn id(&self) -> String {
        format!("preview-{}", self.key)
    }
    pub fn segments_label(&self) -> String {
        match self.segments {
            1 => "1 SMS segment".into(),
            n => format!("{n} SMS segments"),
        }
    }
}

/// One template's part of the page.
struct Item {
    input: Input,
    preview: Preview,
}

#[derive(Template)]
#[template(path = "console/settings/templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    tabs: Tabs,
    items: Vec<Item>,
    general: Option<String>,
}

#[derive(Template)]
#[template(path = "console/settings/template_preview.html")]
struct PreviewFragment {
    p: Preview,
}

/// The templates as stored (blank for the built-in wording).
fn stored(t: &Templates) -> HashMap<&'static str, String> {
    let v = serde_json::to_value(t).unwrap_or_default();
    KINDS
        .iter()
        .map(|k| (k.key, v[k.key].as_str().unwrap_or("").to_string()))
        .collect()
}

/// The templates as posted.
fn posted(form: &Form) -> HashMap<&'static str, String> {
    KINDS
        .iter()
        .map(|k| (k.key, form.get(k.key).unwrap_or("").to_string()))
        .collect()
}

fn templates_page(
    view: &TenantView,
    tabs: Tabs,
    values: &HashMap<&'static str, String>,
    samples: &Samples,
    e: &FormError,
) -> TemplatesPage {
    let items: Vec<Item> = KINDS
        .iter()
        .map(|k| {
            let value = values.get(k.key).cloned().unwrap_or_default();
            Item {
                preview: Preview::of(k, &value, samples),
                input: Input::new(k.key, k.label, "textarea")
                    .value(value)
                    .hint(format!(
                        "{} Placeholders: {}. Blank: Switchboard's own wording.",
                        k.used,
                        Samples::placeholders(k)
                    ))
                    .error_of(e, &format!("templates.{}", k.key)),
            }
        })
        .collect();
    let general = unplaced(e, &items.iter().map(|i| &i.input).collect::<Vec<_>>());
    TemplatesPage {
        chrome: view.chrome("Settings: templates", "settings"),
        tabs,
        items,
        general,
    }
}

async fn show(
    State(state): State<AppState>,
    view: TenantView,
    Query(q): Query<HashMap<String, String>>,
) -> ConsoleResult {
    let samples = Samples::of(&state, &view.tenant).await?;
    let tabs = Tabs::new(&view, "templates", &q);
    let values = stored(&view.tenant.templates);
    Ok(page(&templates_page(
        &view,
        tabs,
        &values,
        &samples,
        &FormError::default(),
    )))
}

async fn save(State(state): State<AppState>, view: TenantView, form: Form) -> ConsoleResult {
    let values = posted(&form);
    let body: Map<String, Value> = KINDS
        .iter()
        .map(|k| (k.key.to_string(), text_or_null(&values[k.key])))
        .collect();
    let saved: Result<Tenant, Failure> = async {
        let patch: UpdateTenant = parse_body(&json!({ "templates": body }))?;
        manage::update(&state, &view.tenant.id, patch).await
    }
    .await;
    match saved {
        Ok(_) => Ok(done(&view, "templates", "saved")),
        Err(f) => {
            let e = FormError::from_failure(f);
            let samples = Samples::of(&state, &view.tenant).await?;
            let tabs = Tabs::new(&view, "templates", &HashMap::new());
            Ok(page_with_status(
                e.http_status(),
                &templates_page(&view, tabs, &values, &samples, &e),
            ))
        }
    }
}

/// htmx: the preview of template `template` as typed. Without htmx: the page with every preview.
async fn preview(
    State(state): State<AppState>,
    view: TenantView,
    headers: HeaderMap,
    form: Form,
) -> ConsoleResult {
    let samples = Samples::of(&state, &view.tenant).await?;
    let values = posted(&form);
    let htmx = headers.get("hx-request").is_some_and(|v| v == "true");
    if htmx {
        let Some(k) = form.get("template").and_then(kind) else {
            return Err(crate::web::error::ApiError::validation(
                "template",
                "must name a template, such as smsAutoReply",
            )
            .into());
        };
        return Ok(page_with_status(
            StatusCode::OK,
            &PreviewFragment {
                p: Preview::of(k, &values[k.key], &samples),
            },
        ));
    }
    let tabs = Tabs::new(&view, "templates", &HashMap::new());
    Ok(page(&templates_page(
        &view,
        tabs,
        &values,
        &samples,
        &FormError::default(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Samples {
        Samples {
            tenant: Tenant::example("America/New_York"),
            staff: "Ann".into(),
            // Monday 2026-11-23, 10:00 in New York: the sample appointment is tomorrow.
            now_ms: 1_795_446_000_000,
        }
    }

    #[test]
    fn previews_fill_the_senders_placeholders_and_count_segments() {
        let s = samples();
        let p = Preview::of(
            kind("smsAutoReply").unwrap(),
            "Thanks for texting {name}!",
            &s,
        );
        assert_eq!(p.text, "Thanks for texting Bella Salon!");
        assert_eq!((p.segments, p.blank), (1, false));
        // Only the appointment texts know the appointment's placeholders.
        let p = Preview::of(
            kind("appointmentReminder").unwrap(),
            "Hi {customerName}, see {staffName} {when} at {time}.",
            &s,
        );
        assert_eq!(p.text, "Hi Alex, see Ann tomorrow at 2:30 PM.");
        let p = Preview::of(kind("helpReply").unwrap(), "{customerName} at {name}", &s);
        assert_eq!(p.text, "{customerName} at Bella Salon");
        // One character outside GSM-7 makes the text UCS-2: 70 per segment, then 67.
        let p = Preview::of(kind("smsAutoReply").unwrap(), &"é😀".repeat(30), &s);
        assert_eq!(p.segments, 2);
        let p = Preview::of(kind("missedCallTextBack").unwrap(), "  ", &s);
        assert!(p.blank && p.text.contains("Bella Salon"));
        assert_eq!(stored(&Templates::default()).len(), 8);
    }
}
