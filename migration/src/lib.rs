//! newsroom's schema migrations, for SQLite and PostgreSQL alike.
//!
//! One file per change, in order; a migration that has been released is never
//! edited again, only followed by a new one.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_content_tables;
mod m20261128_000002_editorial;
mod m20261128_000003_article_visibility_index;
mod m20261128_000004_related_candidates;
mod m20261128_000005_sections_version;
mod m20261129_000006_teaser_text;
mod m20261129_000007_safe_retries;
mod m20261129_000008_daily_views;
mod m20261129_000009_changes;
mod m20261129_000010_search;
mod m20261130_000011_webhooks;
mod m20261130_000012_kept_related;
mod m20261130_000013_lean_search_documents;
mod m20261130_000014_search_index_without_pending_list;
mod m20261130_000015_search_documents_publication;
mod m20261202_000016_section_counts;
mod m20261202_000017_section_counts_lock_order;

pub use m20261129_000006_teaser_text::TEASER_TEXT_CHARS;

/// Runs every migration in order; the server calls it at start and from
/// `newsroom migrate`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_content_tables::Migration),
            Box::new(m20261128_000002_editorial::Migration),
            Box::new(m20261128_000003_article_visibility_index::Migration),
            Box::new(m20261128_000004_related_candidates::Migration),
            Box::new(m20261128_000005_sections_version::Migration),
            Box::new(m20261129_000006_teaser_text::Migration),
            Box::new(m20261129_000007_safe_retries::Migration),
            Box::new(m20261129_000008_daily_views::Migration),
            Box::new(m20261129_000009_changes::Migration),
            Box::new(m20261129_000010_search::Migration),
            Box::new(m20261130_000011_webhooks::Migration),
            Box::new(m20261130_000012_kept_related::Migration),
            Box::new(m20261130_000013_lean_search_documents::Migration),
            Box::new(m20261130_000014_search_index_without_pending_list::Migration),
            Box::new(m20261130_000015_search_documents_publication::Migration),
            Box::new(m20261202_000016_section_counts::Migration),
            Box::new(m20261202_000017_section_counts_lock_order::Migration),
        ]
    }
}
