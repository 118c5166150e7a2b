//! Bounded text fields: trimmed, non-empty where required, and length-limited in characters so
//! over-long input is a 400 rather than a database error or a 64 kB TwiML document.

use super::ValidationError;

/// Checks a required text value: trimmed, 1..=max characters, no control characters except newlines.
pub fn required(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    optional(field, v, max).map(|s| s.unwrap_or_default())
}

/// Checks an optional text value; an empty string counts as absent.
pub fn optional(field: &str, value: &str, max: usize) -> Result<Option<String>, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let n = v.chars().count();
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {n})"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_trimming() {
        assert_eq!(required("name", "  Salon  ", 10).unwrap(), "Salon");
        assert!(required("name", "   ", 10).is_err());
        assert!(required("name", "abcdefghijk", 10).is_err());
        assert!(required("name", "a\u{0}b", 10).is_err());
        assert_eq!(optional("x", "", 5).unwrap(), None);
        // Characters, not bytes: five emoji fit in five.
        assert!(required("name", "💈💈💈💈💈", 5).is_ok());
    }
}
