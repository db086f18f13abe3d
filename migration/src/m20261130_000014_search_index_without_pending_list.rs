//! PostgreSQL writes each search document's words straight into the
//! full-text (GIN) index instead of a pending list (`fastupdate` off).
//! With the list on, every publish or edit appended to it until a vacuum
//! or 4 MB of it merged it in, and meanwhile every search read the whole
//! list and the planner, pricing that, read every document in turn
//! through its primary key instead: on a 10,000-article site, 2,740
//! documents in the list made a search for one article's number 90 times
//! slower. Entries
//! already in the list are merged now. A publish pays the merge of its
//! own document instead. SQLite's FTS5 has no such list.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared("ALTER INDEX idx_search_documents_terms SET (fastupdate = off)")
                .await?;
            db.execute_unprepared("SELECT gin_clean_pending_list('idx_search_documents_terms')")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER INDEX idx_search_documents_terms RESET (fastupdate)")
                .await?;
        }
        Ok(())
    }
}
