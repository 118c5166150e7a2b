//! Classifying why someone called from a Twilio `<Gather>` result: the key they pressed or what they said.
//!
//! **Keys.** The first key pressed decides (whitespace is skipped, later keys such as a trailing `#`
//! are ignored): 1 book, 2 cancel, 3 change, 4 hours, 5 prices, as [`DEFAULT_MENU`] says; any other
//! key (0, `*`, `#`, …) is [`CallReason::Other`]. When the caller pressed keys the keys decide, even if
//! the speech would have classified differently: a key press is deliberate, a transcript is a guess.
//!
//! **Words.** Speech and keywords are normalised the same way: lower-cased (Unicode-aware), apostrophes
//! dropped ("can't" → "cant"), every other character that is not a letter or digit turned into a word
//! break. A keyword is a word or phrase that must appear as whole, consecutive words: "book" matches
//! "Book a haircut." but not "rebook", "notebook" or "Facebook". There is no stemming, because a stemmer
//! is English-only and guesses wrong ("open" is not "opening" in "any openings tomorrow?"); instead the
//! keyword lists spell out the forms that count ("cancel", "cancelled", "cancellation", …), and so must
//! a tenant's overrides ("cita", "citas"). Accents are compared as written, so an override list for a
//! language with accents should include the accented form the speech recogniser produces.
//!
//! **Priority.** Reasons are tried in the order of `PRIORITY`, first match wins: modify, cancel,
//! setup, hours, pricing. Modify comes first because rescheduling is often said as "cancel and rebook"
//! or "I can't make it, can we move it"; cancel before setup because "cancel my appointment" mentions
//! an appointment; the appointment reasons before the informational ones because they need a person and
//! a caller who says both "book" and "open on Sunday" mostly wants the booking; hours before pricing so
//! that "how much longer are you open" is about hours.
//!
//! **Overrides.** A tenant's [`ReasonKeywords`] entry for a reason *replaces* Switchboard's English
//! defaults for that reason (it does not add to them), so a Spanish-speaking salon is not matched on
//! English words it never hears; an empty list switches the reason off for speech (keys still work).
//! Reasons without an override keep the defaults.
//!
//! **Bounds.** Only the first [`MAX_SPEECH_CHARS`] characters and [`MAX_SPEECH_WORDS`] words of a
//! transcript are looked at, so a pathological webhook body cannot make classification expensive.

mod keywords;

use crate::domain::routing::{CallReason, ReasonKeywords};

pub use keywords::default_keywords;

/// The spoken menu that matches the key mapping in [`classify`]. Callers may also just say why they call.
pub const DEFAULT_MENU: &str = "To book a new appointment, press 1. \
To cancel an appointment, press 2. \
To change an appointment, press 3. \
For our opening hours, press 4. \
For our prices, press 5. \
Or just tell us why you are calling.";

/// How many characters of a transcript are looked at; Twilio transcripts of a Gather are far shorter.
pub const MAX_SPEECH_CHARS: usize = 2000;
/// How many words of a transcript are looked at.
pub const MAX_SPEECH_WORDS: usize = 300;

/// The order in which reasons are tried against speech; see the module documentation for why.
const PRIORITY: [CallReason; 5] = [
    CallReason::ModifyAppointment,
    CallReason::CancelAppointment,
    CallReason::SetupAppointment,
    CallReason::GetHours,
    CallReason::GetPricing,
];

/// The reason for a call from a Gather result. Digits win over speech when both are present; blank
/// input counts as absent, and nothing usable is [`CallReason::Other`].
pub fn classify(
    speech: Option<&str>,
    digits: Option<&str>,
    overrides: &ReasonKeywords,
) -> CallReason {
    if let Some(key) = digits.and_then(|d| d.chars().find(|c| !c.is_whitespace())) {
        return match key {
            '1' => CallReason::SetupAppointment,
            '2' => CallReason::CancelAppointment,
            '3' => CallReason::ModifyAppointment,
            '4' => CallReason::GetHours,
            '5' => CallReason::GetPricing,
            _ => CallReason::Other,
        };
    }
    match speech {
        Some(s) => classify_speech(s, overrides),
        None => CallReason::Other,
    }
}

fn classify_speech(speech: &str, overrides: &ReasonKeywords) -> CallReason {
    let (bounded, truncated) = match speech.char_indices().nth(MAX_SPEECH_CHARS) {
        Some((end, _)) => (&speech[..end], true),
        None => (speech, false),
    };
    let normalised = normalise(bounded);
    let mut words: Vec<&str> = normalised.split_whitespace().collect();
    if truncated {
        // The cut may have split the last word ("cancellation" → "cancel"); a half word is no evidence.
        words.pop();
    }
    words.truncate(MAX_SPEECH_WORDS);
    if words.is_empty() {
        return CallReason::Other;
    }
    for reason in PRIORITY {
        let matched = match overrides.get(reason) {
            Some(custom) => custom.iter().any(|k| contains_phrase(&words, k)),
            None => default_keywords(reason)
                .iter()
                .any(|k| contains_phrase(&words, k)),
        };
        if matched {
            return reason;
        }
    }
    CallReason::Other
}

/// Whether `keyword`, normalised like the speech, occurs in `words` as whole consecutive words.
fn contains_phrase(words: &[&str], keyword: &str) -> bool {
    let normalised = normalise(keyword);
    let phrase: Vec<&str> = normalised.split_whitespace().collect();
    // A keyword of only punctuation would match everywhere through `windows(0)`; it matches nothing.
    !phrase.is_empty() && words.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// Lower-cases, drops apostrophes and turns everything that is not part of a word into a space.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' => {}
            // Combining accents (a decomposed "é") belong to their word rather than splitting it.
            c if c.is_alphanumeric() || ('\u{0300}'..='\u{036F}').contains(&c) => {
                out.extend(c.to_lowercase())
            }
            _ => out.push(' '),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallReason::*;

    fn said(speech: &str) -> CallReason {
        classify(Some(speech), None, &ReasonKeywords::default())
    }

    fn pressed(digits: &str) -> CallReason {
        classify(None, Some(digits), &ReasonKeywords::default())
    }

    fn list(words: &[&str]) -> Option<Vec<String>> {
        Some(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn setup_by_speech() {
        for s in [
            "I'd like to book",
            "I'd like to book an appointment, please.",
            "Can I make an appointment?",
            "schedule a visit",
            "Book a haircut for Friday",
            "I want a booking for two",
            "Do you have appointments tomorrow?",
            "Can I schedule for next week?",
        ] {
            assert_eq!(said(s), SetupAppointment, "{s}");
        }
    }

    #[test]
    fn cancel_by_speech() {
        for s in [
            "cancel my appointment",
            "I need to CANCEL.",
            "I cancelled online but want to check",
            "Hi, I have to call off my booking",
            "I can't make it tomorrow",
            "I can’t make it tomorrow", // typographic apostrophe, as some recognisers produce
        ] {
            assert_eq!(said(s), CancelAppointment, "{s}");
        }
    }

    #[test]
    fn modify_by_speech() {
        for s in [
            "reschedule my appointment",
            "Can I change my appointment time?",
            "I need to move my booking to Thursday",
            "rebook please",
            "Could we push it back an hour",
            "postpone",
        ] {
            assert_eq!(said(s), ModifyAppointment, "{s}");
        }
    }

    #[test]
    fn hours_by_speech() {
        for s in [
            "What time do you close?",
            "Are you open on Sunday?",
            "hours",
            "What are your opening hours",
            "how late are you open tonight",
            "Is the salon closed on Monday?",
        ] {
            assert_eq!(said(s), GetHours, "{s}");
        }
    }

    #[test]
    fn pricing_by_speech() {
        for s in [
            "How much is a haircut?",
            "price",
            "What does a colour cost",
            "What are your rates",
            "Do you charge extra for long hair?",
            "Can I get a quote",
        ] {
            assert_eq!(said(s), GetPricing, "{s}");
        }
    }

    #[test]
    fn priority_resolves_conflicts() {
        // Each sentence also contains a keyword of a lower-priority reason.
        assert_eq!(said("cancel my appointment"), CancelAppointment);
        assert_eq!(said("reschedule my appointment"), ModifyAppointment);
        assert_eq!(said("change my appointment time"), ModifyAppointment);
        assert_eq!(
            said("I need to cancel and rebook for Friday"),
            ModifyAppointment
        );
        assert_eq!(
            said("I can't make it at three, can we move it"),
            ModifyAppointment
        );
        assert_eq!(
            said("Are you open Sunday? I'd like to book"),
            SetupAppointment
        );
        assert_eq!(said("what time is my appointment"), SetupAppointment);
        assert_eq!(said("how much longer are you open"), GetHours);
        assert_eq!(said("what does it cost to cancel"), CancelAppointment);
    }

    #[test]
    fn matches_whole_words_only() {
        // Each contains a keyword as a substring: "open", "book", "cost", "rate", "change", "close".
        for s in [
            "Did you reopen",
            "any openings tomorrow",
            "I left my notebook there",
            "I saw you on Facebook",
            "costume party",
            "the decorated room",
            "exchange a product",
            "I left my scarf in the closet",
        ] {
            assert_eq!(said(s), Other, "{s}");
        }
        // "when do you" is a phrase: the words must be consecutive and in order.
        assert_eq!(said("when you do"), Other);
        assert_eq!(said("When do you reopen"), GetHours); // by the phrase, not by "reopen"
        assert_eq!(said("I'd like to rebook"), ModifyAppointment);
        // Punctuation, case and extra spaces between words do not matter.
        assert_eq!(said("HOW   much?!"), GetPricing);
        assert_eq!(said("how-much"), GetPricing);
        assert_eq!(said("howmuch"), Other);
    }

    #[test]
    fn digits() {
        assert_eq!(pressed("1"), SetupAppointment);
        assert_eq!(pressed("2"), CancelAppointment);
        assert_eq!(pressed("3"), ModifyAppointment);
        assert_eq!(pressed("4"), GetHours);
        assert_eq!(pressed("5"), GetPricing);
        for other in ["0", "6", "9", "*", "#", "x", "*4"] {
            assert_eq!(pressed(other), Other, "{other}");
        }
        // Only the first key counts; surrounding whitespace is not a key.
        assert_eq!(pressed("4#"), GetHours);
        assert_eq!(pressed("21"), CancelAppointment);
        assert_eq!(pressed(" 3 "), ModifyAppointment);
    }

    #[test]
    fn digits_win_over_speech() {
        let none = ReasonKeywords::default();
        assert_eq!(
            classify(Some("cancel my appointment"), Some("4"), &none),
            GetHours
        );
        // Even a key with no meaning is the caller's deliberate choice.
        assert_eq!(
            classify(Some("cancel my appointment"), Some("9"), &none),
            Other
        );
        // Blank digits are no key press: the speech decides.
        assert_eq!(
            classify(Some("cancel my appointment"), Some("  "), &none),
            CancelAppointment
        );
        assert_eq!(
            classify(Some("cancel my appointment"), Some(""), &none),
            CancelAppointment
        );
    }

    #[test]
    fn empty_input_is_other() {
        let none = ReasonKeywords::default();
        assert_eq!(classify(None, None, &none), Other);
        assert_eq!(classify(Some(""), None, &none), Other);
        assert_eq!(classify(Some("   \n\t"), Some(" "), &none), Other);
        assert_eq!(classify(Some("?!…"), None, &none), Other);
        assert_eq!(said("I just have a question"), Other);
    }

    #[test]
    fn overrides_replace_defaults() {
        let kw = ReasonKeywords {
            cancel_appointment: list(&["cancelar", "anular mi cita"]),
            ..Default::default()
        };
        let c = |s| classify(Some(s), None, &kw);
        assert_eq!(c("Quiero CANCELAR mi cita, ¿por favor?"), CancelAppointment);
        assert_eq!(c("Necesito anular mi cita"), CancelAppointment);
        // The English cancel words are gone for this tenant...
        assert_eq!(c("cancel"), Other);
        // ...but "cancel my appointment" still books through the untouched setup defaults.
        assert_eq!(c("cancel my appointment"), SetupAppointment);
        // Other reasons keep their defaults.
        assert_eq!(c("what are your hours"), GetHours);
        // Overrides are phrases too: the words must be consecutive.
        assert_eq!(c("anular la cita"), Other);
    }

    #[test]
    fn overrides_are_normalised_like_speech() {
        let kw = ReasonKeywords {
            get_hours: list(&["  ¿Horario?  ", "ÖFFNUNGSZEITEN", "l'horaire"]),
            get_pricing: list(&["!!!"]),
            ..Default::default()
        };
        let c = |s| classify(Some(s), None, &kw);
        assert_eq!(c("cuál es su horario"), GetHours);
        assert_eq!(c("Wie sind Ihre Öffnungszeiten?"), GetHours);
        assert_eq!(c("Quel est l’horaire ?"), GetHours);
        // A keyword with no letters matches nothing rather than everything.
        assert_eq!(c("bonjour"), Other);
        // The English hours words were replaced.
        assert_eq!(c("are you open"), Other);
    }

    #[test]
    fn empty_override_switches_a_reason_off_for_speech_only() {
        let kw = ReasonKeywords {
            get_pricing: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(classify(Some("how much is it"), None, &kw), Other);
        assert_eq!(classify(None, Some("5"), &kw), GetPricing);
    }

    #[test]
    fn long_input_is_bounded() {
        let filler = "la ".repeat(MAX_SPEECH_CHARS);
        // A keyword past the cap is not seen.
        assert_eq!(said(&format!("{filler}cancel")), Other);
        // One inside the cap is, however long the rest is.
        assert_eq!(said(&format!("cancel {filler}")), CancelAppointment);
        // Within the character cap but past the word cap.
        let words = "a ".repeat(MAX_SPEECH_WORDS);
        assert!(words.chars().count() < MAX_SPEECH_CHARS);
        assert_eq!(said(&format!("{words}cancel")), Other);
        // A word cut in half by the character cap does not count: "cancellation" cut to "cancel".
        let pad = "x".repeat(MAX_SPEECH_CHARS - "cancel".len() - 1);
        assert_eq!(said(&format!("{pad} cancellation")), Other);
        // Exactly at the cap nothing is cut, so the last word counts.
        assert_eq!(said(&format!("{pad} cancel")), CancelAppointment);
    }

    #[test]
    fn menu_matches_the_key_mapping() {
        // Every "…, press N." sentence of the menu must classify, as speech, to what key N means.
        let mut seen = Vec::new();
        for sentence in DEFAULT_MENU.split('.') {
            if let Some((words, key)) = sentence.split_once(", press ") {
                assert_eq!(said(words), pressed(key.trim()), "{sentence}");
                seen.push(key.trim().to_string());
            }
        }
        assert_eq!(seen, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn default_lists() {
        assert!(default_keywords(Other).is_empty());
        for reason in PRIORITY {
            let words = default_keywords(reason);
            assert!(!words.is_empty(), "{reason:?}");
            // Every default keyword on its own classifies to its reason unless a higher-priority
            // reason claims the same words; this catches a keyword that normalisation breaks.
            for w in words {
                let got = said(w);
                let rank = |r| PRIORITY.iter().position(|p| *p == r).unwrap();
                assert!(
                    got == reason || (got != Other && rank(got) < rank(reason)),
                    "{w:?} is {got:?}, expected {reason:?}"
                );
            }
        }
    }
}
