//! The content tables: categories, articles, tags, their links and comments,
//! with an index behind every lookup and list order the public API uses.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(pk_uuid(Categories::Id))
                    .col(string_len_uniq(Categories::Slug, 128))
                    .col(string_len(Categories::Name, 128))
                    .col(text(Categories::Description))
                    .col(uuid_null(Categories::ParentId))
                    .col(integer(Categories::Position))
                    .col(timestamp_with_time_zone(Categories::CreatedAt))
                    .col(timestamp_with_time_zone(Categories::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_categories_parent")
                            .from(Categories::Table, Categories::ParentId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_categories_parent_position",
            Categories::Table,
            &[Categories::ParentId, Categories::Position],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Articles::Table)
                    .col(pk_uuid(Articles::Id))
                    .col(string_len_uniq(Articles::Slug, 200))
                    .col(string_len(Articles::Title, 300))
                    .col(text_null(Articles::Summary))
                    .col(text(Articles::Body))
                    .col(text(Articles::BodyText))
                    .col(string_len_null(Articles::CoverImageUrl, 2048))
                    .col(string_len_null(Articles::CoverImageAlt, 300))
                    .col(string_len(Articles::Author, 128))
                    .col(string_len_null(Articles::Source, 200))
                    .col(string_len(Articles::Status, 16))
                    .col(timestamp_with_time_zone_null(Articles::PublishedAt))
                    .col(timestamp_with_time_zone(Articles::CreatedAt))
                    .col(timestamp_with_time_zone(Articles::UpdatedAt))
                    .col(uuid(Articles::CategoryId))
                    .col(big_integer(Articles::ViewCount).default(0))
                    .col(integer(Articles::CommentCount).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_articles_category")
                            .from(Articles::Table, Articles::CategoryId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // Public lists: newest/oldest overall, per section, most viewed and
        // most commented, each ending in the id that breaks ties.
        create_index(
            manager,
            "idx_articles_status_published",
            Articles::Table,
            &[Articles::Status, Articles::PublishedAt, Articles::Id],
        )
        .await?;
        create_index(
            manager,
            "idx_articles_category_status_published",
            Articles::Table,
            &[
                Articles::CategoryId,
                Articles::Status,
                Articles::PublishedAt,
                Articles::Id,
            ],
        )
        .await?;
        create_index(
            manager,
            "idx_articles_status_views",
            Articles::Table,
            &[Articles::Status, Articles::ViewCount, Articles::Id],
        )
        .await?;
        create_index(
            manager,
            "idx_articles_status_comments",
            Articles::Table,
            &[Articles::Status, Articles::CommentCount, Articles::Id],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tags::Table)
                    .col(pk_uuid(Tags::Id))
                    .col(string_len_uniq(Tags::Slug, 128))
                    .col(string_len(Tags::Name, 128))
                    .col(timestamp_with_time_zone(Tags::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ArticleTags::Table)
                    .col(uuid(ArticleTags::ArticleId))
                    .col(uuid(ArticleTags::TagId))
                    .primary_key(
                        Index::create()
                            .col(ArticleTags::ArticleId)
                            .col(ArticleTags::TagId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_tags_article")
                            .from(ArticleTags::Table, ArticleTags::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_tags_tag")
                            .from(ArticleTags::Table, ArticleTags::TagId)
                            .to(Tags::Table, Tags::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_article_tags_tag",
            ArticleTags::Table,
            &[ArticleTags::TagId, ArticleTags::ArticleId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Comments::Table)
                    .col(pk_uuid(Comments::Id))
                    .col(uuid(Comments::ArticleId))
                    .col(string_len(Comments::AuthorName, 64))
                    .col(string_len(Comments::AuthorEmail, 254))
                    .col(text(Comments::Body))
                    .col(string_len(Comments::Status, 16))
                    .col(timestamp_with_time_zone(Comments::CreatedAt))
                    .col(string_len_null(Comments::ClientFingerprint, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_comments_article")
                            .from(Comments::Table, Comments::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // An article's approved comments, newest first; and the moderation
        // queue by status, oldest first.
        create_index(
            manager,
            "idx_comments_article_status_created",
            Comments::Table,
            &[
                Comments::ArticleId,
                Comments::Status,
                Comments::CreatedAt,
                Comments::Id,
            ],
        )
        .await?;
        create_index(
            manager,
            "idx_comments_status_created",
            Comments::Table,
            &[Comments::Status, Comments::CreatedAt, Comments::Id],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Comments::Table.into_iden(),
            ArticleTags::Table.into_iden(),
            Tags::Table.into_iden(),
            Articles::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Creates a plain (non-unique) index over `columns` in order.
async fn create_index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr>
where
    T: IntoIden + Clone + 'static,
    C: IntoIden + Clone + 'static,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column.clone());
    }
    manager.create_index(index.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Categories {
    Table,
    Id,
    Slug,
    Name,
    Description,
    ParentId,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
    Slug,
    Title,
    Summary,
    Body,
    BodyText,
    CoverImageUrl,
    CoverImageAlt,
    Author,
    Source,
    Status,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    CategoryId,
    ViewCount,
    CommentCount,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tags {
    Table,
    Id,
    Slug,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleTags {
    Table,
    ArticleId,
    TagId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    ArticleId,
    AuthorName,
    AuthorEmail,
    Body,
    Status,
    CreatedAt,
    ClientFingerprint,
}
