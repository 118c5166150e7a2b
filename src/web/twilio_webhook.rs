//! The extractor every Twilio webhook route takes: it rebuilds the URL Twilio signed, checks
//! `X-Twilio-Signature`, and hands the handler the parameters only when the signature holds.
//!
//! Which URL did Twilio sign? The one it was configured with. When `APP_URL` is set, that is
//! `APP_URL` (or one of `APP_URL_ALIASES`) plus the request's path and query, and nothing a client
//! sends can change it: an `X-Forwarded-Host` is ignored even from a trusted proxy, because the
//! public names of a deployment are configuration, not input. Only without `APP_URL` does a trusted
//! proxy's `X-Forwarded-Proto`/`X-Forwarded-Host` describe the public URL. Port and query-string
//! variants are accepted by `switchboard_twilio::signature` exactly as Twilio's SDKs accept them.
//!
//! - form POST: HMAC over URL + sorted parameters; the parameters are the form body's only;
//! - GET: the parameters are in the URL, which is signed alone;
//! - JSON POST: URL (carrying `bodySHA256`) signed alone, plus the body's SHA-256.
//!
//! Twilio sends each parameter once. A request that repeats one, or that carries one both in the
//! query string and in the body, is refused with 400 before anything else: the signature would
//! cover both copies, and which copy a handler reads must never be the sender's choice (our own
//! TwiML puts no query parameters into action URLs, so no legitimate callback has any).
//!
//! A signature failure answers 403 and logs a warning naming the URL checked; the handler never
//! runs, so nothing is written. Checks can only be switched off with `TWILIO_VALIDATE_SIGNATURES=false`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{Method, StatusCode, header, request::Parts};
use switchboard_twilio::signature;

use super::client_ip::is_trusted;
use crate::domain::{CallSid, MessageSid};
use crate::state::AppState;
use crate::web::error::ApiError;

/// Decoded form parameters in one buffer: each pair is the byte offsets of its key and value in
/// `text`. Two allocations per request instead of two `String`s per parameter (a Twilio webhook
/// carries twenty to thirty), which showed in the webhook benchmark's profile.
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: String,
    /// Key start, key end (= value start), value end.
    spans: Vec<[usize; 3]>,
}

impl Params {
    /// `application/x-www-form-urlencoded` (a body or a query string), percent-decoded, `+` as space,
    /// invalid UTF-8 replaced by U+FFFD: what `form_urlencoded::parse` yields (a unit test holds
    /// the two equal), decoded straight into the buffer. Why not through it: it hands out a `Cow`
    /// per key and value and checks each twice, 5 % of the HTTP threads under the webhook benchmark.
    fn parse(input: &[u8]) -> Self {
        let mut params = Params {
            text: String::with_capacity(input.len()),
            spans: Vec::with_capacity(input.iter().filter(|&&b| b == b'&').count() + 1),
        };
        let mut scratch = Vec::new();
        for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let start = params.text.len();
            push_form_decoded(&mut params.text, key, &mut scratch);
            let mid = params.text.len();
            push_form_decoded(&mut params.text, value, &mut scratch);
            params.spans.push([start, mid, params.text.len()]);
        }
        params
    }

    fn push(&mut self, key: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(key);
        let mid = self.text.len();
        self.text.push_str(value);
        self.spans.push([start, mid, self.text.len()]);
    }

    /// The pairs in the order received; keys may repeat.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(|&[a, b, c]| (&self.text[a..b], &self.text[b..c]))
    }

    /// The first key that occurs twice, if any.
    fn first_repeated(&self) -> Option<&str> {
        let mut keys: Vec<&str> = self.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }

    /// The same pairs with NUL characters dropped from the values, once the signature (which
    /// covers them) has been checked. PostgreSQL text cannot hold one, so a text whose body carried
    /// `%00` would fail to store there (and be retried by Twilio forever) while SQLite kept it;
    /// Twilio never sends one in a real message, and the rest of the text is worth keeping.
    fn without_nul(self) -> Self {
        if !self.text.contains('\0') {
            return self;
        }
        let mut out = Params::default();
        for (k, v) in self.iter() {
            out.push(k, &v.replace('\0', ""));
        }
        out
    }
}

/// A webhook request whose signature has been verified.
#[derive(Debug, Clone)]
pub struct TwilioRequest {
    /// Form (or query-string) parameters in the order received; keys may repeat.
    pub params: Params,
    /// The raw body (JSON webhooks).
    pub body: Bytes,
    /// The public URL the signature was checked against.
    pub url: String,
}

impl TwilioRequest {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
    /// A trimmed, non-empty value of `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }
    /// `CallSid`, when present (its shape was checked when the request was read).
    pub fn call_sid(&self) -> Option<CallSid> {
        self.non_empty("CallSid")
            .and_then(|s| CallSid::parse(s).ok())
    }
    /// `MessageSid` (or the older `SmsMessageSid`, `SmsSid`), when present (its shape was checked
    /// when the request was read).
    pub fn message_sid(&self) -> Option<MessageSid> {
        self.non_empty("MessageSid")
            .or(self.non_empty("SmsMessageSid"))
            .or(self.non_empty("SmsSid"))
            .and_then(|s| MessageSid::parse(s).ok())
    }
}

/// The URLs Twilio may have signed for this request, the preferred one first.
pub fn signed_urls(state: &AppState, parts: &Parts) -> Vec<String> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let join = |base: &url::Url| format!("{}{path_and_query}", base.as_str().trim_end_matches('/'));
    if state.config.server.app_url_explicit {
        return state.config.server.public_base_urls().map(join).collect();
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer
        && is_trusted(&peer, &state.config.server.trusted_proxies)
    {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        if let (Some(proto), Some(host)) = (header("x-forwarded-proto"), header("x-forwarded-host"))
            && (proto == "http" || proto == "https")
            && !host.is_empty()
        {
            return vec![format!("{proto}://{host}{path_and_query}")];
        }
    }
    vec![join(&state.config.server.app_url)]
}

/// Twilio's SIDs have one shape (`CA` + 32 hex digits for a call, …); a webhook naming one of
/// another shape did not come from Twilio and is refused before anything stores or echoes it.
fn checked_sids(mut req: TwilioRequest) -> Result<TwilioRequest, ApiError> {
    req.params = req.params.without_nul();
    match switchboard_twilio::sid::misshapen(req.params.iter()) {
        None => Ok(req),
        Some((key, kinds)) => Err(ApiError::validation(
            key,
            format!(
                "must be a Twilio SID: {} followed by 32 hexadecimal digits",
                kinds.join(" or ")
            ),
        )),
    }
}

/// 400 naming a parameter Twilio would never send twice.
fn repeated(key: &str, where_: &str) -> ApiError {
    tracing::warn!(
        param = key,
        where_,
        "refused Twilio webhook: repeated parameter"
    );
    ApiError::validation(key, format!("must appear once; it is repeated {where_}"))
}

fn reject(reason: &str, url: &str) -> ApiError {
    tracing::warn!(%url, reason, "rejected Twilio webhook: invalid signature");
    // The URL is public (it is where Twilio calls us); naming it makes a proxy mix-up obvious.
    ApiError::new(
        StatusCode::FORBIDDEN,
        "INVALID_SIGNATURE",
        format!("Twilio signature validation failed for {url}"),
    )
}

impl FromRequest<AppState> for TwilioRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let urls = signed_urls(state, &parts);
        let body = axum::body::to_bytes(body, state.config.server.body_limit_bytes)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "request body is too large",
                )
            })?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let is_json = content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json");
        let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes());
        if let Some(key) = query.first_repeated() {
            return Err(repeated(key, "in the query string"));
        }
        let params = if parts.method == Method::GET {
            query
        } else if is_json {
            Params::default()
        } else {
            let form = Params::parse(&body);
            if let Some(key) = form.first_repeated() {
                return Err(repeated(key, "in the body"));
            }
            if let Some((key, _)) = form
                .iter()
                .find(|(k, _)| query.iter().any(|(q, _)| q == *k))
            {
                return Err(repeated(key, "in both the query string and the body"));
            }
            form
        };
        if state.config.twilio.validate_signatures {
            let sig = parts
                .headers
                .get("x-twilio-signature")
                .and_then(|v| v.to_str().ok());
            let token = state.twilio.auth_token.as_str();
            let check = |url: &str| {
                if parts.method == Method::GET {
                    signature::validate(token, url, &[], sig)
                } else if is_json {
                    signature::validate_with_body(token, url, &body, sig)
                } else {
                    signature::validate_pairs(token, url, params.iter().collect(), sig)
                }
            };
            let mut failure = None;
            for url in &urls {
                match check(url) {
                    Ok(()) => {
                        return checked_sids(TwilioRequest {
                            params,
                            body,
                            url: url.clone(),
                        });
                    }
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            let why = failure.map(|e| e.to_string()).unwrap_or_default();
            return Err(reject(&why, &urls.join(" or ")));
        }
        let url = urls.into_iter().next().unwrap_or_default();
        checked_sids(TwilioRequest { params, body, url })
    }
}

/// Appends one form-encoded key or value, decoded (`signature::form_unescape_into`), then as
/// UTF-8 with invalid sequences replaced. Most need no decoding and are copied as they are.
fn push_form_decoded(out: &mut String, raw: &[u8], scratch: &mut Vec<u8>) {
    let bytes = if raw.iter().any(|&b| b == b'%' || b == b'+') {
        scratch.clear();
        signature::form_unescape_into(raw, scratch);
        &scratch[..]
    } else {
        raw
    };
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &Params) -> Vec<(&str, &str)> {
        p.iter().collect()
    }

    #[test]
    fn params_are_decoded_in_the_order_received() {
        let p = Params::parse(b"To=%2B15550100&Body=hi+there%21&Empty=&Bad=%FF&NoValue");
        assert_eq!(
            pairs(&p),
            [
                ("To", "+15550100"),
                ("Body", "hi there!"),
                ("Empty", ""),
                ("Bad", "\u{FFFD}"),
                ("NoValue", ""),
            ]
        );
        assert_eq!(pairs(&Params::parse(b"")), []);
    }

    #[test]
    fn params_decode_as_form_urlencoded_does() {
        let cases: [&[u8]; 14] = [
            b"a=1&b=2",
            b"&&a=&=b&&",
            b"k%3Dx=v%26y&plus=a+b%2Bc",
            b"pct=%&pct2=%4&pct3=%4G&pct4=%%41&end=%",
            b"utf8=%E2%98%8E&raw=\xe2\x98\x8e&bad=%C3%28&cut=%E2%98",
            b"nul=a%00b&k=\xff",
            b"==&a==b=c",
            b"Body=Hello%2C+world%21+%F0%9F%98%80&To=%2B15550100",
            b"+=+&%2B=%2b",
            b"a",
            b"%zz=%Zz",
            b"lower=%e2%98%8e",
            b"x=%2",
            b"",
        ];
        let mut random = vec![];
        // Deterministic pseudo-random inputs over the bytes that matter.
        let alphabet = b"%+=&aZ09\xff\xe2\x98\x8e2Fb";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let len = (state % 24) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            random.push(input);
        }
        for input in cases
            .iter()
            .copied()
            .chain(random.iter().map(Vec::as_slice))
        {
            let expected: Vec<(String, String)> = url::form_urlencoded::parse(input)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let params = Params::parse(input);
            let got: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn the_first_repeated_key_in_sorted_order_is_named() {
        assert_eq!(
            Params::parse(b"b=1&a=2&b=3&a=4").first_repeated(),
            Some("a")
        );
        assert_eq!(Params::parse(b"a=1&b=1").first_repeated(), None);
    }

    #[test]
    fn nul_characters_leave_the_values_only() {
        let p = Params::parse(b"Body=a%00b%00&From=%2B1&K%00=v").without_nul();
        assert_eq!(pairs(&p), [("Body", "ab"), ("From", "+1"), ("K\0", "v")]);
    }
}
