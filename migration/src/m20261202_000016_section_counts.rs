//! How many published articles each section holds, kept by the database.
//!
//! A section page's `totalCount` counted its section tree's public
//! articles one index entry at a time: a top section of a million-article
//! site holds about 125,000, and each cold page read them all
//! (BENCHMARKS.md, "A section's count"). The count of what is public now
//! cannot be kept as such (a scheduled article becomes public without any
//! write), so what is kept is the count of published articles with a
//! publication time, scheduled ones included; a reader subtracts the few
//! scheduled for after its moment, one short range of the index on
//! `(category_id, status, published_at)`.
//!
//! Triggers keep the counts when an article is inserted, deleted, or
//! changes status, publication time or section, so every writer (editors,
//! imports, the demo site, a script) keeps them right without knowing. On
//! PostgreSQL a count row is updated in the writer's transaction and
//! locked until it commits, so two writers in one section take turns for
//! that row only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Fills in the counts of the articles that exist already.
const BACKFILL: &str = "INSERT INTO section_counts (category_id, published)
     SELECT category_id, COUNT(*) FROM articles
     WHERE status = 'published' AND published_at IS NOT NULL
     GROUP BY category_id";

/// SQLite: one trigger per kind of write; a section's row is made on its
/// first published article (`INSERT OR IGNORE`, then the `UPDATE`).
const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER section_counts_on_insert AFTER INSERT ON articles
     WHEN NEW.status = 'published' AND NEW.published_at IS NOT NULL
     BEGIN
         INSERT OR IGNORE INTO section_counts (category_id, published) VALUES (NEW.category_id, 0);
         UPDATE section_counts SET published = published + 1 WHERE category_id = NEW.category_id;
     END",
    "CREATE TRIGGER section_counts_on_delete AFTER DELETE ON articles
     WHEN OLD.status = 'published' AND OLD.published_at IS NOT NULL
     BEGIN
         UPDATE section_counts SET published = published - 1 WHERE category_id = OLD.category_id;
     END",
    "CREATE TRIGGER section_counts_on_update
     AFTER UPDATE OF status, published_at, category_id ON articles
     WHEN OLD.status IS NOT NEW.status
       OR (OLD.published_at IS NULL) IS NOT (NEW.published_at IS NULL)
       OR OLD.category_id IS NOT NEW.category_id
     BEGIN
         UPDATE section_counts SET published = published - 1
         WHERE category_id = OLD.category_id
           AND OLD.status = 'published' AND OLD.published_at IS NOT NULL;
         INSERT OR IGNORE INTO section_counts (category_id, published)
         SELECT NEW.category_id, 0
         WHERE NEW.status = 'published' AND NEW.published_at IS NOT NULL;
         UPDATE section_counts SET published = published + 1
         WHERE category_id = NEW.category_id
           AND NEW.status = 'published' AND NEW.published_at IS NOT NULL;
     END",
];

/// PostgreSQL: one trigger function for every kind of write.
pub(crate) const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION section_counts_follow_articles() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         IF TG_OP IN ('UPDATE', 'DELETE')
            AND OLD.status = 'published' AND OLD.published_at IS NOT NULL THEN
             UPDATE section_counts SET published = published - 1
             WHERE category_id = OLD.category_id;
         END IF;
         IF TG_OP IN ('UPDATE', 'INSERT')
            AND NEW.status = 'published' AND NEW.published_at IS NOT NULL THEN
             INSERT INTO section_counts (category_id, published) VALUES (NEW.category_id, 1)
             ON CONFLICT (category_id)
             DO UPDATE SET published = section_counts.published + 1;
         END IF;
         RETURN NULL;
     END $$",
    "CREATE TRIGGER section_counts_on_insert AFTER INSERT ON articles
     FOR EACH ROW EXECUTE FUNCTION section_counts_follow_articles()",
    "CREATE TRIGGER section_counts_on_delete AFTER DELETE ON articles
     FOR EACH ROW EXECUTE FUNCTION section_counts_follow_articles()",
    "CREATE TRIGGER section_counts_on_update
     AFTER UPDATE OF status, published_at, category_id ON articles
     FOR EACH ROW
     WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR (OLD.published_at IS NULL) IS DISTINCT FROM (NEW.published_at IS NULL)
        OR OLD.category_id IS DISTINCT FROM NEW.category_id)
     EXECUTE FUNCTION section_counts_follow_articles()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SectionCounts::Table)
                    .col(
                        ColumnDef::new(SectionCounts::CategoryId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(SectionCounts::Published)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        let triggers = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for trigger in triggers {
            db.execute_unprepared(trigger).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER section_counts_on_update ON articles",
                "DROP TRIGGER section_counts_on_delete ON articles",
                "DROP TRIGGER section_counts_on_insert ON articles",
                "DROP FUNCTION section_counts_follow_articles()",
            ],
            _ => &[
                "DROP TRIGGER section_counts_on_update",
                "DROP TRIGGER section_counts_on_delete",
                "DROP TRIGGER section_counts_on_insert",
            ],
        };
        for drop in drops {
            db.execute_unprepared(drop).await?;
        }
        manager
            .drop_table(Table::drop().table(SectionCounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SectionCounts {
    Table,
    CategoryId,
    Published,
}
