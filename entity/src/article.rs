//! A news article and its publication state.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where an article stands in its life; only `Published` ones reach readers,
/// and only once their publication time has come.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ArticleStatus {
    /// Being written; never public.
    #[sea_orm(string_value = "draft")]
    Draft,
    /// Public from `published_at` on.
    #[sea_orm(string_value = "published")]
    Published,
    /// Taken down; kept for the record, never public.
    #[sea_orm(string_value = "archived")]
    Archived,
}

/// One row of `articles`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "articles")]
pub struct Model {
    /// UUID v7, so ids sort by creation time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The unique, URL-safe name the frontend routes by.
    #[sea_orm(unique)]
    pub slug: String,
    /// The headline.
    pub title: String,
    /// The editor's own summary; teasers fall back to an excerpt of the body.
    pub summary: Option<String>,
    /// The body as sanitised HTML, safe to render as it is.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// The body's plain text, kept for excerpts and search.
    #[sea_orm(column_type = "Text")]
    pub body_text: String,
    /// The cover image's address, if the article has one.
    pub cover_image_url: Option<String>,
    /// The cover image's alt text; the headline stands in when empty.
    pub cover_image_alt: Option<String>,
    /// The byline.
    pub author: String,
    /// Where the story came from (an agency, another paper), if not our own.
    pub source: Option<String>,
    /// Draft, published or archived.
    pub status: ArticleStatus,
    /// When the article goes (or went) public; may lie in the future.
    pub published_at: Option<DateTimeUtc>,
    /// When the article was created.
    pub created_at: DateTimeUtc,
    /// When the article was last changed.
    pub updated_at: DateTimeUtc,
    /// The section the article is filed in.
    pub category_id: Uuid,
    /// How many times readers have viewed the article.
    pub view_count: i64,
    /// How many approved comments the article has; kept exact on every change.
    pub comment_count: i32,
    /// Goes up by one on every edit; an update must name the version it
    /// started from, so no edit silently overwrites another.
    pub version: i32,
    /// Whether readers may no longer comment.
    pub comments_closed: bool,
}

/// How articles relate to other tables.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The section the article is filed in.
    #[sea_orm(
        belongs_to = "super::category::Entity",
        from = "Column::CategoryId",
        to = "super::category::Column::Id"
    )]
    Category,
    /// Readers' comments.
    #[sea_orm(has_many = "super::comment::Entity")]
    Comment,
    /// Links to tags.
    #[sea_orm(has_many = "super::article_tag::Entity")]
    ArticleTag,
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl Related<super::comment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comment.def()
    }
}

impl Related<super::tag::Entity> for Entity {
    fn to() -> RelationDef {
        super::article_tag::Relation::Tag.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::article_tag::Relation::Article.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
