//! A listing's WHERE clause built from the filters a request gives: only the filters given become
//! predicates, numbered as they are added, with their values kept beside them in order. A query
//! with `(col IS NULL OR col = $1)` instead cannot be matched to an index by SQLite, so every
//! listing (calls, events) builds its filter here and each plan uses the index for what is asked.

use super::batch::Val;

pub(crate) struct Where {
    /// The predicates joined by `AND`, parameters numbered `$1`, `$2`, … (empty: no filter).
    pub(crate) sql: String,
    /// The parameters' values, in their numbers' order.
    pub(crate) vals: Vec<Val>,
}

impl Where {
    /// No predicate yet.
    pub(crate) fn new() -> Where {
        Where {
            sql: String::new(),
            vals: Vec::new(),
        }
    }

    /// Appends `AND predicate` (or the predicate alone, first), numbering each `?` of it as the
    /// next parameter.
    pub(crate) fn and<const N: usize>(&mut self, predicate: &str, vals: [Val; N]) {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        for (i, part) in predicate.split('?').enumerate() {
            if i > 0 {
                self.sql.push_str(&format!("${}", self.vals.len() + 1));
                self.vals.push(vals[i - 1].clone());
            }
            self.sql.push_str(part);
        }
    }

    /// The next parameter's placeholder, for the values a query appends after the filter's.
    pub(crate) fn next(&self, k: usize) -> String {
        format!("${}", self.vals.len() + k)
    }

    /// ` WHERE …`, or nothing when no filter was given.
    pub(crate) fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql)
        }
    }
}

/// Binds `vals` in order on a query of either backend.
macro_rules! bind_vals {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                $crate::db::batch::Val::Text(s) => q.bind(s.clone()),
                $crate::db::batch::Val::OptText(s) => q.bind(s.clone()),
                $crate::db::batch::Val::Int(i) => q.bind(*i),
                $crate::db::batch::Val::OptInt(i) => q.bind(*i),
                $crate::db::batch::Val::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}
pub(crate) use bind_vals;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_are_numbered_in_order_and_joined() {
        let mut w = Where::new();
        assert_eq!(w.clause(), "");
        w.and("tenant_id = ?", [Val::Text("t".into())]);
        w.and("answered_at IS NOT NULL", []);
        w.and("(a = ? OR b = ?)", [Val::Int(1), Val::Int(2)]);
        assert_eq!(
            w.clause(),
            " WHERE tenant_id = $1 AND answered_at IS NOT NULL AND (a = $2 OR b = $3)"
        );
        assert_eq!(w.vals.len(), 3);
        assert_eq!(w.next(1), "$4");
    }
}
