//! One entry of the change feed: what a committed write changed, in
//! sequence order.

use sea_orm::entity::prelude::*;

/// One row of `changes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    /// The feed's order: every process applies changes by ascending `seq`.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// When the write committed (the edit's clock).
    pub at: DateTimeUtc,
    /// What happened, like `article.published` or `comment.approved`.
    pub kind: String,
    /// The article, section, tag, comment or token changed.
    pub entity_id: Uuid,
    /// What it touches, space-separated, like `article:<id> section:<id>`.
    pub keys: String,
}

/// A change stands alone.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
