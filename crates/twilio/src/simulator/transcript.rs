//! The record of a simulated call or text: typed turns for assertions, `Display` for humans.

use std::fmt;

/// One thing that happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn {
    /// A request the simulator sent as Twilio. `by_caller` marks requests that advance the
    /// conversation (the call's webhooks and actions) rather than status callbacks. `status` is
    /// `None` when no HTTP answer came back.
    Request {
        by_caller: bool,
        method: String,
        path: String,
        note: String,
        status: Option<u16>,
    },
    Say(String),
    Play(String),
    PlayDigits(String),
    Pause(u32),
    /// The caller answered a Gather.
    Speech {
        text: String,
        confidence: String,
    },
    Digits(String),
    /// A Gather with nothing scripted: Twilio times out.
    GatherTimeout,
    Dial {
        target: String,
        status: String,
        duration_secs: u32,
    },
    Record {
        duration_secs: u32,
        recording_sid: Option<String>,
    },
    Message {
        to: String,
        body: String,
        media: Vec<String>,
    },
    Redirect(String),
    Hangup,
    Reject(String),
    /// An element the simulator does not act on.
    Skipped(String),
    /// Something Twilio would log in its debugger (the message starts with its error code).
    Error(String),
}

impl fmt::Display for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Turn::Request {
                by_caller,
                method,
                path,
                note,
                status,
            } => {
                let who = if *by_caller { "caller" } else { "twilio" };
                write!(f, "{who} → {method} {path}")?;
                if !note.is_empty() {
                    write!(f, " ({note})")?;
                }
                match status {
                    Some(s) => write!(f, " ← {s}"),
                    None => write!(f, " ← no answer"),
                }
            }
            Turn::Say(text) => write!(f, "switchboard: Say {text:?}"),
            Turn::Play(url) => write!(f, "switchboard: Play {url}"),
            Turn::PlayDigits(d) => write!(f, "switchboard: Play digits {d}"),
            Turn::Pause(secs) => write!(f, "switchboard: Pause {secs}s"),
            Turn::Speech { text, confidence } => {
                write!(f, "caller: says {text:?} (confidence {confidence})")
            }
            Turn::Digits(d) => write!(f, "caller: presses {d}"),
            Turn::GatherTimeout => write!(f, "caller: (silence, gather times out)"),
            Turn::Dial {
                target,
                status,
                duration_secs,
            } => {
                write!(f, "dial {target} → {status}")?;
                if status == "completed" {
                    write!(f, " ({duration_secs}s)")?;
                }
                Ok(())
            }
            Turn::Record {
                duration_secs,
                recording_sid,
            } => match recording_sid {
                Some(sid) => write!(f, "caller: records {duration_secs}s ({sid})"),
                None => write!(f, "caller: records nothing"),
            },
            Turn::Message { to, body, media } => {
                write!(f, "switchboard: Message to {to}: {body}")?;
                for m in media {
                    write!(f, " [{m}]")?;
                }
                Ok(())
            }
            Turn::Redirect(url) => write!(f, "switchboard: Redirect {url}"),
            Turn::Hangup => write!(f, "switchboard: Hangup"),
            Turn::Reject(reason) => write!(f, "switchboard: Reject ({reason})"),
            Turn::Skipped(what) => write!(f, "(skipped {what})"),
            Turn::Error(e) => write!(f, "ERROR {e}"),
        }
    }
}

/// Everything a simulated call or text produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    pub call_sid: Option<String>,
    pub message_sid: Option<String>,
    pub turns: Vec<Turn>,
    /// The call's final `CallStatus`, or `received` for a message.
    pub final_status: String,
    /// The `CallDuration` reported (0 for messages).
    pub duration_secs: u32,
    /// Every error turn's message, for a quick `assert!(t.http_errors.is_empty())`.
    pub http_errors: Vec<String>,
}

impl Transcript {
    pub(crate) fn push(&mut self, turn: Turn) {
        if let Turn::Error(e) = &turn {
            self.http_errors.push(e.clone());
        }
        self.turns.push(turn);
    }

    /// The texts of every `Say`, in order.
    pub fn said(&self) -> Vec<&str> {
        self.turns
            .iter()
            .filter_map(|t| match t {
                Turn::Say(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The `(to, body)` of every Message, in order.
    pub fn messages(&self) -> Vec<(&str, &str)> {
        self.turns
            .iter()
            .filter_map(|t| match t {
                Turn::Message { to, body, .. } => Some((to.as_str(), body.as_str())),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.call_sid, &self.message_sid) {
            (Some(sid), _) => writeln!(f, "call {sid}")?,
            (None, Some(sid)) => writeln!(f, "message {sid}")?,
            (None, None) => {}
        }
        for turn in &self.turns {
            writeln!(f, "  {turn}")?;
        }
        write!(f, "final status: {}", self.final_status)?;
        if self.call_sid.is_some() {
            write!(f, " ({}s)", self.duration_secs)?;
        }
        if !self.http_errors.is_empty() {
            write!(f, ", {} error(s)", self.http_errors.len())?;
        }
        Ok(())
    }
}
