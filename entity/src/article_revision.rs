//! A saved earlier version of an article, kept on every update so an editor
//! can look back and restore it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `article_revisions`: the article as it was at `version`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "article_revisions")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The article.
    pub article_id: Uuid,
    /// The article's version this revision holds.
    pub version: i32,
    /// Its slug then.
    pub slug: String,
    /// Its headline then.
    pub title: String,
    /// Its editor's summary then.
    pub summary: Option<String>,
    /// Its sanitised body then.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Its body's plain text then.
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// Its section then.
    pub category_id: Uuid,
    /// Its byline then.
    pub author: String,
    /// Its source then.
    pub source: Option<String>,
    /// Its cover image then.
    pub cover_image_url: Option<String>,
    /// Its cover image's alt text then.
    pub cover_image_alt: Option<String>,
    /// When this version was replaced.
    pub created_at: DateTimeUtc,
    /// The token whose edit replaced it.
    pub token_id: Option<Uuid>,
}

/// The article a revision belongs to.
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
