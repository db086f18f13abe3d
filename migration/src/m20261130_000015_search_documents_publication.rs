//! On PostgreSQL each search document carries when its article is public,
//! as its tag links do (`public_since`: the article's `published_at` while
//! its status is published, `NULL` for drafts and archived articles). A
//! search ranks only its newest matches, and finding the oldest of those
//! (the ranking's bound) meant joining every match to its article for its
//! publication time, or walking the articles newest first and reading
//! each one's `tsvector` back from TOAST; for a word one article in a
//! hundred holds, on a large site, both read tens of thousands of rows.
//! With the time on the document's own (lean) row, the bound is read from
//! the full-text index and the documents alone.
//!
//! The server writes the time with each document it indexes; a trigger
//! rewrites it when an article's status or publication time changes, so
//! every writer (editors, imports, a script) keeps it right without
//! knowing.
//!
//! Existing documents take their article's time here. Every row of
//! `search_documents` is rewritten, and a rewritten row is entered into
//! every index again: the full-text index is dropped first and built once
//! afterwards, which took a minute at a million articles, where entering
//! each document's words one row at a time takes as long as indexing the
//! site. The table keeps a tenth of each page free, so that a rewritten
//! time stays on its page (a heap-only tuple) and enters no index, where
//! a row that moves enters all its words into the full-text index again.
//!
//! SQLite keeps each document's text inline, so a column added after it
//! is read by walking the text's overflow pages, many times slower than
//! the articles' own column (BENCHMARKS.md); its full-text index offers no
//! walk to choose against either, so SQLite keeps joining the articles
//! and nothing changes there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The steps, in order.
const UP: &[&str] = &[
    "ALTER TABLE search_documents ADD COLUMN public_since TIMESTAMPTZ",
    "ALTER TABLE search_documents SET (fillfactor = 90)",
    "DROP INDEX idx_search_documents_terms",
    "UPDATE search_documents SET public_since = articles.published_at
     FROM articles
     WHERE articles.id = search_documents.article_id AND articles.status = 'published'",
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX idx_search_documents_terms ON search_documents
     USING GIN (terms) WITH (fastupdate = off)",
    "CREATE FUNCTION articles_publication_to_search_documents() RETURNS trigger
     LANGUAGE plpgsql AS $$
     BEGIN
         UPDATE search_documents SET
             public_since = CASE WHEN NEW.status = 'published' THEN NEW.published_at END
         WHERE article_id = NEW.id;
         RETURN NULL;
     END $$",
    "CREATE TRIGGER articles_publication_to_search_documents
     AFTER UPDATE OF status, published_at ON articles
     FOR EACH ROW
     WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.published_at IS DISTINCT FROM NEW.published_at)
     EXECUTE FUNCTION articles_publication_to_search_documents()",
];

/// The steps back.
const DOWN: &[&str] = &[
    "DROP TRIGGER articles_publication_to_search_documents ON articles",
    "DROP FUNCTION articles_publication_to_search_documents()",
    "ALTER TABLE search_documents DROP COLUMN public_since, RESET (fillfactor)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgresql(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgresql(manager, DOWN).await
    }
}

/// Runs `steps` on PostgreSQL; nothing on SQLite.
async fn run_on_postgresql(manager: &SchemaManager<'_>, steps: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    for step in steps {
        manager.get_connection().execute_unprepared(step).await?;
    }
    Ok(())
}
