//! Editorial and moderation: API tokens, article versions and revisions,
//! slug history, per-article comment switch, and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_uuid(ApiTokens::Id))
                    .col(string_len(ApiTokens::Name, 128))
                    .col(string_len(ApiTokens::Role, 16))
                    .col(string_len(ApiTokens::SecretHash, 64))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .to_owned(),
            )
            .await?;

        // Adding columns one statement each: SQLite alters one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .add_column(integer(Articles::Version).default(1))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .add_column(boolean(Articles::CommentsClosed).default(false))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ArticleSlugHistory::Table)
                    .col(string_len(ArticleSlugHistory::Slug, 200).primary_key())
                    .col(uuid(ArticleSlugHistory::ArticleId))
                    .col(timestamp_with_time_zone(ArticleSlugHistory::RetiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_slug_history_article")
                            .from(ArticleSlugHistory::Table, ArticleSlugHistory::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_article_slug_history_article")
                    .table(ArticleSlugHistory::Table)
                    .col(ArticleSlugHistory::ArticleId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ArticleRevisions::Table)
                    .col(pk_uuid(ArticleRevisions::Id))
                    .col(uuid(ArticleRevisions::ArticleId))
                    .col(integer(ArticleRevisions::Version))
                    .col(string_len(ArticleRevisions::Slug, 200))
                    .col(string_len(ArticleRevisions::Title, 300))
                    .col(text_null(ArticleRevisions::Summary))
                    .col(text(ArticleRevisions::Body))
                    .col(text(ArticleRevisions::BodyText))
                    .col(uuid(ArticleRevisions::CategoryId))
                    .col(string_len(ArticleRevisions::Author, 128))
                    .col(string_len_null(ArticleRevisions::Source, 200))
                    .col(string_len_null(ArticleRevisions::CoverImageUrl, 2048))
                    .col(string_len_null(ArticleRevisions::CoverImageAlt, 300))
                    .col(timestamp_with_time_zone(ArticleRevisions::CreatedAt))
                    .col(uuid_null(ArticleRevisions::TokenId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_article_revisions_article")
                            .from(ArticleRevisions::Table, ArticleRevisions::ArticleId)
                            .to(Articles::Table, Articles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_article_revisions_article_version")
                    .table(ArticleRevisions::Table)
                    .col(ArticleRevisions::ArticleId)
                    .col(ArticleRevisions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid_null(AuditLog::TokenId))
                    .col(string_len(AuditLog::TokenName, 128))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len(AuditLog::SubjectType, 32))
                    .col(string_len(AuditLog::SubjectId, 64))
                    .col(text(AuditLog::Detail))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_created")
                    .table(AuditLog::Table)
                    .col(AuditLog::CreatedAt)
                    .col(AuditLog::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            ArticleRevisions::Table.into_iden(),
            ArticleSlugHistory::Table.into_iden(),
            ApiTokens::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [Articles::CommentsClosed, Articles::Version] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Articles::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiTokens {
    Table,
    Id,
    Name,
    Role,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
    Version,
    CommentsClosed,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleSlugHistory {
    Table,
    Slug,
    ArticleId,
    RetiredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleRevisions {
    Table,
    Id,
    ArticleId,
    Version,
    Slug,
    Title,
    Summary,
    Body,
    BodyText,
    CategoryId,
    Author,
    Source,
    CoverImageUrl,
    CoverImageAlt,
    CreatedAt,
    TokenId,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    TokenId,
    TokenName,
    Action,
    SubjectType,
    SubjectId,
    Detail,
    CreatedAt,
}
