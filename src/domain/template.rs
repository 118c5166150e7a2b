//! Filling a tenant's message template: the one way `{placeholder}`s become words, for texts,
//! greetings and the missed-call text-back alike.

/// `template` with each `(placeholder, value)` put in. A placeholder whose value is unknown
/// (`None`) is left empty, and the doubled spaces and stray ` ,` / ` .` that leaves are closed up,
/// so "with {staffName} on {date}" does not read "with  on Monday" when no staff member is named.
pub fn fill(template: &str, values: &[(&str, Option<&str>)]) -> String {
    let mut out = template.to_string();
    let mut emptied = false;
    for (placeholder, value) in values {
        if out.contains(placeholder) {
            emptied |= value.is_none();
            out = out.replace(placeholder, value.unwrap_or(""));
        }
    }
    if emptied {
        while out.contains("  ") {
            out = out.replace("  ", " ");
        }
        out = out.replace(" ,", ",").replace(" .", ".");
        out = out.trim().to_string();
    }
    out
}

/// `text` with `{name}` replaced by the business name: the one placeholder of greetings, the
/// auto-reply, the HELP reply and the missed-call text-back.
pub fn fill_business_name(text: &str, business_name: &str) -> String {
    fill(text, &[("{name}", Some(business_name))])
}

/// The placeholders [`fill_business_name`] fills, as the console lists them.
pub const BUSINESS_PLACEHOLDERS: &str = "{name} (the business name)";

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn known_values_go_in_and_unknown_ones_close_their_gap() {
        assert_eq!(
            fill(
                "Hi {who}, see you {when}.",
                &[("{who}", Some("Ana")), ("{when}", Some("today"))]
            ),
            "Hi Ana, see you today."
        );
        assert_eq!(
            fill(
                "Your {service} with {staff} .",
                &[("{service}", Some("cut")), ("{staff}", None)]
            ),
            "Your cut with."
        );
        // Nothing unknown: the text is left exactly as written, spaces included.
        assert_eq!(
            fill("Call  {name} ", &[("{name}", Some("Bo"))]),
            "Call  Bo "
        );
    }
}
