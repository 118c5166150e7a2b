//! Messaging TwiML: the reply to an inbound SMS/MMS webhook.

use super::{El, HttpMethod, Redirect, render_document, setters};

/// The root of a messaging TwiML document. Empty (`<Response/>`) sends no reply, which is the
/// right answer after Twilio has already handled STOP/START/HELP itself.
#[derive(Debug, Clone, Default)]
pub struct MessagingResponse {
    verbs: Vec<El>,
}

impl MessagingResponse {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.verbs.is_empty()
    }

    #[must_use]
    pub fn message(mut self, message: impl Into<Message>) -> Self {
        self.verbs.push(message.into().to_el());
        self
    }

    #[must_use]
    pub fn redirect(mut self, redirect: impl Into<Redirect>) -> Self {
        self.verbs.push(redirect.into().to_el());
        self
    }

    /// The document: `<?xml version="1.0" encoding="UTF-8"?><Response>…</Response>`.
    pub fn to_xml(&self) -> String {
        render_document(self.verbs.iter().cloned())
    }
}

impl std::fmt::Display for MessagingResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_xml())
    }
}

/// `<Message>`: a reply (by default to the sender, from the number texted).
#[derive(Debug, Clone)]
pub struct Message {
    body: String,
    media: Vec<String>,
    to: Option<String>,
    from: Option<String>,
    action: Option<String>,
    method: Option<HttpMethod>,
    status_callback: Option<String>,
}

impl Message {
    pub fn new(body: impl Into<String>) -> Self {
        Message {
            body: body.into(),
            media: Vec::new(),
            to: None,
            from: None,
            action: None,
            method: None,
            status_callback: None,
        }
    }

    setters! {
        to: String,
        from: String,
        action: String,
        method: HttpMethod,
        status_callback: String,
    }

    /// Attaches a `<Media>` URL (MMS).
    #[must_use]
    pub fn media(mut self, url: impl Into<String>) -> Self {
        self.media.push(url.into());
        self
    }

    fn to_el(&self) -> El {
        let el = El::new("Message")
            .attr("to", self.to.as_ref())
            .attr("from", self.from.as_ref())
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .attr("statusCallback", self.status_callback.as_ref());
        // Plain text is the common form; with media, Twilio needs <Body> and <Media> children
        // because an element cannot mix text and child elements meaningfully.
        if self.media.is_empty() {
            return el.text(self.body.clone());
        }
        let body = (!self.body.is_empty()).then(|| El::new("Body").text(self.body.clone()));
        el.children(body)
            .children(self.media.iter().map(|m| El::new("Media").text(m.clone())))
    }
}

impl From<&str> for Message {
    fn from(body: &str) -> Self {
        Message::new(body)
    }
}

impl From<String> for Message {
    fn from(body: String) -> Self {
        Message::new(body)
    }
}
