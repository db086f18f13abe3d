//! What kind of trouble a database error is: the client's (a broken rule),
//! a passing fault the client may retry (a lock, a full disk, a lost
//! connection), or a lasting one. Errors are told apart by the codes the
//! databases define (SQLite's result codes, PostgreSQL's SQLSTATE), never by
//! their messages.

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// The kind of a database error, as metrics and clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// Another writer holds a lock (SQLite `BUSY`/`LOCKED`, PostgreSQL
    /// serialization failures and deadlocks): retrying soon succeeds.
    Busy,
    /// The disk or the database's quota is full.
    Full,
    /// The file or the server refuses writes (read-only file, standby).
    ReadOnly,
    /// Reading or writing the file failed.
    Io,
    /// The connection to the server failed or was lost.
    Connection,
    /// No pooled connection became free in time.
    PoolTimeout,
    /// A statement ran past its time limit and was cancelled (PostgreSQL's
    /// `statement_timeout`, or a SQLite statement interrupted by the
    /// server): the database was slower than the request may wait, now.
    TimedOut,
    /// A unique constraint failed: two writers raced for one name.
    Unique,
    /// Anything else: a bug or a lasting fault.
    Other,
}

impl DbFault {
    /// Sorts `error` by kind.
    pub fn of(error: &DbErr) -> Self {
        if matches!(
            error.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            return Self::Unique;
        }
        match error {
            DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => Self::PoolTimeout,
            DbErr::ConnectionAcquire(_) => Self::Connection,
            DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
                RuntimeErr::SqlxError(sqlx_error) => Self::of_sqlx(sqlx_error),
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }

    fn of_sqlx(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(database) => {
                let code = database.code();
                let code = code.as_deref().unwrap_or_default();
                if database
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some()
                {
                    // SQLite reports its (extended) result code as a number.
                    code.parse().map_or(Self::Other, Self::of_sqlite)
                } else {
                    Self::of_sqlstate(code)
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Connection,
            sqlx::Error::PoolTimedOut => Self::PoolTimeout,
            _ => Self::Other,
        }
    }

    /// SQLite's primary result code is the low byte of the extended one.
    fn of_sqlite(code: u32) -> Self {
        match code & 0xff {
            5 | 6 => Self::Busy,
            13 => Self::Full,
            8 => Self::ReadOnly,
            10 | 14 | 15 => Self::Io,
            // SQLITE_INTERRUPT: only a time limit interrupts a statement.
            9 => Self::TimedOut,
            _ => Self::Other,
        }
    }

    fn of_sqlstate(code: &str) -> Self {
        match code {
            "40001" | "40P01" | "55P03" => Self::Busy,
            "53100" => Self::Full,
            "25006" => Self::ReadOnly,
            "58030" => Self::Io,
            "57014" => Self::TimedOut,
            _ if code.starts_with("08") || code.starts_with("57P") || code == "53300" => {
                Self::Connection
            }
            _ => Self::Other,
        }
    }

    /// Whether the same request may succeed when sent again later: the
    /// fault is the database's for now, not the request's.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Busy
                | Self::Full
                | Self::ReadOnly
                | Self::Io
                | Self::Connection
                | Self::PoolTimeout
                | Self::TimedOut
        )
    }

    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::Full => "full",
            Self::ReadOnly => "read_only",
            Self::Io => "io",
            Self::Connection => "connection",
            Self::PoolTimeout => "pool_timeout",
            Self::TimedOut => "timed_out",
            Self::Unique => "unique",
            Self::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DbFault;

    #[test]
    fn sqlite_codes_are_sorted_by_their_primary_code() {
        let kinds: Vec<DbFault> = [5, 517, 6, 13, 8, 1032, 10, 3850, 14, 9, 19, 11]
            .into_iter()
            .map(DbFault::of_sqlite)
            .collect();
        use DbFault::*;
        assert_eq!(
            kinds,
            [
                Busy, Busy, Busy, Full, ReadOnly, ReadOnly, Io, Io, Io, TimedOut, Other, Other
            ]
        );
    }

    #[test]
    fn postgresql_states_are_sorted_by_class() {
        let kinds: Vec<DbFault> = [
            "40001", "40P01", "53100", "25006", "08006", "57P01", "57014", "23505", "42P01",
        ]
        .into_iter()
        .map(DbFault::of_sqlstate)
        .collect();
        use DbFault::*;
        assert_eq!(
            kinds,
            [
                Busy, Busy, Full, ReadOnly, Connection, Connection, TimedOut, Other, Other
            ]
        );
    }

    #[test]
    fn only_passing_faults_are_retryable() {
        assert!(DbFault::Busy.is_retryable());
        assert!(DbFault::Connection.is_retryable());
        assert!(!DbFault::Unique.is_retryable());
        assert!(!DbFault::Other.is_retryable());
    }
}
