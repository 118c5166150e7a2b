//! Per-sender throughput: Twilio accepts about one segment per second from a US long code (three
//! from toll-free, more from short codes) and queues the rest for hours; flooding that queue delays
//! every later text, including urgent ones. Each send reserves `segments / rate` seconds of the
//! sender's time in `sender_pacing`, atomically, so the limit holds across all workers and instances.

use crate::db::Db;
use crate::db::StoreError;
use crate::with_db;

/// Milliseconds of a sender's time that `segments` take at `segments_per_second`.
pub fn cost_ms(segments: i64, segments_per_second: f64) -> i64 {
    if segments_per_second <= 0.0 {
        return 0;
    }
    ((segments.max(1) as f64) * 1000.0 / segments_per_second).ceil() as i64
}

/// Tries to reserve `cost` ms of `sender`'s time starting now. `Ok(None)`: reserved, send now.
/// `Ok(Some(at))`: the sender is busy until `at`; try again then.
pub async fn reserve(
    db: &Db,
    sender: &str,
    now: i64,
    cost: i64,
) -> Result<Option<i64>, StoreError> {
    if cost <= 0 {
        return Ok(None);
    }
    with_db!(db, |p| {
        sqlx::query("INSERT INTO sender_pacing (sender, next_at) VALUES ($1, 0) ON CONFLICT (sender) DO NOTHING")
            .bind(sender)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    // Only a sender whose slot has come may be advanced; the WHERE makes two racing workers take
    // turns instead of both sending.
    let reserved: Option<(i64,)> = with_db!(db, |p| {
        sqlx::query_as(
            "UPDATE sender_pacing SET next_at = CASE WHEN next_at < $2 THEN $2 ELSE next_at END + $3 \
             WHERE sender = $1 AND next_at <= $2 RETURNING next_at",
        )
        .bind(sender)
        .bind(now)
        .bind(cost)
        .fetch_optional(p)
        .await
    })?;
    if reserved.is_some() {
        return Ok(None);
    }
    let next: (i64,) = with_db!(db, |p| sqlx::query_as(
        "SELECT next_at FROM sender_pacing WHERE sender = $1"
    )
    .bind(sender)
    .fetch_one(p)
    .await)?;
    Ok(Some(next.0))
}

#[cfg(test)]
mod tests {
    use super::cost_ms;

    #[test]
    fn cost_is_segments_over_rate() {
        assert_eq!(cost_ms(1, 1.0), 1000);
        assert_eq!(cost_ms(3, 1.0), 3000);
        assert_eq!(cost_ms(1, 3.0), 334);
        assert_eq!(cost_ms(5, 0.0), 0, "0 turns the limit off");
    }
}
