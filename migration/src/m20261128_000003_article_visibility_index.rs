//! A covering index for "is this article public, and where is it filed",
//! looked up by id. The related-teasers query joins hundreds of candidate
//! articles through their shared tags and filters each by status and
//! publication time; without this index every candidate's whole row is read,
//! and in SQLite the columns after the body sit behind its overflow pages
//! (BENCHMARKS.md has the page times with and without it).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_visibility")
                    .table(Articles::Table)
                    .col(Articles::Id)
                    .col(Articles::Status)
                    .col(Articles::PublishedAt)
                    .col(Articles::CategoryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_articles_visibility")
                    .table(Articles::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    Status,
    PublishedAt,
    CategoryId,
}
