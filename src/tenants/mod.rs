//! Tenants: creating, changing and presenting a business (`manage`), its staff (`staff`) and
//! credentials (`keys`), the sandbox demo tenant (`demo`), and their API: the operator's tenant,
//! staff and key routes (`api_admin`, `api_staff`, `api_keys`), the tenant's own profile
//! (`api_profile`), Stripe subscription changes (`api_stripe`) and the number → tenant lookup for
//! other services (`api_internal`), and every tenant's health for the operator (`health`).

mod api_admin;
mod api_internal;
mod api_keys;
mod api_profile;
mod api_staff;
mod api_stripe;
pub mod demo;
pub mod health;
pub mod keys;
pub mod manage;
pub mod staff;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The operator's and the tenant's JSON routes (rate limited per client).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(api_admin::routes())
        .merge(api_staff::routes())
        .merge(api_keys::routes())
        .merge(api_profile::routes())
}

/// The Stripe webhook (authenticated by Stripe's signature, not limited per client address).
pub fn stripe_routes() -> OpenApiRouter<AppState> {
    api_stripe::routes()
}

/// The internal API's lookup routes (`X-Service-Key`).
pub fn internal_routes() -> OpenApiRouter<AppState> {
    api_internal::routes()
}
