//! Sending signed webhooks: URL resolution (public vs. real address) and request/response
//! handling with Twilio's limits.

use std::time::Duration;

use url::Url;

use super::Simulator;
use crate::signature::{SIGNATURE_HEADER, sign_form};
use crate::twiml::parse::{Node, parse_twiml};

/// Twilio gives up on a webhook after 15 s, connect included (TWILIO_FACTS B2).
pub(crate) const TWILIO_TIMEOUT: Duration = Duration::from_secs(15);
/// Twilio rejects TwiML over 64 kB (error 11750).
const MAX_TWIML_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

impl Method {
    /// A TwiML `method` attribute; Twilio defaults to POST and so does anything unrecognised.
    pub(crate) fn from_attr(attr: Option<&str>) -> Method {
        match attr {
            Some(m) if m.eq_ignore_ascii_case("GET") => Method::Get,
            _ => Method::Post,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// What came back from one request.
pub(crate) struct Reply {
    pub status: u16,
    /// The URL the request's `X-Twilio-Signature` covers.
    pub signed_url: String,
    pub content_type: Option<String>,
    pub body: String,
}

impl Simulator {
    /// The base URL the server believes it is reached at.
    pub(crate) fn public_base(&self) -> &Url {
        self.config
            .public_base_url
            .as_ref()
            .unwrap_or(&self.config.webhook_base_url)
    }

    /// `path` (with optional query) under the public base, keeping any path prefix the base has.
    pub(crate) fn public_url(&self, path: &str) -> Result<Url, String> {
        under(self.public_base(), path)
    }

    /// Resolves a TwiML URL against the document it appeared in, as Twilio does.
    pub(crate) fn resolve(&self, document: &Url, target: &str) -> Result<Url, String> {
        document
            .join(target.trim())
            .map_err(|e| format!("cannot resolve URL {target:?} against {document}: {e}"))
    }

    /// The real address for a public URL. A URL outside the public base is refused: the
    /// simulator only talks to the server under test.
    fn send_url(&self, public: &Url) -> Result<Url, String> {
        let base = self.public_base();
        let prefix = base.path().trim_end_matches('/');
        let within = public.origin() == base.origin()
            && (public.path() == prefix || public.path().starts_with(&format!("{prefix}/")));
        if !within {
            return Err(format!("refusing to follow {public}: outside {base}"));
        }
        let rest = &public.path()[prefix.len()..];
        let mut send = under(&self.config.webhook_base_url, rest)?;
        send.set_query(public.query());
        Ok(send)
    }

    /// Path and query of a public URL relative to the public base, for transcripts.
    pub(crate) fn display_path(&self, public: &Url) -> String {
        let prefix = self.public_base().path().trim_end_matches('/');
        let path = public.path().strip_prefix(prefix).unwrap_or(public.path());
        match public.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        }
    }

    /// Sends a signed webhook to the real address of `public`. For GET the parameters go in
    /// the query string and the signature covers that URL with no body parameters; for POST it
    /// covers the URL plus the form, as Twilio signs.
    pub(crate) async fn send_signed(
        &self,
        method: Method,
        public: &Url,
        params: &[(String, String)],
    ) -> Result<Reply, String> {
        let mut signed_url = public.clone();
        if method == Method::Get && !params.is_empty() {
            signed_url.query_pairs_mut().extend_pairs(params);
        }
        self.send_prepared(method, &signed_url, params).await
    }

    async fn send_prepared(
        &self,
        method: Method,
        signed_url: &Url,
        params: &[(String, String)],
    ) -> Result<Reply, String> {
        let target = self.send_url(signed_url)?;
        let body_params: &[(String, String)] = if method == Method::Post { params } else { &[] };
        let signature = sign_form(&self.config.auth_token, signed_url.as_str(), body_params);
        let request = match method {
            Method::Get => self.http.get(target),
            Method::Post => self.http.post(target).form(body_params),
        };
        let response = request
            .header(SIGNATURE_HEADER, signature)
            .header(reqwest::header::USER_AGENT, "TwilioProxy/1.1")
            // Constant across Twilio's retries of one webhook (B2); the simulator never retries.
            .header(
                "I-Twilio-Idempotency-Token",
                uuid::Uuid::new_v4().to_string(),
            )
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("11205 no response within 15 s from {signed_url}")
                } else {
                    format!("11200 request to {signed_url} failed: {e}")
                }
            })?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| format!("11200 reading the response from {signed_url} failed: {e}"))?;
        Ok(Reply {
            status,
            signed_url: signed_url.to_string(),
            content_type,
            body,
        })
    }
}

impl Reply {
    /// For a 403 (the answer to a signature the server did not accept): which URL was signed, so
    /// that a server that believes it is reached at another URL is easy to spot. Empty otherwise.
    pub(crate) fn refusal(&self) -> String {
        if self.status == 403 {
            format!(
                " (the signature covered {}; the server must see the same URL: \
                 its APP_URL, or the host and port it is reached at)",
                self.signed_url
            )
        } else {
            String::new()
        }
    }
}

/// Checks a reply carries TwiML the way Twilio insists (status, Content-Type, size, XML) and
/// parses it. The error strings start with the Twilio error code Twilio's debugger would show.
pub(crate) fn twiml_from(reply: &Reply) -> Result<Node, String> {
    if !(200..300).contains(&reply.status) {
        return Err(format!(
            "11200 HTTP {} from the server{}",
            reply.status,
            reply.refusal()
        ));
    }
    let xml_type = reply.content_type.as_deref().is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("text/xml") || essence.eq_ignore_ascii_case("application/xml")
    });
    if !xml_type {
        return Err(format!(
            "12300 invalid Content-Type {:?} (TwiML needs text/xml or application/xml)",
            reply.content_type.as_deref().unwrap_or("none")
        ));
    }
    if reply.body.len() > MAX_TWIML_BYTES {
        return Err(format!(
            "11750 TwiML response of {} bytes exceeds 64 kB",
            reply.body.len()
        ));
    }
    parse_twiml(&reply.body).map_err(|e| format!("12100 document parse failure: {e}"))
}

/// `path` (optionally with `?query`) appended to `base`'s path.
pub(crate) fn under(base: &Url, path: &str) -> Result<Url, String> {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_query(query);
    url.set_fragment(None);
    if url.cannot_be_a_base() {
        return Err(format!("{base} cannot carry a path"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::SimulatorConfig;

    fn sim(public: Option<&str>) -> Simulator {
        Simulator::new(SimulatorConfig {
            webhook_base_url: Url::parse("http://127.0.0.1:3000").unwrap(),
            public_base_url: public.map(|p| Url::parse(p).unwrap()),
            account_sid: "AC".into(),
            auth_token: "t".into(),
            sandbox_base_url: None,
        })
    }

    #[test]
    fn public_urls_map_to_the_real_server_keeping_prefixes() {
        let s = sim(Some("https://app.example.com/sb/"));
        let public = s.public_url("/api/webhooks/twilio/voice?x=1").unwrap();
        assert_eq!(
            public.as_str(),
            "https://app.example.com/sb/api/webhooks/twilio/voice?x=1"
        );
        assert_eq!(
            s.send_url(&public).unwrap().as_str(),
            "http://127.0.0.1:3000/api/webhooks/twilio/voice?x=1"
        );
        assert_eq!(s.display_path(&public), "/api/webhooks/twilio/voice?x=1");
    }

    #[test]
    fn urls_outside_the_public_base_are_refused() {
        let s = sim(Some("https://app.example.com/sb"));
        for outside in [
            "https://evil.example.com/sb/x",
            "http://app.example.com/sb/x",
            "https://app.example.com/sbx",
        ] {
            assert!(
                s.send_url(&Url::parse(outside).unwrap()).is_err(),
                "{outside}"
            );
        }
    }

    #[test]
    fn relative_urls_resolve_against_the_document() {
        let s = sim(None);
        let doc = s.public_url("/api/webhooks/twilio/voice/menu").unwrap();
        assert_eq!(
            s.resolve(&doc, "next?step=2").unwrap().as_str(),
            "http://127.0.0.1:3000/api/webhooks/twilio/voice/next?step=2"
        );
        assert_eq!(
            s.resolve(&doc, "/other").unwrap().as_str(),
            "http://127.0.0.1:3000/other"
        );
    }

    #[test]
    fn twiml_checks_status_content_type_size_and_xml() {
        let ok = |ct: &str, body: &str| Reply {
            status: 200,
            signed_url: "http://127.0.0.1:3000/voice".into(),
            content_type: Some(ct.into()),
            body: body.into(),
        };
        assert!(twiml_from(&ok("text/xml; charset=utf-8", "<Response/>")).is_ok());
        assert!(twiml_from(&ok("application/xml", "<Response/>")).is_ok());
        let err = |r: Reply| twiml_from(&r).unwrap_err();
        assert!(err(ok("text/html", "<Response/>")).starts_with("12300"));
        assert!(err(ok("text/xml", "<Response>")).starts_with("12100"));
        assert!(err(ok("text/xml", &"x".repeat(MAX_TWIML_BYTES + 1))).starts_with("11750"));
        assert!(
            err(Reply {
                status: 500,
                signed_url: "http://127.0.0.1:3000/voice".into(),
                content_type: None,
                body: String::new()
            })
            .starts_with("11200")
        );
        let refused = err(Reply {
            status: 403,
            signed_url: "http://localhost:3000/api/webhooks/twilio/voice".into(),
            content_type: None,
            body: String::new(),
        });
        assert!(
            refused.starts_with("11200 HTTP 403")
                && refused
                    .contains("signature covered http://localhost:3000/api/webhooks/twilio/voice"),
            "{refused}"
        );
    }
}
