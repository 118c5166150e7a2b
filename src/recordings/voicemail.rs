//! The voicemail inbox: a tenant's voicemails (completed recordings left after the beep), new or
//! handled, newest first, each with its caller and its transcription; and marking one handled or new
//! again. The tenant API (`GET /api/telephony/voicemails`, `PATCH /api/telephony/voicemails/{id}`)
//! and the web console's inbox both go through these functions.
//!
//! Paging: offset (`limit`, `offset`, as every API listing) or keyset (`before`, the cursor of the
//! last voicemail of the previous page), which stays fast however deep the inbox is.

use std::collections::HashMap;

use crate::db::recordings::{
    self as store, CallParties, Recording, RecordingFilter, Transcription,
};
use crate::failure::Failure;
use crate::state::AppState;

/// A recording with its call's parties and its transcription (either may be missing: the call was
/// deleted, or the recording is not processed yet).
#[derive(Debug, Clone)]
pub struct Detailed {
    pub recording: Recording,
    pub parties: Option<CallParties>,
    pub transcription: Option<Transcription>,
}

impl Detailed {
    /// The caller of a voicemail (the call's `From`).
    pub fn caller(&self) -> Option<&str> {
        self.parties.as_ref().map(|p| p.from_number.as_str())
    }
}

/// `rows` with their calls' parties and their transcriptions (two queries, not 2n).
pub async fn details(
    state: &AppState,
    tenant_id: &str,
    rows: Vec<Recording>,
) -> Result<Vec<Detailed>, Failure> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut call_ids: Vec<String> = rows.iter().map(|r| r.call_id.clone()).collect();
    call_ids.sort();
    call_ids.dedup();
    let mut ts: HashMap<String, Transcription> =
        store::transcriptions_for(&state.db, tenant_id, &ids)
            .await?
            .into_iter()
            .map(|t| (t.recording_id.clone(), t))
            .collect();
    let parties: HashMap<String, CallParties> = store::parties_for(&state.db, tenant_id, &call_ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| Detailed {
            parties: parties.get(&r.call_id).cloned(),
            transcription: ts.remove(&r.id),
            recording: r,
        })
        .collect())
}

/// Where a keyset page starts: after the voicemail received at `at` (epoch ms) with id `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: String,
}

impl Cursor {
    fn of(r: &Recording) -> Cursor {
        Cursor {
            at: r.created_at,
            id: r.id.clone(),
        }
    }

    /// `{ms}.{id}`, as [`Cursor::parse`] reads it.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    /// A cursor this listing handed out; anything else is a 400 naming `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Cursor, Failure> {
        let bad = || Failure::invalid(field, "is not a cursor from this listing");
        let (at, id) = raw.trim().split_once('.').ok_or_else(bad)?;
        let at = at.parse::<i64>().map_err(|_| bad())?;
        if id.is_empty()
            || id.len() > 64
            || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(bad());
        }
        Ok(Cursor {
            at,
            id: id.to_string(),
        })
    }
}

/// Which voicemails, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct InboxQuery {
    /// `Some(false)`: new ones only; `Some(true)`: handled ones only; `None`: all.
    pub handled: Option<bool>,
    /// Page size, default 50, at most 100 (see `domain::paging`).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Keyset paging: the voicemails after this one (with `offset` 0).
    pub before: Option<Cursor>,
}

/// A page of the inbox.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub voicemails: Vec<Detailed>,
    /// How many voicemails match, across every page.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// The cursor of the next page, when there may be one.
    pub next: Option<Cursor>,
}

/// A page of the tenant's voicemails, newest first.
pub async fn inbox(state: &AppState, tenant_id: &str, q: &InboxQuery) -> Result<Inbox, Failure> {
    let (limit, offset) = crate::domain::paging::page(q.limit, q.offset)?;
    if q.before.is_some() && offset > 0 {
        return Err(Failure::invalid(
            "offset",
            "give either offset or before, not both",
        ));
    }
    let filter = RecordingFilter {
        kind: Some(store::VOICEMAIL.into()),
        call_sid: None,
        completed_only: true,
        handled: q.handled,
        before: q.before.as_ref().map(|c| (c.at, c.id.clone())),
    };
    let (rows, total) = store::list(&state.db, tenant_id, &filter, limit, offset).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(Cursor::of))
        .flatten();
    Ok(Inbox {
        voicemails: details(state, tenant_id, rows).await?,
        total,
        limit,
        offset,
        next,
    })
}

/// One of the tenant's voicemails by recording id (or RecordingSid); `NotFound` for a recorded call,
/// another tenant's recording or none at all.
pub async fn get(state: &AppState, tenant_id: &str, id: &str) -> Result<Detailed, Failure> {
    let rec = store::find(&state.db, tenant_id, id)
        .await?
        .filter(|r| r.kind == store::VOICEMAIL)
        .ok_or_else(|| Failure::not_found("voicemail"))?;
    Ok(details(state, tenant_id, vec![rec]).await?.remove(0))
}

/// Marks the tenant's voicemail handled (keeping the first time it was) or new again, and answers it
/// as it is now.
pub async fn set_handled(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    handled: bool,
) -> Result<Detailed, Failure> {
    let vm = get(state, tenant_id, id).await?;
    let now = state.clock.now_ms();
    if !store::set_handled(
        &state.db,
        tenant_id,
        &vm.recording.id,
        handled.then_some(now),
        now,
    )
    .await?
    {
        return Err(Failure::not_found("voicemail"));
    }
    get(state, tenant_id, &vm.recording.id).await
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = Cursor {
            at: 1_700_000_000_123,
            id: "0192f0e2-7c1a-7b3e-9a55-1f2e3d4c5b6a".into(),
        };
        assert_eq!(Cursor::parse("before", &c.encode()).unwrap(), c);
        for bad in ["", "123", "x.abc", "12.", "12.a b", "12.a'--"] {
            let e = Cursor::parse("before", bad).unwrap_err();
            assert_eq!(e.field(), Some("before"), "{bad}");
        }
    }
}
