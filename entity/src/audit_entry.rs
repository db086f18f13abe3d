//! One line of the audit log: who (which token) did what to what, and when.

use sea_orm::entity::prelude::*;

/// One row of `audit_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    /// UUID v7, so entries sort by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The token that acted; `None` for the command line.
    pub token_id: Option<Uuid>,
    /// The token's name at the time, kept even after it is revoked.
    pub token_name: String,
    /// What was done, like `article.update` or `comment.approve`.
    pub action: String,
    /// The kind of thing acted on: `article`, `category`, `tag`, `comment`, `token`.
    pub subject_type: String,
    /// Its id.
    pub subject_id: String,
    /// A short human-readable note (a title, a count); never a secret or an email.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Entries relate to nothing else.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
