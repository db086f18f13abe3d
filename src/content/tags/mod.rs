//! Tags: free labels across sections, and which articles carry them.

pub mod editor;

use std::collections::HashMap;

use entity::{article_tag, tag};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::AppResult;

/// Every tag, by name.
pub async fn all(db: &DatabaseConnection) -> AppResult<Vec<tag::Model>> {
    Ok(tag::Entity::find()
        .order_by_asc(tag::Column::Name)
        .order_by_asc(tag::Column::Id)
        .all(db)
        .await?)
}

/// The tag with this slug.
pub async fn find_by_slug(db: &DatabaseConnection, slug: &str) -> AppResult<Option<tag::Model>> {
    Ok(tag::Entity::find()
        .filter(tag::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The tags of each of `article_ids`, by name, in one query.
pub async fn of_articles(
    db: &DatabaseConnection,
    article_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<tag::Model>>> {
    let rows = article_tag::Entity::find()
        .filter(article_tag::Column::ArticleId.is_in(article_ids.iter().copied()))
        .find_also_related(tag::Entity)
        .order_by_asc(tag::Column::Name)
        .order_by_asc(tag::Column::Id)
        .all(db)
        .await?;
    let mut tags: HashMap<Uuid, Vec<tag::Model>> = HashMap::new();
    for (link, tag) in rows {
        if let Some(tag) = tag {
            tags.entry(link.article_id).or_default().push(tag);
        }
    }
    Ok(tags)
}
