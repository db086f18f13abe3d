//! The article queries: `article`, `mostViewed` and `articles`.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use crate::graphql::shown;
use crate::graphql::{
    connection::{PageArguments, parse_id},
    context::scope,
};
use crate::{
    content::{
        self, articles::Audience, articles::page::ReadAlong, cache::Lookup, tokens::Permission,
    },
    error::AppError,
};

use super::{
    Article, ArticleConnection, ArticleFilter, ArticleOrder, DEFAULT_MOST_VIEWED_FIRST,
    RankedArticle, ViewPeriod, also_read,
};

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
        let found = find_article(ctx, lookup).await?;
        if found.is_none() {
            // Published later, it is found here.
            shown::note_list(ctx);
        }
        Ok(found)
    }

    /// The published articles most viewed over `period` (this week unless
    /// asked otherwise), most first, each with its views in the period:
    /// 热门 that changes from day to day, where `orderBy: MOST_VIEWED` is
    /// all-time. `first` (10 unless asked otherwise, at most 100); only
    /// the section with slug `category` and its sub-sections, when given.
    /// Recounted when the ranking's time to live runs out (10 s by
    /// default) or content changes, not on every written view.
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
            shown::note_list(ctx);
            shown::note_period_ranking(ctx);
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
            let domain = filter
                .unwrap_or_default()
                .into_domain(state, request)
                .await?;
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
pub(in crate::graphql) async fn find_article(
    ctx: &Context<'_>,
    lookup: Lookup,
) -> async_graphql::Result<Option<Article>> {
    Box::pin(async move {
        let (state, request) = scope(ctx)?;
        let editor = request
            .viewer(state)
            .await?
            .is_some_and(|viewer| viewer.may(Permission::EditContent));
        read_article(ctx, lookup, editor).await
    })
    .await
}

/// The article `lookup` names if readers can see it now, whoever asks:
/// what a public live subscription may send.
pub(in crate::graphql) async fn find_public_article(
    ctx: &Context<'_>,
    lookup: Lookup,
) -> async_graphql::Result<Option<Article>> {
    Box::pin(read_article(ctx, lookup, false)).await
}

/// The article `lookup` names, any article for an `editor`, else a public
/// one.
async fn read_article(
    ctx: &Context<'_>,
    lookup: Lookup,
    editor: bool,
) -> async_graphql::Result<Option<Article>> {
    let (state, request) = scope(ctx)?;
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
}
