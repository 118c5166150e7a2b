//! The tenant API under `/api/telephony` (and, in later features, the seed-002/003 `/api/twilio`
//! application routes). Every handler takes [`crate::web::TenantAuth`] and scopes by its tenant:
//! another tenant's ids simply do not exist (404).

mod analytics;
mod appointments;
mod call_logs;
mod messages;
mod profile;
mod recordings;
mod sms;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(profile::routes())
        .merge(sms::routes())
        .merge(call_logs::routes())
        .merge(messages::routes())
        .merge(appointments::routes())
        .merge(recordings::routes())
        .merge(crate::voice::outbound::routes())
        .merge(analytics::routes())
}
