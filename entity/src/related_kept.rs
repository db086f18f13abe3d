//! An article's related teasers as last ranked, kept so that a cold read
//! need not rank them again while its tags' articles stay the same.

use sea_orm::entity::prelude::*;

/// One row of `related_kept`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "related_kept")]
pub struct Model {
    /// The article the teasers belong under.
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: Uuid,
    /// The change feed's latest number as the ranking read it.
    pub read_at_seq: i64,
    /// When it was kept, in milliseconds since the epoch.
    pub kept_at: i64,
    /// How many teasers the ranking was asked for.
    pub asked: i32,
    /// The teasers' ids, best first, separated by commas.
    pub ids: String,
}

/// A kept ranking stands alone: one left behind by a deleted article is
/// never read.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
