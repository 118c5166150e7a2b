//! The demo tenant `serve` seeds in sandbox mode on an empty database, so a newcomer's first
//! simulated call reaches a business with a number, opening hours and two staff members.

use crate::db;
use crate::domain::{BusinessHours, E164, SubscriptionStatus};
use crate::failure::Failure;
use crate::state::AppState;

use super::manage::{self as tenants, CreateTenant};
use super::staff::{self, CreateStaff};

/// The demo tenant's number: Twilio's "valid sender" test number, so it behaves well in the sandbox.
pub const DEMO_NUMBER: &str = "+15005550006";

/// Seeds the demo tenant when there are no tenants at all. Returns it when it was created.
pub async fn seed_if_empty(state: &AppState) -> Result<Option<db::tenants::Tenant>, Failure> {
    let (_, total) = db::tenants::list(&state.db, 1, 0).await?;
    if total > 0 {
        return Ok(None);
    }
    // Open around the clock, so a newcomer's first simulated call reaches staff whatever the time;
    // `switchboard tenant update demo --business-hours …` shows the after-hours path.
    let all_day = BusinessHours::always_open();
    let tenant = tenants::create(
        state,
        CreateTenant {
            name: "Demo Salon".into(),
            slug: Some(crate::domain::Slug::parse("slug", "demo")?),
            time_zone: Some(state.config.tenants.default_time_zone.clone()),
            phone_number: Some(E164::parse("phoneNumber", DEMO_NUMBER)?),
            subscription_status: Some(SubscriptionStatus::Active),
            business_hours: Some(all_day),
            ..Default::default()
        },
    )
    .await?;
    for (name, phone, role, priority) in [
        ("Alex (owner)", "+14155550101", "owner", 0),
        ("Sam (stylist)", "+14155550102", "stylist", 1),
    ] {
        staff::create(
            state,
            &tenant.id,
            CreateStaff {
                name: name.into(),
                phone: E164::parse("phone", phone)?,
                email: None,
                role: Some(role.into()),
                priority: Some(priority),
                on_duty: Some(true),
            },
        )
        .await?;
    }
    Ok(Some(tenant))
}

/// Tells the embedded sandbox which numbers this deployment owns, so its IncomingPhoneNumbers list
/// matches the tenants (the sandbox keeps its state in memory only).
pub async fn register_numbers_with_sandbox(state: &AppState) -> Result<usize, Failure> {
    let Some(sandbox) = &state.twilio.sandbox else {
        return Ok(0);
    };
    let (tenants, _) = db::tenants::list(&state.db, 100_000, 0).await?;
    let mut n = 0;
    for t in tenants.iter().filter_map(|t| t.twilio_number.as_ref()) {
        sandbox.add_owned_number(t.as_str());
        n += 1;
    }
    Ok(n)
}
