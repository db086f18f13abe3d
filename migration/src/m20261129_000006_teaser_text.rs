//! The start of each article's plain text, kept beside it by the database,
//! for teasers and excerpts.
//!
//! A teaser shows an excerpt of the first couple of hundred characters, but
//! PostgreSQL keeps the whole plain text compressed (and, when long, out of
//! line): to cut it, every teaser decompressed it, and a list that cut
//! before its `LIMIT` decompressed every row it sorted, so lists read the
//! whole text instead. A stored generated column is cut once, when the text
//! is written, by the database, whoever writes. A 40-teaser list ran at
//! 1,800 statements a second reading whole texts, 3,600 cutting them, and
//! 4,500–5,900 reading this column (pgbench, 10,000 articles).
//!
//! SQLite can only add a virtual generated column to an existing table: it
//! cuts when read, as it did before, and keeps the same name for the same SQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// How many characters of plain text the column keeps. Fixed by this
/// migration: changing it means a new one.
pub const TEASER_TEXT_CHARS: i32 = 400;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let kind = match manager.get_database_backend() {
            DatabaseBackend::Postgres => "STORED",
            _ => "VIRTUAL",
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE articles ADD COLUMN teaser_text text \
                 GENERATED ALWAYS AS (substr(body_text, 1, {TEASER_TEXT_CHARS})) {kind}"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE articles DROP COLUMN teaser_text")
            .await?;
        Ok(())
    }
}
