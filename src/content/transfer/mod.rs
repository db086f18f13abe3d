//! Moving a whole site in and out: sections, tags, articles (with their tags,
//! former slugs and revisions) and comments as one versioned JSON document.
//! This is how a site moves between SQLite and PostgreSQL, and how it leaves.
//!
//! Import checks the whole document before writing anything, then writes it
//! in one transaction. Rows whose id already exists are left alone, so a
//! second import of the same document changes nothing.

pub mod demo;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{article, article_revision, article_slug, article_tag, category, comment, tag};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The name every export document carries.
pub const FORMAT: &str = "newsroom-export";
/// The version of the document's shape this build writes and reads.
pub const VERSION: u32 = 1;

/// A whole site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteExport {
    /// Always [`FORMAT`].
    pub format: String,
    /// The shape's version, [`VERSION`].
    pub version: u32,
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// Every section.
    pub categories: Vec<category::Model>,
    /// Every tag.
    pub tags: Vec<tag::Model>,
    /// Every article with what hangs off it.
    pub articles: Vec<ArticleExport>,
    /// Every comment, whatever its status.
    pub comments: Vec<comment::Model>,
}

/// An article and what belongs to it alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleExport {
    /// The article's row.
    #[serde(flatten)]
    pub article: article::Model,
    /// Its tags' ids.
    pub tag_ids: Vec<Uuid>,
    /// Slugs it used to have.
    pub former_slugs: Vec<article_slug::Model>,
    /// Its earlier versions.
    pub revisions: Vec<article_revision::Model>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows written.
    pub written: usize,
    /// Rows left alone because their id already existed.
    pub skipped: usize,
}

/// Reads the whole site.
pub async fn export(db: &DatabaseConnection) -> AppResult<SiteExport> {
    let categories = category::Entity::find()
        .order_by_asc(category::Column::Id)
        .all(db)
        .await?;
    let tags = tag::Entity::find()
        .order_by_asc(tag::Column::Id)
        .all(db)
        .await?;
    let mut links: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for link in article_tag::Entity::find()
        .order_by_asc(article_tag::Column::TagId)
        .all(db)
        .await?
    {
        links.entry(link.article_id).or_default().push(link.tag_id);
    }
    let mut former: HashMap<Uuid, Vec<article_slug::Model>> = HashMap::new();
    for slug in article_slug::Entity::find()
        .order_by_asc(article_slug::Column::Slug)
        .all(db)
        .await?
    {
        former.entry(slug.article_id).or_default().push(slug);
    }
    let mut revisions: HashMap<Uuid, Vec<article_revision::Model>> = HashMap::new();
    for revision in article_revision::Entity::find()
        .order_by_asc(article_revision::Column::Version)
        .all(db)
        .await?
    {
        revisions
            .entry(revision.article_id)
            .or_default()
            .push(revision);
    }
    let articles = article::Entity::find()
        .order_by_asc(article::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|article| ArticleExport {
            tag_ids: links.remove(&article.id).unwrap_or_default(),
            former_slugs: former.remove(&article.id).unwrap_or_default(),
            revisions: revisions.remove(&article.id).unwrap_or_default(),
            article,
        })
        .collect();
    let comments = comment::Entity::find()
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    Ok(SiteExport {
        format: FORMAT.to_owned(),
        version: VERSION,
        exported_at: crate::content::now(),
        categories,
        tags,
        articles,
        comments,
    })
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::bad_input("file", message)
}

/// Checks that the document hangs together on its own: its format and
/// version, unique ids and slugs, and every reference pointing inside it.
/// Returns the sections in an order where parents come first.
fn check_document(site: &SiteExport) -> AppResult<Vec<&category::Model>> {
    if site.format != FORMAT || site.version != VERSION {
        return Err(invalid(format!(
            "This is not a {FORMAT} document of version {VERSION} (found {} version {})",
            site.format, site.version
        )));
    }
    fn unique<'a>(what: &str, values: impl Iterator<Item = &'a str>) -> AppResult<()> {
        let mut seen = HashSet::new();
        for value in values {
            if !seen.insert(value) {
                return Err(invalid(format!("Two {what} share `{value}`")));
            }
        }
        Ok(())
    }
    let category_ids: HashSet<Uuid> = site.categories.iter().map(|c| c.id).collect();
    let tag_ids: HashSet<Uuid> = site.tags.iter().map(|t| t.id).collect();
    let article_ids: HashSet<Uuid> = site.articles.iter().map(|a| a.article.id).collect();
    if category_ids.len() != site.categories.len()
        || tag_ids.len() != site.tags.len()
        || article_ids.len() != site.articles.len()
    {
        return Err(invalid("Two rows of one kind share an id"));
    }
    unique("sections", site.categories.iter().map(|c| c.slug.as_str()))?;
    unique("tags", site.tags.iter().map(|t| t.slug.as_str()))?;
    unique(
        "articles",
        site.articles.iter().flat_map(|a| {
            std::iter::once(a.article.slug.as_str())
                .chain(a.former_slugs.iter().map(|s| s.slug.as_str()))
        }),
    )?;
    for entry in &site.articles {
        let article = &entry.article;
        if !category_ids.contains(&article.category_id) {
            return Err(invalid(format!(
                "Article {} names an unknown section",
                article.id
            )));
        }
        if let Some(tag) = entry.tag_ids.iter().find(|t| !tag_ids.contains(t)) {
            return Err(invalid(format!(
                "Article {} names an unknown tag {tag}",
                article.id
            )));
        }
        let foreign = entry
            .former_slugs
            .iter()
            .any(|s| s.article_id != article.id)
            || entry.revisions.iter().any(|r| r.article_id != article.id);
        if foreign {
            return Err(invalid(format!(
                "Article {} carries another article's slugs or revisions",
                article.id
            )));
        }
    }
    if let Some(orphan) = site
        .comments
        .iter()
        .find(|c| !article_ids.contains(&c.article_id))
    {
        return Err(invalid(format!(
            "Comment {} names an unknown article",
            orphan.id
        )));
    }

    // Parents before children; a parent outside the document or a cycle is refused.
    let mut ordered: Vec<&category::Model> = Vec::with_capacity(site.categories.len());
    let mut placed: HashSet<Uuid> = HashSet::new();
    while ordered.len() < site.categories.len() {
        let before = ordered.len();
        for category in &site.categories {
            let ready = category.parent_id.is_none_or(|p| placed.contains(&p));
            if !placed.contains(&category.id) && ready {
                placed.insert(category.id);
                ordered.push(category);
            }
        }
        if ordered.len() == before {
            return Err(invalid(
                "Some sections name a parent outside the document, or form a cycle",
            ));
        }
    }
    Ok(ordered)
}

/// Whether a row with this id exists; where it does not, no other row may
/// hold its unique slug.
async fn exists_or_slug_free<E, C>(
    conn: &C,
    id: Uuid,
    slug_column: E::Column,
    slug: &str,
    what: &str,
) -> AppResult<bool>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    if E::find_by_id(id).one(conn).await?.is_some() {
        return Ok(true);
    }
    if E::find()
        .filter(slug_column.eq(slug))
        .one(conn)
        .await?
        .is_some()
    {
        return Err(invalid(format!(
            "The database already has another {what} with the slug `{slug}`"
        )));
    }
    Ok(false)
}

/// Writes a site into the database: all or nothing, skipping rows whose id
/// is already there.
pub async fn import(db: &DatabaseConnection, site: &SiteExport) -> AppResult<ImportReport> {
    let categories = check_document(site)?;
    let txn = crate::database::begin_write(db).await?;

    // Check every slug against the database before the first write.
    let mut new_categories = Vec::new();
    for category in categories {
        if !exists_or_slug_free::<category::Entity, _>(
            &txn,
            category.id,
            category::Column::Slug,
            &category.slug,
            "section",
        )
        .await?
        {
            new_categories.push(category);
        }
    }
    let mut new_tags = Vec::new();
    for tag in &site.tags {
        if !exists_or_slug_free::<tag::Entity, _>(&txn, tag.id, tag::Column::Slug, &tag.slug, "tag")
            .await?
        {
            new_tags.push(tag);
        }
    }
    let mut new_articles = Vec::new();
    for entry in &site.articles {
        if !exists_or_slug_free::<article::Entity, _>(
            &txn,
            entry.article.id,
            article::Column::Slug,
            &entry.article.slug,
            "article",
        )
        .await?
        {
            new_articles.push(entry);
        }
    }

    let mut written = new_categories.len() + new_tags.len() + new_articles.len();
    let imported: Vec<Uuid> = new_articles.iter().map(|entry| entry.article.id).collect();
    for category in new_categories {
        category.clone().into_active_model().insert(&txn).await?;
    }
    for tag in new_tags {
        tag.clone().into_active_model().insert(&txn).await?;
    }
    for entry in new_articles {
        entry
            .article
            .clone()
            .into_active_model()
            .insert(&txn)
            .await?;
        for tag_id in &entry.tag_ids {
            article_tag::Model {
                article_id: entry.article.id,
                tag_id: *tag_id,
            }
            .into_active_model()
            .insert(&txn)
            .await?;
        }
        for slug in &entry.former_slugs {
            slug.clone().into_active_model().insert(&txn).await?;
        }
        for revision in &entry.revisions {
            revision.clone().into_active_model().insert(&txn).await?;
        }
    }
    for comment in &site.comments {
        let known = comment::Entity::find_by_id(comment.id)
            .one(&txn)
            .await?
            .is_some();
        if !known {
            comment.clone().into_active_model().insert(&txn).await?;
            written += 1;
        }
    }
    // Imported articles are found by search as soon as the import commits.
    crate::content::search::index::refresh(&txn, &imported).await?;
    if written > 0 {
        // Servers already running on this database drop what they cached.
        crate::content::writes::change::record(
            &txn,
            crate::content::now(),
            &[(
                "site.imported",
                Uuid::nil(),
                vec![crate::content::writes::change::Key::Lists],
            )],
        )
        .await?;
    }
    txn.commit().await?;
    let total = site.categories.len() + site.tags.len() + site.articles.len() + site.comments.len();
    Ok(ImportReport {
        written,
        skipped: total - written,
    })
}
