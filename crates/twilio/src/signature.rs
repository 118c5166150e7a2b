//! `X-Twilio-Signature`: computing and validating Twilio's webhook signatures.
//!
//! Pure functions, no I/O. The algorithm and the URL spellings accepted follow Twilio's own SDKs
//! (twilio-python `request_validator.py`, twilio-node `src/webhooks/webhooks.ts`); see
//! TWILIO_FACTS.md B1. The test vectors in `tests/vectors/` come from twilio-python itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// The header Twilio puts its signature in.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// Why a webhook failed signature validation. Messages are meant for a warning log and never
/// include the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Twilio-Signature header is missing")]
    Missing,
    #[error("X-Twilio-Signature does not match the request URL and parameters")]
    Mismatch,
    #[error("SHA-256 of the request body does not match the bodySHA256 URL parameter")]
    BodyHashMismatch,
    #[error("JSON webhook URL has no bodySHA256 query parameter")]
    MissingBodyHash,
    #[error("webhook URL is malformed: {0}")]
    MalformedUrl(String),
}

/// `params` as borrowed pairs sorted the way Twilio's SDKs order them: keys sorted, and for a
/// repeated key its distinct values sorted. Sorting `(key, value)` pairs and dropping duplicates
/// gives exactly that; `str` compares by UTF-8 bytes, which orders like Python's code points.
fn sorted_pairs<'a>(mut pairs: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// HMAC-SHA1 keyed with the auth token, before any input: cloned per URL variant, so the key's
/// two padding blocks are hashed once per request rather than once per variant.
fn keyed(auth_token: &str) -> HmacSha1 {
    HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts keys of any length")
}

/// The MAC over what Twilio signs: the URL, then each sorted parameter's key and value. Fed to
/// the MAC piece by piece, so the concatenated string is never built.
fn mac_over(keyed: &HmacSha1, url: &str, sorted: &[(&str, &str)]) -> HmacSha1 {
    let mut mac = keyed.clone();
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

fn borrowed(params: &[(String, String)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// base64(HMAC-SHA1(auth_token, url + sorted params)). Params sorted by key; a multi-valued key:
/// dedupe and sort its values, append key+value for each (exactly as twilio-python/twilio-node do).
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mac = mac_over(&keyed(auth_token), url, &sorted_pairs(borrowed(params)));
    BASE64.encode(mac.finalize().into_bytes())
}

/// Signs a request the way Twilio would (for the sandbox and the simulator): returns the
/// `X-Twilio-Signature` header value for `url` exactly as given.
pub fn sign_form(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    compute_signature(auth_token, url, params)
}

/// Form POST (or GET with `params = &[]`): constant-time compare against every URL variant
/// Twilio's SDKs accept: as given, with the default port added (`:443` for https, `:80` for http)
/// when missing, with the default port removed when present, and twilio-node's re-encoded
/// query-string variant of each (Twilio signs the URL as configured, while the request line the
/// server sees may carry `'` as `%27`).
///
/// Unlike both SDKs, a non-default port (say `:8443`) is never stripped: Twilio's inconsistency
/// is about default ports only, and a different port is a different endpoint.
pub fn validate(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    validate_pairs(auth_token, url, borrowed(params), signature)
}

/// [`validate`] over borrowed pairs, in any order (they are sorted here, in place): for a caller
/// that holds its parameters in a buffer of its own and would otherwise copy each into a `String`.
pub fn validate_pairs(
    auth_token: &str,
    url: &str,
    params: Vec<(&str, &str)>,
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let candidates = url_variants(url)?;
    // A header that is not base64 of 20 bytes cannot match; still answer Mismatch, not a
    // different error, so a probe learns nothing about why.
    let Ok(decoded) = BASE64.decode(signature) else {
        return Err(SignatureError::Mismatch);
    };
    let sorted = sorted_pairs(params);
    let keyed = keyed(auth_token);
    // Every candidate is checked (no short-circuit) so timing does not reveal which matched.
    let mut matched = false;
    for candidate in &candidates {
        let ok = mac_over(&keyed, candidate, &sorted)
            .verify_slice(&decoded)
            .is_ok();
        matched |= ok;
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// JSON-bodied webhook: `url` carries `bodySHA256=<hex>`; sign the URL with no params (same URL
/// variants as [`validate`]), then check SHA-256 hex of `body` equals `bodySHA256` (constant time).
pub fn validate_with_body(
    auth_token: &str,
    url: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    if signature.is_none() {
        return Err(SignatureError::Missing);
    }
    let claimed = query_param(url, "bodySHA256").ok_or(SignatureError::MissingBodyHash)?;
    // The URL (and so bodySHA256) is authenticated first; only then is the body compared to it.
    validate(auth_token, url, &[], signature)?;
    let actual = Sha256::digest(body);
    let Ok(claimed) = hex::decode(claimed.trim()) else {
        return Err(SignatureError::BodyHashMismatch);
    };
    if claimed.len() == actual.len() && bool::from(claimed.as_slice().ct_eq(actual.as_slice())) {
        Ok(())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

/// SHA-256 hex of a JSON body, as Twilio puts it in `bodySHA256` (twilio-python `compute_hash`).
pub fn body_sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// First value of query parameter `name` in `url`, percent-decoded (`+` as space).
fn query_param(url: &str, name: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (_, query) = without_fragment.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A URL split where Twilio's port inconsistency lives. Splitting the raw text (rather than
/// re-serialising a parsed URL) keeps the "as given" spelling byte for byte.
struct Authority<'a> {
    /// `scheme://` plus any `userinfo@`.
    prefix: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    /// Path, query and fragment.
    rest: &'a str,
    default_port: &'static str,
}

fn split_authority(url: &str) -> Result<Authority<'_>, SignatureError> {
    let malformed = |why: &str| SignatureError::MalformedUrl(format!("{why}: {url:?}"));
    let (scheme, after) = url
        .split_once("://")
        .ok_or_else(|| malformed("no scheme"))?;
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else if scheme.eq_ignore_ascii_case("http") {
        "80"
    } else {
        return Err(malformed("scheme is not http or https"));
    };
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(authority_end);
    let hostport_start = authority.rfind('@').map_or(0, |i| i + 1);
    let hostport = &authority[hostport_start..];
    // An IPv6 literal has colons of its own; its port can only follow the closing bracket.
    let port_colon = if hostport.starts_with('[') {
        let close = hostport
            .find(']')
            .ok_or_else(|| malformed("unclosed IPv6 literal"))?;
        hostport[close..].find(':').map(|i| close + i)
    } else {
        hostport.rfind(':')
    };
    let (host, port) = match port_colon {
        Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
        None => (hostport, None),
    };
    if host.is_empty() {
        return Err(malformed("no host"));
    }
    if let Some(p) = port
        && !p.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed("port is not a number"));
    }
    let prefix_len = scheme.len() + 3 + hostport_start;
    Ok(Authority {
        prefix: &url[..prefix_len],
        host,
        // `host:` with nothing after it means the default port, as in WHATWG parsing.
        port: port.filter(|p| !p.is_empty()),
        rest,
        default_port,
    })
}

/// `url` itself plus its default-port twin: port added when absent, removed when it is the default.
fn port_variants(url: &str) -> Result<Vec<String>, SignatureError> {
    let a = split_authority(url)?;
    let twin = match a.port {
        None => Some(format!(
            "{}{}:{}{}",
            a.prefix, a.host, a.default_port, a.rest
        )),
        Some(p) if p.trim_start_matches('0') == a.default_port => {
            Some(format!("{}{}{}", a.prefix, a.host, a.rest))
        }
        Some(_) => None,
    };
    Ok(std::iter::once(url.to_owned()).chain(twin).collect())
}

/// Every spelling of `url` Twilio may have signed, without duplicates, the given one first.
fn url_variants(url: &str) -> Result<Vec<String>, SignatureError> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    for base in port_variants(url)? {
        let legacy = legacy_querystring(&base);
        for v in std::iter::once(base).chain(legacy) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

/// twilio-node's `withLegacyQuerystring`: the query parsed and re-serialised with Node's
/// `querystring` module, which leaves `'` (and `!*()~`) unescaped where WHATWG escapes `'`.
/// Repeated keys are grouped at their first position, as `querystring.parse` builds an object.
fn legacy_querystring(url: &str) -> Option<String> {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = before_fragment.split_once('?')?;
    if query.is_empty() {
        return None;
    }
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let (k, v) = (node_unescape(k), node_unescape(v));
        match grouped.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) => values.push(v),
            None => grouped.push((k, vec![v])),
        }
    }
    let mut out = String::with_capacity(url.len() + 16);
    out.push_str(base);
    out.push('?');
    let mut first = true;
    for (k, values) in &grouped {
        for v in values {
            if !first {
                out.push('&');
            }
            first = false;
            node_escape_into(&mut out, k);
            out.push('=');
            node_escape_into(&mut out, v);
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// Node's `querystring.unescape` (see [`form_unescape_into`]), invalid UTF-8 replaced.
fn node_unescape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    form_unescape_into(s.as_bytes(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends `raw` decoded as a form-encoded key or value to `out`: `+` is a space, `%XX` the byte
/// XX, a `%` without two hex digits stays as it is. Node's `querystring.unescape` and the
/// `application/x-www-form-urlencoded` parser both decode this way; the webhook extractor uses it
/// too, so a signature and the parameters it covers are read alike.
pub fn form_unescape_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex_val(raw.get(i + 1)), hex_val(raw.get(i + 2))) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
}

/// The value of a hex digit.
fn hex_val(digit: Option<&u8>) -> Option<u8> {
    (*digit? as char).to_digit(16).map(|d| d as u8)
}

/// Node's `querystring.escape`: everything but `A-Za-z0-9-_.!~*'()` is percent-encoded as UTF-8.
fn node_escape_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn payload_sorts_keys_and_dedupes_sorted_values() {
        let params = p(&[
            ("b", "2"),
            ("StatusCallbackEvent", "ringing"),
            ("a", "1"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "ringing"),
        ]);
        let sorted = sorted_pairs(borrowed(&params));
        assert_eq!(
            sorted,
            [
                ("StatusCallbackEvent", "answered"),
                ("StatusCallbackEvent", "ringing"),
                ("a", "1"),
                ("b", "2"),
            ]
        );
        // Fed piece by piece, the MAC is the one over the concatenated payload.
        let mut whole = keyed("token");
        whole.update(b"https://x/yStatusCallbackEventansweredStatusCallbackEventringinga1b2");
        assert_eq!(
            mac_over(&keyed("token"), "https://x/y", &sorted)
                .finalize()
                .into_bytes(),
            whole.finalize().into_bytes()
        );
    }

    #[test]
    fn port_variants_add_and_remove_only_default_ports() {
        assert_eq!(
            port_variants("https://u:pw@h.example/p?q=1").unwrap(),
            [
                "https://u:pw@h.example/p?q=1",
                "https://u:pw@h.example:443/p?q=1"
            ]
        );
        assert_eq!(
            port_variants("http://h.example:80").unwrap(),
            ["http://h.example:80", "http://h.example"]
        );
        assert_eq!(
            port_variants("https://h.example:8443/p").unwrap(),
            ["https://h.example:8443/p"]
        );
        assert_eq!(
            port_variants("http://[::1]/p").unwrap(),
            ["http://[::1]/p", "http://[::1]:80/p"]
        );
    }

    #[test]
    fn malformed_urls_are_reported() {
        for bad in ["ftp://h/p", "no-scheme", "https:///p", "https://h:port/p"] {
            assert!(
                matches!(url_variants(bad), Err(SignatureError::MalformedUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn legacy_querystring_reencodes_like_node() {
        assert_eq!(
            legacy_querystring("https://h/p?name=O%27Brien&n=a+b&a=1&n=c%20d&pct=100%").unwrap(),
            "https://h/p?name=O'Brien&n=a%20b&n=c%20d&a=1&pct=100%25"
        );
        assert_eq!(legacy_querystring("https://h/p?"), None);
        assert_eq!(legacy_querystring("https://h/p"), None);
    }
}
