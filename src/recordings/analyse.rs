//! Analysis of a transcript: a short summary, the call reason (the same six reasons as the voice
//! menu) and the caller's sentiment. Built-in rules always work; with `ANALYSIS_BASE_URL` set, an
//! OpenAI-compatible chat-completions model is asked first and its JSON read defensively: whatever
//! it gets wrong (no JSON, a reason outside the six, an empty summary) is filled in by the rules, and
//! any failure to reach it falls back to the rules entirely — a voicemail is never held up by it.

use serde_json::{Value, json};

use super::transcribe::endpoint;
use crate::calls::reason;
use crate::config::AnalysisConfig;
use crate::domain::routing::{CallReason, ReasonKeywords};

/// The caller's mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
        }
    }
    pub fn parse(s: &str) -> Option<Sentiment> {
        match s.trim().to_ascii_lowercase().as_str() {
            "positive" => Some(Sentiment::Positive),
            "neutral" => Some(Sentiment::Neutral),
            "negative" => Some(Sentiment::Negative),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub summary: String,
    pub reason: CallReason,
    pub sentiment: Sentiment,
    /// `rules`, `llm`, or `llm+rules` when the model's answer was only partly usable.
    pub source: &'static str,
}

/// Longest summary kept.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// The transcript sent to the model is cut to this many characters.
const MAX_PROMPT_CHARS: usize = 8_000;

const POSITIVE: &[&str] = &[
    "thank",
    "thanks",
    "great",
    "love",
    "loved",
    "wonderful",
    "happy",
    "appreciate",
    "excellent",
    "perfect",
    "amazing",
    "awesome",
    "pleased",
    "glad",
    "fantastic",
    "lovely",
    "nice",
];
const NEGATIVE: &[&str] = &[
    "angry",
    "upset",
    "terrible",
    "awful",
    "disappointed",
    "disappointing",
    "complaint",
    "complain",
    "unhappy",
    "frustrated",
    "frustrating",
    "worst",
    "rude",
    "problem",
    "refund",
    "horrible",
    "bad",
    "unacceptable",
    "annoyed",
    "wrong",
    "ruined",
];
const NEGATIONS: &[&str] = &[
    "not", "no", "dont", "don't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't", "never",
];

/// Positive minus negative keywords, a negation just before a word flipping it ("not happy").
pub fn rule_sentiment(text: &str) -> Sentiment {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    let mut score = 0i32;
    for (i, w) in words.iter().enumerate() {
        let polarity = if POSITIVE.contains(&w.as_str()) {
            1
        } else if NEGATIVE.contains(&w.as_str()) {
            -1
        } else {
            continue;
        };
        let negated = i > 0 && NEGATIONS.contains(&words[i - 1].as_str());
        score += if negated { -polarity } else { polarity };
    }
    match score {
        s if s > 0 => Sentiment::Positive,
        s if s < 0 => Sentiment::Negative,
        _ => Sentiment::Neutral,
    }
}

fn reason_phrase(reason: CallReason) -> &'static str {
    match reason {
        CallReason::SetupAppointment => "Wants to book an appointment",
        CallReason::CancelAppointment => "Wants to cancel an appointment",
        CallReason::ModifyAppointment => "Wants to change an appointment",
        CallReason::GetHours => "Asks about opening hours",
        CallReason::GetPricing => "Asks about prices",
        CallReason::Other => "Left a message",
    }
}

/// The first sentences of `text`, at most `max` characters, cut at a word with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(3)).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}...", cut.trim_end_matches([',', ';', ':', ' ']))
}

/// The built-in analysis of `text` (empty when there is no transcript).
pub fn rules(text: &str, duration_secs: Option<i64>, keywords: &ReasonKeywords) -> Analysis {
    let text = text.trim();
    if text.is_empty() {
        let summary = match duration_secs {
            Some(d) => format!("No transcript available ({d}-second recording)."),
            None => "No transcript available.".to_string(),
        };
        return Analysis {
            summary,
            reason: CallReason::Other,
            sentiment: Sentiment::Neutral,
            source: "rules",
        };
    }
    let why = reason::classify(Some(text), None, keywords);
    Analysis {
        summary: format!("{}: \"{}\"", reason_phrase(why), excerpt(text, 200)),
        reason: why,
        sentiment: rule_sentiment(text),
        source: "rules",
    }
}

/// What a model's answer offered, field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelAnswer {
    pub summary: Option<String>,
    pub reason: Option<CallReason>,
    pub sentiment: Option<Sentiment>,
}

/// Reads a model's reply: the JSON object in it (bare, fenced in ```json, or inside prose), each
/// field taken only when it is one of the allowed values.
pub fn parse_model_answer(content: &str) -> ModelAnswer {
    let (Some(start), Some(end)) = (content.find('{'), content.rfind('}')) else {
        return ModelAnswer::default();
    };
    if end < start {
        return ModelAnswer::default();
    }
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&content[start..=end]) else {
        return ModelAnswer::default();
    };
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    ModelAnswer {
        summary: text(&["summary"]).map(|s| excerpt(s, MAX_SUMMARY_CHARS)),
        reason: text(&["callReason", "call_reason", "reason"])
            .and_then(|r| CallReason::parse(&r.to_ascii_uppercase().replace([' ', '-'], "_"))),
        sentiment: text(&["sentiment"]).and_then(Sentiment::parse),
    }
}

/// The model's fields where usable, the rules' elsewhere.
pub fn merge(answer: ModelAnswer, rules: Analysis) -> Analysis {
    let used = [
        answer.summary.is_some(),
        answer.reason.is_some(),
        answer.sentiment.is_some(),
    ];
    let source = match used.iter().filter(|u| **u).count() {
        0 => "rules",
        3 => "llm",
        _ => "llm+rules",
    };
    Analysis {
        summary: answer.summary.unwrap_or(rules.summary),
        reason: answer.reason.unwrap_or(rules.reason),
        sentiment: answer.sentiment.unwrap_or(rules.sentiment),
        source,
    }
}

const SYSTEM_PROMPT: &str = "You analyse voicemails and recorded phone calls left for a small business. \
Answer with one JSON object and nothing else, with exactly these keys: \
\"summary\" (one or two sentences for the business owner), \
\"callReason\" (one of SETUP_APPOINTMENT, CANCEL_APPOINTMENT, MODIFY_APPOINTMENT, GET_HOURS, GET_PRICING, OTHER), \
\"sentiment\" (positive, neutral or negative).";

/// The analysis of `text` for `business`: the model's when configured and usable, else the rules'.
pub async fn analyse(
    client: &reqwest::Client,
    config: Option<&AnalysisConfig>,
    business: &str,
    caller: &str,
    text: &str,
    duration_secs: Option<i64>,
    keywords: &ReasonKeywords,
) -> Analysis {
    let rules = rules(text, duration_secs, keywords);
    let Some(config) = config else { return rules };
    if text.trim().is_empty() {
        return rules;
    }
    match ask_model(client, config, business, caller, text).await {
        Ok(content) => {
            let answer = parse_model_answer(&content);
            if answer == ModelAnswer::default() {
                tracing::warn!(reply = %content.chars().take(200).collect::<String>(), "analysis model gave no usable JSON; using the rules");
            }
            merge(answer, rules)
        }
        Err(e) => {
            tracing::warn!(error = %e, "analysis model unavailable; using the rules");
            rules
        }
    }
}

async fn ask_model(
    client: &reqwest::Client,
    config: &AnalysisConfig,
    business: &str,
    caller: &str,
    text: &str,
) -> Result<String, String> {
    let transcript: String = text.chars().take(MAX_PROMPT_CHARS).collect();
    let body = json!({
        "model": config.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": format!("Business: {business}\nCaller: {caller}\nTranscript:\n{transcript}")},
        ],
    });
    let mut req = client
        .post(endpoint(&config.base_url, "chat/completions"))
        .timeout(std::time::Duration::from_secs(60))
        .json(&body);
    if let Some(key) = &config.api_key {
        req = req.bearer_auth(key.expose());
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = res.status();
    let reply: Value = res
        .json()
        .await
        .map_err(|e| format!("HTTP {status}, unreadable answer: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    reply["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "answer has no choices[0].message.content".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_classify_summarise_and_feel() {
        let a = rules(
            "Hi, this is Dana. I'd like to book a haircut for Friday afternoon. Thanks so much!",
            Some(12),
            &ReasonKeywords::default(),
        );
        assert_eq!(a.reason, CallReason::SetupAppointment);
        assert_eq!(a.sentiment, Sentiment::Positive);
        assert!(
            a.summary
                .starts_with("Wants to book an appointment: \"Hi, this is Dana."),
            "{}",
            a.summary
        );
        let b = rules(
            "I am not happy, the colour was terrible and I want a refund",
            None,
            &ReasonKeywords::default(),
        );
        assert_eq!(b.sentiment, Sentiment::Negative);
        let empty = rules("  ", Some(7), &ReasonKeywords::default());
        assert_eq!(empty.reason, CallReason::Other);
        assert_eq!(
            empty.summary,
            "No transcript available (7-second recording)."
        );
    }

    #[test]
    fn negation_flips_a_word() {
        assert_eq!(rule_sentiment("I was not happy"), Sentiment::Negative);
        assert_eq!(rule_sentiment("no problem at all"), Sentiment::Positive);
        assert_eq!(rule_sentiment("call me back"), Sentiment::Neutral);
    }

    #[test]
    fn model_answers_are_read_defensively() {
        let fenced = "Sure!\n```json\n{\"summary\": \"Wants a Friday cut.\", \"callReason\": \"setup appointment\", \"sentiment\": \"Positive\"}\n```";
        assert_eq!(
            parse_model_answer(fenced),
            ModelAnswer {
                summary: Some("Wants a Friday cut.".into()),
                reason: Some(CallReason::SetupAppointment),
                sentiment: Some(Sentiment::Positive),
            }
        );
        for junk in ["I cannot help with that.", "{not json}", "[1, 2]", "}{", ""] {
            assert_eq!(parse_model_answer(junk), ModelAnswer::default(), "{junk}");
        }
        let partly = parse_model_answer(
            r#"{"summary": "", "callReason": "BUY_A_BOAT", "sentiment": "ecstatic", "reason": 5}"#,
        );
        assert_eq!(partly, ModelAnswer::default());
    }

    #[test]
    fn merge_fills_gaps_from_the_rules() {
        let rules = rules(
            "please cancel my appointment",
            None,
            &ReasonKeywords::default(),
        );
        let half = ModelAnswer {
            summary: Some("Cancels.".into()),
            ..Default::default()
        };
        let m = merge(half, rules.clone());
        assert_eq!(m.summary, "Cancels.");
        assert_eq!(m.reason, CallReason::CancelAppointment);
        assert_eq!(m.source, "llm+rules");
        assert_eq!(merge(ModelAnswer::default(), rules.clone()), rules);
    }

    #[test]
    fn excerpts_cut_at_words() {
        assert_eq!(excerpt("short  text", 50), "short text");
        let e = excerpt("one two three four five six seven eight nine ten", 20);
        assert!(e.ends_with("...") && e.chars().count() <= 20, "{e}");
    }
}
