//! Full-text search: one row per article with its text normalised (for
//! quoted phrases) and its search words, kept in the write's transaction.
//! SQLite indexes the words in an FTS5 table whose row ids are this
//! table's; PostgreSQL keeps them as a weighted `tsvector` under a GIN
//! index. The words are cut by the server (jieba for Chinese), so neither
//! database's own parser ever sees raw text.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE TABLE search_documents (
                        article_id UUID PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
                        normalized TEXT NOT NULL,
                        terms TSVECTOR NOT NULL
                    )",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_search_documents_terms ON search_documents USING GIN (terms)",
                )
                .await?;
            }
            _ => {
                manager
                    .create_table(
                        Table::create()
                            .table(SearchDocuments::Table)
                            .col(
                                ColumnDef::new(SearchDocuments::Id)
                                    .integer()
                                    .not_null()
                                    .auto_increment()
                                    .primary_key(),
                            )
                            .col(
                                ColumnDef::new(SearchDocuments::ArticleId)
                                    .uuid()
                                    .not_null()
                                    .unique_key(),
                            )
                            .col(
                                ColumnDef::new(SearchDocuments::Normalized)
                                    .text()
                                    .not_null(),
                            )
                            .to_owned(),
                    )
                    .await?;
                // Contentless: the words are only indexed, the text to show
                // comes from `articles`. Tokens are the server's words,
                // separated by spaces; `-`, `.` and `_` stay inside them
                // (`clue-next`, `node.js`).
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE search_terms USING fts5(
                        title, summary, tags, body,
                        content = '', contentless_delete = 1,
                        tokenize = \"unicode61 remove_diacritics 0 tokenchars '-._'\"
                    )",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
            db.execute_unprepared("DROP TABLE IF EXISTS search_terms")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(SearchDocuments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SearchDocuments {
    Table,
    Id,
    ArticleId,
    Normalized,
}
