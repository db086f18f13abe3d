//! Reads that must come from the full-text index and stay within a time
//! limit (a search's statements). On PostgreSQL they share one transaction
//! that carries their planner settings and `statement_timeout`, so that a
//! search of several statements pays for one `BEGIN`, one setting of them
//! and one `COMMIT`; SQLite runs each statement as it is.
//!
//! Why the settings: a request the server cuts short does not stop a
//! statement the database is running, so the timeout is what keeps one
//! costly read from holding a pooled connection for long. The planner's
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

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, QueryResult,
    Statement, TransactionTrait,
};

/// Statements read with the index settings (see the module's doc); past
/// the time limit a statement fails with
/// [`crate::fault::DbFault::TimedOut`].
pub struct IndexReads<'a> {
    on: On<'a>,
}

/// Where the statements run.
enum On<'a> {
    /// SQLite: the pool, statement by statement.
    Pool(&'a DatabaseConnection),
    /// PostgreSQL: one transaction with the settings made.
    Transaction(DatabaseTransaction),
}

impl<'a> IndexReads<'a> {
    /// Starts the reads on `db`, each statement stopped after `timeout`
    /// (PostgreSQL).
    pub async fn begin(db: &'a DatabaseConnection, timeout: Duration) -> Result<Self, DbErr> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(Self { on: On::Pool(db) });
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
            On::Pool(db) => db.query_all_raw(statement).await,
            On::Transaction(txn) => txn.query_all_raw(statement).await,
        }
    }

    /// Ends the reads (their settings end with them).
    pub async fn finish(self) -> Result<(), DbErr> {
        match self.on {
            On::Pool(_) => Ok(()),
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
