//! Offset paging as every listing reads it: `limit` defaults to 50, must be at least 1 and is
//! treated as 100 above 100; `offset` defaults to 0 and must not be negative.

use super::ValidationError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

/// `(limit, offset)` of a listing's query, or the field at fault.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ValidationError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if limit < 1 {
        return Err(ValidationError::new("limit", "must be at least 1"));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ValidationError::new("offset", "must not be negative"));
    }
    Ok((limit.min(MAX_LIMIT), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_the_field_at_fault() {
        assert_eq!(page(None, None), Ok((50, 0)));
        assert_eq!(page(Some(500), Some(7)), Ok((100, 7)));
        assert_eq!(page(Some(0), None).unwrap_err().field, "limit");
        assert_eq!(page(None, Some(-1)).unwrap_err().field, "offset");
    }
}
