//! The operator's pages: every tenant with its health, and the jobs and dead letters with retry.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
