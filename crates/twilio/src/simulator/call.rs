//! A simulated inbound call: the voice webhook, then the TwiML state machine, then the status
//! callback. Verb semantics follow Twilio's documentation (TWILIO_FACTS B3, B8).

use std::collections::VecDeque;

use url::Url;

use super::http::{Method, Reply, twiml_from, under};
use super::{CallScript, DialOutcome, Simulator, Transcript, Turn, new_sid};
use crate::twiml::parse::Node;

/// The `Confidence` sent with every scripted speech result (Twilio sends a 0–1 float).
const SPEECH_CONFIDENCE: &str = "0.93";
/// Twilio's built-in transcription only handles recordings up to two minutes (B3).
const MAX_TRANSCRIBED_SECS: u32 = 120;

/// A TwiML document to fetch next.
struct Fetch {
    method: Method,
    url: Url,
    params: Vec<(String, String)>,
    note: String,
}

enum Flow {
    Goto(Fetch),
    /// The call is over, with this `CallStatus`.
    End(&'static str),
}

struct Call<'a> {
    sim: &'a Simulator,
    script: &'a CallScript,
    sid: String,
    speech: VecDeque<String>,
    digits: VecDeque<String>,
    t: Transcript,
    /// Twilio answers the call when it executes its first verb other than `<Reject>`.
    answered: bool,
    duration: u32,
}

pub(super) async fn run(sim: &Simulator, script: &CallScript) -> Transcript {
    let sid = new_sid("CA");
    let mut call = Call {
        sim,
        script,
        sid: sid.clone(),
        speech: script.speech.iter().cloned().collect(),
        digits: script.digits.iter().cloned().collect(),
        t: Transcript {
            call_sid: Some(sid),
            message_sid: None,
            turns: Vec::new(),
            final_status: String::new(),
            duration_secs: 0,
            http_errors: Vec::new(),
        },
        answered: false,
        duration: 0,
    };
    let status = call.converse().await;
    call.finish(status).await;
    call.t
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

impl Call<'_> {
    /// The parameters Twilio sends with every voice request of this call.
    fn base_params(&self, call_status: &str) -> Vec<(String, String)> {
        let s = self.script;
        vec![
            pair("AccountSid", &self.sim.config.account_sid),
            pair("ApiVersion", "2010-04-01"),
            pair("CallSid", &self.sid),
            pair("CallStatus", call_status),
            pair("Called", &s.to),
            pair("Caller", &s.from),
            pair("Direction", "inbound"),
            pair("From", &s.from),
            pair("To", &s.to),
        ]
    }

    fn error(&mut self, message: impl Into<String>) {
        self.t.push(Turn::Error(message.into()));
    }

    async fn converse(&mut self) -> &'static str {
        let url = match self.sim.public_url(&self.script.voice_path) {
            Ok(u) => u,
            Err(e) => {
                self.error(e);
                return "failed";
            }
        };
        let mut params = self.base_params("ringing");
        params.extend(self.script.extra_params.iter().cloned());
        let mut next = Fetch {
            method: Method::Post,
            url,
            params,
            note: "ringing".to_owned(),
        };
        for _ in 0..self.script.max_steps {
            let Some(doc) = self.fetch(&next).await else {
                // Twilio answers to play "an application error has occurred", then hangs up.
                self.answered = true;
                return "completed";
            };
            match self.execute(&doc, &next.url).await {
                Flow::Goto(f) => next = f,
                Flow::End(status) => return status,
            }
        }
        self.error(format!(
            "stopped after {} TwiML documents (max_steps): a redirect loop?",
            self.script.max_steps
        ));
        "completed"
    }

    /// Requests a TwiML document, recording the request; `None` (with an error turn) when the
    /// answer is not usable TwiML.
    async fn fetch(&mut self, f: &Fetch) -> Option<Node> {
        let reply = self
            .request(true, f.method, &f.url, &f.params, &f.note)
            .await?;
        match twiml_from(&reply) {
            Ok(doc) => Some(doc),
            Err(e) => {
                self.error(e);
                None
            }
        }
    }

    /// Sends one signed request and records it; `None` (with an error turn) when no HTTP
    /// answer came back.
    async fn request(
        &mut self,
        by_caller: bool,
        method: Method,
        url: &Url,
        params: &[(String, String)],
        note: &str,
    ) -> Option<Reply> {
        let result = self.sim.send_signed(method, url, params).await;
        let status = result.as_ref().ok().map(|r| r.status);
        self.t.push(Turn::Request {
            by_caller,
            method: method.as_str().to_owned(),
            // The document URL, without the parameters a GET appends (they are in the log).
            path: self.sim.display_path(url),
            note: note.to_owned(),
            status,
        });
        match result {
            Ok(reply) => Some(reply),
            Err(e) => {
                self.error(e);
                None
            }
        }
    }

    /// A status-style callback: only a 2xx matters, the body is ignored as Twilio ignores it.
    async fn callback(
        &mut self,
        target: &str,
        document: &Url,
        method: Option<&str>,
        params: Vec<(String, String)>,
        note: &str,
    ) {
        let url = match self.sim.resolve(document, target) {
            Ok(u) => u,
            Err(e) => return self.error(e),
        };
        let method = Method::from_attr(method);
        if let Some(reply) = self.request(false, method, &url, &params, note).await
            && !(200..300).contains(&reply.status)
        {
            self.error(format!(
                "11200 HTTP {} from {note} callback{}",
                reply.status,
                reply.refusal()
            ));
        }
    }

    async fn execute(&mut self, doc: &Node, doc_url: &Url) -> Flow {
        for verb in &doc.children {
            let was_answered = self.answered;
            if verb.name != "Reject" {
                self.answered = true;
            }
            match verb.name.as_str() {
                "Say" | "Play" | "Pause" => self.prompt(verb),
                "Gather" => {
                    if let Some(flow) = self.gather(verb, doc_url) {
                        return flow;
                    }
                }
                "Dial" => {
                    if let Some(flow) = self.dial(verb, doc_url) {
                        return flow;
                    }
                }
                "Record" => {
                    if let Some(flow) = self.record(verb, doc_url).await {
                        return flow;
                    }
                }
                "Redirect" => {
                    return match self.sim.resolve(doc_url, &verb.text) {
                        Ok(url) => {
                            self.t.push(Turn::Redirect(self.sim.display_path(&url)));
                            Flow::Goto(Fetch {
                                method: Method::from_attr(verb.attr("method")),
                                url,
                                params: self.base_params("in-progress"),
                                note: "redirect".to_owned(),
                            })
                        }
                        Err(e) => {
                            self.error(e);
                            Flow::End("completed")
                        }
                    };
                }
                "Hangup" => {
                    self.t.push(Turn::Hangup);
                    return Flow::End("completed");
                }
                "Reject" => {
                    let reason = verb.attr("reason").unwrap_or("rejected").to_owned();
                    // Twilio's <Reject> docs: an unanswered call ends `busy` for reason=busy and
                    // `no-answer` for reason=rejected. After other verbs the call was already
                    // answered, so rejecting just ends it: `completed`.
                    let status = match (was_answered, reason.as_str()) {
                        (true, _) => "completed",
                        (false, "busy") => "busy",
                        (false, _) => "no-answer",
                    };
                    self.t.push(Turn::Reject(reason));
                    return Flow::End(status);
                }
                "Message" | "Sms" => {
                    let turn = message_turn(verb, &self.script.from);
                    self.t.push(turn);
                }
                other => self.t.push(Turn::Skipped(format!("<{other}>"))),
            }
        }
        // Twilio hangs up when it runs out of verbs.
        Flow::End("completed")
    }

    /// Say, Play and Pause, at top level or nested in Gather.
    fn prompt(&mut self, verb: &Node) {
        match verb.name.as_str() {
            "Say" => self.t.push(Turn::Say(verb.text.clone())),
            "Play" => {
                if let Some(d) = verb.attr("digits") {
                    self.t.push(Turn::PlayDigits(d.to_owned()));
                }
                if !verb.text.is_empty() {
                    self.t.push(Turn::Play(verb.text.clone()));
                }
            }
            "Pause" => self.t.push(Turn::Pause(verb.number("length").unwrap_or(1))),
            other => self.t.push(Turn::Skipped(format!("<{other}>"))),
        }
    }

    fn gather(&mut self, verb: &Node, doc_url: &Url) -> Option<Flow> {
        for prompt in &verb.children {
            self.prompt(prompt);
        }
        let input = verb.attr("input").unwrap_or("dtmf");
        let accepts = |kind: &str| input.split_whitespace().any(|i| i == kind);
        let mut params = self.base_params("in-progress");
        let note;
        if accepts("dtmf") && !self.digits.is_empty() {
            let raw = self.digits.pop_front().unwrap_or_default();
            let digits = gathered_digits(&raw, verb);
            note = format!("gather: digits {digits}");
            self.t.push(Turn::Digits(digits.clone()));
            params.push(pair("Digits", digits));
        } else if accepts("speech") && !self.speech.is_empty() {
            let text = self.speech.pop_front().unwrap_or_default();
            note = format!("gather: speech {text:?}");
            self.t.push(Turn::Speech {
                text: text.clone(),
                confidence: SPEECH_CONFIDENCE.to_owned(),
            });
            params.push(pair("SpeechResult", text));
            params.push(pair("Confidence", SPEECH_CONFIDENCE));
        } else {
            self.t.push(Turn::GatherTimeout);
            // With no input Twilio goes on to the next verb, unless told to post anyway.
            if !verb.flag("actionOnEmptyResult") {
                return None;
            }
            note = "gather: no input".to_owned();
        }
        Some(self.goto_action(verb, doc_url, params, note))
    }

    /// Follows a verb's `action` (or, without one, the current document URL, as Twilio does
    /// for Gather and Record).
    fn goto_action(
        &mut self,
        verb: &Node,
        doc_url: &Url,
        params: Vec<(String, String)>,
        note: String,
    ) -> Flow {
        let url = match verb.attr("action") {
            Some(a) => match self.sim.resolve(doc_url, a) {
                Ok(u) => u,
                Err(e) => {
                    self.error(e);
                    return Flow::End("completed");
                }
            },
            None => doc_url.clone(),
        };
        Flow::Goto(Fetch {
            method: Method::from_attr(verb.attr("method")),
            url,
            params,
            note,
        })
    }

    fn dial(&mut self, verb: &Node, doc_url: &Url) -> Option<Flow> {
        let mut targets = Vec::new();
        if verb.children.is_empty() && !verb.text.is_empty() {
            targets.push(verb.text.clone());
        }
        for noun in &verb.children {
            match noun.name.as_str() {
                "Number" | "Client" | "Sip" => targets.push(noun.text.clone()),
                other => self.t.push(Turn::Skipped(format!("<Dial><{other}>"))),
            }
        }
        if verb
            .attr("record")
            .is_some_and(|r| r != "do-not-record" && r != "false")
        {
            self.t
                .push(Turn::Skipped("<Dial record> recording".to_owned()));
        }
        if targets.is_empty() {
            self.error("13201 <Dial> has nothing to dial");
            return None;
        }
        // Twilio rings the nouns in parallel; trying them in order gives the same answer for
        // "first to answer wins" and keeps transcripts deterministic.
        let mut last = DialOutcome::NoAnswer;
        for target in targets {
            let mut outcome = self.script.outcome_for(&target);
            if let (DialOutcome::Answered { duration_secs }, Some(limit)) =
                (outcome, verb.number("timeLimit"))
            {
                outcome = DialOutcome::Answered {
                    duration_secs: duration_secs.min(limit),
                };
            }
            let duration_secs = match outcome {
                DialOutcome::Answered { duration_secs } => duration_secs,
                _ => 0,
            };
            self.t.push(Turn::Dial {
                target,
                status: outcome.dial_call_status().to_owned(),
                duration_secs,
            });
            last = outcome;
            if matches!(outcome, DialOutcome::Answered { .. }) {
                self.duration += duration_secs;
                break;
            }
        }
        // Without an action, Twilio carries on with the next verb whatever the outcome.
        verb.attr("action")?;
        let mut params = self.base_params("in-progress");
        params.push(pair("DialCallStatus", last.dial_call_status()));
        params.push(pair("DialCallSid", new_sid("CA")));
        if let DialOutcome::Answered { duration_secs } = last {
            params.push(pair("DialCallDuration", duration_secs.to_string()));
        }
        let note = format!("dial: {}", last.dial_call_status());
        Some(self.goto_action(verb, doc_url, params, note))
    }

    async fn record(&mut self, verb: &Node, doc_url: &Url) -> Option<Flow> {
        let max_length = verb.number("maxLength").unwrap_or(3600);
        let duration = self.script.record.duration_secs.min(max_length);
        if duration == 0 {
            // An empty recording: Twilio skips the action and continues with the next verb.
            self.t.push(Turn::Record {
                duration_secs: 0,
                recording_sid: None,
            });
            return None;
        }
        let (recording_sid, recording_url) = self.obtain_recording(duration).await;
        self.t.push(Turn::Record {
            duration_secs: duration,
            recording_sid: Some(recording_sid.clone()),
        });
        self.duration += duration;

        // The scripted caller hangs up to finish, so Twilio reports Digits=hangup and the call
        // is over: the action's TwiML is fetched (and checked) but not executed.
        let mut params = self.base_params("completed");
        params.push(pair("RecordingUrl", &recording_url));
        params.push(pair("RecordingSid", &recording_sid));
        params.push(pair("RecordingDuration", duration.to_string()));
        params.push(pair("Digits", "hangup"));
        if let Flow::Goto(fetch) = self.goto_action(verb, doc_url, params, "recording".to_owned()) {
            self.fetch(&fetch).await;
        }

        if let Some(cb) = verb.attr("recordingStatusCallback") {
            let events = verb
                .attr("recordingStatusCallbackEvent")
                .unwrap_or("completed");
            for event in ["in-progress", "completed"] {
                if !events.split_whitespace().any(|e| e == event) {
                    continue;
                }
                let duration_param = if event == "completed" {
                    duration.to_string()
                } else {
                    "0".to_owned()
                };
                let params = vec![
                    pair("AccountSid", &self.sim.config.account_sid),
                    pair("CallSid", &self.sid),
                    pair("RecordingSid", &recording_sid),
                    pair("RecordingUrl", &recording_url),
                    pair("RecordingStatus", event),
                    pair("RecordingDuration", duration_param),
                    pair("RecordingChannels", "1"),
                    pair("RecordingStartTime", rfc2822_now()),
                    pair("RecordingSource", "RecordVerb"),
                    pair("ErrorCode", "0"),
                ];
                let method = verb.attr("recordingStatusCallbackMethod");
                let note = format!("recording {event}");
                self.callback(cb, doc_url, method, params, &note).await;
            }
        }

        let wants_transcript = verb.flag("transcribe") || verb.attr("transcribeCallback").is_some();
        if let (true, Some(text)) = (wants_transcript, self.script.record.transcription.clone()) {
            match verb.attr("transcribeCallback") {
                Some(cb) => {
                    let sid = new_sid("TR");
                    let (status, text) = if duration <= MAX_TRANSCRIBED_SECS {
                        ("completed", text)
                    } else {
                        ("failed", String::new())
                    };
                    let mut params = self.base_params("completed");
                    params.push(pair("TranscriptionSid", &sid));
                    params.push(pair("TranscriptionText", text));
                    params.push(pair("TranscriptionStatus", status));
                    params.push(pair(
                        "TranscriptionUrl",
                        format!(
                            "https://api.twilio.com/2010-04-01/Accounts/{}/Transcriptions/{sid}",
                            self.sim.config.account_sid
                        ),
                    ));
                    params.push(pair("RecordingSid", &recording_sid));
                    params.push(pair("RecordingUrl", &recording_url));
                    let note = format!("transcription {status}");
                    self.callback(cb, doc_url, None, params, &note).await;
                }
                None => self.t.push(Turn::Skipped(
                    "transcription (no transcribeCallback to post it to)".to_owned(),
                )),
            }
        }
        Some(Flow::End("completed"))
    }

    /// A recording SID and media URL: from the sandbox when configured (so the URL really
    /// downloads), otherwise made up in Twilio's format.
    async fn obtain_recording(&mut self, duration: u32) -> (String, String) {
        if let Some(base) = self.sim.config.sandbox_base_url.clone() {
            match self.sandbox_recording(&base, duration).await {
                Ok(found) => return found,
                Err(e) => self.error(format!("sandbox recording: {e}")),
            }
        }
        let sid = new_sid("RE");
        let url = format!(
            "https://api.twilio.com/2010-04-01/Accounts/{}/Recordings/{sid}",
            self.sim.config.account_sid
        );
        (sid, url)
    }

    async fn sandbox_recording(
        &self,
        base: &Url,
        duration: u32,
    ) -> Result<(String, String), String> {
        #[derive(serde::Deserialize)]
        struct Created {
            sid: String,
            url: String,
        }
        let url = under(base, "/sandbox/recordings")?;
        let config = &self.sim.config;
        let response = self
            .sim
            .http
            .post(url.clone())
            .basic_auth(&config.account_sid, Some(&config.auth_token))
            .form(&[
                ("CallSid", self.sid.as_str()),
                ("Duration", &duration.to_string()),
            ])
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("POST {url}: HTTP {status}"));
        }
        let created: Created = response
            .json()
            .await
            .map_err(|e| format!("POST {url}: bad JSON: {e}"))?;
        Ok((created.sid, created.url))
    }

    async fn finish(&mut self, status: &'static str) {
        let duration = if self.answered { self.duration } else { 0 };
        self.t.final_status = status.to_owned();
        self.t.duration_secs = duration;
        let url = match self.sim.public_url(&self.script.status_path) {
            Ok(u) => u,
            Err(e) => return self.error(e),
        };
        let mut params = self.base_params(status);
        params.push(pair("CallDuration", duration.to_string()));
        params.push(pair("CallbackSource", "call-progress-events"));
        params.push(pair("SequenceNumber", "0"));
        params.push(pair("Timestamp", rfc2822_now()));
        let target = url.to_string();
        self.callback(&target, &url, None, params, status).await;
    }
}

/// The `Digits` Twilio reports: input up to `finishOnKey` (default `#`, empty disables) and at
/// most `numDigits`.
fn gathered_digits(raw: &str, gather: &Node) -> String {
    let finish = gather.attr("finishOnKey").unwrap_or("#");
    let mut digits: String = match finish.chars().next() {
        Some(key) => raw.split(key).next().unwrap_or("").to_owned(),
        None => raw.to_owned(),
    };
    if let Some(n) = gather.number("numDigits") {
        digits = digits.chars().take(n as usize).collect();
    }
    digits
}

/// A `<Message>` as a turn: plain text, or `<Body>`/`<Media>` children.
pub(super) fn message_turn(node: &Node, default_to: &str) -> Turn {
    let child_text = |name: &str| {
        node.children
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.text.clone())
            .collect::<Vec<_>>()
    };
    let body = if node.text.is_empty() {
        child_text("Body").join("")
    } else {
        node.text.clone()
    };
    Turn::Message {
        to: node.attr("to").unwrap_or(default_to).to_owned(),
        body,
        media: child_text("Media"),
    }
}

/// Now as Twilio writes timestamps in callbacks (RFC 2822, UTC).
pub(super) fn rfc2822_now() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twiml::parse::parse_twiml;

    fn gather(attrs: &str) -> Node {
        parse_twiml(&format!("<Response><Gather {attrs}/></Response>"))
            .unwrap()
            .children
            .remove(0)
    }

    #[test]
    fn digits_stop_at_finish_key_and_num_digits() {
        assert_eq!(gathered_digits("123#45", &gather("")), "123");
        assert_eq!(
            gathered_digits("123*45", &gather("finishOnKey=\"*\"")),
            "123"
        );
        assert_eq!(gathered_digits("12#3", &gather("finishOnKey=\"\"")), "12#3");
        assert_eq!(gathered_digits("98765", &gather("numDigits=\"2\"")), "98");
    }

    #[test]
    fn unscripted_numbers_do_not_answer_and_star_is_the_fallback() {
        let s = CallScript::new("+1", "+2").dial_outcome("+3", DialOutcome::Busy);
        assert_eq!(s.outcome_for("+3"), DialOutcome::Busy);
        assert_eq!(s.outcome_for("+4"), DialOutcome::NoAnswer);
        let s = s.dial_outcome("*", DialOutcome::Failed);
        assert_eq!(s.outcome_for("+4"), DialOutcome::Failed);
    }
}
