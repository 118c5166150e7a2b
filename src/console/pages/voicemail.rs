//! A business's voicemail inbox: new and handled, player, transcript, mark handled, call back; and the recording audio the console plays.
//!
//! (Being built: this module's pages are added by its own change.)

use axum::Router;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
