//! [`TwilioClient`]: the HTTP side of the Api v2010 client (auth, URLs, sending, decoding).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::de;
use super::error::{TwilioError, excerpt};
use super::params::{
    AvailableNumberSearch, BuyNumber, CreateCall, ListMessages, MediaFormat, NumberConfig,
    NumberKind, SendMessage,
};
use super::types::{
    AvailablePhoneNumber, Call, IncomingPhoneNumber, Message, MessagePage, Recording,
};

const API_VERSION: &str = "2010-04-01";
const TWILIO_API_HOST: &str = "api.twilio.com";
const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));
/// Twilio's largest `PageSize`: fewest round trips when reading a whole list.
const MAX_PAGE_SIZE: u32 = 1000;
/// A bound on pages followed in one call, so a server that keeps answering with a next page cannot
/// keep us busy forever (1000 pages of 1000 numbers is far beyond any Switchboard deployment).
const MAX_PAGES: usize = 1000;

/// How the client authenticates (HTTP Basic). The account SID is always in the path, whichever
/// credential is used.
#[derive(Clone, PartialEq, Eq)]
pub enum TwilioAuth {
    /// `AccountSid:AuthToken`.
    AuthToken(String),
    /// `KeySid:KeySecret` of an API key (`SK…`), which can be revoked without rotating the token.
    ApiKey { sid: String, secret: String },
}

impl fmt::Debug for TwilioAuth {
    // Secrets must not reach logs through a `{:?}` of a config struct.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TwilioAuth::AuthToken(_) => f.write_str("AuthToken(<redacted>)"),
            TwilioAuth::ApiKey { sid, .. } => f
                .debug_struct("ApiKey")
                .field("sid", sid)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

impl TwilioAuth {
    fn basic<'a>(&'a self, account_sid: &'a str) -> (&'a str, &'a str) {
        match self {
            TwilioAuth::AuthToken(token) => (account_sid, token),
            TwilioAuth::ApiKey { sid, secret } => (sid, secret),
        }
    }
}

/// Everything [`TwilioClient::new`] needs. Start from [`TwilioClientConfig::new`] for the defaults.
#[derive(Debug, Clone)]
pub struct TwilioClientConfig {
    /// `AC…`: the account whose resources the client reads and changes.
    pub account_sid: String,
    pub auth: TwilioAuth,
    /// `https://api.twilio.com` in production; the sandbox serves the same paths under its own base
    /// (a path prefix is kept: `http://127.0.0.1:4010/twilio` → `/twilio/2010-04-01/…`).
    pub base_url: Url,
    /// Limit for each call, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// Limit for establishing the connection (TCP and TLS).
    pub connect_timeout: Duration,
}

impl TwilioClientConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Production defaults: Twilio's API host, 15 s per call, 5 s to connect.
    pub fn new(account_sid: impl Into<String>, auth: TwilioAuth) -> Self {
        TwilioClientConfig {
            account_sid: account_sid.into(),
            auth,
            base_url: Self::default_base_url(),
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// `https://api.twilio.com`.
    pub fn default_base_url() -> Url {
        Url::parse("https://api.twilio.com").expect("constant URL parses")
    }
}

/// An async client for the Api v2010 operations Switchboard uses.
///
/// Cheap to clone (the connection pool is shared). It makes exactly one HTTP request per call and
/// never retries: the caller's durable job queue decides, using [`TwilioError::is_retryable`],
/// [`TwilioError::may_have_been_processed`] and [`TwilioError::retry_after`].
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    account_sid: String,
    auth: TwilioAuth,
    base_url: Url,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("account_sid", &self.account_sid)
            .field("auth", &self.auth)
            .field("base_url", &self.base_url.as_str())
            .finish()
    }
}

impl TwilioClient {
    pub fn new(config: TwilioClientConfig) -> Result<Self, TwilioError> {
        // The SID goes into every path; only Twilio's alphabet keeps it one segment.
        let sid = &config.account_sid;
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(TwilioError::Config(
                "account SID must be non-empty and alphanumeric".into(),
            ));
        }
        let base = &config.base_url;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(TwilioError::Config(format!(
                "base URL must be an http(s) URL, got {base}"
            )));
        }
        let http = crate::tls::client_builder()
            .map_err(TwilioError::Config)?
            .user_agent(USER_AGENT)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TwilioError::Config(e.to_string()))?;
        let mut base_url = config.base_url;
        base_url.set_query(None);
        base_url.set_fragment(None);
        Ok(TwilioClient {
            http,
            account_sid: config.account_sid,
            auth: config.auth,
            base_url,
        })
    }

    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `POST Messages.json`. Fails with [`TwilioError::InvalidRequest`], without a request, when
    /// there is no sender (From / MessagingServiceSid) or no content (Body / MediaUrl / ContentSid).
    pub async fn send_message(&self, message: &SendMessage) -> Result<Message, TwilioError> {
        let form = message.to_form()?;
        let url = self.account_url(&["Messages.json"])?;
        self.json(self.authed(Method::POST, url).form(&form)).await
    }

    /// `GET Messages/{Sid}.json`.
    pub async fn fetch_message(&self, sid: &str) -> Result<Message, TwilioError> {
        let url = self.account_url(&["Messages", &json_name(sid)])?;
        self.json(self.authed(Method::GET, url)).await
    }

    /// `GET Messages.json`: the first page of messages matching `filter`, newest first.
    pub async fn list_messages(&self, filter: &ListMessages) -> Result<MessagePage, TwilioError> {
        let url = self.account_url(&["Messages.json"])?;
        self.json(self.authed(Method::GET, url).query(&filter.to_query()))
            .await
    }

    /// The page after `page`, or `None` when `page` is the last one.
    pub async fn next_message_page(
        &self,
        page: &MessagePage,
    ) -> Result<Option<MessagePage>, TwilioError> {
        match page.next_page_uri.as_deref().filter(|u| !u.is_empty()) {
            None => Ok(None),
            Some(uri) => {
                let url = self.resolve_uri(uri)?;
                self.json(self.authed(Method::GET, url)).await.map(Some)
            }
        }
    }

    /// `POST Calls.json`. Fails with [`TwilioError::InvalidRequest`], without a request, unless
    /// exactly one of `url` and `twiml` is set, `twiml` fits Twilio's 4000 characters, and each
    /// callback event is its own list entry.
    pub async fn create_call(&self, call: &CreateCall) -> Result<Call, TwilioError> {
        let form = call.to_form()?;
        let url = self.account_url(&["Calls.json"])?;
        self.json(self.authed(Method::POST, url).form(&form)).await
    }

    /// `GET Calls/{Sid}.json`.
    pub async fn fetch_call(&self, sid: &str) -> Result<Call, TwilioError> {
        let url = self.account_url(&["Calls", &json_name(sid)])?;
        self.json(self.authed(Method::GET, url)).await
    }

    /// `GET AvailablePhoneNumbers/{CountryCode}/{Local|TollFree|Mobile}.json`. `country` is an ISO
    /// 3166 alpha-2 code (`US`). Twilio answers 404 for a kind it does not sell in that country.
    pub async fn search_available_numbers(
        &self,
        country: &str,
        kind: NumberKind,
        search: &AvailableNumberSearch,
    ) -> Result<Vec<AvailablePhoneNumber>, TwilioError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default, deserialize_with = "de::null_as_default")]
            available_phone_numbers: Vec<AvailablePhoneNumber>,
        }
        let country = country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(TwilioError::InvalidRequest(format!(
                "country must be a two-letter ISO code, got {country:?}"
            )));
        }
        let list = format!("{}.json", kind.path_segment());
        let url = self.account_url(&["AvailablePhoneNumbers", &country, &list])?;
        let page: Page = self
            .json(self.authed(Method::GET, url).query(&search.to_query()))
            .await?;
        Ok(page.available_phone_numbers)
    }

    /// `POST IncomingPhoneNumbers.json`: buys a number and applies `config` to it.
    pub async fn buy_number(&self, buy: &BuyNumber) -> Result<IncomingPhoneNumber, TwilioError> {
        let form = buy.to_form()?;
        let url = self.account_url(&["IncomingPhoneNumbers.json"])?;
        self.json(self.authed(Method::POST, url).form(&form)).await
    }

    /// `POST IncomingPhoneNumbers/{Sid}.json`: changes the set fields of `config`, leaves the rest.
    pub async fn update_number(
        &self,
        sid: &str,
        config: &NumberConfig,
    ) -> Result<IncomingPhoneNumber, TwilioError> {
        let url = self.account_url(&["IncomingPhoneNumbers", &json_name(sid)])?;
        let form = config.to_form();
        self.json(self.authed(Method::POST, url).form(&form)).await
    }

    /// `DELETE IncomingPhoneNumbers/{Sid}.json`: gives the number back to Twilio (answers 204).
    pub async fn release_number(&self, sid: &str) -> Result<(), TwilioError> {
        let url = self.account_url(&["IncomingPhoneNumbers", &json_name(sid)])?;
        self.execute(self.authed(Method::DELETE, url)).await?;
        Ok(())
    }

    /// `GET IncomingPhoneNumbers.json`, every page: the account's numbers, or only the one equal to
    /// `phone_number` (the way to find a number's SID).
    pub async fn list_incoming_numbers(
        &self,
        phone_number: Option<&str>,
    ) -> Result<Vec<IncomingPhoneNumber>, TwilioError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default, deserialize_with = "de::null_as_default")]
            incoming_phone_numbers: Vec<IncomingPhoneNumber>,
            #[serde(default)]
            next_page_uri: Option<String>,
        }
        let mut url = self.account_url(&["IncomingPhoneNumbers.json"])?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(number) = phone_number {
                query.append_pair("PhoneNumber", number);
            }
            query.append_pair("PageSize", &MAX_PAGE_SIZE.to_string());
        }
        let mut numbers = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page = self.json(self.authed(Method::GET, url.clone())).await?;
            numbers.extend(page.incoming_phone_numbers);
            let next = match page.next_page_uri.as_deref().filter(|u| !u.is_empty()) {
                None => return Ok(numbers),
                Some(uri) => self.resolve_uri(uri)?,
            };
            if next == url {
                return Err(TwilioError::Decode {
                    status: 200,
                    body_excerpt: format!("next_page_uri repeats the current page: {next}"),
                });
            }
            url = next;
        }
        Err(TwilioError::Decode {
            status: 200,
            body_excerpt: format!("more than {MAX_PAGES} pages of incoming phone numbers"),
        })
    }

    /// `GET Recordings/{Sid}.json`: the recording's metadata.
    pub async fn fetch_recording(&self, sid: &str) -> Result<Recording, TwilioError> {
        let url = self.account_url(&["Recordings", &json_name(sid)])?;
        self.json(self.authed(Method::GET, url)).await
    }

    /// `GET Recordings/{Sid}.wav|.mp3`: the audio and its content type.
    ///
    /// Twilio can answer 404 for a short while after the recording webhook; that error is not
    /// [`retryable`](TwilioError::is_retryable) in general, so a caller fetching right after the
    /// webhook should retry 404s here with backoff for a bounded time.
    pub async fn fetch_recording_media(
        &self,
        sid: &str,
        format: MediaFormat,
    ) -> Result<(String, Bytes), TwilioError> {
        let name = format!("{sid}.{}", format.extension());
        let url = self.account_url(&["Recordings", &name])?;
        let (_, headers, body) = self.execute(self.authed(Method::GET, url)).await?;
        let fallback = match format {
            MediaFormat::Wav => "audio/x-wav",
            MediaFormat::Mp3 => "audio/mpeg",
        };
        Ok((content_type(&headers, fallback), body))
    }

    /// `GET` a full media URL as Twilio hands it out (a webhook's `RecordingUrl`, a recording's
    /// `media_url`), returning the content type and bytes.
    ///
    /// Credentials are attached only for the configured base URL's origin and for
    /// `https://api.twilio.com` (an `http://api.twilio.com` URL is upgraded to HTTPS first). The URL
    /// comes from a request body; sending the Auth Token to whatever host it names would give the
    /// account away to anyone who gets a URL into one, and sending it over plain HTTP would expose it
    /// on the wire. Other hosts are fetched without credentials, which works for accounts that do not
    /// enforce HTTP auth on media.
    pub async fn download_media_url(&self, url: &str) -> Result<(String, Bytes), TwilioError> {
        let mut url = Url::parse(url)
            .map_err(|e| TwilioError::InvalidRequest(format!("media URL is not a URL: {e}")))?;
        if url.scheme() == "http" && url.host_str() == Some(TWILIO_API_HOST) && url.port().is_none()
        {
            // Twilio's own payloads still say http://; the upgrade keeps the password off the wire.
            url.set_scheme("https")
                .map_err(|()| TwilioError::InvalidRequest("cannot upgrade media URL".into()))?;
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TwilioError::InvalidRequest(format!(
                "media URL must be http(s), got {}",
                url.scheme()
            )));
        }
        let request = if self.may_send_credentials(&url) {
            self.authed(Method::GET, url)
        } else {
            self.http.get(url)
        };
        // Redirects (media may be served from a storage host) are followed; reqwest drops the
        // Authorization header when a redirect changes host, port or scheme.
        let (_, headers, body) = self.execute(request).await?;
        Ok((content_type(&headers, "application/octet-stream"), body))
    }

    fn may_send_credentials(&self, url: &Url) -> bool {
        // Same origin, not merely same host: another port on the sandbox's host is another service,
        // and http vs https decides whether the password travels in the clear.
        url.origin() == self.base_url.origin()
            || (url.scheme() == "https"
                && url.host_str() == Some(TWILIO_API_HOST)
                && url.port().is_none())
    }

    /// `{base}/2010-04-01/Accounts/{AccountSid}/{tail…}`, each tail part one percent-encoded
    /// segment, so a SID containing `/` or `?` cannot reach another resource.
    fn account_url(&self, tail: &[&str]) -> Result<Url, TwilioError> {
        let mut url = self.base_url.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| TwilioError::Config("base URL cannot carry a path".into()))?;
            segments
                .pop_if_empty()
                .extend([API_VERSION, "Accounts", self.account_sid.as_str()])
                .extend(tail);
        }
        Ok(url)
    }

    /// Turns a `*_page_uri` from a list answer (`/2010-04-01/Accounts/…?Page=1&PageToken=…`) into a
    /// URL under the configured base, keeping any base path prefix. An absolute URI must stay on the
    /// base origin, since the request carries credentials.
    fn resolve_uri(&self, uri: &str) -> Result<Url, TwilioError> {
        match Url::parse(uri) {
            Ok(absolute) if absolute.origin() == self.base_url.origin() => Ok(absolute),
            Ok(absolute) => Err(TwilioError::InvalidRequest(format!(
                "page URI {absolute} is outside the configured base URL"
            ))),
            Err(url::ParseError::RelativeUrlWithoutBase) if uri.starts_with('/') => {
                let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
                let mut url = self.base_url.clone();
                let prefix = url.path().trim_end_matches('/').to_string();
                url.set_path(&format!("{prefix}{path}"));
                url.set_query(Some(query).filter(|q| !q.is_empty()));
                Ok(url)
            }
            Err(_) => Err(TwilioError::InvalidRequest(format!(
                "page URI {uri:?} is neither a path nor a URL"
            ))),
        }
    }

    fn authed(&self, method: Method, url: Url) -> RequestBuilder {
        let (user, password) = self.auth.basic(&self.account_sid);
        self.http
            .request(method, url)
            .basic_auth(user, Some(password))
    }

    async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, TwilioError> {
        let request = request.header(ACCEPT, "application/json");
        let (status, _, body) = self.execute(request).await?;
        serde_json::from_slice(&body).map_err(|e| {
            tracing::warn!(status = status.as_u16(), error = %e, "undecodable Twilio response");
            TwilioError::Decode {
                status: status.as_u16(),
                body_excerpt: excerpt(&body),
            }
        })
    }

    /// Sends one request and reads the whole body; non-2xx answers become [`TwilioError::Api`].
    async fn execute(
        &self,
        request: RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, Bytes), TwilioError> {
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        tracing::debug!(
            status = status.as_u16(),
            path = response.url().path(),
            "twilio response"
        );
        let body = match response.bytes().await {
            Ok(body) => body,
            // Twilio said yes but the body got lost: the side effect happened, so this must not look
            // like a retryable network failure.
            Err(e) if status.is_success() => {
                return Err(TwilioError::Decode {
                    status: status.as_u16(),
                    body_excerpt: format!("body could not be read: {}", error_chain(&e)),
                });
            }
            // The status alone classifies an error answer.
            Err(_) => Bytes::new(),
        };
        if !status.is_success() {
            return Err(TwilioError::from_response(status.as_u16(), &headers, &body));
        }
        Ok((status, headers, body))
    }
}

/// `{sid}.json` as one path segment.
fn json_name(sid: &str) -> String {
    format!("{sid}.json")
}

fn content_type(headers: &HeaderMap, fallback: &str) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// Classifies a failure to get an answer. A connect-phase timeout is a [`TwilioError::Connect`]:
/// the request never left, which matters for [`TwilioError::may_have_been_processed`].
fn transport_error(err: reqwest::Error) -> TwilioError {
    let (builder, connect, timeout) = (err.is_builder(), err.is_connect(), err.is_timeout());
    // Without the URL: list filters carry phone numbers, which do not belong in error strings.
    let detail = error_chain(&err.without_url());
    if builder {
        TwilioError::InvalidRequest(detail)
    } else if connect {
        TwilioError::Connect(detail)
    } else if timeout {
        TwilioError::Timeout
    } else {
        TwilioError::Transport(detail)
    }
}

/// The error and its sources, `outer: inner: root`, skipping repeats.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> TwilioClient {
        let mut config =
            TwilioClientConfig::new("ACabc", TwilioAuth::AuthToken("secret-token".into()));
        config.base_url = Url::parse(base).unwrap();
        TwilioClient::new(config).unwrap()
    }

    #[test]
    fn credentials_go_only_to_the_base_origin_and_twilio_over_https() {
        let c = client("http://127.0.0.1:4010/twilio");
        let allowed = |u: &str| c.may_send_credentials(&Url::parse(u).unwrap());
        assert!(allowed(
            "http://127.0.0.1:4010/twilio/2010-04-01/Accounts/ACabc/Recordings/RE1"
        ));
        assert!(allowed(
            "https://api.twilio.com/2010-04-01/Accounts/ACabc/Recordings/RE1"
        ));
        assert!(!allowed(
            "http://api.twilio.com/2010-04-01/Accounts/ACabc/Recordings/RE1"
        ));
        assert!(!allowed("https://api.twilio.com:8443/x"));
        assert!(!allowed("http://127.0.0.1:4011/twilio/x"));
        assert!(!allowed("https://127.0.0.1:4010/twilio/x"));
        assert!(!allowed("https://api.twilio.com.evil.example/x"));
        assert!(!allowed("https://evil.example/api.twilio.com/x"));
    }

    #[test]
    fn paths_keep_the_base_prefix_and_encode_sids_as_one_segment() {
        let c = client("http://127.0.0.1:4010/twilio/");
        let url = c
            .account_url(&["Messages", &json_name("SM1/../../x")])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4010/twilio/2010-04-01/Accounts/ACabc/Messages/SM1%2F..%2F..%2Fx.json"
        );
        let next = c
            .resolve_uri("/2010-04-01/Accounts/ACabc/Messages.json?Page=1&PageToken=PA1")
            .unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:4010/twilio/2010-04-01/Accounts/ACabc/Messages.json?Page=1&PageToken=PA1"
        );
        assert!(c.resolve_uri("https://evil.example/2010-04-01/x").is_err());
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = client("https://api.twilio.com");
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-token"), "{shown}");
        let key = TwilioAuth::ApiKey {
            sid: "SKabc".into(),
            secret: "key-secret".into(),
        };
        assert!(!format!("{key:?}").contains("key-secret"));
    }

    #[test]
    fn rejects_unusable_configuration() {
        let mut config = TwilioClientConfig::new("AC/../x", TwilioAuth::AuthToken("t".into()));
        assert!(matches!(
            TwilioClient::new(config.clone()),
            Err(TwilioError::Config(_))
        ));
        config.account_sid = "ACabc".into();
        config.base_url = Url::parse("mailto:ops@example.com").unwrap();
        assert!(matches!(
            TwilioClient::new(config),
            Err(TwilioError::Config(_))
        ));
    }
}
