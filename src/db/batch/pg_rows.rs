//! A batch's row writes on PostgreSQL as one prepared statement: each table's rows go as column
//! arrays, bound in binary and `unnest`ed, and every table's insert is one part of a single
//! `WITH` statement.
//!
//! Why: written into a script as literals (`rows::inline_pg`), every batch's inserts were parsed,
//! analysed and planned again, about a fifth of PostgreSQL's time under the webhook benchmark.
//! This statement's text depends only on which tables a batch writes and their columns' types, so
//! each connection prepares each form once (sqlx's statement cache) and, in a writer's
//! transaction (`PG_WRITER_BEGIN`), keeps its plan. The values never pass through SQL text.
//!
//! The parts of one statement share a snapshot and see nothing of each other, which is what a
//! batch's inserts need: each writes rows of its own (the batch keeps one state per call, and new
//! and changed calls are apart). Foreign keys between them (a delivery's event) are checked when
//! the whole statement has run, as for the script's statements in turn.

use crate::db::{StoreError, Tx};

use super::rows::{Val, Write};

/// One table's column of values, as the array bound for it.
enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    /// An empty column of `v`'s type, room for `rows` values.
    fn like(v: &Val, rows: usize) -> Column {
        match v {
            Val::Text(_) | Val::OptText(_) => Column::Text(Vec::with_capacity(rows)),
            Val::Int(_) | Val::OptInt(_) => Column::Int(Vec::with_capacity(rows)),
            Val::Bool(_) => Column::Bool(Vec::with_capacity(rows)),
        }
    }

    fn array_type(&self) -> &'static str {
        match self {
            Column::Text(_) => "text[]",
            Column::Int(_) => "int8[]",
            Column::Bool(_) => "bool[]",
        }
    }

    fn same_type(&self, v: &Val) -> bool {
        matches!(
            (self, v),
            (Column::Text(_), Val::Text(_) | Val::OptText(_))
                | (Column::Int(_), Val::Int(_) | Val::OptInt(_))
                | (Column::Bool(_), Val::Bool(_))
        )
    }

    fn push(&mut self, v: Val) {
        match (self, v) {
            (Column::Text(c), Val::Text(s)) => c.push(Some(s)),
            (Column::Text(c), Val::OptText(s)) => c.push(s),
            (Column::Int(c), Val::Int(i)) => c.push(Some(i)),
            (Column::Int(c), Val::OptInt(i)) => c.push(i),
            (Column::Bool(c), Val::Bool(b)) => c.push(Some(b)),
            // `take_rows` checked every value's type first.
            _ => unreachable!("a value of another type than its column"),
        }
    }
}

/// The batch's row writes as one statement with its arrays.
pub(super) struct RowsStatement {
    sql: String,
    columns: Vec<Column>,
}

/// Takes the [`Write::Rows`] out of `writes` (the single statements stay, in order) as one
/// statement, or leaves `writes` as they are and answers `None` when there are none, or when one is
/// not of the shape this writes (a head that does not end in `VALUES `, a tuple that is not
/// parenthesised, values that do not fill whole rows or change type within a column).
pub(super) fn take_rows(writes: &mut Vec<Write>) -> Option<RowsStatement> {
    let mut parts = Vec::new();
    let mut columns = Vec::new();
    for w in writes.iter() {
        let Write::Rows {
            head,
            tuple,
            tail,
            width,
            vals,
        } = w
        else {
            continue;
        };
        let (width, n) = (*width, vals.len() / (*width).max(1));
        if width == 0 || vals.len() % width != 0 || n == 0 {
            return None;
        }
        let table = head.strip_suffix("VALUES ")?;
        let names: Vec<String> = (0..width).map(|i| format!("u.c{i}")).collect();
        let selected = tuple(&names);
        let selected = selected.strip_prefix('(')?.strip_suffix(')')?;
        let mut arrays = Vec::with_capacity(width);
        let mut aliases = Vec::with_capacity(width);
        for (i, first) in vals[..width].iter().enumerate() {
            let column = Column::like(first, n);
            if !vals[i..].iter().step_by(width).all(|v| column.same_type(v)) {
                return None;
            }
            arrays.push(format!("${}::{}", columns.len() + 1, column.array_type()));
            aliases.push(format!("c{i}"));
            columns.push(column);
        }
        parts.push(format!(
            "w{} AS ({table}SELECT {selected} FROM unnest({}) AS u({}){tail})",
            parts.len(),
            arrays.join(", "),
            aliases.join(", ")
        ));
    }
    if parts.is_empty() {
        return None;
    }
    // Every check passed: move the values into their columns.
    let mut next = 0;
    writes.retain_mut(|w| {
        let Write::Rows { width, vals, .. } = w else {
            return true;
        };
        for (i, v) in std::mem::take(vals).into_iter().enumerate() {
            columns[next + i % *width].push(v);
        }
        next += *width;
        false
    });
    Some(RowsStatement {
        sql: format!("WITH {} SELECT 1", parts.join(", ")),
        columns,
    })
}

impl RowsStatement {
    /// Runs the statement in `tx` (PostgreSQL), prepared once per connection.
    pub(super) async fn execute(self, tx: &mut Tx) -> Result<(), StoreError> {
        let Tx::Postgres(t) = tx else {
            return Err(StoreError::NotCommitted(
                "column-array writes are for PostgreSQL only".into(),
            ));
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for column in self.columns {
            q = match column {
                Column::Text(v) => q.bind(v),
                Column::Int(v) => q.bind(v),
                Column::Bool(v) => q.bind(v),
            };
        }
        q.execute(&mut **t)
            .await
            .map(|_| ())
            .map_err(StoreError::from_sqlx)
    }

    #[cfg(test)]
    fn sql(&self) -> &str {
        &self.sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::batch::rows::{job_tuple, plain};

    fn rows(head: &str, tuple: fn(&[String]) -> String, width: usize, vals: Vec<Val>) -> Write {
        Write::Rows {
            head: head.into(),
            tuple,
            tail: " ON CONFLICT DO NOTHING".into(),
            width,
            vals,
        }
    }

    #[test]
    fn every_table_becomes_one_part_with_a_typed_array_per_column() {
        let mut writes = vec![
            Write::One("UPDATE tenants SET x = $1".into(), vec![Val::Int(1)]),
            rows(
                "INSERT INTO a (x, y, z) VALUES ",
                plain,
                3,
                vec![
                    Val::Text("1".into()),
                    Val::OptInt(None),
                    Val::Bool(true),
                    Val::OptText(None),
                    Val::Int(7),
                    Val::Bool(false),
                ],
            ),
            Write::One("DELETE FROM b".into(), vec![]),
            rows(
                "INSERT INTO jobs (cols) VALUES ",
                job_tuple,
                9,
                (0..9).map(Val::Int).collect(),
            ),
        ];
        let statement = take_rows(&mut writes).expect("rows");
        assert_eq!(
            statement.sql(),
            "WITH w0 AS (INSERT INTO a (x, y, z) SELECT u.c0, u.c1, u.c2 \
             FROM unnest($1::text[], $2::int8[], $3::bool[]) AS u(c0, c1, c2) ON CONFLICT DO NOTHING), \
             w1 AS (INSERT INTO jobs (cols) SELECT u.c0, u.c1, u.c2, u.c3, 'pending', 0, u.c4, u.c5, NULL, NULL, NULL, u.c6, u.c7, u.c8, NULL \
             FROM unnest($4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[]) \
             AS u(c0, c1, c2, c3, c4, c5, c6, c7, c8) ON CONFLICT DO NOTHING) SELECT 1"
        );
        let Column::Text(first) = &statement.columns[0] else {
            panic!("text column")
        };
        assert_eq!(first, &[Some("1".to_string()), None]);
        let Column::Int(second) = &statement.columns[1] else {
            panic!("int column")
        };
        assert_eq!(second, &[None, Some(7)]);
        let Column::Bool(third) = &statement.columns[2] else {
            panic!("bool column")
        };
        assert_eq!(third, &[Some(true), Some(false)]);
        // The single statements stay, in their order.
        let left: Vec<&str> = writes
            .iter()
            .map(|w| match w {
                Write::One(sql, _) => sql.as_str(),
                Write::Rows { .. } => "rows",
            })
            .collect();
        assert_eq!(left, ["UPDATE tenants SET x = $1", "DELETE FROM b"]);
    }

    #[test]
    fn writes_of_another_shape_are_left_as_they_are() {
        let mixed = || {
            vec![rows(
                "INSERT INTO a (x) VALUES ",
                plain,
                1,
                vec![Val::Text("a".into()), Val::Int(1)],
            )]
        };
        let mut writes = mixed();
        assert!(take_rows(&mut writes).is_none(), "types change in a column");
        assert_eq!(writes.len(), 1);
        let mut writes = vec![rows(
            "INSERT INTO a (x) SELECT ",
            plain,
            1,
            vec![Val::Int(1)],
        )];
        assert!(take_rows(&mut writes).is_none(), "no VALUES head");
        let mut writes = vec![rows(
            "INSERT INTO a (x, y) VALUES ",
            plain,
            2,
            vec![Val::Int(1)],
        )];
        assert!(take_rows(&mut writes).is_none(), "not a whole row");
        let mut writes = vec![Write::One("SELECT 1".into(), vec![])];
        assert!(take_rows(&mut writes).is_none(), "no rows");
        assert_eq!(writes.len(), 1);
    }
}
