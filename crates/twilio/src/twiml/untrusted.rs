//! TwiML from someone other than the account holder: a tenant's own call script, or the document an
//! AI provider answers. All tenants share one Twilio account, so such a document must not be able to
//! act for anyone else: no `<Dial callerId="…">` with another tenant's number, no `<Redirect>` or
//! `action`/`url`/callback attribute that makes Twilio send a *signed* request to a URL of the
//! author's choosing (our own webhooks with a forged query string, for instance), no `<Record>`,
//! `<Gather>`, `<Message>` or `<Enqueue>` that reports to one.
//!
//! So a document is never passed through. It is parsed, every element and attribute is checked
//! against an allow-list, and a new document is written by the typed builder from what was read:
//! comments, processing instructions, entity tricks and unknown attributes cannot survive, because
//! nothing of the original text is copied except checked values.
//!
//! - [`Allowed::Speech`]: `Say` (`voice`, `language`, `loop`), `Play` of an `https` URL or DTMF
//!   `digits` (`loop`), `Pause` (`length`), `Hangup`.
//! - [`Allowed::MediaStream`]: the same, plus `<Connect><Stream url="wss://…" name="…">` with
//!   `<Parameter name value/>`s (what an AI voice agent answers); `Connect` takes no `action`, the
//!   stream no `statusCallback`.
//!
//! Media URLs must not point at `forbidden_hosts` (this deployment's own public hosts): Twilio
//! fetches them, and a fetch of our own webhook URL is exactly what must not be chosen by a tenant.

use url::Url;

use super::parse::{Node, parse_twiml};
use super::{Connect, Pause, Play, Say, Stream, VoiceResponse};

/// Which verbs a document may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Speech and silence only: `Say`, `Play`, `Pause`, `Hangup`.
    Speech,
    /// Speech, plus `<Connect><Stream>` to a `wss://` URL.
    MediaStream,
}

/// Longest `loop` accepted (Twilio's 0 = "until the call ends" is refused: a tenant's message
/// should not keep a line busy for hours).
const MAX_LOOP: u32 = 10;
/// Longest `<Pause length>`, in seconds.
const MAX_PAUSE_SECS: u32 = 60;
/// Most `<Parameter>`s on one stream.
const MAX_PARAMETERS: usize = 32;

/// Why a document was refused; the text is safe to show to whoever supplied it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

/// Checks `xml` against `allowed` and returns the document rewritten by the builder.
/// `forbidden_hosts` are host names media URLs may not name (compared case-insensitively).
pub fn sanitize(xml: &str, allowed: Allowed, forbidden_hosts: &[&str]) -> Result<String, Refused> {
    let root = parse_twiml(xml).map_err(|e| Refused(format!("not a TwiML document: {e}")))?;
    no_attributes(&root)?;
    if !root.text.is_empty() {
        return refuse("<Response> may contain only verbs, not text");
    }
    let mut out = VoiceResponse::new();
    for verb in &root.children {
        out = match verb.name.as_str() {
            "Say" => out.say(say(verb)?),
            "Play" => out.play(play(verb, forbidden_hosts)?),
            "Pause" => out.pause(pause(verb)?),
            "Hangup" => {
                no_attributes(verb)?;
                leaf(verb)?;
                out.hangup()
            }
            "Connect" if allowed == Allowed::MediaStream => {
                out.connect(connect(verb, forbidden_hosts)?)
            }
            other => {
                let list = match allowed {
                    Allowed::Speech => "Say, Play, Pause and Hangup",
                    Allowed::MediaStream => "Say, Play, Pause, Hangup and Connect/Stream",
                };
                return refuse(format!("<{other}> is not allowed (only {list})"));
            }
        };
    }
    if out.is_empty() {
        return refuse("the <Response> has no verbs");
    }
    Ok(out.to_xml())
}

fn no_attributes(node: &Node) -> Result<(), Refused> {
    only_attributes(node, &[])
}

fn only_attributes(node: &Node, allowed: &[&str]) -> Result<(), Refused> {
    match node
        .attrs
        .iter()
        .find(|(k, _)| !allowed.contains(&k.as_str()))
    {
        Some((k, _)) => refuse(format!("<{}> may not have the attribute {k}", node.name)),
        None => Ok(()),
    }
}

fn leaf(node: &Node) -> Result<(), Refused> {
    match node.children.first() {
        Some(c) => refuse(format!("<{}> may not contain <{}>", node.name, c.name)),
        None => Ok(()),
    }
}

fn number(node: &Node, attr: &str, max: u32) -> Result<Option<u32>, Refused> {
    let Some(v) = node.attr(attr) else {
        return Ok(None);
    };
    match v.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => refuse(format!(
            "<{} {attr}> must be a whole number from 1 to {max}",
            node.name
        )),
    }
}

/// A `voice` or `language` value: a short name of letters, digits, `.`, `-` and `_`.
fn name_like(node: &Node, attr: &str) -> Result<Option<String>, Refused> {
    match node.attr(attr) {
        None => Ok(None),
        Some(v)
            if !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)) =>
        {
            Ok(Some(v.to_string()))
        }
        Some(_) => refuse(format!("<{} {attr}> is not a valid name", node.name)),
    }
}

fn say(node: &Node) -> Result<Say, Refused> {
    only_attributes(node, &["voice", "language", "loop"])?;
    leaf(node)?;
    if node.text.is_empty() {
        return refuse("<Say> needs text");
    }
    let mut s = Say::new(node.text.clone());
    if let Some(v) = name_like(node, "voice")? {
        s = s.voice(v);
    }
    if let Some(l) = name_like(node, "language")? {
        s = s.language(l);
    }
    if let Some(n) = number(node, "loop", MAX_LOOP)? {
        s = s.loop_count(n);
    }
    Ok(s)
}

fn play(node: &Node, forbidden_hosts: &[&str]) -> Result<Play, Refused> {
    only_attributes(node, &["loop", "digits"])?;
    leaf(node)?;
    let mut p = match (node.text.as_str(), node.attr("digits")) {
        ("", Some(d))
            if !d.is_empty()
                && d.len() <= 64
                && d.chars().all(|c| c.is_ascii_digit() || "*#wW".contains(c)) =>
        {
            Play::dtmf(d)
        }
        ("", Some(_)) => return refuse("<Play digits> may contain only 0-9, *, # and w"),
        ("", None) => return refuse("<Play> needs an https URL or digits"),
        (url, None) => Play::new(checked_url(url, "https", "<Play>", forbidden_hosts)?),
        (_, Some(_)) => return refuse("<Play> takes a URL or digits, not both"),
    };
    if let Some(n) = number(node, "loop", MAX_LOOP)? {
        p = p.loop_count(n);
    }
    Ok(p)
}

fn pause(node: &Node) -> Result<Pause, Refused> {
    only_attributes(node, &["length"])?;
    leaf(node)?;
    if !node.text.is_empty() {
        return refuse("<Pause> takes no text");
    }
    Ok(match number(node, "length", MAX_PAUSE_SECS)? {
        Some(n) => Pause::seconds(n),
        None => Pause::new(),
    })
}

fn connect(node: &Node, forbidden_hosts: &[&str]) -> Result<Connect, Refused> {
    no_attributes(node)?;
    let [stream] = node.children.as_slice() else {
        return refuse("<Connect> must contain exactly one <Stream>");
    };
    if stream.name != "Stream" {
        return refuse(format!(
            "<Connect> may contain only <Stream>, not <{}>",
            stream.name
        ));
    }
    only_attributes(stream, &["url", "name"])?;
    let url = stream.attr("url").unwrap_or_default();
    let mut s = Stream::new(checked_url(url, "wss", "<Stream url>", forbidden_hosts)?);
    if let Some(n) = name_like(stream, "name")? {
        s = s.name(n);
    }
    if stream.children.len() > MAX_PARAMETERS {
        return refuse(format!(
            "<Stream> may carry at most {MAX_PARAMETERS} parameters"
        ));
    }
    for p in &stream.children {
        if p.name != "Parameter" {
            return refuse(format!(
                "<Stream> may contain only <Parameter>, not <{}>",
                p.name
            ));
        }
        only_attributes(p, &["name", "value"])?;
        leaf(p)?;
        let (Some(name), Some(value)) = (p.attr("name"), p.attr("value")) else {
            return refuse("<Parameter> needs a name and a value");
        };
        s = s.parameter(name, value);
    }
    Ok(Connect::stream(s))
}

/// An absolute URL of `scheme` with a host that is not one of ours and no credentials in it.
fn checked_url(
    raw: &str,
    scheme: &str,
    what: &str,
    forbidden_hosts: &[&str],
) -> Result<String, Refused> {
    let url = Url::parse(raw.trim())
        .ok()
        .filter(|u| u.scheme() == scheme && u.has_host());
    let Some(url) = url else {
        return refuse(format!("{what} must be an absolute {scheme}:// URL"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse(format!("{what} may not carry credentials"));
    }
    let host = url.host_str().unwrap_or_default();
    if forbidden_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return refuse(format!("{what} may not point at this service ({host})"));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &[&str] = &["switchboard.example"];

    fn speech(xml: &str) -> Result<String, Refused> {
        sanitize(xml, Allowed::Speech, OURS)
    }

    #[test]
    fn speech_documents_are_rewritten_by_the_builder() {
        let out = speech(
            r#"<?xml version="1.0"?><!-- hi --><Response>
                <Say voice="Polly.Joanna" language="en-US" loop="2">Hello &amp; welcome</Say>
                <Pause length="2"/><Play>https://cdn.example/a.mp3</Play><Play digits="1w2"/>
                <Hangup/></Response>"#,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Joanna" language="en-US" loop="2">Hello &amp; welcome</Say><Pause length="2"/><Play>https://cdn.example/a.mp3</Play><Play digits="1w2"/><Hangup/></Response>"#
        );
    }

    #[test]
    fn verbs_that_act_on_the_shared_account_are_refused() {
        for (xml, why) in [
            (
                r#"<Response><Dial callerId="+14155550100">+14155550199</Dial></Response>"#,
                "<Dial> is not allowed",
            ),
            (
                "<Response><Redirect>https://switchboard.example/api/webhooks/twilio/sms?Body=STOP</Redirect></Response>",
                "<Redirect> is not allowed",
            ),
            (
                r#"<Response><Record action="https://x.example"/></Response>"#,
                "<Record>",
            ),
            (
                r#"<Response><Gather action="/x"><Say>a</Say></Gather></Response>"#,
                "<Gather>",
            ),
            ("<Response><Message>hi</Message></Response>", "<Message>"),
            ("<Response><Enqueue>q</Enqueue></Response>", "<Enqueue>"),
            (
                "<Response><Connect><Stream url=\"wss://a.example\"/></Connect></Response>",
                "<Connect> is not allowed",
            ),
        ] {
            let err = speech(xml).unwrap_err().0;
            assert!(err.contains(why), "{xml}: {err}");
        }
    }

    #[test]
    fn unknown_attributes_text_and_nesting_are_refused() {
        for (xml, why) in [
            (
                r#"<Response><Say action="/x">a</Say></Response>"#,
                "attribute action",
            ),
            (
                r#"<Response><Hangup url="/x"/></Response>"#,
                "attribute url",
            ),
            (
                r#"<Response action="/x"><Hangup/></Response>"#,
                "attribute action",
            ),
            (
                "<Response><Say>a<break/>b</Say></Response>",
                "may not contain <break>",
            ),
            ("<Response>text<Hangup/></Response>", "not text"),
            (r#"<Response><Say loop="0">a</Say></Response>"#, "1 to 10"),
            (r#"<Response><Pause length="3600"/></Response>"#, "1 to 60"),
            (
                r#"<Response><Say voice="a&quot;b">x</Say></Response>"#,
                "not a valid name",
            ),
            ("<Response/>", "no verbs"),
            ("<Hangup/>", "not a TwiML document"),
            ("not xml", "not a TwiML document"),
        ] {
            let err = speech(xml).unwrap_err().0;
            assert!(err.contains(why), "{xml}: {err}");
        }
    }

    #[test]
    fn media_urls_must_be_https_elsewhere_without_credentials() {
        for (xml, why) in [
            (
                "<Response><Play>http://cdn.example/a.mp3</Play></Response>",
                "https://",
            ),
            (
                "<Response><Play>/relative.mp3</Play></Response>",
                "https://",
            ),
            (
                "<Response><Play>https://SwitchBoard.example/api/webhooks/twilio/sms?From=x</Play></Response>",
                "may not point at this service",
            ),
            (
                "<Response><Play>https://u:p@cdn.example/a</Play></Response>",
                "credentials",
            ),
            (r#"<Response><Play digits="1;2"/></Response>"#, "only 0-9"),
            (
                r#"<Response><Play digits="1">https://cdn.example/a</Play></Response>"#,
                "not both",
            ),
        ] {
            let err = speech(xml).unwrap_err().0;
            assert!(err.contains(why), "{xml}: {err}");
        }
    }

    #[test]
    fn media_streams_are_allowed_only_when_asked_and_only_to_wss() {
        let xml = r#"<Response><Connect><Stream url="wss://agent.example/s" name="a">
            <Parameter name="k" value="v"/></Stream></Connect></Response>"#;
        let out = sanitize(xml, Allowed::MediaStream, OURS).unwrap();
        assert_eq!(
            out,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://agent.example/s" name="a"><Parameter name="k" value="v"/></Stream></Connect></Response>"#
        );
        for (xml, why) in [
            (
                r#"<Response><Connect action="https://x.example"><Stream url="wss://a.example"/></Connect></Response>"#,
                "attribute action",
            ),
            (
                r#"<Response><Connect><Stream url="wss://a.example" statusCallback="https://x.example"/></Connect></Response>"#,
                "attribute statusCallback",
            ),
            (
                r#"<Response><Connect><Stream url="https://a.example"/></Connect></Response>"#,
                "wss://",
            ),
            (
                r#"<Response><Connect><Conference>x</Conference></Connect></Response>"#,
                "only <Stream>",
            ),
        ] {
            let err = sanitize(xml, Allowed::MediaStream, OURS).unwrap_err().0;
            assert!(err.contains(why), "{xml}: {err}");
        }
    }
}
