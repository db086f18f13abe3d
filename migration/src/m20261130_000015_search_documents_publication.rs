//! On PostgreSQL each search document carries when its article became
//! public: the article's `published_at` while its status is published,
//! and nothing for drafts and archived articles. A search ranks only its newest
//! matches, and finding the oldest of those (the ranking's bound) meant
//! joining every match to its article for its publication time, or
//! walking the articles newest first and reading each one's `tsvector`
//! back from TOAST; for a word one article in a hundred holds, on a large
//! site, both read tens of thousands of rows. With the time on the
//! document's own (lean) row, the bound is read from the full-text index
//! and the documents alone.
//!
//! Existing documents take their article's time here. Every row of
//! `search_documents` is rewritten, and a rewritten row is entered into
//! every index again: the full-text index is dropped first and built once
//! afterwards, which took a minute at a million articles, where entering
//! each document's words one row at a time takes as long as indexing the
//! site.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite keeps each document's text inline, so a column added
        // after it is read by walking the text's overflow pages, many times
        // slower than the articles' own column (BENCHMARKS.md); its
        // full-text index offers no walk to choose against either, so
        // SQLite keeps joining the articles.
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE search_documents ADD COLUMN published_at TIMESTAMPTZ")
            .await?;
        // Room on each page for a document's new version: publishing
        // rewrites only the publication, and a version that stays on its
        // page (a heap-only tuple) enters no index, where one that moves
        // enters all its words into the full-text index again.
        db.execute_unprepared("ALTER TABLE search_documents SET (fillfactor = 90)")
            .await?;
        db.execute_unprepared("DROP INDEX idx_search_documents_terms")
            .await?;
        db.execute_unprepared(
            "UPDATE search_documents SET published_at = articles.published_at \
             FROM articles \
             WHERE articles.id = search_documents.article_id \
               AND articles.status = 'published'",
        )
        .await?;
        db.execute_unprepared("SET LOCAL maintenance_work_mem = '256MB'")
            .await?;
        db.execute_unprepared(
            "CREATE INDEX idx_search_documents_terms ON search_documents \
             USING GIN (terms) WITH (fastupdate = off)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE search_documents DROP COLUMN published_at, RESET (fillfactor)",
                )
                .await?;
        }
        Ok(())
    }
}
