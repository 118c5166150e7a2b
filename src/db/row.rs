//! Rows declared once. [`stored_row!`] takes a table's columns, each with the expression that
//! binds its value, in one list; from it come the column list (`SELECT`/`INSERT`), the number of
//! columns, and a binder macro that appends every value in the same order. A swapped pair can no
//! longer bind an integer to the wrong column, because there is no second list to get out of step.
//!
//! ```ignore
//! stored_row! {
//!     $ bind_staff, COLUMNS, WIDTH for s: Staff {
//!         id: &s.id,
//!         phone: s.phone.as_str(),
//!         …
//!     }
//! }
//! let sql = insert_sql("staff", COLUMNS, WIDTH, "");
//! bind_staff!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), row).execute(p).await
//! ```
//!
//! (The leading `$` is passed in so that the binder macro the declaration generates can have
//! parameters of its own; `macro_rules!` cannot write a `$` itself.)

/// Declares a stored row: `$ binder, COLUMNS_CONST, WIDTH_CONST for r: Type { column: value, … }`.
/// Each `value` is an expression over `r` (the row), bound in declaration order.
#[macro_export]
macro_rules! stored_row {
    ($d:tt $binder:ident, $columns:ident, $width:ident for $r:ident : $ty:ty {
        $first:tt : $first_val:expr $(, $col:tt : $val:expr)* $(,)?
    }) => {
        /// The stored columns, in binding order.
        pub const $columns: &str = concat!(stringify!($first) $(, ", ", stringify!($col))*);
        /// How many columns a row binds.
        pub const $width: usize = [stringify!($first) $(, stringify!($col))*].len();
        /// Appends the values of a row (`&Type`) to a query, in the order of the column list.
        macro_rules! $binder {
            ($d query:expr, $d row:expr) => {{
                let $r: &$ty = $d row;
                $d query.bind($first_val) $(.bind($val))*
            }};
        }
    };
}

/// `$first, $first+1, …` for `n` values: the placeholders of one row.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO table (columns) VALUES ($1, …)` followed by `rest` (e.g. an `ON CONFLICT` clause).
pub fn insert_sql(table: &str, columns: &str, width: usize, rest: &str) -> String {
    let sql = format!(
        "INSERT INTO {table} ({columns}) VALUES ({})",
        placeholders(1, width)
    );
    if rest.is_empty() {
        sql
    } else {
        format!("{sql} {rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pair {
        a: i64,
        b: String,
    }

    stored_row! {
        $ bind_pair, PAIR_COLUMNS, PAIR_WIDTH for p: Pair {
            a: p.a,
            b: &p.b,
        }
    }

    #[test]
    fn columns_width_and_placeholders_come_from_one_list() {
        assert_eq!(PAIR_COLUMNS, "a, b");
        assert_eq!(PAIR_WIDTH, 2);
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(
            insert_sql(
                "pairs",
                PAIR_COLUMNS,
                PAIR_WIDTH,
                "ON CONFLICT (a) DO NOTHING"
            ),
            "INSERT INTO pairs (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING"
        );
    }

    /// The binder binds in column order: read back from a real database, each value is in its
    /// own column.
    #[tokio::test]
    async fn the_binder_binds_in_column_order() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE pairs (a INTEGER, b TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        let row = Pair {
            a: 7,
            b: "seven".into(),
        };
        let sql = insert_sql("pairs", PAIR_COLUMNS, PAIR_WIDTH, "");
        bind_pair!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), &row)
            .execute(&pool)
            .await
            .unwrap();
        let (a, b): (i64, String) = sqlx::query_as("SELECT a, b FROM pairs")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!((a, b.as_str()), (7, "seven"));
    }
}
