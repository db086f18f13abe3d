//! Reads that must come from the full-text index and stay within a time
//! limit (a search's statements). On PostgreSQL they share one transaction
//! that carries their planner settings and `statement_timeout`, so that a
//! search of several statements pays for one `BEGIN`, one setting of them
//! and one `COMMIT`. SQLite runs each statement on a pooled connection of
//! its own with a progress handler that interrupts it once its time is up.
//!
//! Why the time limit: a request the server cuts short does not stop a
//! statement the database is running, so the limit is what keeps one
//! costly read from holding a pooled connection (and, on SQLite, a thread
//! and a core) for long. Why the settings: the planner's
//! costs do not count the work a row's large values need (a `tsvector`
//! read back from TOAST and matched), so for a word most rows hold it
//! would read and match every row rather than use the full-text index
//! that already knows the answer (`enable_seqscan` off). Each run is
//! planned for its own values (`plan_cache_mode`): how many rows a
//! full-text match finds decides the plan, and a plan made once for any
//! words (PostgreSQL's generic plan of a prepared statement) walked every
//! article for a word only one holds. And it runs in this process alone
//! (no parallel workers): starting them took longer than a search for one
//! article, and a server's concurrent requests keep the cores busy
//! already.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    RuntimeErr, Statement, TransactionTrait,
    error::ConnAcquireErr,
    sqlx::{self, Sqlite, SqlitePool, pool::PoolConnection},
};

/// Statements read with the index settings (see the module's doc); past
/// the time limit a statement fails with
/// [`crate::fault::DbFault::TimedOut`].
pub struct IndexReads<'a> {
    on: On<'a>,
}

/// Where the statements run.
enum On<'a> {
    /// SQLite: the pool, statement by statement, each within the limit.
    Pool(&'a SqlitePool, Duration),
    /// PostgreSQL: one transaction with the settings made.
    Transaction(DatabaseTransaction),
}

impl<'a> IndexReads<'a> {
    /// Starts the reads on `db`, each statement stopped after `timeout`.
    pub async fn begin(db: &'a DatabaseConnection, timeout: Duration) -> Result<Self, DbErr> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self {
                on: On::Pool(db.get_sqlite_connection_pool(), timeout),
            });
        }
        let txn = db.begin().await?;
        let timeout = timeout.as_millis().clamp(1, i32::MAX as u128);
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('statement_timeout', $1, true), set_config('enable_seqscan', 'off', true), \
             set_config('plan_cache_mode', 'force_custom_plan', true), \
             set_config('max_parallel_workers_per_gather', '0', true)",
            [timeout.to_string().into()],
        ))
        .await?;
        Ok(Self {
            on: On::Transaction(txn),
        })
    }

    /// Every row of `statement`.
    pub async fn query_all(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.on {
            On::Pool(pool, timeout) => sqlite_query_all_within(pool, &statement, *timeout).await,
            On::Transaction(txn) => txn.query_all_raw(statement).await,
        }
    }

    /// Ends the reads (their settings end with them).
    pub async fn finish(self) -> Result<(), DbErr> {
        match self.on {
            On::Pool(..) => Ok(()),
            On::Transaction(txn) => txn.commit().await,
        }
    }
}

/// Runs one read `statement` as [`IndexReads`] do, within `timeout`.
pub async fn query_all_by_index_within(
    db: &DatabaseConnection,
    statement: Statement,
    timeout: Duration,
) -> Result<Vec<QueryResult>, DbErr> {
    let reads = IndexReads::begin(db, timeout).await?;
    let rows = reads.query_all(statement).await?;
    reads.finish().await?;
    Ok(rows)
}

/// How many of SQLite's virtual machine steps run between two looks at the
/// limit: a look costs tens of nanoseconds, these steps some microseconds.
const SQLITE_STEPS_BETWEEN_LOOKS: i32 = 10_000;

/// Runs `statement` on a connection of `pool` and interrupts it once it has
/// run for `timeout`; it then fails with SQLite's `SQLITE_INTERRUPT`
/// ([`crate::fault::DbFault::TimedOut`]). SQLite has no statement timeout
/// of its own: without this, a search that reads every document of a large
/// file runs on after its request is gone. The statement runs through sqlx
/// itself, on the connection it holds, so sea-orm's metric callback (which
/// the tests count statements with) does not see it; sqlx's own statement
/// logging does.
async fn sqlite_query_all_within(
    pool: &SqlitePool,
    statement: &Statement,
    timeout: Duration,
) -> Result<Vec<QueryResult>, DbErr> {
    // Mapped as sea-orm maps a failed acquire (its own mapping is private).
    let connection = pool.acquire().await.map_err(|error| match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => connection_error(other),
    })?;
    let mut limited = Limited::new(connection, Instant::now() + timeout).await?;
    let values = sea_query_sqlx::SqlxValues(
        statement
            .values
            .clone()
            .unwrap_or(sea_orm::Values(Vec::new())),
    );
    let rows = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql.as_str()), values)
        .fetch_all(&mut *limited.connection)
        .await;
    // An interrupted statement leaves its connection as good as any.
    limited.end();
    let rows = rows.map_err(|error| DbErr::Query(RuntimeErr::SqlxError(Arc::new(error))))?;
    Ok(rows.into_iter().map(QueryResult::from).collect())
}

/// A failure of the held connection itself, as sea-orm reports one.
fn connection_error(error: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error)))
}

/// A statement under a limit is running.
const RUNNING: u8 = 0;
/// It ended: the connection's handler lets every later statement run (the
/// next limited statement on the connection replaces the handler).
const ENDED: u8 = 1;
/// Its request went away: the handler interrupts it at once.
const ABANDONED: u8 = 2;

/// A pooled SQLite connection whose statement is interrupted past a
/// deadline, until [`Limited::end`] lifts the limit. Dropped before that
/// (its request went away mid-statement), it interrupts the statement at
/// once and is closed rather than pooled.
///
/// Lifting the limit changes the handler's state rather than removing it:
/// removing it would take a second hand-off to the connection's worker
/// thread for every statement, which cost about a tenth of a one-article
/// search's throughput.
struct Limited {
    connection: PoolConnection<Sqlite>,
    state: Arc<AtomicU8>,
}

impl Limited {
    /// Puts the limit on `connection`.
    async fn new(mut connection: PoolConnection<Sqlite>, deadline: Instant) -> Result<Self, DbErr> {
        let state = Arc::new(AtomicU8::new(RUNNING));
        let seen = Arc::clone(&state);
        connection
            .lock_handle()
            .await
            .map_err(connection_error)?
            .set_progress_handler(SQLITE_STEPS_BETWEEN_LOOKS, move || {
                match seen.load(Ordering::Relaxed) {
                    RUNNING => Instant::now() < deadline,
                    ABANDONED => false,
                    _ => true,
                }
            });
        Ok(Self { connection, state })
    }

    /// Lifts the limit, so the connection goes back to the pool as good as
    /// it came.
    fn end(&mut self) {
        self.state.store(ENDED, Ordering::Relaxed);
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        if self.state.load(Ordering::Relaxed) == RUNNING {
            self.state.store(ABANDONED, Ordering::Relaxed);
            self.connection.close_on_drop();
        }
    }
}
