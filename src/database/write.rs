//! Write transactions that either commit or say clearly why not.
//!
//! SQLite runs one writer at a time. A transaction opened with a plain
//! `BEGIN` reads first and asks for the write lock only at its first write;
//! when another connection wrote in between, SQLite cannot wait for the lock
//! (its snapshot is stale) and fails at once with `database is locked`, busy
//! timeout or not. So every write here starts with `BEGIN IMMEDIATE`, which
//! takes the write lock up front (waiting up to the busy timeout for another
//! process), and the writers of this process queue for their turn in memory
//! first ([`WriteTurns`]): a queue in tokio is fair and costs no pooled
//! connection, where SQLite's busy handler would poll with sleeps while
//! holding one. PostgreSQL needs neither: its row locks wait by themselves.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex, Weak},
    time::Duration,
};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

/// How long a writer waits for its turn before the client is told to retry.
const TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// One writer's turn per SQLite file in this process. The queue belongs to
/// the file, not to a pool: `DatabaseConnection` carries no state of ours,
/// and every domain function takes one, so the file name (which is what
/// SQLite locks anyway) finds the queue.
struct WriteTurns;

static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Weak<Semaphore>>>> = LazyLock::new(Mutex::default);

impl WriteTurns {
    /// The queue of writers to `file`, made on first use.
    fn for_file(file: PathBuf) -> Arc<Semaphore> {
        let mut queues = QUEUES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(queue) = queues.get(&file).and_then(Weak::upgrade) {
            return queue;
        }
        queues.retain(|_, queue| queue.strong_count() > 0);
        let queue = Arc::new(Semaphore::new(1));
        queues.insert(file, Arc::downgrade(&queue));
        queue
    }

    /// The queue of writers to `db`'s file; `None` on PostgreSQL.
    fn of(db: &DatabaseConnection) -> Option<Arc<Semaphore>> {
        (db.get_database_backend() == DbBackend::Sqlite).then(|| {
            Self::for_file(
                db.get_sqlite_connection_pool()
                    .connect_options()
                    .get_filename()
                    .to_path_buf(),
            )
        })
    }

    /// Waits for the one writer's turn on `db`'s file; `None` on PostgreSQL.
    async fn take(db: &DatabaseConnection) -> AppResult<Option<OwnedSemaphorePermit>> {
        let Some(queue) = Self::of(db) else {
            return Ok(None);
        };
        match tokio::time::timeout(TURN_TIMEOUT, queue.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            Ok(Err(_)) | Err(_) => Err(AppError::Unavailable {
                message: "The database is busy with other writes; try again in a moment".to_owned(),
                retry_after: Duration::from_secs(1),
            }),
        }
    }
}

/// Runs one writing `statement` on `db` now, or not at all: on SQLite only
/// when no writer of this process holds or awaits the turn, so a read that
/// writes something on the side (a kept related ranking) never queues behind
/// writes. Returns whether it ran.
pub async fn execute_unless_busy(db: &DatabaseConnection, statement: Statement) -> AppResult<bool> {
    let _turn = match WriteTurns::of(db).map(Semaphore::try_acquire_owned) {
        Some(Err(_)) => return Ok(false),
        turn => turn.and_then(Result::ok),
    };
    db.execute_raw(statement).await?;
    Ok(true)
}

/// A transaction that holds the write lock from its start. Use it for every
/// transaction that writes; dropping it without [`Self::commit`] rolls back.
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    /// This process's one SQLite writer turn, released when the transaction
    /// ends (after its commit or rollback).
    _turn: Option<OwnedSemaphorePermit>,
}

/// Makes writers that name the same `turn` take turns until their
/// transactions end (a PostgreSQL advisory lock held to commit, keyed by
/// the text's hash). On SQLite, where a write transaction already runs
/// alone, it does nothing.
pub async fn take_turn<C: ConnectionTrait>(txn: &C, turn: &str) -> AppResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [turn.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Starts a write transaction on `db`: `BEGIN IMMEDIATE` on SQLite after
/// this process's earlier writers, a plain `BEGIN` on PostgreSQL.
pub async fn begin_write(db: &DatabaseConnection) -> AppResult<WriteTransaction> {
    let turn = WriteTurns::take(db).await?;
    let options = TransactionOptions {
        sqlite_transaction_mode: turn.as_ref().map(|_| SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    let txn = db.begin_with_options(options).await?;
    Ok(WriteTransaction { txn, _turn: turn })
}

impl WriteTransaction {
    /// Commits. On failure nothing was stored, whatever the database says
    /// afterwards: the connection is rolled back or, when even that fails,
    /// discarded by the pool (see [`super::connect`]).
    pub async fn commit(self) -> AppResult<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTransaction {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}
