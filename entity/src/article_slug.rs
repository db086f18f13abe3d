//! A slug an article used to have, kept so that old links keep working.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `article_slug_history`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "article_slug_history")]
pub struct Model {
    /// The retired slug.
    #[sea_orm(primary_key, auto_increment = false)]
    pub slug: String,
    /// The article it now leads to.
    pub article_id: Uuid,
    /// When the article stopped using it.
    pub retired_at: DateTimeUtc,
}

/// The article a retired slug leads to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The article.
    #[sea_orm(
        belongs_to = "super::article::Entity",
        from = "Column::ArticleId",
        to = "super::article::Column::Id",
        on_delete = "Cascade"
    )]
    Article,
}

impl ActiveModelBehavior for ActiveModel {}
