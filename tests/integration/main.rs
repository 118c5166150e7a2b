//! The one integration-test binary. Run it once per backend:
//! `cargo test` (SQLite) and `SWITCHBOARD_TEST_DB=postgres cargo test` (PostgreSQL); `.ci/run` does both.

mod support;

mod admin;
mod ai_handoff;
mod analytics;
mod appointments;
mod auth;
mod bench;
mod browser;
mod call_logs;
mod cli;
mod console_calls;
mod console_client;
mod console_messages;
mod console_operator;
mod console_overview;
mod console_settings;
mod console_settings_hours;
mod console_settings_number;
mod console_settings_relay;
mod console_settings_routing;
mod console_settings_staff;
mod console_settings_templates;
mod console_sign_in;
mod console_voicemail;
mod contract;
mod events;
mod group_commit;
mod http_basics;
mod job_payloads;
mod jobs;
mod kill;
mod layers;
mod messaging_history;
mod messaging_send;
mod numbers;
mod outbound_calls;
mod rate_limit;
mod recordings;
mod schema;
mod sms_inbound;
mod storage;
mod twilio_layer;
mod voice;
mod webdriver;
