//! The one integration-test binary. Run it once per backend:
//! `cargo test` (SQLite) and `SWITCHBOARD_TEST_DB=postgres cargo test` (PostgreSQL); `.ci/run` does both.

mod support;

mod admin;
mod auth;
mod bench;
mod call_logs;
mod cli;
mod http_basics;
mod jobs;
mod messaging_send;
mod rate_limit;
mod storage;
mod twilio_layer;
mod voice;
