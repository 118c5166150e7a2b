//! Switchboard: a self-hosted, multi-tenant telephony backend on Twilio.
//!
//! Layout: `config` (settings) → `db` (storage on SQLite or PostgreSQL) → `domain` (validated values)
//! → `service` (operations shared by API and CLI) → `http` (axum routers) and `cli` (subcommands);
//! `jobs` is the durable outbox every side effect goes through; `app` wires it together.

pub mod analytics;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod http;
pub mod jobs;
pub mod messaging;
pub mod numbers;
pub mod recordings;
pub mod secret;
pub mod service;
pub mod telemetry;
pub mod twilio;
pub mod voice;

pub use app::{AppState, Role};

/// Registers every built-in job handler. Features add theirs here.
pub fn register_job_handlers(registry: &mut jobs::JobRegistry) {
    use std::sync::Arc;
    registry.register(Arc::new(messaging::sender::SendNotification));
    registry.register(Arc::new(messaging::text_back::MissedCallTextBack));
    registry.register(Arc::new(events::deliver::Deliver));
    registry.register(Arc::new(service::reminders::ReminderJob));
    numbers::register(registry);
    recordings::register(registry);
}
