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

impl crate::content::reads::Reads<'_> {
    /// Every tag, by name, through the read cache.
    pub async fn all_tags(&self) -> AppResult<std::sync::Arc<Vec<tag::Model>>> {
        let lookup = crate::content::cache::Lookup::AllTags;
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                all(self.db).await.map(std::sync::Arc::new)
            })
            .await
    }

    /// The tag with `slug`, through the read cache.
    pub async fn tag(&self, slug: &str) -> AppResult<Option<std::sync::Arc<tag::Model>>> {
        let lookup = crate::content::cache::Lookup::TagBySlug(slug.to_owned());
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                Ok(find_by_slug(self.db, slug).await?.map(std::sync::Arc::new))
            })
            .await
    }

    /// The tags of each of `article_ids`, by name: cached ones from the read
    /// cache, the rest in one statement.
    pub async fn tags_of(
        &self,
        article_ids: &[Uuid],
    ) -> AppResult<HashMap<Uuid, std::sync::Arc<Vec<tag::Model>>>> {
        self.cache
            .get_or_load_many(
                self.db,
                self.now,
                article_ids,
                |id| crate::content::cache::Lookup::TagsOf(*id),
                |missing| async move {
                    let loaded = of_articles(self.db, &missing).await?;
                    Ok(loaded
                        .into_iter()
                        .map(|(id, tags)| (id, std::sync::Arc::new(tags)))
                        .collect())
                },
            )
            .await
    }
}
