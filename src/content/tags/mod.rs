//! Tags: free labels across sections, and which articles carry them.

pub mod editor;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{article_tag, tag};
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

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

/// A column for a statement on `articles`, as SQL text: the row's tags, by
/// name, as a JSON array of `[id, slug, name, created_at]`. An article page
/// reads its article and tags in one statement with it, not two.
/// ([`from_aggregate`] reads it back.) SQLite keeps ids as 16-byte blobs,
/// which JSON cannot hold, so they travel as hex there.
pub fn aggregate_of_article_row(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            r#"(SELECT COALESCE(json_agg(json_build_array(t.id, t.slug, t.name, t.created_at) ORDER BY t.name, t.id), '[]')::text FROM article_tags l JOIN tags t ON t.id = l.tag_id WHERE l.article_id = "articles"."id")"#
        }
        _ => {
            r#"(SELECT json_group_array(json_array(hex(t.id), t.slug, t.name, t.created_at) ORDER BY t.name, t.id) FROM article_tags l JOIN tags t ON t.id = l.tag_id WHERE l.article_id = "articles"."id")"#
        }
    }
}

/// The tags in a JSON array made by [`aggregate_of_article_row`].
pub fn from_aggregate(json: &str) -> AppResult<Vec<tag::Model>> {
    let unreadable =
        |what: &str| AppError::Internal(format!("unreadable tag {what} from the database"));
    let rows: Vec<(String, String, String, String)> =
        serde_json::from_str(json).map_err(|_| unreadable("list"))?;
    rows.into_iter()
        .map(|(id, slug, name, created_at)| {
            Ok(tag::Model {
                id: Uuid::try_parse(&id).map_err(|_| unreadable("id"))?,
                slug,
                name,
                created_at: DateTime::parse_from_rfc3339(&created_at)
                    .map_err(|_| unreadable("time"))?
                    .with_timezone(&Utc),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_tags_read_back_from_either_database() {
        // PostgreSQL's `json_agg` of uuid and timestamptz, then SQLite's
        // hex blob and stored RFC 3339 text.
        let postgres = r#"[["01a22319-568a-76f8-a843-213d02f048e5", "ai", "人工智能", "2026-11-28T17:01:21.219094+00:00"]]"#;
        let sqlite = r#"[["01A22319568A76F8A843213D02F048E5","ai","人工智能","2026-11-28T17:01:21.219094+00:00"]]"#;
        let (from_postgres, from_sqlite) = (
            from_aggregate(postgres).expect("PostgreSQL's form reads"),
            from_aggregate(sqlite).expect("SQLite's form reads"),
        );
        assert_eq!(from_postgres, from_sqlite);
        assert_eq!(from_postgres[0].name, "人工智能");
        assert_eq!(
            from_postgres[0].created_at.timestamp_micros() % 1_000_000,
            219_094
        );
        assert!(from_aggregate("[]").expect("no tags").is_empty());
        assert!(from_aggregate(r#"[["not-an-id","a","b","2026-11-28T00:00:00Z"]]"#).is_err());
    }
}
