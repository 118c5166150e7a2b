//! The database: which one, how many connections, how many group-commit writers, how long SQLite's
//! write-ahead log grows.

use crate::secret::Secret;

use super::input::redact_url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    /// `DATABASE_URL`; may carry the database password.
    pub url: Secret,
    pub kind: DbKind,
    pub max_connections: u32,
    /// `DB_WRITERS`: group-commit writers (SQLite has one write lock, so more than one only queue on it).
    pub writers: usize,
    /// `SQLITE_WAL_RESET_MB`: WAL length past which the checkpointer starts the log over.
    pub sqlite_wal_reset_mb: u32,
}

/// `SQLITE_WAL_RESET_MB` when unset. Each restart of the log holds the writers for a few
/// milliseconds to a few tens (`db::checkpoint`), so a longer log means fewer of those pauses. The
/// webhook benchmark appends about 300 MB of log a second: at 256 MiB the holds came 1.3 times a
/// second and made the p99 (31–44 ms); at 1 GiB, 0.3–0.5 times a second, p99 10–34 ms in most runs
/// (56 ms in one where holds fell in the measured window) at the same throughput; at 2 GiB
/// throughput fell (docs/scaling.md, eleventh session). Between bursts of
/// writes the log starts over by itself, without a hold, so a quiet server's log stays small.
pub const DEFAULT_SQLITE_WAL_RESET_MB: u32 = 1024;

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// `sqlite://FILE` or `postgres://user:pass@host/db`; on PostgreSQL the query sets TLS (`?sslmode=verify-full&sslrootcert=FILE`; the default `prefer` encrypts when the server offers it) or a Unix socket (`?host=/var/run/postgresql`)
        #[redact(password)]
        database_url: (Secret, DbKind) = |v| {
            let url = v.text().unwrap_or("sqlite://switchboard.db");
            v.show(redact_url(url));
            let kind = if url.starts_with("sqlite:") {
                DbKind::Sqlite
            } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                DbKind::Postgres
            } else {
                return Err(v.fail(&redact_url(url), "must start with sqlite: or postgres://"));
            };
            Ok((Secret::new(url), kind))
        };

        /// database pool size
        db_max_connections: u32 = |v| v.number(10, 1, 1000);

        /// group-commit writers: the webhooks' writes are batched, many requests per transaction,
        /// each answered once its batch has committed (1–64; SQLite has one write lock, so more only
        /// queue on it)
        #[default = "`1` on SQLite, `2` on PostgreSQL"]
        db_writers: usize = |v| {
            // Two on PostgreSQL: fewer writers make larger batches, and each batch's fixed cost
            // (its round trips, each statement's start, the commit's flush) is paid fewer times.
            // The webhook benchmark on the 2-core development machine (release build without LTO):
            // 9,031 req/s with 2, 8,532 with 3, 8,078 with 4, 7,003 with 6, 8,334 with 1
            // (docs/scaling.md, tenth session).
            let default = match database_url.1 {
                DbKind::Sqlite => 1,
                DbKind::Postgres => 2,
            };
            v.number(default, 1, 64)
        };

        /// SQLite: WAL size in MiB past which, under continuous writes, the checkpointer holds the
        /// writers for one last copy (tens of milliseconds) and the log starts over (16–65536).
        /// Smaller bounds the file; larger makes those pauses rarer
        sqlite_wal_reset_mb: u32 = |v| v.number(DEFAULT_SQLITE_WAL_RESET_MB, 16, 65_536);
    ] [
        => DbConfig = DbConfig {
            url: database_url.0,
            kind: database_url.1,
            max_connections: db_max_connections,
            writers: db_writers,
            sqlite_wal_reset_mb,
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());
