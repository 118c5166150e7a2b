//! Errors of the storage layer: one type, [`StoreError`], and the one path to it from either
//! driver's error (`from_sqlx`, `from_sqlite`), so a unique-key violation is a `Conflict` wherever it
//! happens. Storage never picks an HTTP status; the web kit maps these.

/// Errors from the storage layer. The HTTP layer maps them; storage never picks a status code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit; the string names what clashed (e.g. "slug").
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The write could not be made durable (its group-commit batch failed, or the writer stopped);
    /// nothing of it was kept and it may be retried.
    #[error("write not committed: {0}")]
    NotCommitted(String),
}

/// Every `?` on a driver error goes through [`StoreError::from_sqlx`], so a unique-key violation
/// is a `Conflict` whichever call site meets it.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from_sqlx(err)
    }
}

impl StoreError {
    /// Turns unique-constraint violations into [`StoreError::Conflict`], naming the column when the
    /// database tells us which one.
    pub fn from_sqlx(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            let msg = db.message().to_string();
            let constraint = db.constraint().map(str::to_string).unwrap_or_default();
            let what = unique_target(&constraint, &msg);
            return StoreError::Conflict(what);
        }
        StoreError::Database(err)
    }

    /// The same for the group-commit writer's own SQLite connection (`db::batch_sqlite`): a
    /// unique violation is a [`StoreError::Conflict`]; anything else means the write did not commit.
    pub fn from_sqlite(err: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, Some(msg)) = &err
            && matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
        {
            return StoreError::Conflict(unique_target("", msg));
        }
        StoreError::NotCommitted(format!("SQLite: {err}"))
    }
}

/// Finds the column name in a unique-violation message from either backend
/// (SQLite: "UNIQUE constraint failed: tenants.slug"; PostgreSQL: our migrations name every unique
/// index `<table>__<column>`, so the constraint name carries the column).
fn unique_target(constraint: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
        return rest
            .split(['.', ','])
            .nth(1)
            .unwrap_or(rest)
            .trim()
            .to_string();
    }
    match constraint.split_once("__") {
        Some((_, column)) => column.to_string(),
        None => constraint.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::unique_target;

    #[test]
    fn unique_target_reads_both_backends() {
        assert_eq!(
            unique_target("", "UNIQUE constraint failed: tenants.slug"),
            "slug"
        );
        assert_eq!(
            unique_target("tenants__twilio_number", "duplicate key"),
            "twilio_number"
        );
    }
}
