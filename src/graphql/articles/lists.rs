//! Lists of articles: the connection and its edges, the orders, filters,
//! statuses and most-viewed periods clients choose among.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, InputObject, SimpleObject};
use chrono::{DateTime as ChronoDateTime, Utc};
use entity::article::ArticleStatus as DbStatus;

use crate::graphql::shown;
use crate::graphql::{
    connection::{PageArguments, PageInfo},
    context::scope,
    scalars::DateTime,
};
use crate::{
    content::{
        self,
        articles::{ArticleFilter as DomainFilter, ArticleOrder as DomainOrder, FirstPageKey},
    },
    error::{AppError, AppResult},
    graphql::RequestContext,
    state::AppState,
};

use super::{Article, DEFAULT_ARTICLES_FIRST, FirstPageLoader, ViewCountLoader};

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
    pub(super) views: i64,
    /// The article.
    pub(super) article: Article,
}

/// How many articles `mostViewed` ranks unless asked otherwise.
pub(super) const DEFAULT_MOST_VIEWED_FIRST: i32 = 10;

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

impl ArticleFilter {
    /// The domain's filter: a section's slug read as the ids of it and its
    /// sub-sections.
    pub(in crate::graphql) async fn into_domain(
        self,
        state: &AppState,
        request: &RequestContext,
    ) -> AppResult<DomainFilter> {
        let category_ids = match &self.category {
            Some(slug) => Some(request.section_and_below(state, slug).await?),
            None => None,
        };
        Ok(DomainFilter {
            category_ids,
            tag_slug: self.tag,
            published_after: self.published_after.map(|time| time.0),
            published_before: self.published_before.map(|time| time.0),
            updated_since: self.updated_since.map(|time| time.0),
        })
    }
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
        shown::note_list(ctx);
        if order == DomainOrder::MostViewed {
            shown::note_ordered_by_views(ctx);
        }
        if matches!(
            order,
            DomainOrder::RecentlyUpdated | DomainOrder::MostCommented
        ) || filter.updated_since.is_some()
        {
            // An edit or a comment on any article may move it in.
            shown::note_every_article(ctx);
        }
        let window = arguments.window(DEFAULT_ARTICLES_FIRST, order.cursor_list())?;
        // A section's or a tag's first page: batched with every other
        // list's on the page, so a home page of forty sections, or forty
        // tags with their articles, costs what one does.
        let batched = window.is_first_page() && window.size > 0 && filter.is_by_section_or_tag();
        let page = if batched {
            let key = FirstPageKey {
                filter: filter.clone(),
                order,
                size: window.size,
            };
            ctx.data::<FirstPageLoader>()?
                .load_one(key)
                .await
                .map_err(AppError::from)?
                .unwrap_or_default()
        } else {
            state
                .reads(request.now)
                .articles(&filter, order, window)
                .await?
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
