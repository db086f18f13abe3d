//! Articles in the API: the `Article` type, the `article` and `articles`
//! queries, the list orders and filters, and the article connection.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject, Value,
    dataloader::{DataLoader, HashMapCache, Loader},
};
use chrono::{DateTime as ChronoDateTime, Utc};
use entity::article::{self as article_entity, ArticleStatus as DbStatus};
use entity::comment as comment_entity;
use entity::tag as tag_entity;
use uuid::Uuid;

use super::{
    category::Category,
    comment::CommentConnection,
    connection::{PageArguments, PageInfo, parse_id},
    context::scope,
    scalars::DateTime,
    tag::{Tag, TagsByArticle},
};
use crate::{
    content::{
        self, Page,
        articles::loaded::LoadedArticle,
        articles::page::{AlsoRead, ReadAlong},
        articles::{
            ArticleFilter as DomainFilter, ArticleOrder as DomainOrder, Audience, FirstPageKey,
        },
        cache::Lookup,
        tokens::Permission,
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// How many related teasers `related` gives unless asked otherwise.
const DEFAULT_RELATED_FIRST: i32 = 5;
/// How many comments `comments` gives unless asked otherwise.
const DEFAULT_COMMENTS_FIRST: i32 = 20;
/// How many articles a list gives unless asked otherwise.
const DEFAULT_ARTICLES_FIRST: i32 = 20;

/// A published news article (shared: the read cache holds the same one).
pub struct Article(pub Arc<LoadedArticle>);

impl From<article_entity::Model> for Article {
    fn from(row: article_entity::Model) -> Self {
        Self(Arc::new(LoadedArticle::new(row)))
    }
}

impl Article {
    /// The public article with `id`, read fresh (not from the read cache):
    /// what a mutation's payload returns, so that a client's normalized
    /// cache takes the counts the mutation just changed.
    pub async fn public_by_id(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Self>> {
        Ok(ctx
            .data::<DataLoader<WholeArticles>>()?
            .load_one(id)
            .await
            .map_err(AppError::from)?
            .map(Article))
    }

    /// The whole article behind a teaser (lists read teasers without their
    /// bodies), loaded by id in one batch with the page's other teasers.
    async fn whole(&self, ctx: &Context<'_>) -> async_graphql::Result<Arc<LoadedArticle>> {
        Self::public_by_id(ctx, self.0.id)
            .await?
            .map(|article| article.0)
            .ok_or_else(|| {
                AppError::NotFound("The article was taken down a moment ago".to_owned()).into()
            })
    }

    /// The article next to this one in its section (see `previous` and
    /// `next`), through the read cache.
    async fn neighbour(
        &self,
        ctx: &Context<'_>,
        newer: bool,
    ) -> async_graphql::Result<Option<Article>> {
        let (state, request) = scope(ctx)?;
        let found = state.reads(request.now).neighbour(&self.0, newer).await?;
        Ok(found.map(Article))
    }

    /// The article's tags by name: those read with it, or else loaded in
    /// one batch with the other articles' on the page.
    async fn tag_rows(&self, ctx: &Context<'_>) -> AppResult<Arc<Vec<tag_entity::Model>>> {
        if let Some(tags) = self.0.tags() {
            return Ok(Arc::clone(tags));
        }
        let tags = ctx
            .data::<DataLoader<TagsByArticle>>()
            .map_err(|error| AppError::Internal(error.message))?
            .load_one(self.0.id)
            .await
            .map_err(AppError::from)?;
        Ok(tags.unwrap_or_default())
    }
}

/// An article's cover image.
#[derive(SimpleObject)]
pub struct CoverImage {
    /// The image's address.
    url: String,
    /// Text for readers who cannot see the image; the headline when the
    /// editor gave none.
    alt: String,
}

/// A published news article: headline, body, section, tags, counters,
/// related teasers and approved comments.
#[Object]
impl Article {
    /// The article's unique id (a UUID v7).
    pub(super) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The unique, URL-safe name to route by.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The headline.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The editor's summary, or else the body's first ~120 characters, cut
    /// cleanly and ending in `…` when cut. With `length` (1 to 300), at
    /// most that many characters, the editor's summary cut too: for
    /// teasers with less or more room.
    async fn summary(&self, length: Option<i32>) -> async_graphql::Result<Cow<'_, str>> {
        let Some(length) = length else {
            return Ok(Cow::Borrowed(self.0.summary()));
        };
        let most = content::articles::loaded::MAX_SUMMARY_LENGTH;
        match usize::try_from(length) {
            Ok(length) if (1..=most).contains(&length) => Ok(self.0.summary_of_length(length)),
            _ => Err(AppError::bad_input(
                "length",
                format!("`length` must be between 1 and {most}, got {length}"),
            )
            .into()),
        }
    }

    /// The published article filed in the same section just before this
    /// one (上一篇, older); `null` for the section's first.
    async fn previous(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Article>> {
        Box::pin(self.neighbour(ctx, false)).await
    }

    /// The published article filed in the same section just after this one
    /// (下一篇, newer); `null` for the section's latest.
    async fn next(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Article>> {
        Box::pin(self.neighbour(ctx, true)).await
    }

    /// The body as HTML, sanitised on the way in: safe to render as it is.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, str>> {
        if self.0.has_body() {
            return Ok(Cow::Borrowed(&self.0.body));
        }
        Ok(Cow::Owned(Box::pin(self.whole(ctx)).await?.body.clone()))
    }

    /// The body as plain text, one paragraph per line.
    async fn body_text(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, str>> {
        if self.0.has_whole_text() {
            return Ok(Cow::Borrowed(&self.0.body_text));
        }
        Ok(Cow::Owned(
            Box::pin(self.whole(ctx)).await?.body_text.clone(),
        ))
    }

    /// The byline.
    async fn author(&self) -> &str {
        &self.0.author
    }

    /// Where the story came from, when not the site's own.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// The cover image, if the article has one.
    async fn cover_image(&self) -> Option<CoverImage> {
        let url = self.0.cover_image_url.clone()?;
        let alt = match &self.0.cover_image_alt {
            Some(alt) if !alt.trim().is_empty() => alt.clone(),
            _ => self.0.title.clone(),
        };
        Some(CoverImage { url, alt })
    }

    /// When the article was published.
    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }

    /// When the article was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    /// How many times readers have viewed the article, including a view
    /// recorded a moment ago.
    async fn view_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Box::pin(async move {
            let total = ctx
                .data::<ViewCountLoader>()?
                .load_one(self.0.id)
                .await
                .map_err(AppError::from)?;
            match total {
                Some(total) => Ok(total),
                // Not public (an editor's preview): its stored count and buffer.
                None => {
                    let (state, _) = scope(ctx)?;
                    Ok(self.0.view_count + state.views.pending(self.0.id))
                }
            }
        })
        .await
    }

    /// How many approved comments the article has.
    async fn comment_count(&self) -> i32 {
        self.0.comment_count
    }

    /// Where the article stands: always `PUBLISHED` for public callers;
    /// editors also see drafts, scheduled and archived articles.
    async fn status(&self) -> ArticleStatus {
        self.0.status.into()
    }

    /// The article's edit version: send it back with `updateArticle` so that
    /// an edit made meanwhile by someone else is not overwritten.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Whether readers may no longer comment.
    async fn comments_closed(&self) -> bool {
        self.0.comments_closed
    }

    /// The section the article is filed in.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        Ok(tree.get(self.0.category_id).cloned().map(Category))
    }

    /// The article's tags, by name.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tag>> {
        Box::pin(async move { Ok(self.tag_rows(ctx).await?.iter().cloned().map(Tag).collect()) })
            .await
    }

    /// Up to `first` other published articles, the most related first: of
    /// the newest 100 articles of each of its tags, those sharing the most
    /// tags, then those in the same section, then the newest; then, to fill
    /// up, the newest of its section, then the newest of all.
    async fn related(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "DEFAULT_RELATED_FIRST")] first: i32,
    ) -> async_graphql::Result<Vec<Article>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let size = content::page_size(first)?;
            let lookup = Lookup::Related {
                article: self.0.id,
                size,
            };
            if let Some(related) = request.read_along_for::<Arc<Vec<Arc<LoadedArticle>>>>(&lookup) {
                return Ok(related.iter().cloned().map(Article).collect());
            }
            // The same tags as the `tags` field's, read once.
            let tag_ids = async {
                let tags = self.tag_rows(ctx).await?;
                Ok(tags.iter().map(|tag| tag.id).collect())
            };
            let related = state
                .reads(request.now)
                .related(&self.0, size, tag_ids)
                .await?;
            Ok(related.iter().cloned().map(Article).collect())
        })
        .await
    }

    /// The approved comments, newest first: `first` (20 when neither
    /// `first` nor `last` is given, at most 100) after the `after` cursor,
    /// or the `last` ones before the `before` cursor.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<CommentConnection> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let window = content::comments::window(
                first,
                after.as_deref(),
                last,
                before.as_deref(),
                DEFAULT_COMMENTS_FIRST,
            )?;
            let lookup = Lookup::Comments {
                article: self.0.id,
                window,
            };
            if let Some(page) = request.read_along_for::<Arc<Page<comment_entity::Model>>>(&lookup)
            {
                return Ok(CommentConnection::new(&page, self.0.comment_count));
            }
            let page = state
                .reads(request.now)
                .approved_comments(self.0.id, window)
                .await?;
            Ok(CommentConnection::new(&page, self.0.comment_count))
        })
        .await
    }
}

/// What the selection under `article` shows that the article's own
/// statement can read along: the whole plain text when `bodyText` is
/// asked for, the first page of comments (no cursor, read forward) and the related
/// teasers, each at the size the first such field asks for.
/// A size out of range reads nothing along; the field itself then says so.
fn also_read(ctx: &Context<'_>) -> AlsoRead {
    let selection = ctx.look_ahead();
    let first_page_size = |field: &str, default: i32| {
        selection
            .field(field)
            .selection_fields()
            .into_iter()
            .filter_map(|field| field.arguments().ok())
            .find(|arguments| {
                // A forward first page: no cursor, and not counted back
                // from the end.
                arguments.iter().all(|(name, value)| {
                    !matches!(name.as_str(), "after" | "before" | "last") || *value == Value::Null
                })
            })
            .and_then(|arguments| {
                let first = match arguments.iter().find(|(name, _)| name.as_str() == "first") {
                    Some((_, Value::Number(number))) => i32::try_from(number.as_i64()?).ok()?,
                    Some((_, Value::Null)) | None => default,
                    Some(_) => return None,
                };
                content::page_size(first).ok().filter(|&size| size > 0)
            })
    };
    AlsoRead {
        whole_text: selection.field("bodyText").exists(),
        comments: first_page_size("comments", DEFAULT_COMMENTS_FIRST),
        related: first_page_size("related", DEFAULT_RELATED_FIRST),
    }
}

/// Where an article stands in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ArticleStatus {
    /// Being written; only editors see it.
    Draft,
    /// Public from `publishedAt` on (scheduled while that lies ahead).
    Published,
    /// Taken down; only editors see it.
    Archived,
}

impl From<DbStatus> for ArticleStatus {
    fn from(status: DbStatus) -> Self {
        match status {
            DbStatus::Draft => Self::Draft,
            DbStatus::Published => Self::Published,
            DbStatus::Archived => Self::Archived,
        }
    }
}

/// The orders a list of articles can come in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ArticleOrder {
    /// Latest publication first.
    #[default]
    Newest,
    /// Earliest publication first.
    Oldest,
    /// Most viewed first.
    MostViewed,
    /// Most commented first.
    MostCommented,
    /// Latest change first (`updatedAt`).
    RecentlyUpdated,
}

impl From<ArticleOrder> for DomainOrder {
    fn from(order: ArticleOrder) -> Self {
        match order {
            ArticleOrder::Newest => Self::Newest,
            ArticleOrder::Oldest => Self::Oldest,
            ArticleOrder::MostViewed => Self::MostViewed,
            ArticleOrder::MostCommented => Self::MostCommented,
            ArticleOrder::RecentlyUpdated => Self::RecentlyUpdated,
        }
    }
}

/// How far back a most-viewed ranking reaches; days are calendar days in
/// UTC.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ViewPeriod {
    /// Today.
    Day,
    /// Today and the six days before.
    #[default]
    Week,
    /// Today and the 29 days before.
    Month,
}

impl From<ViewPeriod> for content::articles::ViewPeriod {
    fn from(period: ViewPeriod) -> Self {
        match period {
            ViewPeriod::Day => Self::Day,
            ViewPeriod::Week => Self::Week,
            ViewPeriod::Month => Self::Month,
        }
    }
}

/// An article in a most-viewed ranking.
#[derive(SimpleObject)]
pub struct RankedArticle {
    /// Its views over the ranking's period.
    views: i64,
    /// The article.
    article: Article,
}

/// How many articles `mostViewed` ranks unless asked otherwise.
const DEFAULT_MOST_VIEWED_FIRST: i32 = 10;

/// Which articles a list holds; every field given must match.
#[derive(InputObject, Default)]
pub struct ArticleFilter {
    /// Only articles in the section with this slug or any of its sub-sections.
    pub category: Option<String>,
    /// Only articles carrying the tag with this slug.
    pub tag: Option<String>,
    /// Only articles published at or after this moment (a date range's
    /// start, inclusive).
    pub published_after: Option<DateTime>,
    /// Only articles published before this moment (a date range's end,
    /// exclusive).
    pub published_before: Option<DateTime>,
    /// Only articles changed at or after this moment: with `orderBy:
    /// RECENTLY_UPDATED`, what a sitemap or a static copy must refresh.
    pub updated_since: Option<DateTime>,
}

/// A page of articles.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ArticleConnection {
    /// The articles on this page, each with its cursor.
    edges: Vec<ArticleEdge>,
    /// Where this page stands in the list.
    page_info: PageInfo,
    #[graphql(skip)]
    filter: DomainFilter,
    #[graphql(skip)]
    now: ChronoDateTime<Utc>,
}

/// One article in a list, with the cursor that points just after it.
#[derive(SimpleObject)]
pub struct ArticleEdge {
    /// Pass as `after` to continue the list after this article.
    cursor: String,
    /// The article.
    node: Article,
}

#[ComplexObject]
impl ArticleConnection {
    /// How many articles the whole list holds, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Box::pin(async move {
            let (state, _) = scope(ctx)?;
            Ok(state.reads(self.now).article_count(&self.filter).await?)
        })
        .await
    }
}

impl ArticleConnection {
    /// Loads one page of the list that `filter` and `order` describe.
    pub async fn load(
        ctx: &Context<'_>,
        filter: DomainFilter,
        order: ArticleOrder,
        arguments: PageArguments,
    ) -> async_graphql::Result<Self> {
        let (state, request) = scope(ctx)?;
        let order = DomainOrder::from(order);
        let window = arguments.window(DEFAULT_ARTICLES_FIRST, order.cursor_list())?;
        let page = match (&filter.category_ids, &filter.tag_slug) {
            // A section's first page: batched with every other section's on
            // the page, so a home page of forty sections costs what one does.
            (Some(category_ids), None) if window.is_first_page() && window.size > 0 => {
                let key = FirstPageKey {
                    category_ids: category_ids.clone(),
                    order,
                    size: window.size,
                };
                ctx.data::<FirstPageLoader>()?
                    .load_one(key)
                    .await
                    .map_err(AppError::from)?
                    .unwrap_or_default()
            }
            _ => {
                state
                    .reads(request.now)
                    .articles(&filter, order, window)
                    .await?
            }
        };
        let edges: Vec<ArticleEdge> = page
            .items
            .iter()
            .map(|article| ArticleEdge {
                cursor: order.cursor_of(article).encode(),
                node: Article(Arc::clone(article)),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|edge| edge.cursor.clone()).collect();
        if ctx
            .look_ahead()
            .field("edges")
            .field("node")
            .field("viewCount")
            .exists()
        {
            // One batch for the whole page, however the resolvers are timed.
            ctx.data::<ViewCountLoader>()?
                .load_many(page.items.iter().map(|article| article.id))
                .await
                .map_err(AppError::from)?;
        }
        Ok(Self {
            edges,
            page_info: PageInfo::of_page(&cursors, &page),
            filter,
            now: request.now,
        })
    }
}

/// The per-request loader of sections' first pages; it caches, so pages
/// primed by `categories` are not loaded again by each section.
pub type FirstPageLoader = DataLoader<FirstPages, HashMapCache>;

pub use crate::content::articles::reads::SharedPage;

/// Loads the first pages of many section lists at once, for one request's
/// moment (what is published depends on it): cached ones from the read
/// cache, the rest in one batch.
pub struct FirstPages {
    state: AppState,
    now: ChronoDateTime<Utc>,
}

impl FirstPages {
    /// A loader over `state` for a request served at `now`.
    pub fn new(state: AppState, now: ChronoDateTime<Utc>) -> Self {
        Self { state, now }
    }
}

impl Loader<FirstPageKey> for FirstPages {
    type Value = SharedPage;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[FirstPageKey],
    ) -> Result<HashMap<FirstPageKey, Self::Value>, Self::Error> {
        self.state
            .reads(self.now)
            .first_pages(keys)
            .await
            .map_err(Arc::new)
    }
}

/// Loads whole articles by id, for teasers asked for their bodies. Only
/// public ones: a teaser from a list read a moment before its article was
/// taken down does not reveal the body.
pub struct WholeArticles {
    state: AppState,
}

impl WholeArticles {
    /// A loader over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Loader<Uuid> for WholeArticles {
    type Value = Arc<LoadedArticle>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = content::articles::public_by_ids(&self.state.db, keys, content::now())
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|row| (row.id, Arc::new(LoadedArticle::new(row))))
            .collect())
    }
}

/// The per-request loader of view totals; it caches, so totals primed for a
/// whole list are not loaded again by each article.
pub type ViewCountLoader = DataLoader<ViewCounts, HashMapCache>;

/// Loads the view totals (stored plus buffered) of all the articles on a
/// page at once, from the view counter, never from the read cache.
pub struct ViewCounts {
    state: AppState,
    now: ChronoDateTime<Utc>,
}

impl ViewCounts {
    /// A loader over `state` for a request served at `now`.
    pub fn new(state: AppState, now: ChronoDateTime<Utc>) -> Self {
        Self { state, now }
    }
}

impl Loader<Uuid> for ViewCounts {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, Self::Error> {
        self.state
            .views
            .totals(keys, self.now)
            .await
            .map_err(Arc::new)
    }
}

/// Queries about articles.
#[derive(Default)]
pub struct ArticleQuery;

#[Object]
impl ArticleQuery {
    /// One article, by `id` or by `slug` (give exactly one); `null` when
    /// there is none or it is not public. A slug the article used to have
    /// still finds it: compare the returned `slug` to redirect. With an
    /// editor's token, drafts, scheduled and archived articles are returned
    /// too (previews).
    async fn article(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Article>> {
        let lookup = match (id, slug) {
            (Some(id), None) => Lookup::ArticleById(parse_id(&id, "id")?),
            (None, Some(slug)) => Lookup::ArticleBySlug(slug),
            _ => {
                return Err(
                    AppError::bad_input("id", "Give either `id` or `slug`, not both").into(),
                );
            }
        };
        find_article(ctx, lookup).await
    }

    /// The published articles most viewed over `period` (this week unless
    /// asked otherwise), most first, each with its views in the period:
    /// 热门 that changes from day to day, where `orderBy: MOST_VIEWED` is
    /// all-time. `first` (10 unless asked otherwise, at most 100); only
    /// the section with slug `category` and its sub-sections, when given.
    /// Recounted when the read cache's entry expires (10 s by default) or
    /// content changes, not on every written view.
    async fn most_viewed(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] period: ViewPeriod,
        first: Option<i32>,
        category: Option<String>,
    ) -> async_graphql::Result<Vec<RankedArticle>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let size = content::page_size(first.unwrap_or(DEFAULT_MOST_VIEWED_FIRST))?;
            let category_ids = match &category {
                Some(slug) => Some(request.section_and_below(state, slug).await?),
                None => None,
            };
            let ranked = state
                .reads(request.now)
                .most_viewed(period.into(), category_ids, size)
                .await?;
            Ok(ranked
                .iter()
                .map(|(article, views)| RankedArticle {
                    views: *views,
                    article: Article(Arc::clone(article)),
                })
                .collect())
        })
        .await
    }

    /// Published articles, newest first unless `orderBy` says otherwise,
    /// optionally narrowed by section or tag: `first` (20 when neither
    /// `first` nor `last` is given, at most 100) after the `after` cursor,
    /// or the `last` ones before the `before` cursor.
    #[allow(clippy::too_many_arguments)] // Relay's four paging arguments
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilter>,
        #[graphql(default)] order_by: ArticleOrder,
    ) -> async_graphql::Result<ArticleConnection> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let filter = filter.unwrap_or_default();
            let category_ids = match &filter.category {
                Some(slug) => Some(request.section_and_below(state, slug).await?),
                None => None,
            };
            let domain = DomainFilter {
                category_ids,
                tag_slug: filter.tag,
                published_after: filter.published_after.map(|time| time.0),
                published_before: filter.published_before.map(|time| time.0),
                updated_since: filter.updated_since.map(|time| time.0),
            };
            let arguments = PageArguments {
                first,
                after,
                last,
                before,
            };
            ArticleConnection::load(ctx, domain, order_by, arguments).await
        })
        .await
    }
}

/// The article `lookup` names, as the caller may see it: from the read
/// cache for readers, fresh for editors (who see drafts too, as previews),
/// with what the page's other fields need read along in the same statement.
pub(super) async fn find_article(
    ctx: &Context<'_>,
    lookup: Lookup,
) -> async_graphql::Result<Option<Article>> {
    Box::pin(async move {
        let (state, request) = scope(ctx)?;
        let editor = request
            .viewer(state)
            .await?
            .is_some_and(|viewer| viewer.may(Permission::EditContent));
        let audience = if editor {
            Audience::Editors
        } else {
            Audience::Public(request.now)
        };
        let hand_off = |along: ReadAlong| request.read_along_page(along);
        let found = state
            .reads(request.now)
            .article_page(lookup, audience, also_read(ctx), &hand_off)
            .await?;
        Ok(found.map(Article))
    })
    .await
}
