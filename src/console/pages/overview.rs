//! The overview page of a business: today / 7 / 30 days of calls, texts, delivery and cost, charts, and recent activity that updates live.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
