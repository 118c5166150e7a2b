//! A simulated inbound SMS/MMS: the signed messaging webhook and the replies in its TwiML.

use url::Url;

use super::call::message_turn;
use super::http::{Method, twiml_from};
use super::{Simulator, SmsScript, Transcript, Turn, new_sid};

pub(super) async fn run(sim: &Simulator, script: &SmsScript) -> Transcript {
    let sid = new_sid("SM");
    let mut t = Transcript {
        call_sid: None,
        message_sid: Some(sid.clone()),
        turns: Vec::new(),
        final_status: "received".to_owned(),
        duration_secs: 0,
        http_errors: Vec::new(),
    };
    let params = webhook_params(sim, script, &sid);
    let mut next: Option<(Method, Url, &str)> = match sim.public_url(&script.path) {
        Ok(url) => Some((Method::Post, url, "received")),
        Err(e) => {
            t.push(Turn::Error(e));
            None
        }
    };
    let mut steps = 0;
    while let Some((method, url, note)) = next.take() {
        if steps == script.max_steps {
            t.push(Turn::Error(format!(
                "stopped after {steps} TwiML documents (max_steps): a redirect loop?"
            )));
            break;
        }
        steps += 1;
        let result = sim.send_signed(method, &url, &params).await;
        t.push(Turn::Request {
            by_caller: true,
            method: method.as_str().to_owned(),
            path: sim.display_path(&url),
            note: note.to_owned(),
            status: result.as_ref().ok().map(|r| r.status),
        });
        let doc = match result.and_then(|reply| twiml_from(&reply)) {
            Ok(doc) => doc,
            Err(e) => {
                t.push(Turn::Error(e));
                break;
            }
        };
        for verb in &doc.children {
            match verb.name.as_str() {
                "Message" => t.push(message_turn(verb, &script.from)),
                "Redirect" => {
                    match sim.resolve(&url, &verb.text) {
                        Ok(target) => {
                            t.push(Turn::Redirect(sim.display_path(&target)));
                            next =
                                Some((Method::from_attr(verb.attr("method")), target, "redirect"));
                        }
                        Err(e) => t.push(Turn::Error(e)),
                    }
                    // Verbs after <Redirect> are unreachable.
                    break;
                }
                other => t.push(Turn::Skipped(format!("<{other}>"))),
            }
        }
    }
    t
}

/// The parameters of Twilio's incoming-message webhook.
fn webhook_params(sim: &Simulator, script: &SmsScript, sid: &str) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("AccountSid", sim.config.account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("Body", &script.body),
        ("From", &script.from),
        ("To", &script.to),
        ("MessageSid", sid),
        ("SmsMessageSid", sid),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("NumSegments", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    p.push(("NumMedia".to_owned(), script.media_urls.len().to_string()));
    for (i, media) in script.media_urls.iter().enumerate() {
        p.push((format!("MediaUrl{i}"), media.clone()));
        p.push((
            format!("MediaContentType{i}"),
            content_type_of(media).to_owned(),
        ));
    }
    p
}

/// A plausible MIME type from a media URL's extension (Twilio reports the real one).
fn content_type_of(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}
