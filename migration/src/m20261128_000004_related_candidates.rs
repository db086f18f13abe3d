//! Each tag link carries a copy of when its article is public and where it
//! is filed, so the related-teasers query reads the newest public articles of
//! a tag from one index range, without visiting the articles themselves.
//!
//! Before this, a cold article page joined every article sharing a tag (about
//! 450 at 10,000 articles, 45,000 at 1,000,000) and checked each one's
//! visibility: half the cost of the page, and growing with the site.
//!
//! The copies are kept by the database, not by the code that writes: a
//! trigger fills them in when a link is made, and another rewrites them when
//! an article's status, publication time or section changes. Every writer
//! (editors, imports, the demo site, tests) stays correct without knowing.
//! `public_since` is the publication time of a published article and `NULL`
//! otherwise, so "public now" is `public_since <= now`.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite: fill a new link's copies after it is inserted, and follow edits.
const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER article_tags_copy_visibility AFTER INSERT ON article_tags
     BEGIN
         UPDATE article_tags SET
             public_since = (SELECT CASE WHEN status = 'published' THEN published_at END
                             FROM articles WHERE id = NEW.article_id),
             category_id = (SELECT category_id FROM articles WHERE id = NEW.article_id)
         WHERE article_id = NEW.article_id AND tag_id = NEW.tag_id;
     END",
    "CREATE TRIGGER articles_visibility_to_tags
     AFTER UPDATE OF status, published_at, category_id ON articles
     WHEN OLD.status IS NOT NEW.status
       OR OLD.published_at IS NOT NEW.published_at
       OR OLD.category_id IS NOT NEW.category_id
     BEGIN
         UPDATE article_tags SET
             public_since = CASE WHEN NEW.status = 'published' THEN NEW.published_at END,
             category_id = NEW.category_id
         WHERE article_id = NEW.id;
     END",
];

/// PostgreSQL: the same, as trigger functions. A new link reads its article
/// `FOR SHARE`, so an edit of that article committing meanwhile is waited
/// for and seen, and a later edit waits for the link and then rewrites it.
const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION article_tags_copy_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         SELECT CASE WHEN status = 'published' THEN published_at END, category_id
         INTO NEW.public_since, NEW.category_id
         FROM articles WHERE id = NEW.article_id FOR SHARE;
         RETURN NEW;
     END $$",
    "CREATE TRIGGER article_tags_copy_visibility BEFORE INSERT ON article_tags
     FOR EACH ROW EXECUTE FUNCTION article_tags_copy_visibility()",
    "CREATE FUNCTION articles_visibility_to_tags() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         UPDATE article_tags SET
             public_since = CASE WHEN NEW.status = 'published' THEN NEW.published_at END,
             category_id = NEW.category_id
         WHERE article_id = NEW.id;
         RETURN NULL;
     END $$",
    "CREATE TRIGGER articles_visibility_to_tags
     AFTER UPDATE OF status, published_at, category_id ON articles
     FOR EACH ROW
     WHEN (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.published_at IS DISTINCT FROM NEW.published_at
        OR OLD.category_id IS DISTINCT FROM NEW.category_id)
     EXECUTE FUNCTION articles_visibility_to_tags()",
];

/// Copies the current values into the links that exist already.
const BACKFILL: &str = "UPDATE article_tags SET
     public_since = (SELECT CASE WHEN status = 'published' THEN published_at END
                     FROM articles WHERE articles.id = article_tags.article_id),
     category_id = (SELECT category_id FROM articles WHERE articles.id = article_tags.article_id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one new column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(ArticleTags::Table)
                    .add_column(timestamp_with_time_zone_null(ArticleTags::PublicSince))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ArticleTags::Table)
                    .add_column(uuid_null(ArticleTags::CategoryId))
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
        // Newest public first within a tag, read backwards; the last two
        // columns make it covering.
        manager
            .create_index(
                Index::create()
                    .name("idx_article_tags_recent")
                    .table(ArticleTags::Table)
                    .col(ArticleTags::TagId)
                    .col(ArticleTags::PublicSince)
                    .col(ArticleTags::ArticleId)
                    .col(ArticleTags::CategoryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER articles_visibility_to_tags ON articles",
                "DROP TRIGGER article_tags_copy_visibility ON article_tags",
                "DROP FUNCTION articles_visibility_to_tags()",
                "DROP FUNCTION article_tags_copy_visibility()",
            ],
            _ => &[
                "DROP TRIGGER articles_visibility_to_tags",
                "DROP TRIGGER article_tags_copy_visibility",
            ],
        };
        for drop in drops {
            db.execute_unprepared(drop).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_article_tags_recent")
                    .table(ArticleTags::Table)
                    .to_owned(),
            )
            .await?;
        for column in [ArticleTags::PublicSince, ArticleTags::CategoryId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ArticleTags::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ArticleTags {
    Table,
    TagId,
    ArticleId,
    PublicSince,
    CategoryId,
}
