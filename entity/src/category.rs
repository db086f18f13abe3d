//! A section of the site (科技 Technology, 新闻 News, …); sections nest.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of `categories`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "categories")]
pub struct Model {
    /// UUID v7, so ids sort by creation time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The unique, URL-safe name the frontend routes by.
    #[sea_orm(unique)]
    pub slug: String,
    /// The display name, usually Chinese.
    pub name: String,
    /// A line or two shown at the top of the section page.
    pub description: String,
    /// The enclosing section; `None` for a top-level one.
    pub parent_id: Option<Uuid>,
    /// Display order among siblings, smallest first.
    pub position: i32,
    /// When the section was created.
    pub created_at: DateTimeUtc,
    /// When the section was last changed.
    pub updated_at: DateTimeUtc,
}

/// How sections relate to other tables.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The enclosing section.
    #[sea_orm(belongs_to = "Entity", from = "Column::ParentId", to = "Column::Id")]
    Parent,
    /// Articles filed directly in this section.
    #[sea_orm(has_many = "super::article::Entity")]
    Article,
}

impl Related<super::article::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Article.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
