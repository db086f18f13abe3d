//! Which client viewed which article recently, kept by PostgreSQL for every
//! process of a fleet (the unlogged table `view_marks`), so a client's
//! repeated view within the window counts once whichever process it
//! reaches. Each process still remembers its own clients in memory
//! ([`crate::content::comments::abuse`]); the marks settle what two processes both counted,
//! when their views are written.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;

use crate::error::AppResult;

/// A view to be settled: which client viewed which article.
pub type Mark = (String, Uuid);

/// How many marks one statement writes: three values each, far below
/// PostgreSQL's limit on bound values.
const MARKS_PER_STATEMENT: usize = 1_000;

/// Stores `marks` seen at `now` and returns those that are first within
/// `window`: no mark of the same client and article since `now - window`.
/// A mark written by another process in the window makes this one a
/// repeat. Runs in `txn`, the transaction that writes the views, so a repeat
/// is never counted and a first view never lost.
pub async fn settle<C: ConnectionTrait>(
    txn: &C,
    marks: &[Mark],
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> AppResult<HashSet<Mark>> {
    let cutoff = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let mut first = HashSet::with_capacity(marks.len());
    for chunk in marks.chunks(MARKS_PER_STATEMENT) {
        let mut sql =
            String::from("INSERT INTO view_marks (client_key, article_id, seen_at) VALUES ");
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3 + 1);
        for (n, (client, article)) in chunk.iter().enumerate() {
            if n > 0 {
                sql.push_str(", ");
            }
            let at = n * 3;
            sql.push_str(&format!("(${}, ${}, ${})", at + 1, at + 2, at + 3));
            values.push(client.clone().into());
            values.push((*article).into());
            values.push(now.into());
        }
        sql.push_str(&format!(
            " ON CONFLICT (client_key, article_id) DO UPDATE SET seen_at = EXCLUDED.seen_at \
             WHERE view_marks.seen_at < ${} RETURNING client_key, article_id",
            chunk.len() * 3 + 1
        ));
        values.push(cutoff.into());
        for row in txn
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?
        {
            first.insert((
                row.try_get("", "client_key")?,
                row.try_get("", "article_id")?,
            ));
        }
    }
    Ok(first)
}

/// Deletes marks older than the window: they decide nothing any more.
pub async fn prune<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> AppResult<u64> {
    let cutoff = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    Ok(db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM view_marks WHERE seen_at < $1",
            [cutoff.into()],
        ))
        .await?
        .rows_affected())
}
