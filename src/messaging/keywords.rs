//! STOP/START/HELP: the opt-out keywords Twilio and the carriers honour by default
//! (TWILIO_FACTS B6).
//!
//! A keyword counts only when it is the whole message, trimmed and in any case, exactly as Twilio's
//! default handling reads it: "stop" is an opt-out, "please stop by at 5" is an ordinary text. Reading
//! more into a message would unsubscribe customers who never asked to be.

/// What an inbound text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// Stop sending me texts.
    OptOut,
    /// Send me texts again.
    OptIn,
    /// Who are you and how do I stop this?
    Help,
}

/// Opt-out words; REVOKE and OPTOUT joined Twilio's list on 2025-04-29.
pub const OPT_OUT: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
pub const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];
pub const HELP: [&str; 2] = ["HELP", "INFO"];

/// The keyword `body` is, if it is one.
pub fn detect(body: &str) -> Option<Keyword> {
    let word = body.trim().to_ascii_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        Some(Keyword::OptOut)
    } else if OPT_IN.contains(&word.as_str()) {
        Some(Keyword::OptIn)
    } else if HELP.contains(&word.as_str()) {
        Some(Keyword::Help)
    } else {
        None
    }
}

/// Twilio's Advanced Opt-Out verdict (`OptOutType` = STOP, START or HELP). It is authoritative when
/// present, because the account may have custom keywords Switchboard cannot know.
pub fn from_opt_out_type(value: &str) -> Option<Keyword> {
    match value.trim().to_ascii_uppercase().as_str() {
        "STOP" => Some(Keyword::OptOut),
        "START" => Some(Keyword::OptIn),
        "HELP" => Some(Keyword::Help),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_keyword_in_any_case_with_whitespace() {
        for w in OPT_OUT {
            assert_eq!(detect(w), Some(Keyword::OptOut), "{w}");
            assert_eq!(
                detect(&format!("  {}\n", w.to_lowercase())),
                Some(Keyword::OptOut),
                "{w}"
            );
        }
        for w in OPT_IN {
            assert_eq!(detect(&w.to_lowercase()), Some(Keyword::OptIn), "{w}");
        }
        for w in HELP {
            assert_eq!(detect(w), Some(Keyword::Help), "{w}");
        }
        assert_eq!(detect("Stop"), Some(Keyword::OptOut));
        assert_eq!(detect("optout"), Some(Keyword::OptOut));
        assert_eq!(detect("Revoke"), Some(Keyword::OptOut));
    }

    #[test]
    fn only_the_whole_message_is_a_keyword() {
        for text in [
            "",
            "   ",
            "stop by at 5",
            "please stop",
            "yes please",
            "help me book",
            "STOPP",
            "S TOP",
        ] {
            assert_eq!(detect(text), None, "{text:?}");
        }
    }

    #[test]
    fn advanced_opt_out_types() {
        assert_eq!(from_opt_out_type("STOP"), Some(Keyword::OptOut));
        assert_eq!(from_opt_out_type("start"), Some(Keyword::OptIn));
        assert_eq!(from_opt_out_type(" HELP "), Some(Keyword::Help));
        assert_eq!(from_opt_out_type(""), None);
        assert_eq!(from_opt_out_type("UNSUBSCRIBE"), None);
    }
}
