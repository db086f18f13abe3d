//! A free-form label that groups articles across sections.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `tags`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "tags")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The unique, URL-safe name the frontend routes by.
    #[sea_orm(unique)]
    pub slug: String,
    /// The display name.
    pub name: String,
    /// When the tag was created.
    pub created_at: DateTimeUtc,
}

/// How tags relate to other tables.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Links to articles.
    #[sea_orm(has_many = "super::article_tag::Entity")]
    ArticleTag,
}

impl Related<super::article::Entity> for Entity {
    fn to() -> RelationDef {
        super::article_tag::Relation::Article.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::article_tag::Relation::Tag.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
