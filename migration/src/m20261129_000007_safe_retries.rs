//! Two ledgers that make retries safe:
//!
//! - `comment_requests`: the idempotency key a client sent with
//!   `addComment`, hashed with its sender's address, and the comment it
//!   made, so a retry answers with that comment instead of storing another.
//! - `applied_view_spills`: the view-count files a server left at shutdown
//!   when the database was away, recorded in the transaction that applies
//!   them, so a file is counted exactly once even when the process stops
//!   between applying it and removing it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE comment_requests (
         request_key varchar(64) NOT NULL PRIMARY KEY,
         comment_id varchar(36) NOT NULL
     )",
    "CREATE TABLE applied_view_spills (spill_id varchar(36) NOT NULL PRIMARY KEY)",
];

const DOWN: &[&str] = &[
    "DROP TABLE applied_view_spills",
    "DROP TABLE comment_requests",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in UP {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for statement in DOWN {
            manager
                .get_connection()
                .execute_unprepared(statement)
                .await?;
        }
        Ok(())
    }
}
