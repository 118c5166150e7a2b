//! Operations shared by the admin API and the CLI, so both validate and write the same way.
//! Request and view types here are the API's JSON shapes (camelCase); stored rows live in `db`.

pub mod appointments;
pub mod calls;
pub mod demo;
pub mod keys;
pub mod notifications;
pub mod reminders;
pub mod staff;
pub mod tenants;

use serde::{Deserialize, Deserializer};

/// For PATCH bodies: distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
