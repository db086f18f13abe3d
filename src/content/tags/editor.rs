//! Writing tags: create, rename, merge several into one, delete.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{article_tag, tag};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::content::{
    text,
    writes::audit::Actor,
    writes::{Edit, Subject},
};
use crate::error::{AppError, AppResult};

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > 64 || name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            "name",
            "A tag's name must be 1 to 64 characters, with no control characters",
        ));
    }
    Ok(name.to_owned())
}

async fn slug_for(
    conn: &impl ConnectionTrait,
    given: Option<&str>,
    name: &str,
    owner: Option<Uuid>,
) -> AppResult<String> {
    let mut others = tag::Entity::find().select_only().column(tag::Column::Slug);
    if let Some(owner) = owner {
        others = others.filter(tag::Column::Id.ne(owner));
    }
    if let Some(given) = given {
        let wanted = text::slug::parse("slug", given)?;
        let clash = others
            .filter(tag::Column::Slug.eq(&wanted))
            .into_tuple::<String>()
            .one(conn)
            .await?;
        if clash.is_some() {
            return Err(AppError::bad_input(
                "slug",
                format!("Another tag already uses the slug `{wanted}`"),
            ));
        }
        return Ok(wanted);
    }
    let base = text::slug::from_title(name, "tag");
    let existing: HashSet<String> = others
        .filter(tag::Column::Slug.starts_with(&base))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    Ok(text::slug::first_free(&base, |s| existing.contains(s)))
}

/// Creates a tag.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    slug: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<tag::Model> {
    let name = checked_name(name)?;
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let slug = slug_for(txn, slug, &name, None).await?;
    let created = tag::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    edit.did("tag.create", Subject::Tag(created.id), &created.name);
    edit.commit().await?;
    Ok(created)
}

/// Renames a tag and, when given, changes its slug.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    name: Option<&str>,
    slug: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<tag::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = find(txn, id).await?;
    let mut active: tag::ActiveModel = current.into();
    if let Some(name) = name {
        active.name = Set(checked_name(name)?);
    }
    if let Some(slug) = slug {
        active.slug = Set(slug_for(txn, Some(slug), "", Some(id)).await?);
    }
    let updated = active.update(txn).await?;
    edit.did("tag.update", Subject::Tag(id), &updated.name);
    edit.commit().await?;
    Ok(updated)
}

async fn find(conn: &impl ConnectionTrait, id: Uuid) -> AppResult<tag::Model> {
    tag::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::NotFound("No tag has this id".to_owned()))
}

/// Moves every article of the `sources` tags to `target` and deletes the
/// sources; an article that had several ends up tagged once.
pub async fn merge(
    db: &DatabaseConnection,
    actor: &Actor,
    sources: &[Uuid],
    target: Uuid,
    now: DateTime<Utc>,
) -> AppResult<tag::Model> {
    if sources.is_empty() || sources.contains(&target) {
        return Err(AppError::bad_input(
            "sourceIds",
            "Name at least one tag to merge, and not the target itself",
        ));
    }
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let kept = find(txn, target).await?;
    for source in sources {
        find(txn, *source).await?;
    }
    let already: HashSet<Uuid> = article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::ArticleId)
        .filter(article_tag::Column::TagId.eq(target))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let moving: HashSet<Uuid> = article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::ArticleId)
        .filter(article_tag::Column::TagId.is_in(sources.iter().copied()))
        .into_tuple::<Uuid>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    for article_id in moving.difference(&already) {
        article_tag::ActiveModel {
            article_id: Set(*article_id),
            tag_id: Set(target),
        }
        .insert(txn)
        .await?;
    }
    tag::Entity::delete_many()
        .filter(tag::Column::Id.is_in(sources.iter().copied()))
        .exec(txn)
        .await?;
    edit.did(
        "tag.merge",
        Subject::Tag(target),
        format!("{} tags merged into {}", sources.len(), kept.name),
    );
    // Pages showing a merged tag show the target from now on.
    for source in sources.iter() {
        edit.touching(crate::content::writes::change::Key::Tag(*source));
    }
    edit.commit().await?;
    Ok(kept)
}

/// Deletes a tag; its articles simply lose it.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = find(txn, id).await?;
    let losing = crate::content::search::index::articles_tagged(txn, &[id]).await?;
    // The articles losing it keep their other tags, whose related rankings
    // counted this one.
    let kept_tags: Vec<Uuid> = article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::TagId)
        .filter(article_tag::Column::ArticleId.is_in(losing.iter().copied()))
        .filter(article_tag::Column::TagId.ne(id))
        .distinct()
        .into_tuple()
        .all(txn)
        .await?;
    tag::Entity::delete_by_id(id).exec(txn).await?;
    edit.did("tag.delete", Subject::Tag(id), &current.name);
    for tag in kept_tags {
        edit.touching(crate::content::writes::change::Key::Tag(tag));
    }
    edit.search_again(losing);
    edit.commit().await?;
    Ok(())
}
