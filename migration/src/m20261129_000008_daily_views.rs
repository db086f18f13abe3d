//! Views per article per day, so "most viewed this day, week or month"
//! sums only the days asked for (one indexed range, never every article's
//! all-time count), and an index that serves lists ordered by the time an
//! article last changed (sitemaps, static copies kept in sync).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ArticleDailyViews::Table)
                    .col(
                        ColumnDef::new(ArticleDailyViews::ArticleId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ArticleDailyViews::Day).integer().not_null())
                    .col(
                        ColumnDef::new(ArticleDailyViews::Views)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .primary_key(
                        Index::create()
                            .col(ArticleDailyViews::ArticleId)
                            .col(ArticleDailyViews::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_daily_views_article")
                            .from(ArticleDailyViews::Table, ArticleDailyViews::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A period's rows, read by day and summed per article without
        // touching the table itself.
        manager
            .create_index(
                Index::create()
                    .name("idx_article_daily_views_day")
                    .table(ArticleDailyViews::Table)
                    .col(ArticleDailyViews::Day)
                    .col(ArticleDailyViews::ArticleId)
                    .col(ArticleDailyViews::Views)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_articles_updated")
                    .table(Articles::Table)
                    .col(Articles::UpdatedAt)
                    .col(Articles::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_articles_updated")
                    .table(Articles::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ArticleDailyViews::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ArticleDailyViews {
    Table,
    ArticleId,
    Day,
    Views,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    UpdatedAt,
}
