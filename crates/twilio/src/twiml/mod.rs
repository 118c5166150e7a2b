//! A typed TwiML builder with escaping by construction.
//!
//! Verbs and nouns are Rust types carrying only the attributes Twilio defines (taken from
//! twilio-node's `VoiceResponse` / `MessagingResponse`, TWILIO_FACTS.md B8), with enums where
//! Twilio has enumerations. There is deliberately no way to insert raw markup: every string a
//! caller supplies (a tenant's greeting, a URL) becomes escaped XML text or attribute value, and
//! characters XML 1.0 cannot carry at all (most C0 controls) are dropped rather than producing a
//! document Twilio would reject with error 12100.
//!
//! ```
//! use switchboard_twilio::twiml::{Gather, GatherInput, Say, VoiceResponse};
//! let twiml = VoiceResponse::new()
//!     .gather(Gather::new().input(GatherInput::Speech).action("/next").say("How can we help?"))
//!     .say(Say::new("Goodbye <3"))
//!     .to_xml();
//! assert!(twiml.ends_with("<Say>Goodbye &lt;3</Say></Response>"));
//! ```

mod dial;
mod messaging;
pub(crate) mod parse;
mod record;
mod stream;
pub mod untrusted;
mod voice;

pub use dial::{
    CallEvent, Client, Dial, DialRecord, MachineDetection, Number, RecordingTrack, Sip,
};
pub use messaging::{Message, MessagingResponse};
pub use record::{Record, RecordingEvent, Trim};
pub use stream::{Connect, Parameter, Start, Stream, StreamTrack};
pub use voice::{
    Gather, GatherInput, Pause, Play, Redirect, Reject, RejectReason, Say, SpeechTimeout,
    VoiceResponse,
};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The `Content-Type` Switchboard serves TwiML with; Twilio needs `text/xml` or `application/xml`
/// (error 12300 otherwise).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// HTTP method Twilio uses for an `action`, `url` or callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// One element of the output tree. Private: the typed verbs build these, so attribute names are
/// always `'static` strings written in this crate and every value goes through the escaper.
#[derive(Debug, Clone)]
pub(crate) struct El {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<El>,
}

impl El {
    pub(crate) fn new(name: &'static str) -> Self {
        El {
            name,
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    pub(crate) fn attr(mut self, name: &'static str, value: Option<impl AttrValue>) -> Self {
        if let Some(v) = value {
            self.attrs.push((name, v.attr_value()));
        }
        self
    }

    pub(crate) fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    pub(crate) fn child(mut self, child: El) -> Self {
        self.children.push(child);
        self
    }

    pub(crate) fn children(mut self, children: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(children);
        self
    }

    /// Appends the element as XML: attributes in the order given, each value escaped and
    /// double-quoted; an element with neither text nor children self-closed (`<Hangup/>`).
    /// Written straight into the document's string: through an XML writer each attribute and text
    /// was a string of its own, about 4 % of the HTTP threads under the webhook benchmark. The
    /// snapshot tests hold the output byte for byte.
    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            out.push_str("=\"");
            escape_into(out, value, true);
            out.push('"');
        }
        let text = self.text.as_deref().filter(|t| !t.is_empty());
        if text.is_none() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(t) = text {
            escape_into(out, t, false);
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(self.name);
        out.push('>');
    }
}

/// A whole TwiML document: the XML declaration and one `<Response>` holding `children`.
pub(crate) fn render_document(children: impl IntoIterator<Item = El>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    El::new("Response").children(children).write(&mut out);
    out
}

/// The `axum` response for a rendered document: 200 with Twilio's accepted content type.
pub(crate) fn xml_response(xml: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        xml,
    )
        .into_response()
}

/// Characters XML 1.0 allows in a document (production `Char`); `str` already excludes surrogates.
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// [`escape_into`] into a string of its own (the unit tests' view of the escaper).
#[cfg(test)]
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s, attribute);
    out
}

/// Appends `s` to `out` escaped for XML text (`attribute = false`) or a double-quoted attribute
/// value, dropping characters XML 1.0 does not allow. Attribute values also encode tab/CR/LF so
/// XML attribute-value normalisation cannot turn them into spaces; text encodes CR so line-ending
/// normalisation cannot drop it.
fn escape_into(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars().filter(|&c| xml_allowed(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            // `>` is escaped in text too, so a `]]>` in user text cannot end anything.
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

/// A value that can be written as a TwiML attribute.
pub(crate) trait AttrValue {
    fn attr_value(&self) -> String;
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    fn attr_value(&self) -> String {
        (**self).attr_value()
    }
}

impl AttrValue for String {
    fn attr_value(&self) -> String {
        self.clone()
    }
}

impl AttrValue for u32 {
    fn attr_value(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for bool {
    fn attr_value(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for HttpMethod {
    fn attr_value(&self) -> String {
        self.as_str().to_owned()
    }
}

/// Twilio writes list-valued attributes (`input`, `statusCallbackEvent`, …) space-separated.
impl<T: AttrValue> AttrValue for Vec<T> {
    fn attr_value(&self) -> String {
        self.iter()
            .map(AttrValue::attr_value)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Declares an enum whose variants are written as fixed Twilio strings.
macro_rules! twiml_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
        impl $name {
            /// The value as Twilio spells it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }
        impl $crate::twiml::AttrValue for $name {
            fn attr_value(&self) -> String { self.as_str().to_owned() }
        }
    };
}
pub(crate) use twiml_enum;

/// Declares chainable setters for `Option` fields: `fn name(self, v: impl Into<T>) -> Self`.
macro_rules! setters {
    ($($(#[$meta:meta])* $field:ident: $ty:ty),+ $(,)?) => {
        $(
            $(#[$meta])*
            #[must_use]
            pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )+
    };
}
pub(crate) use setters;

impl IntoResponse for VoiceResponse {
    fn into_response(self) -> Response {
        xml_response(self.to_xml())
    }
}

impl IntoResponse for MessagingResponse {
    fn into_response(self) -> Response {
        xml_response(self.to_xml())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_text_and_attributes() {
        assert_eq!(escape("a<b>&c]]>'\"", false), "a&lt;b&gt;&amp;c]]&gt;'\"");
        assert_eq!(
            escape("a<b>&c'\"\n\t", true),
            "a&lt;b&gt;&amp;c&apos;&quot;&#10;&#9;"
        );
    }

    #[test]
    fn characters_xml_cannot_carry_are_dropped() {
        assert_eq!(escape("a\u{0}b\u{1b}c\u{FFFE}d", false), "abcd");
        assert_eq!(escape("Café Zoë 💈", false), "Café Zoë 💈");
    }
}
