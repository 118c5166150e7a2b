//! Switchboard's Twilio layer: everything Switchboard says to or hears from Twilio.
//!
//! - [`signature`]: `X-Twilio-Signature` computation and validation (pure functions).
//! - [`twiml`]: a typed TwiML builder with escaping by construction.
//! - [`rest`]: a small Api v2010 REST client with typed, classified errors.
//! - [`sandbox`]: an in-memory Twilio stand-in speaking the same REST dialect.
//! - [`simulator`]: plays a caller or texter against a Switchboard server.
//! - [`tls`]: the TLS client configuration every HTTP client of the process shares.
//! - [`segments`]: how many SMS segments a body is billed and throttled as (GSM-7 / UCS-2).
//!
//! `oai/twilio_api_v2010.json` is Twilio's own OpenAPI description (MIT, see `oai/LICENSE`);
//! tests validate the sandbox's responses against it.

pub mod rest;
pub mod sandbox;
pub mod segments;
pub mod sid;
pub mod signature;
pub mod simulator;
pub mod tls;
pub mod twiml;
