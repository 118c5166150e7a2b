//! Serving a recording's audio to the business: streamed from media storage with its content type
//! and HTTP range support (players seek with `Range: bytes=…`). One implementation for every door
//! it is served through: the tenant API (`GET /api/telephony/recordings/{id}/media`, `api_media`)
//! and the web console's player. Another tenant's recording is a 404, exactly like one that does
//! not exist, and so is one not downloaded yet.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db::recordings as store;
use crate::failure::Failure;
use crate::recordings::storage;
use crate::state::AppState;

/// What a `Range` header asks for, against an object of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No (usable) range: the whole object, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Part(u64, u64),
    /// A range that starts past the end, 416.
    Unsatisfiable,
}

/// Reads a single `bytes=` range (RFC 9110 §14.1.2). Malformed headers, other units and multiple
/// ranges are ignored — serving the whole object is what the RFC allows for those.
pub fn parse_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        // "-n": the last n bytes.
        (true, false) => match num(b) {
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if len == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Part(len - n.min(len), len - 1),
            None => ByteRange::Full,
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return ByteRange::Full;
            };
            let end = if b.is_empty() { Some(u64::MAX) } else { num(b) };
            match end {
                None => ByteRange::Full,
                Some(end) if end < start => ByteRange::Full,
                Some(_) if start >= len => ByteRange::Unsatisfiable,
                Some(end) => ByteRange::Part(start, end.min(len - 1)),
            }
        }
        (true, true) => ByteRange::Full,
    }
}

/// The tenant's recording `id` (id or RecordingSid) as an HTTP answer: 200 with the whole audio,
/// 206 with the `range` asked for, 416 past the end. `NotFound` for another tenant's recording, an
/// unknown one, or one whose media is not downloaded yet.
pub async fn stream(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    range: Option<&str>,
) -> Result<Response, Failure> {
    let rec = store::find(&state.db, tenant_id, id)
        .await?
        .ok_or_else(|| Failure::not_found("recording"))?;
    let not_stored = || Failure::not_found("recording media (not downloaded yet)");
    let key = rec.storage_key.as_deref().ok_or_else(not_stored)?;
    let store = storage::from_config(&state.config);
    let len = store
        .len(key)
        .await
        .map_err(Failure::internal)?
        .ok_or_else(not_stored)?;
    let content_type = rec.content_type.as_deref().unwrap_or("audio/x-wav");
    let res = match parse_range(range, len) {
        ByteRange::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{len}")),
            );
            r
        }
        ByteRange::Part(start, end) => {
            let body = Body::from_stream(
                store
                    .read(key, start, end)
                    .await
                    .map_err(Failure::internal)?,
            );
            let mut r = (StatusCode::PARTIAL_CONTENT, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes {start}-{end}/{len}")),
            );
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(end - start + 1));
            r
        }
        ByteRange::Full => {
            let body = if len == 0 {
                Body::empty()
            } else {
                Body::from_stream(
                    store
                        .read(key, 0, len - 1)
                        .await
                        .map_err(Failure::internal)?,
                )
            };
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            r
        }
    };
    Ok(with_common(res, content_type, &rec.recording_sid))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_common(mut r: Response, content_type: &str, sid: &str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!("inline; filename=\"{sid}.wav\"")),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::{ByteRange::*, parse_range};

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 100), Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=90-500"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Part(0, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        for ignored in [
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=0-1,5-9",
            "bytes=-",
            "bytes=1",
        ] {
            assert_eq!(parse_range(Some(ignored), 100), Full, "{ignored}");
        }
    }
}
