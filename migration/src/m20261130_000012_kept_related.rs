//! Related teasers kept between cold reads. Ranking an article's related
//! teasers (the newest public articles of each of its tags, grouped and
//! sorted) was two thirds of a cold article page's database time, and its
//! answer changes only when a tag's articles change: a publication, a
//! takedown, a retagging, a move between sections.
//!
//! `related_ticks` says when each tag's articles last changed, as the
//! number of the change-feed entry that changed them (written by the change
//! feed's writer, under the feed's turn, so numbers are committed in order).
//! `related_kept` holds an article's last ranking: the ids, how many were
//! asked for, the feed's number as the ranking read it, and when (in
//! milliseconds since the epoch: a writer behind the server's back, who
//! writes no change, is seen once a kept ranking has aged out). A kept ranking
//! is good while none of the article's tags has changed after that number.
//!
//! On PostgreSQL the kept rankings are an unlogged table: after a crash it
//! is empty and rankings are worked out again, never wrong. The ticks are
//! logged: losing them would make stale rankings look current.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RelatedTicks::Table)
                    .col(
                        ColumnDef::new(RelatedTicks::TagId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RelatedTicks::Tick).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RelatedKept::Table)
                    .col(
                        ColumnDef::new(RelatedKept::ArticleId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RelatedKept::ReadAtSeq)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RelatedKept::KeptAt).big_integer().not_null())
                    .col(ColumnDef::new(RelatedKept::Asked).integer().not_null())
                    .col(ColumnDef::new(RelatedKept::Ids).text().not_null())
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE related_kept SET UNLOGGED")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RelatedKept::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RelatedTicks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RelatedTicks {
    Table,
    TagId,
    Tick,
}

#[derive(DeriveIden)]
enum RelatedKept {
    Table,
    ArticleId,
    ReadAtSeq,
    KeptAt,
    Asked,
    Ids,
}
