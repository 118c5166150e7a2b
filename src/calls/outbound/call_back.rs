//! Calling a customer back (the console's "Call back" on a voicemail): an outbound call placed by
//! [`place`], the use case behind `POST /api/twilio/make-call`, to the customer, who hears "Hello,
//! this is {business}, returning your call. Please hold while we connect you." and is then
//! connected (`<Dial>`, the business number as caller ID, the policy's dial timeout) to the
//! business's first staff member on duty in dialling order — `make-call`'s `{to, message,
//! assistantId}`.
//!
//! The customer's phone rings first, because that is the bridge the outbound use case can make:
//! ringing staff first and then dialling the customer would need a `<Dial>` to a number the tenant
//! names, which `make-call` does not offer (a tenant's TwiML may only speak). Logged like any
//! outbound call, to the customer's number, so the call-back shows in their call history; the
//! request's metadata names what was called back (`callBackOf`).

use serde_json::json;

use super::{MakeCall, MakeCallAnswer, place};
use crate::db::{self, staff::Staff, tenants::Tenant};
use crate::domain::E164;
use crate::failure::Failure;
use crate::state::AppState;

/// A placed call-back and who it connects the customer to.
#[derive(Debug)]
pub struct CallBack {
    pub answer: MakeCallAnswer,
    pub staff: Staff,
}

/// The staff member a call-back connects to: the first on duty, in dialling order (priority).
pub async fn staff_for_call_back(
    state: &AppState,
    tenant_id: &str,
) -> Result<Option<Staff>, Failure> {
    Ok(db::staff::list(&state.db, tenant_id)
        .await?
        .into_iter()
        .find(|s| s.on_duty))
}

/// Calls `customer` back for the tenant, about `about` (e.g. the voicemail's recording id, kept in
/// the call's metadata). Refused (409 `NO_STAFF_ON_DUTY`) when nobody is on duty to take the call,
/// and for every reason `make-call` refuses a call.
pub async fn call_back(
    state: &AppState,
    tenant: &Tenant,
    customer: &E164,
    about: &str,
) -> Result<CallBack, Failure> {
    let staff = staff_for_call_back(state, &tenant.id)
        .await?
        .ok_or_else(|| {
            Failure::refused(
                axum::http::StatusCode::CONFLICT,
                "NO_STAFF_ON_DUTY",
                "Nobody is on duty to take the call: put a staff member on duty first.",
            )
        })?;
    let req = MakeCall {
        to: Some(customer.to_string()),
        message: Some(format!(
            "Hello, this is {}, returning your call. Please hold while we connect you.",
            tenant.name
        )),
        twiml: None,
        record: None,
        user_id: None,
        metadata: Some(json!({ "callBackOf": about })),
        client_id: None,
        assistant_id: Some(staff.id.clone()),
        connect: None,
        extras: Default::default(),
    };
    let answer = place(state, tenant, req).await?;
    Ok(CallBack { answer, staff })
}
