//! A reader's comment under an article.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a comment stands in moderation; only `Approved` ones are public.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum CommentStatus {
    /// Waiting for a moderator.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Public.
    #[sea_orm(string_value = "approved")]
    Approved,
    /// Refused by a moderator.
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// Refused as spam.
    #[sea_orm(string_value = "spam")]
    Spam,
}

/// One row of `comments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "comments")]
pub struct Model {
    /// UUID v7, so ids sort by creation time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The article commented on.
    pub article_id: Uuid,
    /// The name the reader gave.
    pub author_name: String,
    /// The email the reader gave; private, for moderators only.
    pub author_email: String,
    /// The message as plain text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Pending, approved, rejected or spam.
    pub status: CommentStatus,
    /// When the comment was sent.
    pub created_at: DateTimeUtc,
    /// A keyed hash of the sender's address, for moderation; never the raw IP.
    pub client_fingerprint: Option<String>,
}

/// How comments relate to other tables.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The article commented on.
    #[sea_orm(
        belongs_to = "super::article::Entity",
        from = "Column::ArticleId",
        to = "super::article::Column::Id",
        on_delete = "Cascade"
    )]
    Article,
}

impl Related<super::article::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Article.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
