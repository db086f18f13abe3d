//! The change feed: one row per change a write made, committed with the
//! write and its audit entry, numbered by a sequence that every server
//! process follows to drop what it cached of the change (and that
//! subscriptions and webhooks will read). Old rows are pruned; the audit
//! log is what is kept. And the settings every process of a fleet must
//! share, made by the first to start (the secret that keys the hashes of
//! clients' addresses, so rate limits hold across processes). On
//! PostgreSQL, an unlogged table of recent views by client and article, so
//! a client's repeated view counts once whichever process it reaches (its
//! rows matter for half an hour; losing them in a crash only lets a repeated
//! view count again).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Changes::Table)
                    .col(
                        ColumnDef::new(Changes::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Changes::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Changes::Kind).string_len(40).not_null())
                    .col(ColumnDef::new(Changes::EntityId).uuid().not_null())
                    .col(ColumnDef::new(Changes::Keys).text().not_null())
                    .to_owned(),
            )
            .await?;
        // Pruning by age.
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_at")
                    .table(Changes::Table)
                    .col(Changes::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SharedSettings::Table)
                    .col(
                        ColumnDef::new(SharedSettings::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SharedSettings::Value).text().not_null())
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(
                "CREATE UNLOGGED TABLE view_marks (
                    client_key TEXT NOT NULL,
                    article_id UUID NOT NULL,
                    seen_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (client_key, article_id)
                )",
            )
            .await?;
            db.execute_unprepared("CREATE INDEX idx_view_marks_seen_at ON view_marks (seen_at)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TABLE view_marks")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(SharedSettings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Changes::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Seq,
    At,
    Kind,
    EntityId,
    Keys,
}

#[derive(DeriveIden)]
enum SharedSettings {
    Table,
    Name,
    Value,
}
