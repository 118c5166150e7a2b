//! Switchboard: a self-hosted, multi-tenant telephony backend on Twilio.
//!
//! Layers, top to bottom; a module only uses its own layer and those below (the integration test
//! `layers` enforces it, `docs/architecture.md` draws it):
//! entry (`main`, `cli`, `start`) → HTTP composition (`http`) → the web console (`console`) → features (`tenants`, `calls`,
//! `messaging`, `appointments`, `numbers`, `recordings`, `events`, `analytics`, `outbox`) → web kit (`web`) → state (`state`)
//! → infrastructure (`db`, `jobs`, `twilio`, `config`, `telemetry`, `auth`, `http_clients`) → domain values
//! (`domain`, `clock`, `secret`).

pub mod analytics;
pub mod appointments;
pub mod auth;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod events;
pub mod failure;
pub mod http;
pub mod http_clients;
pub mod jobs;
pub mod messaging;
pub mod numbers;
pub mod outbox;
pub mod recordings;
pub mod secret;
pub mod start;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod twilio;
pub mod web;

pub use start::Role;
pub use state::AppState;
