//! Parsing TwiML into a small element tree: the simulator walks the documents a server returns, and
//! [`super::untrusted`] checks the documents a tenant supplies.

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// One TwiML element: name, attributes and text unescaped, text trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean attribute as Twilio reads it (`true`, case-insensitive).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.attr(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// A numeric attribute; absent or unparsable gives `None`.
    pub(crate) fn number(&self, name: &str) -> Option<u32> {
        self.attr(name).and_then(|v| v.trim().parse().ok())
    }
}

/// Parses a TwiML document, requiring a single `<Response>` root.
pub(crate) fn parse_twiml(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<(Node, String)> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => stack.push((open(&e)?, String::new())),
            Event::Empty(e) => close(&mut stack, &mut root, open(&e)?, String::new())?,
            Event::End(_) => {
                let (node, raw) = stack.pop().ok_or("unbalanced end tag")?;
                close(&mut stack, &mut root, node, raw)?;
            }
            Event::Text(t) => match stack.last_mut() {
                Some((_, raw)) => raw.push_str(&t.into_inner()),
                None if t.into_inner().trim().is_empty() => {}
                None => return Err("text outside the root element".into()),
            },
            Event::CData(c) => {
                if let Some((_, raw)) = stack.last_mut() {
                    // Re-escape so the whole buffer is unescaped uniformly at the end.
                    raw.push_str(&quick_xml::escape::escape(c.into_inner().as_ref()));
                }
            }
            Event::GeneralRef(r) => {
                let (_, raw) = stack.last_mut().ok_or("reference outside the root")?;
                raw.push('&');
                raw.push_str(&r.into_inner());
                raw.push(';');
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions, doctype: not content.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("unclosed element at end of document".into());
    }
    let root = root.ok_or("no root element")?;
    if root.name != "Response" {
        return Err(format!("root element is <{}>, not <Response>", root.name));
    }
    Ok(root)
}

fn open(e: &BytesStart<'_>) -> Result<Node, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        attrs.push((a.key.0.to_owned(), value.into_owned()));
    }
    Ok(Node {
        name: e.name().0.to_owned(),
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

fn close(
    stack: &mut [(Node, String)],
    root: &mut Option<Node>,
    mut node: Node,
    raw: String,
) -> Result<(), String> {
    node.text = quick_xml::escape::unescape(&raw)
        .map_err(|e| format!("bad text in <{}>: {e}", node.name))?
        .trim()
        .to_owned();
    match stack.last_mut() {
        Some((parent, _)) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_twiml_with_entities() {
        let root = parse_twiml(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <Response>
              <Gather input="speech" action="/g?a=1&amp;b=2"><Say>Hi &lt;there&gt; &#233;</Say></Gather>
              <Say><![CDATA[raw <text> & more]]></Say>
            </Response>"#,
        )
        .unwrap();
        assert_eq!(root.children.len(), 2);
        let gather = &root.children[0];
        assert_eq!(gather.attr("action"), Some("/g?a=1&b=2"));
        assert_eq!(gather.children[0].text, "Hi <there> é");
        assert_eq!(root.children[1].text, "raw <text> & more");
    }

    #[test]
    fn rejects_documents_twilio_would_reject() {
        for bad in [
            "",
            "<Response>",
            "<Response></Say>",
            "<Other/>",
            "<Response/><Response/>",
            "hello",
        ] {
            assert!(parse_twiml(bad).is_err(), "{bad:?}");
        }
    }
}
