//! The console's pages, one module per section of the navigation. Each offers `routes()`; the
//! URL map is in docs/console.md.

pub mod calls;
pub mod messages;
pub mod operator;
pub mod overview;
pub mod settings;
pub mod voicemail;

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(overview::routes())
        .merge(calls::routes())
        .merge(voicemail::routes())
        .merge(messages::routes())
        .merge(settings::routes())
        .merge(operator::routes())
}
