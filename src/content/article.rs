//! Articles as readers see them: only published ones whose time has come,
//! listed by keyset pagination in every order the API offers, plus the
//! related-news teasers under an article.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_slug, article_tag, tag,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType},
};
use uuid::Uuid;

use super::{
    Page,
    cursor::{self, Cursor, keyset_after},
    time_from_micros,
};
use crate::error::AppResult;

/// The orders a list of articles can come in; each ends in the id, so ties in
/// the sort key still have one fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArticleOrder {
    /// Latest publication first.
    Newest,
    /// Earliest publication first.
    Oldest,
    /// Most views first.
    MostViewed,
    /// Most approved comments first.
    MostCommented,
}

impl ArticleOrder {
    /// The tag that marks this order's cursors.
    fn cursor_list(self) -> char {
        match self {
            Self::Newest => 'n',
            Self::Oldest => 'o',
            Self::MostViewed => 'v',
            Self::MostCommented => 'c',
        }
    }

    /// Where `article` stands in this order, as a cursor.
    pub fn cursor_of(self, article: &article::Model) -> Cursor {
        let key = match self {
            Self::Newest | Self::Oldest => article
                .published_at
                .map(|time| time.timestamp_micros())
                .unwrap_or_default(),
            Self::MostViewed => article.view_count,
            Self::MostCommented => i64::from(article.comment_count),
        };
        Cursor {
            list: self.cursor_list(),
            key,
            id: article.id,
        }
    }

    /// Reads a client's `after` for this order.
    pub fn parse_cursor(self, text: &str) -> AppResult<Cursor> {
        cursor::parse_after(text, self.cursor_list())
    }

    /// Rows strictly after `cursor` in this order.
    fn after(self, cursor: &Cursor) -> AppResult<Condition> {
        let id = article::Column::Id;
        Ok(match self {
            Self::Newest | Self::Oldest => keyset_after(
                article::Column::PublishedAt,
                time_from_micros(cursor.key)?,
                id,
                cursor.id,
                self == Self::Newest,
            ),
            Self::MostViewed => {
                keyset_after(article::Column::ViewCount, cursor.key, id, cursor.id, true)
            }
            Self::MostCommented => keyset_after(
                article::Column::CommentCount,
                cursor.key,
                id,
                cursor.id,
                true,
            ),
        })
    }

    /// The order of two articles in this list, as the database sorts them.
    pub fn compare(self, a: &article::Model, b: &article::Model) -> std::cmp::Ordering {
        match self {
            Self::Newest => (b.published_at, b.id).cmp(&(a.published_at, a.id)),
            Self::Oldest => (a.published_at, a.id).cmp(&(b.published_at, b.id)),
            Self::MostViewed => (b.view_count, b.id).cmp(&(a.view_count, a.id)),
            Self::MostCommented => (b.comment_count, b.id).cmp(&(a.comment_count, a.id)),
        }
    }

    fn sort(self, select: sea_orm::Select<article::Entity>) -> sea_orm::Select<article::Entity> {
        match self {
            Self::Newest => select
                .order_by_desc(article::Column::PublishedAt)
                .order_by_desc(article::Column::Id),
            Self::Oldest => select
                .order_by_asc(article::Column::PublishedAt)
                .order_by_asc(article::Column::Id),
            Self::MostViewed => select
                .order_by_desc(article::Column::ViewCount)
                .order_by_desc(article::Column::Id),
            Self::MostCommented => select
                .order_by_desc(article::Column::CommentCount)
                .order_by_desc(article::Column::Id),
        }
    }
}

/// Which articles a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ArticleFilter {
    /// Only articles filed in one of these sections (a section and its
    /// sub-sections); `Some(vec![])` matches nothing.
    pub category_ids: Option<Vec<Uuid>>,
    /// Only articles carrying the tag with this slug.
    pub tag_slug: Option<String>,
}

impl ArticleFilter {
    fn condition(&self, now: DateTime<Utc>) -> Condition {
        let mut condition = Condition::all().add(visible(now));
        if let Some(ids) = &self.category_ids {
            condition = condition.add(article::Column::CategoryId.is_in(ids.iter().copied()));
        }
        if let Some(slug) = &self.tag_slug {
            let tagged = Query::select()
                .column((article_tag::Entity, article_tag::Column::ArticleId))
                .from(article_tag::Entity)
                .inner_join(
                    tag::Entity,
                    Expr::col((tag::Entity, tag::Column::Id))
                        .equals((article_tag::Entity, article_tag::Column::TagId)),
                )
                .and_where(Expr::col((tag::Entity, tag::Column::Slug)).eq(slug.as_str()))
                .to_owned();
            condition = condition.add(article::Column::Id.in_subquery(tagged));
        }
        condition
    }
}

/// What readers may see at `now`: published, and not scheduled for later.
pub fn visible(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(article::Column::Status.eq(ArticleStatus::Published))
        .add(article::Column::PublishedAt.lte(now))
}

/// Who is looking: readers see only what is public at a moment; editors
/// see every article, drafts and scheduled ones included (previews).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anonymous readers, at this moment.
    Public(DateTime<Utc>),
    /// Callers allowed to edit content.
    Editors,
}

impl Audience {
    fn condition(self) -> Condition {
        match self {
            Self::Public(now) => visible(now),
            Self::Editors => Condition::all(),
        }
    }
}

/// The article with this id, if `audience` may see it.
pub async fn find_by_id(
    db: &DatabaseConnection,
    id: Uuid,
    audience: Audience,
) -> AppResult<Option<article::Model>> {
    Ok(article::Entity::find_by_id(id)
        .filter(audience.condition())
        .one(db)
        .await?)
}

/// The article with this slug, or with this as a slug it used to have (its
/// `slug` then tells the current one, so a frontend can redirect), if
/// `audience` may see it.
pub async fn find_by_slug(
    db: &DatabaseConnection,
    slug: &str,
    audience: Audience,
) -> AppResult<Option<article::Model>> {
    let current = article::Entity::find()
        .filter(article::Column::Slug.eq(slug))
        .filter(audience.condition())
        .one(db)
        .await?;
    if current.is_some() {
        return Ok(current);
    }
    match retired_slug_owner(db, slug).await? {
        Some(id) => find_by_id(db, id, audience).await,
        None => Ok(None),
    }
}

/// The article that used to have `slug`, if any.
pub async fn retired_slug_owner(db: &DatabaseConnection, slug: &str) -> AppResult<Option<Uuid>> {
    Ok(article_slug::Entity::find_by_id(slug.to_owned())
        .one(db)
        .await?
        .map(|retired| retired.article_id))
}

/// One page of public articles matching `filter`, in `order`, after `after`.
pub async fn list(
    db: &DatabaseConnection,
    filter: &ArticleFilter,
    order: ArticleOrder,
    size: u64,
    after: Option<&Cursor>,
    now: DateTime<Utc>,
) -> AppResult<Page<article::Model>> {
    if size == 0 {
        return Ok(Page {
            items: Vec::new(),
            has_next_page: false,
        });
    }
    let mut select = article::Entity::find().filter(filter.condition(now));
    if let Some(cursor) = after {
        select = select.filter(order.after(cursor)?);
    }
    let rows = order.sort(select).limit(size + 1).all(db).await?;
    Ok(Page::from_overfetch(rows, size))
}

/// One first page of a section's list, as the home page asks for several.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FirstPageKey {
    /// The section and its sub-sections.
    pub category_ids: Vec<Uuid>,
    /// The list's order.
    pub order: ArticleOrder,
    /// How many articles.
    pub size: u64,
}

/// The first pages of many section lists in two statements, however many
/// sections there are: one `UNION ALL` of per-list id queries, then the
/// articles by id.
pub async fn first_pages(
    db: &DatabaseConnection,
    keys: &[FirstPageKey],
    now: DateTime<Utc>,
) -> AppResult<HashMap<FirstPageKey, Page<article::Model>>> {
    if let [key] = keys {
        // One list alone: a plain query is one statement, not two.
        let filter = ArticleFilter {
            category_ids: Some(key.category_ids.clone()),
            tag_slug: None,
        };
        let page = list(db, &filter, key.order, key.size, None, now).await?;
        return Ok(HashMap::from([(key.clone(), page)]));
    }
    let mut union: Option<SelectStatement> = None;
    for (index, key) in keys.iter().enumerate() {
        let filter = ArticleFilter {
            category_ids: Some(key.category_ids.clone()),
            tag_slug: None,
        };
        let inner = key
            .order
            .sort(
                article::Entity::find()
                    .select_only()
                    .column(article::Column::Id)
                    .filter(filter.condition(now)),
            )
            .limit(key.size + 1)
            .into_query();
        let table = Alias::new(format!("list{index}"));
        let branch = Query::select()
            .expr_as(Expr::val(index as i64), Alias::new("list"))
            .expr_as(
                Expr::col((table.clone(), article::Column::Id)),
                Alias::new("id"),
            )
            .from_subquery(inner, table)
            .to_owned();
        match &mut union {
            None => union = Some(branch),
            Some(union) => {
                union.union(UnionType::All, branch);
            }
        }
    }
    let mut pages: HashMap<FirstPageKey, Page<article::Model>> = HashMap::new();
    let Some(union) = union else {
        return Ok(pages);
    };
    let backend = db.get_database_backend();
    let mut members: Vec<(usize, Uuid)> = Vec::new();
    for row in db.query_all_raw(backend.build(&union)).await? {
        let list: i64 = row.try_get("", "list")?;
        let id: Uuid = row.try_get("", "id")?;
        members.push((list as usize, id));
    }
    let ids: Vec<Uuid> = members.iter().map(|(_, id)| *id).collect();
    let models: HashMap<Uuid, article::Model> = if ids.is_empty() {
        HashMap::new()
    } else {
        article::Entity::find()
            .filter(article::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|model| (model.id, model))
            .collect()
    };
    for (index, key) in keys.iter().enumerate() {
        let mut rows: Vec<article::Model> = members
            .iter()
            .filter(|(list, _)| *list == index)
            .filter_map(|(_, id)| models.get(id).cloned())
            .collect();
        rows.sort_by(|a, b| key.order.compare(a, b));
        pages.insert(key.clone(), Page::from_overfetch(rows, key.size));
    }
    Ok(pages)
}

/// How many public articles match `filter`.
pub async fn count(
    db: &DatabaseConnection,
    filter: &ArticleFilter,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(article::Entity::find()
        .filter(filter.condition(now))
        .count(db)
        .await?)
}

/// Up to `limit` other public articles, most related first: those sharing
/// the most tags, then those in the same section, then the most recent.
/// Never the article itself, never twice the same.
pub async fn related(
    db: &DatabaseConnection,
    article: &article::Model,
    limit: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<article::Model>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let shared_tags: Vec<Uuid> = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .join(JoinType::InnerJoin, article::Relation::ArticleTag.def())
        .filter(
            article_tag::Column::TagId.in_subquery(
                Query::select()
                    .column(article_tag::Column::TagId)
                    .from(article_tag::Entity)
                    .and_where(Expr::col(article_tag::Column::ArticleId).eq(article.id))
                    .to_owned(),
            ),
        )
        .filter(article::Column::Id.ne(article.id))
        .filter(visible(now))
        .group_by(article::Column::Id)
        .group_by(article::Column::CategoryId)
        .group_by(article::Column::PublishedAt)
        .order_by_desc(Expr::col((article_tag::Entity, article_tag::Column::TagId)).count())
        .order_by_desc(
            Expr::col((article::Entity, article::Column::CategoryId)).eq(article.category_id),
        )
        .order_by_desc(article::Column::PublishedAt)
        .order_by_desc(article::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;

    let mut picked = by_ids_in_order(db, &shared_tags).await?;
    let mut exclude: Vec<Uuid> = shared_tags;
    exclude.push(article.id);

    for same_section in [true, false] {
        let missing = limit.saturating_sub(picked.len() as u64);
        if missing == 0 {
            break;
        }
        let mut select = article::Entity::find()
            .filter(visible(now))
            .filter(article::Column::Id.is_not_in(exclude.iter().copied()));
        if same_section {
            select = select.filter(article::Column::CategoryId.eq(article.category_id));
        }
        let more = ArticleOrder::Newest
            .sort(select)
            .limit(missing)
            .all(db)
            .await?;
        exclude.extend(more.iter().map(|a| a.id));
        picked.extend(more);
    }
    Ok(picked)
}

/// Loads articles by id, in the order of `ids`.
async fn by_ids_in_order(db: &DatabaseConnection, ids: &[Uuid]) -> AppResult<Vec<article::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = article::Entity::find()
        .filter(article::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| rows.iter().find(|row| row.id == *id).cloned())
        .collect())
}
