//! Writing sections: create, rename, move in the tree (never into itself or
//! below itself), reorder, and delete — refused while a section holds
//! articles or sub-sections, unless the call says where they go.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{article, category};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::content::{
    sections::CategoryTree,
    text,
    writes::audit::Actor,
    writes::{Edit, Subject},
};
use crate::error::{AppError, AppResult};

/// What an editor gives for a new section.
#[derive(Debug, Clone)]
pub struct NewCategory {
    /// The display name.
    pub name: String,
    /// A slug; derived from the name when `None`.
    pub slug: Option<String>,
    /// A line or two about it.
    pub description: String,
    /// The enclosing section; `None` for the top level.
    pub parent_id: Option<Uuid>,
    /// Display order among siblings; after the last when `None`.
    pub position: Option<i32>,
}

/// A partial update; `parent_id: Some(None)` moves a section to the top.
#[derive(Debug, Clone, Default)]
pub struct CategoryChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new slug.
    pub slug: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new place in the tree.
    pub parent_id: Option<Option<Uuid>>,
    /// A new display position.
    pub position: Option<i32>,
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > 128 || name.chars().any(char::is_control) {
        return Err(AppError::bad_input(
            "name",
            "A section's name must be 1 to 128 characters, with no control characters",
        ));
    }
    Ok(name.to_owned())
}

fn checked_description(description: &str) -> AppResult<String> {
    let description = description.trim();
    if description.chars().count() > 2000 {
        return Err(AppError::bad_input(
            "description",
            "A section's description may hold at most 2000 characters",
        ));
    }
    Ok(description.to_owned())
}

async fn slug_for(
    db: &impl sea_orm::ConnectionTrait,
    given: Option<&str>,
    name: &str,
    owner: Option<Uuid>,
) -> AppResult<String> {
    let taken = |candidate: String| async move {
        let mut query = category::Entity::find().filter(category::Column::Slug.eq(candidate));
        if let Some(owner) = owner {
            query = query.filter(category::Column::Id.ne(owner));
        }
        query.one(db).await.map(|found| found.is_some())
    };
    if let Some(given) = given {
        let wanted = text::slug::parse("slug", given)?;
        if taken(wanted.clone()).await? {
            return Err(AppError::bad_input(
                "slug",
                format!("Another section already uses the slug `{wanted}`"),
            ));
        }
        return Ok(wanted);
    }
    let base = text::slug::from_title(name, "section");
    let existing: HashSet<String> = category::Entity::find()
        .select_only()
        .column(category::Column::Slug)
        .filter(category::Column::Slug.starts_with(&base))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(text::slug::first_free(&base, |s| existing.contains(s)))
}

/// Creates a section.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewCategory,
    now: DateTime<Utc>,
) -> AppResult<category::Model> {
    let name = checked_name(&new.name)?;
    let description = checked_description(&new.description)?;
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let tree = CategoryTree::load_in(txn).await?;
    if let Some(parent) = new.parent_id
        && tree.get(parent).is_none()
    {
        return Err(AppError::bad_input("parentId", "No section has this id"));
    }
    let position = match new.position {
        Some(position) => position,
        None => {
            let siblings = match new.parent_id {
                Some(parent) => tree.children(parent),
                None => tree.roots(),
            };
            siblings.iter().map(|s| s.position + 1).max().unwrap_or(0)
        }
    };
    let slug = slug_for(txn, new.slug.as_deref(), &name, None).await?;
    let created = category::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name),
        description: Set(description),
        parent_id: Set(new.parent_id),
        position: Set(position),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    edit.did(
        "category.create",
        Subject::Section(created.id),
        &created.name,
    );
    edit.commit().await?;
    Ok(created)
}

/// Renames, moves or reorders a section. Moving it into itself or into one
/// of its own sub-sections would make a cycle and is refused.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    changes: CategoryChanges,
    now: DateTime<Utc>,
) -> AppResult<category::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let tree = CategoryTree::load_in(txn).await?;
    let current = tree
        .get(id)
        .cloned()
        .ok_or_else(|| AppError::NotFound("No section has this id".to_owned()))?;
    let mut active: category::ActiveModel = current.into();
    if let Some(name) = &changes.name {
        active.name = Set(checked_name(name)?);
    }
    if let Some(description) = &changes.description {
        active.description = Set(checked_description(description)?);
    }
    if let Some(wanted) = &changes.slug {
        active.slug = Set(slug_for(txn, Some(wanted), "", Some(id)).await?);
    }
    if let Some(parent) = changes.parent_id {
        if let Some(parent) = parent {
            if tree.get(parent).is_none() {
                return Err(AppError::bad_input("parentId", "No section has this id"));
            }
            if tree.with_descendants(id).contains(&parent) {
                return Err(AppError::bad_input(
                    "parentId",
                    "A section cannot move into itself or one of its own sub-sections",
                ));
            }
        }
        active.parent_id = Set(parent);
    }
    if let Some(position) = changes.position {
        active.position = Set(position);
    }
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    edit.did("category.update", Subject::Section(id), &updated.name);
    edit.commit().await?;
    Ok(updated)
}

/// Deletes a section. While it holds articles or sub-sections this is
/// refused, unless `move_to` names a section (not itself nor below it) that
/// takes them over.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    move_to: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let tree = CategoryTree::load_in(txn).await?;
    let current = tree
        .get(id)
        .cloned()
        .ok_or_else(|| AppError::NotFound("No section has this id".to_owned()))?;
    let children = tree.children(id).len();
    let articles = article::Entity::find()
        .filter(article::Column::CategoryId.eq(id))
        .count(txn)
        .await?;
    if children > 0 || articles > 0 {
        let Some(target) = move_to else {
            return Err(AppError::bad_input(
                "moveTo",
                format!(
                    "The section holds {articles} articles and {children} sub-sections; give `moveTo` to say where they go"
                ),
            ));
        };
        if tree.get(target).is_none() || tree.with_descendants(id).contains(&target) {
            return Err(AppError::bad_input(
                "moveTo",
                "`moveTo` must be another section, not this one nor one below it",
            ));
        }
        article::Entity::update_many()
            .col_expr(article::Column::CategoryId, Expr::value(target))
            .filter(article::Column::CategoryId.eq(id))
            .exec(txn)
            .await?;
        category::Entity::update_many()
            .col_expr(category::Column::ParentId, Expr::value(target))
            .filter(category::Column::ParentId.eq(id))
            .exec(txn)
            .await?;
    }
    category::Entity::delete_by_id(id).exec(txn).await?;
    edit.did("category.delete", Subject::Section(id), &current.name);
    edit.commit().await?;
    Ok(())
}
