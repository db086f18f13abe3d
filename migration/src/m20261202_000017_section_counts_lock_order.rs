//! Section counts locked in one order when an article changes section.
//!
//! Moving a published article decrements its old section's count and
//! increments its new one's, locking both rows (migration 16). Two writers
//! moving articles in opposite directions at once each held one row and
//! waited for the other's: PostgreSQL broke the deadlock by failing one of
//! them, and its client saw a write refused. The trigger function now locks
//! both rows first, in the order of their section ids, so such writers
//! queue for the first row instead. SQLite runs one writer at a time and
//! needs nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::m20261202_000016_section_counts::POSTGRES_TRIGGERS;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The trigger function of migration 16, with both rows of a move locked
/// in section-id order before either is changed.
const LOCKING_IN_ORDER: &str =
    "CREATE OR REPLACE FUNCTION section_counts_follow_articles() RETURNS trigger LANGUAGE plpgsql AS $$
     DECLARE
         was_counted boolean := TG_OP IN ('UPDATE', 'DELETE')
             AND OLD.status = 'published' AND OLD.published_at IS NOT NULL;
         is_counted boolean := TG_OP IN ('UPDATE', 'INSERT')
             AND NEW.status = 'published' AND NEW.published_at IS NOT NULL;
     BEGIN
         IF was_counted AND is_counted AND OLD.category_id <> NEW.category_id THEN
             PERFORM 1 FROM section_counts
             WHERE category_id IN (OLD.category_id, NEW.category_id)
             ORDER BY category_id
             FOR UPDATE;
         END IF;
         IF was_counted THEN
             UPDATE section_counts SET published = published - 1
             WHERE category_id = OLD.category_id;
         END IF;
         IF is_counted THEN
             INSERT INTO section_counts (category_id, published) VALUES (NEW.category_id, 1)
             ON CONFLICT (category_id)
             DO UPDATE SET published = section_counts.published + 1;
         END IF;
         RETURN NULL;
     END $$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(LOCKING_IN_ORDER)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            let previous =
                POSTGRES_TRIGGERS[0].replacen("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1);
            manager
                .get_connection()
                .execute_unprepared(&previous)
                .await?;
        }
        Ok(())
    }
}
