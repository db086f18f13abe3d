//! How many times an article was viewed on one day (UTC), for rankings
//! over a period.

use sea_orm::entity::prelude::*;

/// One row of `article_daily_views`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_daily_views")]
pub struct Model {
    /// The article viewed.
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: Uuid,
    /// The day, as days since 1970-01-01 (UTC).
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i32,
    /// Views counted that day.
    pub views: i64,
}

/// The article counted.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The article viewed.
    #[sea_orm(
        belongs_to = "super::article::Entity",
        from = "Column::ArticleId",
        to = "super::article::Column::Id",
        on_delete = "Cascade"
    )]
    Article,
}

impl ActiveModelBehavior for ActiveModel {}
