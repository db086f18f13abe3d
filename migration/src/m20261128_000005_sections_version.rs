//! A version number for the section tree, kept by the database: every
//! insert, update or delete of a section adds one to it, in the same
//! transaction, whoever writes (editors, imports, the demo site, another
//! newsroom process, hand-written SQL).
//!
//! A server keeps the last tree it read with the version it read it at, and
//! reuses it while the database still says that version: an article page
//! reads the version in its article statement, so it needs no statement of
//! its own for the 40-odd sections, and is never shown a stale tree.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The table, with its one row for the sections.
const TABLE: &[&str] = &[
    "CREATE TABLE content_versions (name varchar(32) NOT NULL PRIMARY KEY, version bigint NOT NULL)",
    "INSERT INTO content_versions (name, version) VALUES ('sections', 1)",
];

/// SQLite has only row triggers.
const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER categories_version_insert AFTER INSERT ON categories
     BEGIN UPDATE content_versions SET version = version + 1 WHERE name = 'sections'; END",
    "CREATE TRIGGER categories_version_update AFTER UPDATE ON categories
     BEGIN UPDATE content_versions SET version = version + 1 WHERE name = 'sections'; END",
    "CREATE TRIGGER categories_version_delete AFTER DELETE ON categories
     BEGIN UPDATE content_versions SET version = version + 1 WHERE name = 'sections'; END",
];

/// PostgreSQL: once per statement, `TRUNCATE` included.
const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION categories_version() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         UPDATE content_versions SET version = version + 1 WHERE name = 'sections';
         RETURN NULL;
     END $$",
    "CREATE TRIGGER categories_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
     ON categories FOR EACH STATEMENT EXECUTE FUNCTION categories_version()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let triggers = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for statement in TABLE.iter().chain(triggers) {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let drops: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP TRIGGER categories_version ON categories",
                "DROP FUNCTION categories_version()",
                "DROP TABLE content_versions",
            ],
            _ => &[
                "DROP TRIGGER categories_version_insert",
                "DROP TRIGGER categories_version_update",
                "DROP TRIGGER categories_version_delete",
                "DROP TABLE content_versions",
            ],
        };
        for drop in drops {
            db.execute_unprepared(drop).await?;
        }
        Ok(())
    }
}
