//! When a tag's articles last changed, as the change feed numbers changes:
//! what tells a kept ranking of related teasers that it is out of date.

use sea_orm::entity::prelude::*;

/// One row of `related_ticks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "related_ticks")]
pub struct Model {
    /// The tag.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag_id: Uuid,
    /// The number of the last change that changed its articles.
    pub tick: i64,
}

/// A tick stands alone (a deleted tag's tick is simply never read).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
