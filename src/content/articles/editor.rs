//! Writing articles: create, update with revisions and version checks,
//! publish (now or later), unpublish, archive, delete, tag, and restore an
//! earlier revision. Every write runs in one transaction with its audit entry.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_revision, article_slug, article_tag, category, tag,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::content::{
    text,
    text::body::{self, BodyFormat},
    writes::audit::Actor,
    writes::change::Key,
    writes::{Edit, Subject},
};
use crate::error::{AppError, AppResult};

/// What an editor gives for a new article.
#[derive(Debug, Clone)]
pub struct NewArticle {
    /// The headline.
    pub title: String,
    /// A slug; derived from the title when `None`.
    pub slug: Option<String>,
    /// The editor's summary.
    pub summary: Option<String>,
    /// The body, in `body_format`.
    pub body: String,
    /// How the body is written.
    pub body_format: BodyFormat,
    /// The section.
    pub category_id: Uuid,
    /// Tag names or slugs; unknown ones are created.
    pub tags: Vec<String>,
    /// The byline.
    pub author: String,
    /// Where the story came from.
    pub source: Option<String>,
    /// The cover image's address.
    pub cover_image_url: Option<String>,
    /// The cover image's alt text.
    pub cover_image_alt: Option<String>,
}

/// A partial update: `None` leaves a field as it is; for optional fields,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ArticleChanges {
    /// A new headline.
    pub title: Option<String>,
    /// A new slug; the old one keeps working.
    pub slug: Option<String>,
    /// A new summary, or none.
    pub summary: Option<Option<String>>,
    /// A new body and its format.
    pub body: Option<(String, BodyFormat)>,
    /// Another section.
    pub category_id: Option<Uuid>,
    /// A new set of tags.
    pub tags: Option<Vec<String>>,
    /// A new byline.
    pub author: Option<String>,
    /// A new source, or none.
    pub source: Option<Option<String>>,
    /// A new cover image, or none.
    pub cover_image_url: Option<Option<String>>,
    /// A new alt text, or none.
    pub cover_image_alt: Option<Option<String>>,
}

fn text_field(
    field: &'static str,
    label: &str,
    value: &str,
    max: usize,
    required: bool,
) -> AppResult<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!("{label} may not be empty"),
        ));
    }
    let length = value.chars().count();
    if length > max {
        return Err(AppError::bad_input(
            field,
            format!("{label} is {length} characters long; at most {max} are allowed"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AppError::bad_input(
            field,
            format!("{label} may not contain control characters"),
        ));
    }
    Ok(value.to_owned())
}

fn optional_text(
    field: &'static str,
    label: &str,
    value: Option<&str>,
    max: usize,
) -> AppResult<Option<String>> {
    value
        .map(|v| text_field(field, label, v, max, false))
        .transpose()
        .map(|v| v.filter(|s| !s.is_empty()))
}

fn image_url(value: Option<&str>) -> AppResult<Option<String>> {
    let Some(url) = optional_text("coverImageUrl", "The cover image address", value, 2048)? else {
        return Ok(None);
    };
    let allowed = url.starts_with("https://")
        || url.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"));
    if !allowed {
        return Err(AppError::bad_input(
            "coverImageUrl",
            "The cover image address must start with https://, http:// or /",
        ));
    }
    Ok(Some(url))
}

/// The most characters a body's source may hold.
const MAX_BODY_CHARS: usize = 500_000;

fn prepared_body(source: &str, format: BodyFormat) -> AppResult<body::StoredBody> {
    if source.chars().count() > MAX_BODY_CHARS {
        return Err(AppError::bad_input(
            "body",
            format!("The body may hold at most {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(body::prepare(source, format))
}

async fn require_category<C: ConnectionTrait>(conn: &C, id: Uuid) -> AppResult<()> {
    category::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::bad_input("categoryId", "No section has this id"))
}

/// Whether `candidate` is in use by an article other than `owner`, as its
/// slug now or as a slug it used to have.
async fn slug_taken<C: ConnectionTrait>(
    conn: &C,
    candidate: &str,
    owner: Option<Uuid>,
) -> AppResult<bool> {
    let mut current = article::Entity::find().filter(article::Column::Slug.eq(candidate));
    let mut retired = article_slug::Entity::find().filter(article_slug::Column::Slug.eq(candidate));
    if let Some(owner) = owner {
        current = current.filter(article::Column::Id.ne(owner));
        retired = retired.filter(article_slug::Column::ArticleId.ne(owner));
    }
    Ok(current.one(conn).await?.is_some() || retired.one(conn).await?.is_some())
}

/// The slug an article gets: the editor's, refused when another article has
/// it, or one derived from the title with a suffix on collision.
async fn choose_slug<C: ConnectionTrait>(
    conn: &C,
    given: Option<&str>,
    title: &str,
    owner: Option<Uuid>,
) -> AppResult<String> {
    if let Some(given) = given {
        let wanted = text::slug::parse("slug", given)?;
        if slug_taken(conn, &wanted, owner).await? {
            return Err(AppError::bad_input(
                "slug",
                format!("Another article already uses the slug `{wanted}`"),
            ));
        }
        return Ok(wanted);
    }
    let base = text::slug::from_title(title, "article");
    let similar: HashSet<String> = article::Entity::find()
        .select_only()
        .column(article::Column::Slug)
        .filter(
            Condition::any()
                .add(article::Column::Slug.eq(&base))
                .add(article::Column::Slug.starts_with(format!("{base}-"))),
        )
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .chain(
            article_slug::Entity::find()
                .select_only()
                .column(article_slug::Column::Slug)
                .filter(
                    Condition::any()
                        .add(article_slug::Column::Slug.eq(&base))
                        .add(article_slug::Column::Slug.starts_with(format!("{base}-"))),
                )
                .into_tuple::<String>()
                .all(conn)
                .await?,
        )
        .collect();
    Ok(text::slug::first_free(&base, |s| similar.contains(s)))
}

/// Finds or creates the tags named in `names` (a name or a slug each) and
/// returns their ids, without duplicates.
pub async fn ensure_tags<C: ConnectionTrait>(
    conn: &C,
    names: &[String],
    now: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    let mut ids = Vec::new();
    for name in names {
        let name = text_field("tags", "A tag", name, 64, true)?;
        let tag_slug = text::slug::from_title(&name, "tag");
        let given_slug = name.to_lowercase();
        // A tag of that name first (its slug may be anything an editor
        // chose, not the name's pinyin), then one with the text as its
        // slug, then one with the slug the name would get.
        let candidates = tag::Entity::find()
            .filter(
                Condition::any()
                    .add(tag::Column::Name.eq(&name))
                    .add(tag::Column::Slug.eq(&given_slug))
                    .add(tag::Column::Slug.eq(&tag_slug)),
            )
            .all(conn)
            .await?;
        let existing = candidates
            .iter()
            .find(|tag| tag.name == name)
            .or_else(|| candidates.iter().find(|tag| tag.slug == given_slug))
            .or_else(|| candidates.first());
        let id = match existing {
            Some(found) => found.id,
            None => {
                let id = Uuid::now_v7();
                tag::ActiveModel {
                    id: Set(id),
                    slug: Set(tag_slug),
                    name: Set(name),
                    created_at: Set(now),
                }
                .insert(conn)
                .await?;
                id
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn replace_tags<C: ConnectionTrait>(
    conn: &C,
    article_id: Uuid,
    names: &[String],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let tag_ids = ensure_tags(conn, names, now).await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.eq(article_id))
        .exec(conn)
        .await?;
    for tag_id in tag_ids {
        article_tag::ActiveModel {
            article_id: Set(article_id),
            tag_id: Set(tag_id),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// The ids of an article's tags, as `conn` sees them.
async fn tag_ids_of<C: ConnectionTrait>(conn: &C, article_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(article_tag::Entity::find()
        .filter(article_tag::Column::ArticleId.eq(article_id))
        .select_only()
        .column(article_tag::Column::TagId)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Has the last action of `edit` name what lists the article: every list
/// (the home page's), its section and its tags (their pages, and the
/// related teasers of the articles sharing them), so that a purge by
/// these keys reaches each page where it joins or leaves a list.
fn touching_lists(edit: &mut Edit, section: Uuid, tags: &[Uuid]) {
    edit.touching(Key::Lists).touching(Key::Section(section));
    for tag in tags {
        edit.touching(Key::Tag(*tag));
    }
}

/// Creates a draft.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewArticle,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let title = text_field("title", "The title", &new.title, 300, true)?;
    let summary = optional_text("summary", "The summary", new.summary.as_deref(), 1000)?;
    let author = text_field("author", "The author", &new.author, 128, false)?;
    let source = optional_text("source", "The source", new.source.as_deref(), 200)?;
    let cover_image_url = image_url(new.cover_image_url.as_deref())?;
    let cover_image_alt = optional_text(
        "coverImageAlt",
        "The alt text",
        new.cover_image_alt.as_deref(),
        300,
    )?;
    let stored = prepared_body(&new.body, new.body_format)?;

    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    require_category(txn, new.category_id).await?;
    let slug = choose_slug(txn, new.slug.as_deref(), &title, None).await?;
    let id = Uuid::now_v7();
    let created = article::ActiveModel {
        id: Set(id),
        slug: Set(slug),
        title: Set(title),
        summary: Set(summary),
        body: Set(stored.html),
        body_text: Set(stored.text),
        cover_image_url: Set(cover_image_url),
        cover_image_alt: Set(cover_image_alt),
        author: Set(author),
        source: Set(source),
        status: Set(ArticleStatus::Draft),
        published_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        category_id: Set(new.category_id),
        view_count: Set(0),
        comment_count: Set(0),
        version: Set(1),
        comments_closed: Set(false),
    }
    .insert(txn)
    .await?;
    replace_tags(txn, id, &new.tags, now).await?;
    edit.did("article.create", Subject::Article(id), &created.title);
    edit.commit().await?;
    Ok(created)
}

async fn load_for_update(txn: &DatabaseTransaction, id: Uuid) -> AppResult<article::Model> {
    article::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No article has this id".to_owned()))
}

fn stale(current: i32, expected: i32) -> AppError {
    AppError::Conflict(format!(
        "The article changed since you loaded it (you had version {expected}, it is now at {current}); reload it and apply your edit again"
    ))
}

/// Saves the article as it is now as a revision.
async fn keep_revision(
    txn: &DatabaseTransaction,
    current: &article::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<()> {
    article_revision::ActiveModel {
        id: Set(Uuid::now_v7()),
        article_id: Set(current.id),
        version: Set(current.version),
        slug: Set(current.slug.clone()),
        title: Set(current.title.clone()),
        summary: Set(current.summary.clone()),
        body: Set(current.body.clone()),
        body_text: Set(current.body_text.clone()),
        category_id: Set(current.category_id),
        author: Set(current.author.clone()),
        source: Set(current.source.clone()),
        cover_image_url: Set(current.cover_image_url.clone()),
        cover_image_alt: Set(current.cover_image_alt.clone()),
        created_at: Set(now),
        token_id: Set(actor.token_id),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Moves an article to `new_slug`, keeping the old slug as history so it
/// still finds the article.
async fn retire_slug(
    txn: &DatabaseTransaction,
    article_id: Uuid,
    old: &str,
    new_slug: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if old == new_slug {
        return Ok(());
    }
    article_slug::Entity::delete_many()
        .filter(article_slug::Column::Slug.eq(new_slug))
        .filter(article_slug::Column::ArticleId.eq(article_id))
        .exec(txn)
        .await?;
    article_slug::ActiveModel {
        slug: Set(old.to_owned()),
        article_id: Set(article_id),
        retired_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Writes the fields set in `changes` only if the row is still at
/// `expected`, bumping the version: a concurrent edit makes this refuse.
async fn write_if_current(
    txn: &DatabaseTransaction,
    id: Uuid,
    expected: i32,
    mut changes: article::ActiveModel,
) -> AppResult<article::Model> {
    changes.version = Set(expected + 1);
    let updated = article::Entity::update_many()
        .set(changes)
        .filter(article::Column::Id.eq(id))
        .filter(article::Column::Version.eq(expected))
        .exec_with_returning(txn)
        .await?;
    match updated.into_iter().next() {
        Some(row) => Ok(row),
        None => {
            let current = load_for_update(txn, id).await?;
            Err(stale(current.version, expected))
        }
    }
}

/// Applies a partial update made from version `expected`; the version before
/// it is kept as a revision. A stale version is `CONFLICT` and writes nothing.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    changes: ArticleChanges,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let mut next = article::ActiveModel {
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(title) = &changes.title {
        next.title = Set(text_field("title", "The title", title, 300, true)?);
    }
    if let Some(summary) = &changes.summary {
        next.summary = Set(optional_text(
            "summary",
            "The summary",
            summary.as_deref(),
            1000,
        )?);
    }
    if let Some((source, format)) = &changes.body {
        let stored = prepared_body(source, *format)?;
        next.body = Set(stored.html);
        next.body_text = Set(stored.text);
    }
    if let Some(author) = &changes.author {
        next.author = Set(text_field("author", "The author", author, 128, false)?);
    }
    if let Some(source) = &changes.source {
        next.source = Set(optional_text(
            "source",
            "The source",
            source.as_deref(),
            200,
        )?);
    }
    if let Some(url) = &changes.cover_image_url {
        next.cover_image_url = Set(image_url(url.as_deref())?);
    }
    if let Some(alt) = &changes.cover_image_alt {
        next.cover_image_alt = Set(optional_text(
            "coverImageAlt",
            "The alt text",
            alt.as_deref(),
            300,
        )?);
    }

    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = load_for_update(txn, id).await?;
    if current.version != expected {
        return Err(stale(current.version, expected));
    }
    if let Some(category_id) = changes.category_id {
        require_category(txn, category_id).await?;
        next.category_id = Set(category_id);
    }
    if let Some(wanted) = &changes.slug {
        let new_slug = choose_slug(txn, Some(wanted), &current.title, Some(id)).await?;
        retire_slug(txn, id, &current.slug, &new_slug, now).await?;
        next.slug = Set(new_slug);
    }
    keep_revision(txn, &current, actor, now).await?;
    let updated = write_if_current(txn, id, expected, next).await?;
    let moved = updated.category_id != current.category_id;
    let mut tags_touched = Vec::new();
    if let Some(tags) = &changes.tags {
        tags_touched = tag_ids_of(txn, id).await?;
        replace_tags(txn, id, tags, now).await?;
        tags_touched.extend(tag_ids_of(txn, id).await?);
    } else if moved {
        // Its tags' related rankings weigh the section.
        tags_touched = tag_ids_of(txn, id).await?;
    }
    let action = if !moved {
        "article.update"
    } else {
        "article.move"
    };
    edit.did(action, Subject::Article(id), &updated.title);
    if moved {
        edit.touching(Key::Section(current.category_id))
            .touching(Key::Section(updated.category_id));
    }
    if changes.tags.is_some() || changes.slug.is_some() || moved {
        // Tag lists, related sets and lookups by slug may change.
        touching_lists(&mut edit, updated.category_id, &tags_touched);
    }
    edit.commit().await?;
    Ok(updated)
}

/// Publishes now, or schedules for `at` when it lies ahead.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let at = at.unwrap_or(now);
    let action = if at > now {
        "article.schedule"
    } else {
        "article.publish"
    };
    set_status(
        db,
        actor,
        id,
        ArticleStatus::Published,
        Some(Some(at)),
        action,
        now,
    )
    .await
}

/// Takes an article back to draft.
pub async fn unpublish(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    set_status(
        db,
        actor,
        id,
        ArticleStatus::Draft,
        Some(None),
        "article.unpublish",
        now,
    )
    .await
}

/// Archives an article: kept, never public.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    set_status(
        db,
        actor,
        id,
        ArticleStatus::Archived,
        None,
        "article.archive",
        now,
    )
    .await
}

/// Moves an article to `status`; `published_at` is `None` to keep the
/// publication time, `Some(time)` to set or clear it.
async fn set_status(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    status: ArticleStatus,
    published_at: Option<Option<DateTime<Utc>>>,
    action: &'static str,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = load_for_update(txn, id).await?;
    let mut active: article::ActiveModel = current.into();
    active.status = Set(status);
    if let Some(published_at) = published_at {
        active.published_at = Set(published_at);
    }
    active.updated_at = Set(now);
    let updated = active.update(txn).await?;
    let tags = tag_ids_of(txn, id).await?;
    let detail = match updated.published_at {
        Some(at) => format!("{} at {}", updated.title, at.to_rfc3339()),
        None => updated.title.clone(),
    };
    edit.did(action, Subject::Article(id), detail);
    touching_lists(&mut edit, updated.category_id, &tags);
    edit.commit().await?;
    Ok(updated)
}

/// Deletes an article with its comments, tags, revisions and slug history.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = load_for_update(txn, id).await?;
    let tags = tag_ids_of(txn, id).await?;
    article::Entity::delete_by_id(id).exec(txn).await?;
    edit.did("article.delete", Subject::Article(id), &current.title);
    touching_lists(&mut edit, current.category_id, &tags);
    edit.commit().await?;
    Ok(())
}

/// Replaces an article's tags.
pub async fn set_tags(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    tags: &[String],
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = load_for_update(txn, id).await?;
    let mut touched = tag_ids_of(txn, id).await?;
    replace_tags(txn, id, tags, now).await?;
    touched.extend(tag_ids_of(txn, id).await?);
    edit.did("article.tags", Subject::Article(id), tags.join(", "));
    touching_lists(&mut edit, current.category_id, &touched);
    edit.commit().await?;
    Ok(current)
}

/// An article's revisions, newest first.
pub async fn revisions(
    db: &DatabaseConnection,
    article_id: Uuid,
) -> AppResult<Vec<article_revision::Model>> {
    Ok(article_revision::Entity::find()
        .filter(article_revision::Column::ArticleId.eq(article_id))
        .order_by_desc(article_revision::Column::Version)
        .all(db)
        .await?)
}

/// Brings back the content of a revision as a new version, made from
/// version `expected`; what it replaces becomes a revision in turn.
pub async fn restore(
    db: &DatabaseConnection,
    actor: &Actor,
    revision_id: Uuid,
    expected: i32,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let revision = article_revision::Entity::find_by_id(revision_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No revision has this id".to_owned()))?;
    let current = load_for_update(txn, revision.article_id).await?;
    if current.version != expected {
        return Err(stale(current.version, expected));
    }
    let category_id = if category::Entity::find_by_id(revision.category_id)
        .one(txn)
        .await?
        .is_some()
    {
        revision.category_id
    } else {
        current.category_id
    };
    let slug = if slug_taken(txn, &revision.slug, Some(current.id)).await? {
        current.slug.clone()
    } else {
        revision.slug.clone()
    };
    retire_slug(txn, current.id, &current.slug, &slug, now).await?;
    keep_revision(txn, &current, actor, now).await?;
    let next = article::ActiveModel {
        slug: Set(slug),
        title: Set(revision.title.clone()),
        summary: Set(revision.summary.clone()),
        body: Set(revision.body.clone()),
        body_text: Set(revision.body_text.clone()),
        category_id: Set(category_id),
        author: Set(revision.author.clone()),
        source: Set(revision.source.clone()),
        cover_image_url: Set(revision.cover_image_url.clone()),
        cover_image_alt: Set(revision.cover_image_alt.clone()),
        updated_at: Set(now),
        ..Default::default()
    };
    let restored = write_if_current(txn, current.id, expected, next).await?;
    let tags = if restored.category_id == current.category_id {
        Vec::new()
    } else {
        tag_ids_of(txn, current.id).await?
    };
    edit.did(
        "article.restore",
        Subject::Article(current.id),
        format!("{} (version {})", restored.title, revision.version),
    );
    // A revision may bring back a section or a slug; in another section,
    // its tags' related rankings weigh it differently.
    edit.touching(Key::Lists);
    for tag in tags {
        edit.touching(Key::Tag(tag));
    }
    edit.commit().await?;
    Ok(restored)
}
