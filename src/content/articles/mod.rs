//! Articles as readers see them: only published ones whose time has come,
//! listed by keyset pagination in every order the API offers, plus the
//! related-news teasers under an article.

pub mod editor;
pub mod kept_related;
pub mod loaded;
pub mod page;
pub mod reads;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_slug, article_tag, tag,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{
        Alias, Expr, ExprTrait, Func, Query, SelectStatement, SubQueryStatement, UnionType,
    },
};
use uuid::Uuid;

use crate::content::{
    Page,
    cursor::{self, Cursor, Window, keyset_after, keyset_after_exprs},
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
    /// Latest change first: for sitemaps and for syncing a static copy.
    RecentlyUpdated,
}

impl ArticleOrder {
    /// The tag that marks this order's cursors.
    pub fn cursor_list(self) -> char {
        match self {
            Self::Newest => 'n',
            Self::Oldest => 'o',
            Self::MostViewed => 'v',
            Self::MostCommented => 'c',
            Self::RecentlyUpdated => 'u',
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
            Self::RecentlyUpdated => article.updated_at.timestamp_micros(),
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

    /// Whether the order is by publication time, which a tag's links
    /// carry (see [`tag_window`]).
    fn is_by_publication(self) -> bool {
        matches!(self, Self::Newest | Self::Oldest)
    }

    /// The direction rows are read in: this order's, or its reverse when
    /// `backward` (before a cursor in an order is after it in the reverse).
    fn direction(self, backward: bool) -> sea_orm::Order {
        if (self == Self::Oldest) != backward {
            sea_orm::Order::Asc
        } else {
            sea_orm::Order::Desc
        }
    }

    /// Rows strictly after `cursor` in this order, or strictly before it
    /// when `backward`.
    fn beyond(self, cursor: &Cursor, backward: bool) -> AppResult<Condition> {
        let descending = self.direction(backward) == sea_orm::Order::Desc;
        let key: sea_orm::Value = match self {
            Self::Newest | Self::Oldest | Self::RecentlyUpdated => {
                time_from_micros(cursor.key)?.into()
            }
            Self::MostViewed | Self::MostCommented => cursor.key.into(),
        };
        Ok(keyset_after(
            self.key_column(),
            key,
            article::Column::Id,
            cursor.id,
            descending,
        ))
    }

    /// The column this order sorts by, before the id.
    fn key_column(self) -> article::Column {
        match self {
            Self::Newest | Self::Oldest => article::Column::PublishedAt,
            Self::MostViewed => article::Column::ViewCount,
            Self::MostCommented => article::Column::CommentCount,
            Self::RecentlyUpdated => article::Column::UpdatedAt,
        }
    }

    /// The order of two articles in this list, as the database sorts them.
    pub fn compare(self, a: &article::Model, b: &article::Model) -> std::cmp::Ordering {
        match self {
            Self::Newest => (b.published_at, b.id).cmp(&(a.published_at, a.id)),
            Self::Oldest => (a.published_at, a.id).cmp(&(b.published_at, b.id)),
            Self::MostViewed => (b.view_count, b.id).cmp(&(a.view_count, a.id)),
            Self::MostCommented => (b.comment_count, b.id).cmp(&(a.comment_count, a.id)),
            Self::RecentlyUpdated => (b.updated_at, b.id).cmp(&(a.updated_at, a.id)),
        }
    }

    fn sort(self, select: sea_orm::Select<article::Entity>) -> sea_orm::Select<article::Entity> {
        self.sort_in(select, false)
    }

    /// Sorts `select` in this order, or in its reverse when `backward`.
    fn sort_in(
        self,
        select: sea_orm::Select<article::Entity>,
        backward: bool,
    ) -> sea_orm::Select<article::Entity> {
        let key = self.key_column();
        let direction = self.direction(backward);
        select
            .order_by(key, direction.clone())
            .order_by(article::Column::Id, direction)
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
    /// Only articles published at or after this moment.
    pub published_after: Option<DateTime<Utc>>,
    /// Only articles published before this moment.
    pub published_before: Option<DateTime<Utc>>,
    /// Only articles changed at or after this moment.
    pub updated_since: Option<DateTime<Utc>>,
}

impl ArticleFilter {
    /// Whether the list is a section's or a tag's, with no time range: such
    /// first pages are read in batches ([`first_pages`]).
    pub fn is_by_section_or_tag(&self) -> bool {
        (self.category_ids.is_some() || self.tag_slug.is_some()) && self.has_no_time_range()
    }

    /// Whether no publication or update time narrows the list.
    fn has_no_time_range(&self) -> bool {
        self.published_after.is_none()
            && self.published_before.is_none()
            && self.updated_since.is_none()
    }

    /// The tag's slug when the list is a tag's and nothing else narrows
    /// it: such a list can be counted from the tag's links alone
    /// ([`count_tagged`]).
    fn tag_only(&self) -> Option<&str> {
        let untimed_and_unfiled = self.has_no_time_range() && self.category_ids.is_none();
        self.tag_slug.as_deref().filter(|_| untimed_and_unfiled)
    }

    /// The same filter without its tag: what a list read through the tag's
    /// links still applies to the articles.
    fn without_tag(&self) -> Self {
        Self {
            tag_slug: None,
            ..self.clone()
        }
    }

    /// The sections when the list is a section tree's and nothing else
    /// narrows it: such a list is counted from the counts the database
    /// keeps per section ([`count_in_sections`]).
    fn sections_only(&self) -> Option<&[Uuid]> {
        let untimed_and_untagged = self.has_no_time_range() && self.tag_slug.is_none();
        self.category_ids
            .as_deref()
            .filter(|_| untimed_and_untagged)
    }

    /// The condition on `articles` that holds the list's articles public
    /// at `now` (search narrows by it too).
    pub fn condition(&self, now: DateTime<Utc>) -> Condition {
        let mut condition = Condition::all().add(visible(now));
        if let Some(after) = self.published_after {
            condition = condition.add(article::Column::PublishedAt.gte(after));
        }
        if let Some(before) = self.published_before {
            condition = condition.add(article::Column::PublishedAt.lt(before));
        }
        if let Some(since) = self.updated_since {
            condition = condition.add(article::Column::UpdatedAt.gte(since));
        }
        if let Some(ids) = &self.category_ids {
            condition = condition.add(article::Column::CategoryId.is_in(ids.iter().copied()));
        }
        if let Some(slug) = &self.tag_slug {
            let tagged = links_of_tag(slug)
                .column((article_tag::Entity, article_tag::Column::ArticleId))
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

/// Those of the articles with these ids that are public at `now`, whole, in
/// no order.
pub async fn public_by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<Vec<article::Model>> {
    Ok(article::Entity::find()
        .filter(article::Column::Id.is_in(ids.iter().copied()))
        .filter(visible(now))
        .all(db)
        .await?)
}

/// The slug and title of the article with `id` if it is public at `now`:
/// what a webhook's payload names.
pub async fn public_by_id<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<PublicName>> {
    Ok(article::Entity::find_by_id(id)
        .filter(visible(now))
        .select_only()
        .column(article::Column::Slug)
        .column(article::Column::Title)
        .into_tuple::<(String, String)>()
        .one(conn)
        .await?
        .map(|(slug, title)| PublicName { slug, title }))
}

/// A public article's slug and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicName {
    /// Its slug.
    pub slug: String,
    /// Its title.
    pub title: String,
}

/// The article that used to have `slug`, if any.
pub async fn retired_slug_owner(db: &DatabaseConnection, slug: &str) -> AppResult<Option<Uuid>> {
    Ok(article_slug::Entity::find_by_id(slug.to_owned())
        .one(db)
        .await?
        .map(|retired| retired.article_id))
}

/// How much of an article's plain text a teaser row carries, in characters:
/// more than twice what its excerpt needs (120 characters and 64 to look
/// ahead, once runs of whitespace are folded), far less than a whole body.
/// Every character costs: PostgreSQL escapes them into JSON for related
/// teasers and sends them, and the server checks and parses them (pgbench
/// figures for other lengths in BENCHMARKS.md).
/// The database keeps this start of the text in the `teaser_text` column
/// (see the migration that adds it), so it is fixed there.
pub use migration::TEASER_TEXT_CHARS;

/// An article row read for a teaser in a list: every column but the body,
/// and only the first [`TEASER_TEXT_CHARS`] characters of the plain text,
/// from the `teaser_text` column. The lists of a home page carry forty of
/// these; reading whole bodies for them copied about 16 KB per teaser out
/// of the database. A client that asks a teaser for its body gets the whole
/// article loaded by id.
#[derive(Debug, Clone)]
pub struct Teaser(pub article::Model);

impl Page<Teaser> {
    /// The stored view count of each article on the page, for the view
    /// counter to learn (see [`crate::content::views::counter::ViewCounter::learn`]).
    pub fn view_counts(&self) -> impl Iterator<Item = (Uuid, i64)> + '_ {
        self.items
            .iter()
            .map(|Teaser(row)| (row.id, row.view_count))
    }
}

/// Makes `query` on `articles` select teaser rows (see [`Teaser`]).
fn select_teaser_columns(query: &mut SelectStatement) {
    query.clear_selects();
    for column in article::Column::iter() {
        match column {
            article::Column::Body => {
                query.expr_as(Expr::val(""), column);
            }
            article::Column::BodyText => {
                query.expr(Expr::cust(crate::content::sql::TEASER_TEXT_AS_BODY_TEXT));
            }
            _ => {
                query.column((article::Entity, column));
            }
        }
    }
}

/// The teasers of the articles with `ids` that meet `condition`, by id;
/// no statement when there are no ids.
async fn teasers_by_id(
    db: &DatabaseConnection,
    ids: Vec<Uuid>,
    condition: Condition,
) -> AppResult<HashMap<Uuid, Teaser>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(teasers(
        db,
        article::Entity::find()
            .filter(article::Column::Id.is_in(ids))
            .filter(condition),
    )
    .await?
    .into_iter()
    .map(|teaser| (teaser.0.id, teaser))
    .collect())
}

/// Reads the teaser rows `select` finds.
async fn teasers(
    db: &DatabaseConnection,
    mut select: sea_orm::Select<article::Entity>,
) -> AppResult<Vec<Teaser>> {
    select_teaser_columns(QueryTrait::query(&mut select));
    Ok(select.all(db).await?.into_iter().map(Teaser).collect())
}

/// The page `window` asks for of the public articles matching `filter`, in
/// `order`. A small tag's list in an order its links do not carry is read
/// among its articles by id ([`few_public_of_tag`], [`window_among`]).
pub async fn list(
    db: &DatabaseConnection,
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    now: DateTime<Utc>,
) -> AppResult<Page<Teaser>> {
    if window.size == 0 {
        return Ok(Page::default());
    }
    if let Some(slug) = filter.tag_only().filter(|_| !order.is_by_publication())
        && let Some(ids) = few_public_of_tag(db, slug, now).await?
    {
        let rows = window_among(db, filter, ids, order, window, now).await?;
        return Ok(Page::for_window(rows, window));
    }
    let select = order
        .sort_in(on_window(filter, order, window, now)?, window.backward)
        .limit(window.size + 1);
    Ok(Page::for_window(teasers(db, select).await?, window))
}

/// The teasers on `window` among the articles `ids` (a small tag's
/// public ones) that `filter` holds, in `order`. Their sort keys are read
/// by id in a subquery of their own (its `LIMIT`, which cuts nothing, keeps
/// either planner from merging it with the sort), then sorted and cut;
/// then the page's teasers are read by id. Given the page's
/// order and limit with the ids, PostgreSQL still chose to walk the order's
/// index and test each article against the list of ids.
async fn window_among(
    db: &DatabaseConnection,
    filter: &ArticleFilter,
    ids: Vec<Uuid>,
    order: ArticleOrder,
    window: &Window,
    now: DateTime<Utc>,
) -> AppResult<Vec<Teaser>> {
    let mut keys = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .column(order.key_column())
        .filter(filter.without_tag().condition(now))
        .filter(article::Column::Id.is_in(ids));
    if let Some(cursor) = &window.cursor {
        keys = keys.filter(order.beyond(cursor, window.backward)?);
    }
    let fenced = Alias::new("fenced");
    let direction = order.direction(window.backward);
    let page = Query::select()
        .column((fenced.clone(), article::Column::Id))
        .from_subquery(keys.limit(FEW_TAGGED).into_query(), fenced.clone())
        .order_by((fenced.clone(), order.key_column()), direction.clone())
        .order_by((fenced, article::Column::Id), direction)
        .limit(window.size + 1)
        .to_owned();
    let backend = db.get_database_backend();
    let page_ids = db
        .query_all_raw(backend.build(&page))
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "id"))
        .collect::<Result<Vec<Uuid>, _>>()?;
    let mut teasers = teasers_by_id(db, page_ids.clone(), visible(now)).await?;
    Ok(page_ids
        .iter()
        .filter_map(|id| teasers.remove(id))
        .collect())
}

/// At most how many public articles a tag may have for [`list`] to read
/// them all by id when the list is in an order the tag's links do not
/// carry (views, comments, updates).
const FEW_TAGGED: u64 = 20_000;

/// The ids of the tag `slug`'s public articles when it has at most
/// [`FEW_TAGGED`] (one range of its links' index), else `None`. A list of
/// a tag in another order than publication then reads those articles by
/// id and sorts them. PostgreSQL otherwise walks every public article in
/// the list's order, probing each one's tags, on the guess that a tag's
/// articles come soon: for a tag on three old articles of a million, the
/// most viewed of them ran into the request's time limit (BENCHMARKS.md,
/// "A few tagged articles in any order"). A larger tag is walked as
/// before, where its articles do come soon.
async fn few_public_of_tag(
    db: &DatabaseConnection,
    slug: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<Vec<Uuid>>> {
    let links = public_links_of_tag(slug, now)
        .column((article_tag::Entity, article_tag::Column::ArticleId))
        .limit(FEW_TAGGED + 1)
        .to_owned();
    let backend = db.get_database_backend();
    let ids = db
        .query_all_raw(backend.build(&links))
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "article_id"))
        .collect::<Result<Vec<Uuid>, _>>()?;
    Ok((ids.len() as u64 <= FEW_TAGGED).then_some(ids))
}

/// The public articles matching `filter` beyond `window`'s cursor in
/// `order`, neither sorted nor cut: what [`list`] and the batched first
/// pages ([`union_of_lists`]) read. A tag's list in publication order is
/// narrowed to its window by the tag's links first ([`tag_window`]).
fn on_window(
    filter: &ArticleFilter,
    order: ArticleOrder,
    window: &Window,
    now: DateTime<Utc>,
) -> AppResult<sea_orm::Select<article::Entity>> {
    let mut select = match filter.tag_only() {
        Some(slug) if order.is_by_publication() => article::Entity::find()
            .filter(filter.without_tag().condition(now))
            .filter(article::Column::Id.in_subquery(tag_window(slug, order, window, now)?)),
        _ => article::Entity::find().filter(filter.condition(now)),
    };
    if let Some(cursor) = &window.cursor {
        select = select.filter(order.beyond(cursor, window.backward)?);
    }
    Ok(select)
}

/// The ids of the articles on `window` of the tag `slug`'s list in
/// publication order, read from the tag's links alone: each carries its
/// article's public time (`public_since`, see [`count_tagged`]), so the
/// window is one range of the index on `(tag_id, public_since,
/// article_id)`. Without it, PostgreSQL walked the articles newest first
/// and probed each one's tags, expecting a tag's articles to come soon: for
/// a tag whose articles are few or old, it probed the whole site
/// (BENCHMARKS.md).
fn tag_window(
    slug: &str,
    order: ArticleOrder,
    window: &Window,
    now: DateTime<Utc>,
) -> AppResult<SelectStatement> {
    let link = || Expr::col((article_tag::Entity, article_tag::Column::ArticleId));
    let direction = order.direction(window.backward);
    let mut query = public_links_of_tag(slug, now)
        .column((article_tag::Entity, article_tag::Column::ArticleId))
        .to_owned();
    if let Some(cursor) = &window.cursor {
        query.cond_where(keyset_after_exprs(
            public_since(),
            time_from_micros(cursor.key)?,
            link(),
            cursor.id,
            direction == sea_orm::Order::Desc,
        ));
    }
    Ok(query
        .order_by_expr(public_since(), direction.clone())
        .order_by_expr(link(), direction)
        .limit(window.size + 1)
        .to_owned())
}

/// The public article filed in the same section as `article` that comes
/// right before it in publication order (`newer` false: 上一篇) or right
/// after it (`newer` true: 下一篇); `None` at either end, or for an
/// article that is not published.
pub async fn neighbour(
    db: &DatabaseConnection,
    article: &article::Model,
    newer: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<Teaser>> {
    if article.published_at.is_none() {
        return Ok(None);
    }
    // Older is further along the newest-first list; newer is before it.
    let order = ArticleOrder::Newest;
    let select = article::Entity::find()
        .filter(visible(now))
        .filter(article::Column::CategoryId.eq(article.category_id))
        .filter(order.beyond(&order.cursor_of(article), newer)?);
    let rows = teasers(db, order.sort_in(select, newer).limit(1)).await?;
    Ok(rows.into_iter().next())
}

/// How far back a most-viewed ranking reaches, in whole days (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewPeriod {
    /// Today.
    Day,
    /// Today and the six days before.
    Week,
    /// Today and the 29 days before.
    Month,
}

impl ViewPeriod {
    /// How many days, today included.
    fn days(self) -> i32 {
        match self {
            Self::Day => 1,
            Self::Week => 7,
            Self::Month => 30,
        }
    }
}

/// Up to `size` public articles (filed in `category_ids`, when given) most
/// viewed over `period`, each with its views in the period, most first;
/// ties go to the newer id. Sums the period's per-day counts through their
/// index: the days outside it, and articles nobody viewed, cost nothing.
pub async fn most_viewed(
    db: &DatabaseConnection,
    period: ViewPeriod,
    category_ids: Option<&[Uuid]>,
    size: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<(Teaser, i64)>> {
    use entity::article_daily_view as daily;
    if size == 0 {
        return Ok(Vec::new());
    }
    let from = crate::content::views::counter::day_number(now) - (period.days() - 1);
    let mut public = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .filter(visible(now));
    if let Some(ids) = category_ids {
        public = public.filter(article::Column::CategoryId.is_in(ids.iter().copied()));
    }
    let total = Alias::new("period_views");
    let ranking = Query::select()
        .column(daily::Column::ArticleId)
        .expr_as(
            Expr::col(daily::Column::Views)
                .sum()
                .cast_as(Alias::new("BIGINT")),
            total.clone(),
        )
        .from(daily::Entity)
        .and_where(Expr::col(daily::Column::Day).gte(from))
        .and_where(Expr::col(daily::Column::ArticleId).in_subquery(public.into_query()))
        .group_by_col(daily::Column::ArticleId)
        .order_by(total.clone(), sea_orm::Order::Desc)
        .order_by(daily::Column::ArticleId, sea_orm::Order::Desc)
        .limit(size)
        .to_owned();
    let backend = db.get_database_backend();
    let mut ranked: Vec<(Uuid, i64)> = Vec::new();
    for row in db.query_all_raw(backend.build(&ranking)).await? {
        ranked.push((
            row.try_get("", "article_id")?,
            row.try_get("", "period_views")?,
        ));
    }
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = teasers_by_id(
        db,
        ranked.iter().map(|(id, _)| *id).collect(),
        Condition::all(),
    )
    .await?;
    Ok(ranked
        .into_iter()
        .filter_map(|(id, views)| found.remove(&id).map(|teaser| (teaser, views)))
        .collect())
}

/// One first page of a section's or a tag's list, as a home page or a tag
/// cloud asks for several.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FirstPageKey {
    /// The list: a section and its sub-sections, or a tag (never a time
    /// range, see [`ArticleFilter::is_by_section_or_tag`]).
    pub filter: ArticleFilter,
    /// The list's order.
    pub order: ArticleOrder,
    /// How many articles.
    pub size: u64,
}

/// The first pages of many section lists, however many sections there
/// are: the home page's lists in one statement (see
/// [`newest_in_sections`]), other lists' ids in one (see
/// [`union_of_lists`]) and then their teasers by id.
pub async fn first_pages(
    db: &DatabaseConnection,
    keys: &[FirstPageKey],
    now: DateTime<Utc>,
) -> AppResult<HashMap<FirstPageKey, Page<Teaser>>> {
    if let [key] = keys {
        // One list alone: a plain query is one statement, not two.
        let page = list(db, &key.filter, key.order, &Window::first(key.size), now).await?;
        return Ok(HashMap::from([(key.clone(), page)]));
    }
    let mut pages: HashMap<FirstPageKey, Page<Teaser>> = HashMap::new();
    if keys.is_empty() {
        return Ok(pages);
    }
    let members = if keys.iter().all(FirstPageKey::is_newest_of_sections) {
        newest_in_sections(db, keys, now).await?
    } else {
        let members = union_of_lists(db, keys, now).await?;
        let ids: Vec<Uuid> = members.iter().map(|(_, id)| *id).collect();
        let teasers = teasers_by_id(db, ids, Condition::all()).await?;
        members
            .into_iter()
            .filter_map(|(list, id)| teasers.get(&id).map(|teaser| (list, teaser.clone())))
            .collect()
    };
    let mut lists: Vec<Vec<Teaser>> = vec![Vec::new(); keys.len()];
    for (list, teaser) in members {
        if let Some(rows) = lists.get_mut(list) {
            rows.push(teaser);
        }
    }
    for (key, mut rows) in keys.iter().zip(lists) {
        rows.sort_by(|a, b| key.order.compare(&a.0, &b.0));
        pages.insert(key.clone(), Page::from_overfetch(rows, key.size));
    }
    Ok(pages)
}

impl FirstPageKey {
    /// Whether the list is a section's (with its sub-sections), newest
    /// first: the home page's lists, read section by section.
    fn is_newest_of_sections(&self) -> bool {
        self.order == ArticleOrder::Newest
            && self.filter.tag_slug.is_none()
            && self.filter.category_ids.is_some()
    }
}

/// The teasers of each list's first page and one more, as `(list's place
/// in keys, teaser)`, for lists that are all sections' newest: each section
/// of each list read on its own from the index and each list's newest kept
/// (see [`crate::content::sql::newest_in_sections`]). A list whose sections
/// fall in two statements gets each one's newest; the caller's sort and cut
/// merge them.
async fn newest_in_sections(
    db: &DatabaseConnection,
    keys: &[FirstPageKey],
    now: DateTime<Utc>,
) -> AppResult<Vec<(usize, Teaser)>> {
    use crate::content::sql::newest_in_sections::{SECTIONS_PER_STATEMENT, newest};
    let sections: Vec<(usize, Uuid)> = keys
        .iter()
        .enumerate()
        .flat_map(|(list, key)| {
            key.filter
                .category_ids
                .iter()
                .flatten()
                .map(move |section| (list, *section))
        })
        .collect();
    let Some(most) = keys.iter().map(|key| key.size + 1).max() else {
        return Ok(Vec::new());
    };
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for chunk in sections.chunks(SECTIONS_PER_STATEMENT) {
        for row in db.query_all_raw(newest(backend, chunk, most, now)).await? {
            let list: i64 = row.try_get("", "list")?;
            let teaser = Teaser(article::Model::from_query_result(&row, "")?);
            found.push((usize::try_from(list).unwrap_or(usize::MAX), teaser));
        }
    }
    Ok(found)
}

/// The ids of each list's first page and one more, as `(list's place in
/// keys, id)`: one `UNION ALL` of per-list id queries, for lists of any
/// filter and order.
async fn union_of_lists(
    db: &DatabaseConnection,
    keys: &[FirstPageKey],
    now: DateTime<Utc>,
) -> AppResult<Vec<(usize, Uuid)>> {
    let mut union: Option<SelectStatement> = None;
    for (index, key) in keys.iter().enumerate() {
        let window = Window::first(key.size);
        let inner = key
            .order
            .sort(
                on_window(&key.filter, key.order, &window, now)?
                    .select_only()
                    .column(article::Column::Id),
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
    let Some(union) = union else {
        return Ok(Vec::new());
    };
    let backend = db.get_database_backend();
    let mut members: Vec<(usize, Uuid)> = Vec::new();
    for row in db.query_all_raw(backend.build(&union)).await? {
        let list: i64 = row.try_get("", "list")?;
        let id: Uuid = row.try_get("", "id")?;
        members.push((list as usize, id));
    }
    Ok(members)
}

/// How many public articles match `filter`.
pub async fn count(
    db: &DatabaseConnection,
    filter: &ArticleFilter,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    if let Some(slug) = filter.tag_only() {
        return count_tagged(db, slug, now).await;
    }
    if let Some(sections) = filter.sections_only() {
        return count_in_sections(db, sections, now).await;
    }
    Ok(article::Entity::find()
        .filter(filter.condition(now))
        .count(db)
        .await?)
}

/// The links of the tag named by `slug` (`article_tags` joined to `tags`),
/// selecting nothing yet: what a tag's list, window and count start from.
fn links_of_tag(slug: &str) -> SelectStatement {
    Query::select()
        .from(article_tag::Entity)
        .inner_join(
            tag::Entity,
            Expr::col((tag::Entity, tag::Column::Id))
                .equals((article_tag::Entity, article_tag::Column::TagId)),
        )
        .and_where(Expr::col((tag::Entity, tag::Column::Slug)).eq(slug))
        .to_owned()
}

/// A link's copy of when its article became public (`NULL` while it is
/// not): kept by the database's triggers, and not declared in the
/// `article_tag` entity, whose writers leave it to them.
fn public_since() -> Expr {
    Expr::col((article_tag::Entity, Alias::new("public_since")))
}

/// The links of the tag `slug` whose articles are public at `now`,
/// selecting nothing yet: one range of the index on `(tag_id,
/// public_since, article_id)`.
fn public_links_of_tag(slug: &str, now: DateTime<Utc>) -> SelectStatement {
    links_of_tag(slug)
        .and_where(public_since().lte(now))
        .to_owned()
}

/// How many articles carrying the tag `slug` are public at `now`, counted
/// from the tag's links alone. Each link carries its article's public time
/// (`public_since`, kept by triggers: the publication time of a published
/// article, else `NULL`), so the count is one range of the index on
/// `(tag_id, public_since)`. Counting through `articles` visited every
/// tagged article to check it, which grew with the tag (BENCHMARKS.md).
async fn count_tagged(db: &DatabaseConnection, slug: &str, now: DateTime<Utc>) -> AppResult<u64> {
    let links = public_links_of_tag(slug, now)
        .expr_as(
            Expr::col((article_tag::Entity, article_tag::Column::ArticleId)).count(),
            Alias::new("tagged"),
        )
        .to_owned();
    let backend = db.get_database_backend();
    let tagged: i64 = match db.query_one_raw(backend.build(&links)).await? {
        Some(row) => row.try_get("", "tagged")?,
        None => 0,
    };
    Ok(u64::try_from(tagged).unwrap_or(0))
}

/// How many articles filed in `sections` are public at `now`. The
/// database keeps each section's count of published articles, scheduled
/// ones included (`section_counts`, kept by triggers on `articles`); the
/// ones scheduled for after `now` are one short range of the index on
/// `(category_id, status, published_at)`. Counting the public articles
/// themselves read every one of a large section's index entries
/// (BENCHMARKS.md).
async fn count_in_sections(
    db: &DatabaseConnection,
    sections: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<u64> {
    if sections.is_empty() {
        return Ok(0);
    }
    let scheduled = Query::select()
        .expr(Expr::col((article::Entity, article::Column::Id)).count())
        .from(article::Entity)
        .cond_where(
            Condition::all()
                .add(article::Column::CategoryId.is_in(sections.iter().copied()))
                .add(article::Column::Status.eq(ArticleStatus::Published))
                .add(article::Column::PublishedAt.gt(now)),
        )
        .to_owned();
    let counts = Alias::new("section_counts");
    let kept = Func::coalesce([
        Func::sum(Expr::col((counts.clone(), Alias::new("published")))).into(),
        Expr::val(0i64),
    ]);
    let public = Expr::from(kept).sub(Expr::SubQuery(
        None,
        Box::new(SubQueryStatement::SelectStatement(scheduled)),
    ));
    let select = Query::select()
        .expr_as(Func::cast_as(public, "BIGINT"), Alias::new("public"))
        .from(counts.clone())
        .and_where(Expr::col((counts, Alias::new("category_id"))).is_in(sections.iter().copied()))
        .to_owned();
    let backend = db.get_database_backend();
    let public: i64 = match db.query_one_raw(backend.build(&select)).await? {
        Some(row) => row.try_get("", "public")?,
        None => 0,
    };
    Ok(u64::try_from(public).unwrap_or(0))
}

/// How many of each tag's newest public articles (besides the article
/// itself) are candidates for its related teasers. Bounding the candidates
/// keeps a cold article page's cost flat as a site grows: older articles
/// that share a tag are passed over for the newest ones, which is what a
/// news reader looks for under a story anyway.
pub const RELATED_CANDIDATES_PER_TAG: u64 = 100;

/// Up to `limit` other public articles, most related first: among the
/// newest [`RELATED_CANDIDATES_PER_TAG`] public articles of each of the
/// article's `tag_ids`, those sharing the most tags, then those in the same
/// section, then the most recent; then, to fill up, the newest of the same
/// section, then the newest of all. Never the article itself, never twice
/// the same. The ranking by shared tags is kept between reads
/// ([`kept_related`]), and a kept one used as `trusted` says.
pub async fn related(
    db: &DatabaseConnection,
    article: &article::Model,
    tag_ids: &[Uuid],
    limit: u64,
    now: DateTime<Utc>,
    trusted: kept_related::TrustedSince,
) -> AppResult<Vec<Teaser>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let picked = kept_related::sharing_tags(db, article, tag_ids, limit, now, trusted).await?;
    top_up_related(db, article, picked, limit, now).await
}

/// [`related`] for many articles at once, in a number of statements that
/// does not grow with their number: every ranking in one statement, then,
/// for those that share too few tags, the newest of their sections (all
/// sections at once) and the newest of all. `items` are the articles with
/// their tags' ids; the teasers come back in the same order.
pub async fn related_of_many(
    db: &DatabaseConnection,
    items: &[(&article::Model, Vec<Uuid>)],
    limit: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<Teaser>>> {
    use sea_orm::{ConnectionTrait, FromQueryResult};
    let mut picked: Vec<Vec<Teaser>> = vec![Vec::new(); items.len()];
    if limit == 0 {
        return Ok(picked);
    }
    let rankings: Vec<(&article::Model, &[Uuid])> = items
        .iter()
        .map(|(article, tags)| (*article, tags.as_slice()))
        .collect();
    let statement = crate::content::sql::related::sharing_tags_of_many(
        db.get_database_backend(),
        &rankings,
        limit,
        now,
    );
    if let Some(statement) = statement {
        let mut ranked: Vec<(usize, i64, Teaser)> = Vec::new();
        for row in db.query_all_raw(statement).await? {
            let list: i64 = row.try_get("", "list")?;
            let rank: i64 = row.try_get("", "rank")?;
            let teaser = Teaser(article::Model::from_query_result(&row, "")?);
            ranked.push((list as usize, rank, teaser));
        }
        ranked.sort_by_key(|(list, rank, _)| (*list, *rank));
        for (list, _, teaser) in ranked {
            if let Some(teasers) = picked.get_mut(list) {
                teasers.push(teaser);
            }
        }
    }
    let articles: Vec<&article::Model> = items.iter().map(|(article, _)| *article).collect();
    top_up_many(db, &articles, picked, limit, now).await
}

/// Fills each of `picked`, the best related teasers of each of `articles`
/// by shared tags, up to `limit`: with the newest of its section (read for
/// all short articles' sections at once), then the newest of all (read
/// once and shared); no statement for articles already full.
async fn top_up_many(
    db: &DatabaseConnection,
    articles: &[&article::Model],
    mut picked: Vec<Vec<Teaser>>,
    limit: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Vec<Teaser>>> {
    let short = |picked: &[Vec<Teaser>]| -> Vec<usize> {
        (0..articles.len())
            .filter(|&index| (picked[index].len() as u64) < limit)
            .collect()
    };
    // An article excludes itself and at most `limit - 1` picked teasers,
    // and misses at most `limit`: twice `limit` candidates always suffice.
    let candidates = limit.saturating_mul(2).saturating_add(1);
    let fill = |teasers: &mut Vec<Teaser>, article: &article::Model, from: &[Teaser]| {
        for candidate in from {
            if teasers.len() as u64 >= limit {
                break;
            }
            let id = candidate.0.id;
            if id != article.id && teasers.iter().all(|teaser| teaser.0.id != id) {
                teasers.push(candidate.clone());
            }
        }
    };
    let by_section = |section: Uuid| FirstPageKey {
        filter: ArticleFilter {
            category_ids: Some(vec![section]),
            ..ArticleFilter::default()
        },
        order: ArticleOrder::Newest,
        size: candidates,
    };
    let waiting = short(&picked);
    if waiting.is_empty() {
        return Ok(picked);
    }
    let mut sections: Vec<Uuid> = waiting.iter().map(|&i| articles[i].category_id).collect();
    sections.sort_unstable();
    sections.dedup();
    let keys: Vec<FirstPageKey> = sections.into_iter().map(by_section).collect();
    let newest_by_section = first_pages(db, &keys, now).await?;
    for index in waiting {
        let article = articles[index];
        if let Some(page) = newest_by_section.get(&by_section(article.category_id)) {
            fill(&mut picked[index], article, &page.items);
        }
    }
    let waiting = short(&picked);
    if waiting.is_empty() {
        return Ok(picked);
    }
    let newest = list(
        db,
        &ArticleFilter::default(),
        ArticleOrder::Newest,
        &Window::first(candidates),
        now,
    )
    .await?;
    for index in waiting {
        fill(&mut picked[index], articles[index], &newest.items);
    }
    Ok(picked)
}

/// Fills `picked`, the best related teasers of `article` by shared tags, up
/// to `limit` with the newest of the same section, then the newest of all
/// (see [`related`]); without a statement when it is full already. The
/// same rule as for many articles at once ([`top_up_many`]).
pub async fn top_up_related(
    db: &DatabaseConnection,
    article: &article::Model,
    mut picked: Vec<Teaser>,
    limit: u64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Teaser>> {
    picked.truncate(limit as usize);
    let mut topped = top_up_many(db, &[article], vec![picked], limit, now).await?;
    Ok(topped.pop().unwrap_or_default())
}
