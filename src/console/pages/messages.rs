//! A business's texts: conversations per customer with opt-out state and a reply box, and the notification queue with retry of failures.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
