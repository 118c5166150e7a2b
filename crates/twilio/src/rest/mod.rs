//! A small async client for Twilio's Api v2010 (`/2010-04-01/Accounts/{AccountSid}/…`).
//!
//! Paths, form parameter names and response fields follow Twilio's own OpenAPI description
//! (`oai/twilio_api_v2010.json`). The client covers what Switchboard needs: send and read messages,
//! place and read calls, search, buy, configure and release numbers, and fetch recordings.
//!
//! # Errors and retries
//!
//! The client never retries: Switchboard's durable job queue owns retries so that a process restart
//! or a second instance cannot lose or duplicate a decision. Every failure is a [`TwilioError`] that
//! tells the caller what it may do next:
//!
//! | failure | [`is_retryable`](TwilioError::is_retryable) | [`may_have_been_processed`](TwilioError::may_have_been_processed) |
//! |---|---|---|
//! | local validation ([`TwilioError::InvalidRequest`]) | no | no (nothing was sent) |
//! | connection refused / DNS / TLS ([`TwilioError::Connect`]) | yes | no |
//! | HTTP 429 or Twilio code 20429, 21611 | yes (honour [`retry_after`](TwilioError::retry_after)) | no |
//! | HTTP 5xx | yes | yes |
//! | timeout, connection lost mid-request | yes | yes |
//! | other 4xx (see [`is_permanent_code`]) | no | no |
//! | 2xx with an unreadable body ([`TwilioError::Decode`]) | no | yes |
//!
//! Twilio has no idempotency key for Messages or Calls, so when `may_have_been_processed()` is true
//! for a create, reconcile (e.g. list recent messages to that number) before sending again.

mod client;
mod codes;
mod de;
mod error;
mod params;
mod types;

pub use client::{TwilioAuth, TwilioClient, TwilioClientConfig};
pub use codes::{describe_code, is_permanent_code};
pub use error::{TwilioError, parse_retry_after};
pub use params::{
    AvailableNumberSearch, BuyNumber, CreateCall, ListMessages, MediaFormat, NumberConfig,
    NumberKind, NumberToBuy, SendMessage, WebhookMethod,
};
pub use types::{
    AvailablePhoneNumber, Call, CallStatus, Capabilities, IncomingPhoneNumber, Message,
    MessagePage, MessageStatus, Recording, RecordingStatus, parse_twilio_date,
};
