//! Authentication primitives: tenant JWTs and API keys (hashing, signing). The extractors that
//! use them on requests are in `web::auth`.

pub mod api_key;
pub mod jwt;
