//! A business's calls: the filterable, keyset-paginated list and each call's page with its timeline, recording, transcript, reason and summary.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
