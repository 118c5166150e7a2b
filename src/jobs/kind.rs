//! A job kind as a type: its `kind` column value and the payload its rows carry, so the code that
//! enqueues a job and the handler that runs it share one payload struct instead of agreeing on JSON
//! keys by convention. The payload is stored as JSON (the `payload` column); its field names are the
//! stored format, so rows queued by an earlier build still decode.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Job, JobError, NewJob};

/// One kind of job.
pub trait JobKind {
    /// The `kind` column value, e.g. `notification.send`.
    const KIND: &'static str;
    /// What a job of this kind carries (ids and versions, not snapshots: handlers re-read).
    type Payload: Serialize + DeserializeOwned;

    /// A new job of this kind carrying `payload`, to be given a tenant, time or dedupe key and
    /// enqueued.
    fn new_job(payload: &Self::Payload) -> NewJob {
        // A payload is a plain struct of strings and numbers, which always serialises.
        let value = serde_json::to_value(payload).unwrap_or_default();
        NewJob::new(Self::KIND, value)
    }

    /// The payload of `job`; a payload that does not read is a permanent error (retrying cannot
    /// fix it) naming the kind and what is wrong.
    fn decode(job: &Job) -> Result<Self::Payload, JobError> {
        serde_json::from_str(&job.payload)
            .map_err(|e| JobError::permanent(format!("bad {} payload: {e}", Self::KIND)))
    }
}
