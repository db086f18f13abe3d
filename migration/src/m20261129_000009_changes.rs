//! The change feed: one row per change a write made, committed with the
//! write and its audit entry, numbered by a sequence that every server
//! process follows to drop what it cached of the change (and that
//! subscriptions and webhooks will read). Old rows are pruned; the audit
//! log is what is kept. And the settings every process of a fleet must
//! share, made by the first to start (the secret that keys the hashes of
//! clients' addresses, so rate limits hold across processes).

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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
