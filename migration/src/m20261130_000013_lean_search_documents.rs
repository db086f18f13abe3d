//! PostgreSQL keeps a search document's row lean: its normalised text and
//! its `tsvector` go to TOAST storage (`toast_tuple_target` as low as it
//! goes), leaving the article id and two pointers in the table itself.
//! A search for a word that most articles hold reads every matching row
//! for its article id; with the long values inline, that read the whole
//! index's text. Rows written before this keep their layout until the
//! index is rebuilt (the search index's version changes with it, so a
//! server starting on an older index rebuilds it). SQLite keeps the words
//! in FTS5, whose rows hold no document text, so nothing changes there.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE search_documents SET (toast_tuple_target = 128)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE search_documents RESET (toast_tuple_target)")
                .await?;
        }
        Ok(())
    }
}
