//! A business's settings: hours and holidays, routing policy, staff, message templates, the phone number, and relay endpoints.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
