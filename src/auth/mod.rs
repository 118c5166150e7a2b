//! Authentication: tenant JWTs and API keys for the tenant API, the operator token for the admin API.

pub mod api_key;
pub mod jwt;
pub mod tenant;

pub use tenant::TenantAuth;
