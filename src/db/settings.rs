//! Small key/value settings kept in the database, e.g. the generated JWT secret, so that every
//! instance and the CLI agree on it without configuration.

use crate::db::StoreError;
use crate::with_db;

use super::Db;

/// Returns the stored value for `key`, storing `make()` first if there is none. Safe under races:
/// the insert is `ON CONFLICT DO NOTHING` and everyone reads back the winner.
pub async fn get_or_init(
    db: &Db,
    key: &str,
    make: impl FnOnce() -> String,
) -> Result<String, StoreError> {
    let candidate = make();
    with_db!(db, |p| {
        sqlx::query(
            "INSERT INTO app_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(&candidate)
        .execute(p)
        .await
        .map(|r| r.rows_affected())
    })?;
    let value: (String,) = with_db!(db, |p| sqlx::query_as(
        "SELECT value FROM app_settings WHERE key = $1"
    )
    .bind(key)
    .fetch_one(p)
    .await)?;
    Ok(value.0)
}
