//! Tenants: the defaults of new tenants, the single-business tenant set up from the environment,
//! how long a canceled tenant keeps its number, and how fresh the webhooks' view of tenants is.

use std::time::Duration;

use crate::domain::hours::BusinessHours;
use crate::domain::{E164, TimeZoneName};

#[derive(Debug, Clone)]
pub struct TenantsConfig {
    /// `TWILIO_PHONE_NUMBER`: single-business mode's tenant owns this number.
    pub phone_number: Option<E164>,
    pub phone_number_sid: Option<String>,
    /// `USER_PHONE_NUMBER`: where the single-business tenant's calls forward to.
    pub user_phone_number: Option<E164>,
    /// `BUSINESS_HOURS`: the single-business tenant's hours; `None`: open around the clock.
    pub business_hours: Option<BusinessHours>,
    pub default_time_zone: TimeZoneName,
    /// How long a canceled tenant keeps its number.
    pub number_release_grace: Duration,
    /// `ROUTING_CACHE_RECHECK_MS`: the longest a change made by another process goes unseen.
    pub routing_cache_recheck: Duration,
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// single-business mode: a default tenant owns this number
        twilio_phone_number: Option<E164> = |v| v.phone();

        /// SID (`PN…`) of that number
        twilio_phone_number_sid: Option<String> = |v| Ok(v.given());

        /// single-business mode: the default tenant's calls forward to this phone
        user_phone_number: Option<E164> = |v| v.phone();

        /// single-business mode: the default tenant's hours, as JSON in the API's `businessHours`
        /// shape, e.g. `{"monday": [{"open": "09:00", "close": "17:00"}], "saturday": []}` (in
        /// `DEFAULT_TIME_ZONE`); set, they are applied on every start. Unset, the tenant forwards
        /// every ringing call at any hour, as seed 004 does
        #[default = "open around the clock"]
        business_hours: Option<BusinessHours> = |v| {
            let Some(s) = v.text() else { return Ok(None) };
            let hours: BusinessHours = serde_json::from_str(s).map_err(|e| {
                v.fail(s, format!("is not business hours JSON such as {{\"monday\": [{{\"open\": \"09:00\", \"close\": \"17:00\"}}]}} ({e})"))
            })?;
            hours.validate(v.var).map_err(|e| v.fail(s, e.message))?;
            Ok(Some(hours))
        };

        /// IANA time zone of new tenants
        default_time_zone: TimeZoneName = |v| {
            let name = v.text().unwrap_or("UTC");
            let tz = TimeZoneName::parse(v.var, name).map_err(|e| v.fail(name, e.message))?;
            v.show(&tz);
            Ok(tz)
        };

        /// hours a canceled tenant keeps its number before it is released (0-8760)
        number_release_grace_hours: u64 = |v| v.number(72, 0, 24 * 365);

        /// the webhooks read tenants by number and staff lists from memory, and the SMS sender
        /// reads tenants by id (number, subscription) from memory; this is how often each instance
        /// checks for changes made by other processes (another instance, the CLI), so the longest
        /// such a change goes unseen; its own changes apply to the next call or text at once. 0
        /// checks on every lookup
        routing_cache_recheck_ms: u64 = |v| v.number(1000, 0, 60_000);
    ] [
        => TenantsConfig = TenantsConfig {
            phone_number: twilio_phone_number,
            phone_number_sid: twilio_phone_number_sid,
            user_phone_number,
            business_hours,
            default_time_zone,
            number_release_grace: Duration::from_secs(3600 * number_release_grace_hours),
            routing_cache_recheck: Duration::from_millis(routing_cache_recheck_ms),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
