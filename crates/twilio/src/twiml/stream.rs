//! Media streams: `<Connect><Stream>` and `<Start><Stream>` with `<Parameter>`s.

use super::{El, HttpMethod, setters, twiml_enum};

twiml_enum! {
    /// `<Stream track>`.
    StreamTrack {
        InboundTrack => "inbound_track",
        OutboundTrack => "outbound_track",
        BothTracks => "both_tracks",
    }
}

/// `<Parameter>` inside `<Stream>`: a custom key/value passed to the stream's `start` message.
#[derive(Debug, Clone)]
pub struct Parameter {
    name: String,
    value: String,
}

impl Parameter {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Parameter {
            name: name.into(),
            value: value.into(),
        }
    }

    fn to_el(&self) -> El {
        El::new("Parameter")
            .attr("name", Some(&self.name))
            .attr("value", Some(&self.value))
    }
}

/// `<Stream>`: media streaming to a WebSocket, inside `<Connect>` or `<Start>`.
#[derive(Debug, Clone)]
pub struct Stream {
    url: String,
    name: Option<String>,
    track: Option<StreamTrack>,
    status_callback: Option<String>,
    status_callback_method: Option<HttpMethod>,
    parameters: Vec<Parameter>,
}

impl Stream {
    /// `url`: a `wss://` URL.
    pub fn new(url: impl Into<String>) -> Self {
        Stream {
            url: url.into(),
            name: None,
            track: None,
            status_callback: None,
            status_callback_method: None,
            parameters: Vec::new(),
        }
    }

    setters! {
        name: String,
        track: StreamTrack,
        status_callback: String,
        status_callback_method: HttpMethod,
    }

    /// A nested `<Parameter name value/>`.
    #[must_use]
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push(Parameter::new(name, value));
        self
    }

    fn to_el(&self) -> El {
        El::new("Stream")
            .attr("url", Some(&self.url))
            .attr("name", self.name.as_ref())
            .attr("track", self.track)
            .attr("statusCallback", self.status_callback.as_ref())
            .attr("statusCallbackMethod", self.status_callback_method)
            .children(self.parameters.iter().map(Parameter::to_el))
    }
}

/// `<Connect><Stream/></Connect>`: hands the call to a bidirectional stream.
#[derive(Debug, Clone)]
pub struct Connect {
    action: Option<String>,
    method: Option<HttpMethod>,
    stream: Stream,
}

impl Connect {
    pub fn stream(stream: Stream) -> Self {
        Connect {
            action: None,
            method: None,
            stream,
        }
    }

    setters! {
        /// `action`: TwiML to continue with when the stream ends.
        action: String,
        method: HttpMethod,
    }

    pub(super) fn to_el(&self) -> El {
        El::new("Connect")
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .child(self.stream.to_el())
    }
}

/// `<Start><Stream/></Start>`: forks the call's audio to a stream while the call goes on.
#[derive(Debug, Clone)]
pub struct Start {
    action: Option<String>,
    method: Option<HttpMethod>,
    stream: Stream,
}

impl Start {
    pub fn stream(stream: Stream) -> Self {
        Start {
            action: None,
            method: None,
            stream,
        }
    }

    setters! {
        action: String,
        method: HttpMethod,
    }

    pub(super) fn to_el(&self) -> El {
        El::new("Start")
            .attr("action", self.action.as_ref())
            .attr("method", self.method)
            .child(self.stream.to_el())
    }
}
