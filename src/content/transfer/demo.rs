//! The demo site: a bilingual set of sections, tags, articles and comments
//! written for this project, shaped like the page newsroom was built to feed.
//! It is loaded into an empty database so a new user sees a working API at
//! once, and it includes a draft and a scheduled article that must stay
//! invisible to readers.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_tag, category,
    comment::{self, CommentStatus},
    tag,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set};
use serde::Deserialize;
use uuid::Uuid;

use crate::content::text::body::{plain_text, sanitize_html};
use crate::error::{AppError, AppResult};

const DEMO_SITE: &str = include_str!("demo_site.json");

/// Where the demo's cover images are served (see `http::demo_media`).
pub const COVER_PATH: &str = "/media/demo/";

/// Whether `file` is the name of one of the demo's cover images.
pub fn is_cover(file: &str) -> bool {
    file.ends_with(".svg")
        && file
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-.".contains(&byte))
        && DEMO_SITE.contains(&format!("\"{COVER_PATH}{file}\""))
}

#[derive(Deserialize)]
struct DemoSite {
    categories: Vec<DemoCategory>,
    tags: Vec<DemoTag>,
    articles: Vec<DemoArticle>,
}

#[derive(Deserialize)]
struct DemoCategory {
    slug: String,
    name: String,
    description: String,
    #[serde(default)]
    children: Vec<DemoCategory>,
}

#[derive(Deserialize)]
struct DemoTag {
    slug: String,
    name: String,
}

#[derive(Deserialize)]
struct DemoArticle {
    slug: String,
    title: String,
    #[serde(default)]
    summary: Option<String>,
    category: String,
    #[serde(default)]
    tags: Vec<String>,
    author: String,
    #[serde(default)]
    source: Option<String>,
    /// `published` (the default), `draft` or `archived`.
    #[serde(default)]
    status: Option<String>,
    /// A fixed publication time.
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    /// Or a publication time this many days after loading (scheduled).
    #[serde(default)]
    publish_in_days: Option<i64>,
    #[serde(default)]
    views: i64,
    #[serde(default)]
    cover: Option<String>,
    /// The paragraphs, as HTML.
    body: Vec<String>,
    #[serde(default)]
    comments: Vec<DemoComment>,
}

#[derive(Deserialize)]
struct DemoComment {
    name: String,
    email: String,
    body: String,
    /// Minutes after publication.
    after_minutes: i64,
}

/// The days over which a demo article's views are spread: at most the last
/// month, so "most viewed" this day, week and month all rank something.
const DEMO_VIEW_DAYS: i64 = 30;

/// Spreads an article's demo views evenly over the days from its
/// publication (or a month ago) to today, one more on the latest days for
/// the remainder, as if the view flush had written them day by day.
async fn seed_daily_views(
    txn: &crate::database::WriteTransaction,
    article_id: Uuid,
    views: i64,
    published_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let days = (now - published_at).num_days().clamp(0, DEMO_VIEW_DAYS - 1);
    let per_day = views / (days + 1);
    let remainder = views % (days + 1);
    for days_ago in (0..=days).rev() {
        let count = per_day + i64::from(days_ago < remainder);
        if count > 0 {
            let day = now - Duration::days(days_ago);
            crate::content::views::counter::add_daily_views(txn, &[(article_id, count)], day)
                .await?;
        }
    }
    Ok(())
}

/// Loads the demo site when the database holds no section and no article;
/// returns whether it did. Runs in one transaction: all or nothing.
pub async fn load_if_empty(db: &DatabaseConnection) -> AppResult<bool> {
    if category::Entity::find().count(db).await? > 0 || article::Entity::find().count(db).await? > 0
    {
        return Ok(false);
    }
    let site: DemoSite = serde_json::from_str(DEMO_SITE)
        .map_err(|error| AppError::Internal(format!("the demo site does not parse: {error}")))?;
    let now = crate::content::now();
    let txn = crate::database::begin_write(db).await?;

    let mut category_ids = HashMap::new();
    let mut pending: Vec<(Option<Uuid>, i32, &DemoCategory)> = site
        .categories
        .iter()
        .enumerate()
        .map(|(position, c)| (None, position as i32, c))
        .collect();
    while let Some((parent_id, position, demo)) = pending.pop() {
        let id = Uuid::now_v7();
        category::ActiveModel {
            id: Set(id),
            slug: Set(demo.slug.clone()),
            name: Set(demo.name.clone()),
            description: Set(demo.description.clone()),
            parent_id: Set(parent_id),
            position: Set(position),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        category_ids.insert(demo.slug.as_str(), id);
        pending.extend(
            demo.children
                .iter()
                .enumerate()
                .map(|(position, child)| (Some(id), position as i32, child)),
        );
    }

    let mut tag_ids = HashMap::new();
    for demo in &site.tags {
        let id = Uuid::now_v7();
        tag::ActiveModel {
            id: Set(id),
            slug: Set(demo.slug.clone()),
            name: Set(demo.name.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        tag_ids.insert(demo.slug.as_str(), id);
    }

    let mut article_ids = Vec::new();
    for demo in &site.articles {
        let category_id = *category_ids.get(demo.category.as_str()).ok_or_else(|| {
            AppError::Internal(format!("demo article {} names no section", demo.slug))
        })?;
        let published_at = match (demo.published_at, demo.publish_in_days) {
            (Some(at), _) => at,
            (None, Some(days)) => now + Duration::days(days),
            (None, None) => now,
        };
        let status = match demo.status.as_deref() {
            Some("draft") => ArticleStatus::Draft,
            Some("archived") => ArticleStatus::Archived,
            _ => ArticleStatus::Published,
        };
        let html = sanitize_html(
            &demo
                .body
                .iter()
                .map(|paragraph| format!("<p>{paragraph}</p>"))
                .collect::<String>(),
        );
        let approved = demo.comments.len() as i32;
        let id = Uuid::now_v7();
        article_ids.push(id);
        article::ActiveModel {
            id: Set(id),
            slug: Set(demo.slug.clone()),
            title: Set(demo.title.clone()),
            summary: Set(demo.summary.clone()),
            body_text: Set(plain_text(&html)),
            body: Set(html),
            cover_image_url: Set(demo.cover.clone()),
            cover_image_alt: Set(None),
            author: Set(demo.author.clone()),
            source: Set(demo.source.clone()),
            status: Set(status),
            published_at: Set((status != ArticleStatus::Draft).then_some(published_at)),
            created_at: Set(published_at - Duration::hours(2)),
            updated_at: Set(published_at),
            category_id: Set(category_id),
            view_count: Set(demo.views),
            comment_count: Set(approved),
            version: Set(1),
            comments_closed: Set(false),
        }
        .insert(&txn)
        .await?;
        if status == ArticleStatus::Published && published_at <= now {
            seed_daily_views(&txn, id, demo.views, published_at, now).await?;
        }
        for slug in &demo.tags {
            let tag_id = *tag_ids.get(slug.as_str()).ok_or_else(|| {
                AppError::Internal(format!(
                    "demo article {} names unknown tag {slug}",
                    demo.slug
                ))
            })?;
            article_tag::ActiveModel {
                article_id: Set(id),
                tag_id: Set(tag_id),
            }
            .insert(&txn)
            .await?;
        }
        for demo_comment in &demo.comments {
            comment::ActiveModel {
                id: Set(Uuid::now_v7()),
                article_id: Set(id),
                author_name: Set(demo_comment.name.clone()),
                author_email: Set(demo_comment.email.clone()),
                body: Set(demo_comment.body.clone()),
                status: Set(CommentStatus::Approved),
                created_at: Set(published_at + Duration::minutes(demo_comment.after_minutes)),
                client_fingerprint: Set(None),
            }
            .insert(&txn)
            .await?;
        }
    }
    crate::content::search::index::refresh(&txn, &article_ids).await?;
    crate::content::search::index::mark_current(&txn).await?;
    txn.commit().await?;
    Ok(true)
}
