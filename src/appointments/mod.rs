//! Appointments pushed by the host app (`manage`), the texts they drive (`texts`), the reminder
//! jobs they schedule (`reminders`),
//! and their API under `/api/telephony/appointments` (`api`).

mod api;
pub mod manage;
pub mod reminders;
pub mod texts;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    api::routes()
}
