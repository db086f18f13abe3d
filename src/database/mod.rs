//! Opening the database: SQLite (the embedded default) or PostgreSQL, with the
//! settings each needs to take concurrent writers, and running migrations.
//! [`write`](mod@write) opens the transactions that write; [`crate::fault`] sorts database
//! errors into the client's, passing and lasting ones.

pub mod index_reads;
pub mod write;

pub use index_reads::{IndexReads, query_all_by_index_within};
pub use write::{WriteTransaction, begin_write, execute_unless_busy, take_turn};

use std::{path::Path, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    sqlx::{
        postgres::PgSslMode,
        sqlite::{SqliteJournalMode, SqliteSynchronous},
    },
};

use crate::error::AppResult;

/// Statements slower than this are logged as warnings.
const SLOW_STATEMENT_MILLIS: u64 = 100;

/// A pooled PostgreSQL connection idle at least this long is pinged before
/// it is handed out; busier ones are trusted.
const PING_CONNECTIONS_IDLE_FOR: Duration = Duration::from_secs(30);

/// How long a SQLite writer waits for another to finish before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects to the database at `url` with a pool of `max_connections`; for
/// a SQLite file, creates the file and its folder when missing and switches
/// it to WAL mode so that readers never block the writer.
pub async fn connect(url: &str, max_connections: u32) -> AppResult<DatabaseConnection> {
    if let Some(path) = sqlite_file_path(url)
        && let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            crate::error::AppError::Internal(format!(
                "cannot create the database folder {}: {error}",
                parent.display()
            ))
        })?;
    }
    let mut options = ConnectOptions::new(url);
    if url.starts_with("sqlite:") {
        // A SQLite connection is a file handle in this process: it cannot
        // have been dropped by a server, so asking it first is pure cost
        // (each ask is a hand-off to the connection's worker thread).
        options.test_before_acquire(false);
    } else {
        // By default every statement first pings the server, one round
        // trip more per statement. Only a connection idle long enough to
        // have been dropped by the server or a firewall is asked now.
        options.test_before_acquire_if_idle_for(PING_CONNECTIONS_IDLE_FOR);
    }
    options
        .max_connections(max_connections)
        // When the database is away, fail within seconds rather than let
        // requests pile up; the pool reconnects by itself once it is back.
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(5))
        // Statements are logged at trace level only, as SQL text without the
        // values bound to it (so no email or token); slow ones as warnings,
        // so that a missing index shows in the log.
        .sqlx_logging(true)
        .sqlx_logging_level(tracing::log::LevelFilter::Trace)
        .sqlx_slow_statements_logging_settings(
            tracing::log::LevelFilter::Warn,
            Duration::from_millis(SLOW_STATEMENT_MILLIS),
        )
        // A connection handed back while the driver still counts a
        // transaction on it (its COMMIT or ROLLBACK failed, as on a full
        // disk) is closed, never pooled: a later "commit" on it would only
        // release a savepoint inside the dead transaction.
        .map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_release(|connection, _| Box::pin(ends_clean(connection)))
        })
        .map_sqlx_postgres_pool_opts(|pool| {
            pool.after_release(|connection, _| Box::pin(ends_clean(connection)))
        })
        .map_sqlx_sqlite_opts(|options| {
            options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    if !tls_mode_chosen(url, std::env::var_os("PGSSLMODE").is_some()) {
        options.map_sqlx_postgres_opts(|options| {
            if is_loopback(options.get_host()) {
                options.ssl_mode(PgSslMode::Disable)
            } else {
                options
            }
        });
    }
    Ok(Database::connect(options).await?)
}

/// Whether a connection coming back to the pool holds no transaction, once
/// a rollback queued when its transaction was dropped has run (a ping goes
/// through the same queue, after it).
async fn ends_clean<C: sea_orm::sqlx::Connection>(
    connection: &mut C,
) -> Result<bool, sea_orm::sqlx::Error> {
    if !connection.is_in_transaction() {
        return Ok(true);
    }
    connection.ping().await?;
    let clean = !connection.is_in_transaction();
    if !clean {
        tracing::warn!("closed a database connection whose transaction could not be ended");
    }
    Ok(clean)
}

/// Whether the operator chose how to use TLS towards PostgreSQL, in the
/// URL's `sslmode` or in `PGSSLMODE`. When they did not, the driver would
/// try TLS (`prefer`) even towards this machine, where the bytes never leave
/// it, and encryption made a cold article page's statements measurably
/// slower on both ends (figures in BENCHMARKS.md). So a loopback address
/// without a choice is reached
/// without TLS; `sslmode=require` (or `prefer`) in the URL asks for it.
fn tls_mode_chosen(url: &str, mode_in_environment: bool) -> bool {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    mode_in_environment
        || query.split('&').any(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            name.eq_ignore_ascii_case("sslmode") || name.eq_ignore_ascii_case("ssl-mode")
        })
}

/// Whether `host` names this machine over TCP: `localhost` or a loopback
/// address (a Unix socket path is not TCP and never uses TLS anyway).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// How many connections the pool holds open, and how many of them are idle.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// Proves the database takes a write right now (for `/readyz` after writes
/// failed): bumps a counter row in a write transaction of its own, which on
/// a full disk or a read-only file fails as any write would.
pub async fn probe_write(db: &DatabaseConnection) -> AppResult<()> {
    let txn = begin_write(db).await?;
    txn.execute_unprepared(
        "INSERT INTO content_versions (name, version) VALUES ('write_probe', 1) \
         ON CONFLICT (name) DO UPDATE SET version = content_versions.version + 1",
    )
    .await?;
    txn.commit().await
}

/// Gives SQLite's query planner statistics about the data (bounded work,
/// so it stays quick on a large file). Without them it picks the index of
/// the range in `published_at <= now` over the one that serves the order, and
/// sorts the whole table for "most viewed". PostgreSQL gathers its own
/// statistics (autovacuum), so this does nothing there.
///
/// `ANALYZE` writes the statistics, so it waits for this process's turn
/// among writers ([`begin_write`]). Run beside them instead, it and the
/// search index a large site's server rebuilds as it starts each waited
/// for the other's lock until both gave up, and the server did not start.
pub async fn optimize(db: &DatabaseConnection) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Sqlite {
        let txn = begin_write(db).await?;
        txn.execute_unprepared("PRAGMA analysis_limit = 1000")
            .await?;
        txn.execute_unprepared("ANALYZE").await?;
        txn.commit().await?;
    }
    Ok(())
}

/// The file behind a SQLite URL, or `None` for other databases and for an
/// in-memory SQLite.
fn sqlite_file_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, Statement};

    use super::{is_loopback, sqlite_file_path, tls_mode_chosen};

    /// Whether the bundled SQLite was compiled with `option` (as
    /// `sqlite_compileoption_used` names it, without the `SQLITE_` prefix).
    async fn sqlite_built_with(option: &str) -> bool {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite");
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT sqlite_compileoption_used(?) AS used",
                [option.into()],
            ))
            .await
            .expect("a compile-option query")
            .expect("one row");
        row.try_get::<i32>("", "used").expect("an integer") == 1
    }

    /// `.cargo/config.toml` builds SQLite with the query planner stability
    /// guarantee; without it every statement with `LIMIT ?` is compiled
    /// again on each run (measured: 745 against 909 cold article pages a
    /// second). This fails when that build setting is lost.
    #[tokio::test]
    async fn sqlite_keeps_each_statement_plan_whatever_values_are_bound() {
        assert!(
            sqlite_built_with("ENABLE_QPSG").await,
            "SQLite was built without SQLITE_ENABLE_QPSG"
        );
    }

    /// `.cargo/config.toml` also turns off SQLite's global memory
    /// statistics, kept under one process-wide mutex that every
    /// connection's worker thread takes on every allocation. This fails
    /// when that build setting is lost.
    #[tokio::test]
    async fn sqlite_keeps_no_global_memory_statistics() {
        assert!(
            sqlite_built_with("DEFAULT_MEMSTATUS=0").await,
            "SQLite was built with SQLITE_DEFAULT_MEMSTATUS on"
        );
    }

    #[test]
    fn finds_the_file_behind_a_sqlite_url() {
        assert_eq!(
            sqlite_file_path("sqlite://data/newsroom.db?mode=rwc"),
            Some("data/newsroom.db")
        );
        assert_eq!(sqlite_file_path("sqlite:/tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("postgres://postgres@localhost/test"), None);
    }

    #[test]
    fn a_tls_mode_is_chosen_in_the_url_or_the_environment() {
        assert!(!tls_mode_chosen(
            "postgres://postgres@127.0.0.1:5432/test",
            false
        ));
        assert!(!tls_mode_chosen(
            "postgres://postgres@127.0.0.1/test?application_name=newsroom",
            false
        ));
        assert!(tls_mode_chosen("postgres://db/test?sslmode=require", false));
        assert!(tls_mode_chosen(
            "postgres://db/test?x=1&SSLMODE=prefer",
            false
        ));
        assert!(tls_mode_chosen(
            "postgres://db/test?ssl-mode=verify-full",
            false
        ));
        assert!(tls_mode_chosen("postgres://db/test", true));
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for host in [
            "127.0.0.1",
            "127.0.0.53",
            "localhost",
            "LocalHost",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.5",
            "db.example.com",
            "/var/run/postgresql",
            "",
            "::2",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
