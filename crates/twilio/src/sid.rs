//! The shape of Twilio's identifiers: two letters naming the kind (`CA` a call, `SM`/`MM` a
//! message, `RE` a recording, `AC` an account …) and 32 hexadecimal digits. A webhook parameter that
//! names a SID but has another shape did not come from Twilio, and is refused before it is stored
//! or echoed into an action URL.

/// Whether `s` is a SID of kind `prefix`: `prefix` + 32 hex digits.
pub fn has_shape(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

/// Webhook parameters that carry a SID, with the kinds each may be.
pub const WEBHOOK_SID_PARAMS: &[(&str, &[&str])] = &[
    ("AccountSid", &["AC"]),
    ("CallSid", &["CA"]),
    ("ParentCallSid", &["CA"]),
    ("DialCallSid", &["CA"]),
    ("MessageSid", &["SM", "MM"]),
    ("SmsSid", &["SM", "MM"]),
    ("SmsMessageSid", &["SM", "MM"]),
    ("MessagingServiceSid", &["MG"]),
    ("RecordingSid", &["RE"]),
    ("TranscriptionSid", &["TR"]),
];

/// The first SID parameter in `params` whose value has the wrong shape, with the kinds it may be.
/// Empty values are left to the handler (which says the parameter is required where it is).
pub fn misshapen<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<(&'a str, &'static [&'static str])> {
    params.into_iter().find_map(|(k, v)| {
        let (_, kinds) = WEBHOOK_SID_PARAMS.iter().find(|(name, _)| *name == k)?;
        let v = v.trim();
        (!v.is_empty() && !kinds.iter().any(|p| has_shape(v, p))).then_some((k, *kinds))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p<'a>(k: &'a str, v: &'a str) -> [(&'a str, &'a str); 1] {
        [(k, v)]
    }

    #[test]
    fn sids_are_their_kind_and_32_hex_digits() {
        assert!(has_shape("CA0123456789abcdef0123456789ABCDEF", "CA"));
        assert!(!has_shape("CA123", "CA"));
        assert!(!has_shape("XX0123456789abcdef0123456789abcdef", "CA"));
        assert!(!has_shape("CA0123456789abcdef0123456789abcdeg", "CA"));
        assert!(!has_shape("CA0123456789abcdef0123456789abcdef0", "CA"));
    }

    #[test]
    fn misshapen_names_the_parameter_and_its_kinds() {
        assert_eq!(
            misshapen(p("CallSid", "CA123")),
            Some(("CallSid", &["CA"][..]))
        );
        assert_eq!(
            misshapen(p("MessageSid", "CA0123456789abcdef0123456789abcdef")),
            Some(("MessageSid", &["SM", "MM"][..]))
        );
        assert_eq!(
            misshapen(p("MessageSid", "MM0123456789abcdef0123456789abcdef")),
            None
        );
        assert_eq!(
            misshapen(p("CallSid", "")),
            None,
            "absence is the handler's to judge"
        );
        assert_eq!(misshapen(p("From", "CA123")), None, "not a SID parameter");
    }
}
