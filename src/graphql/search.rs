//! The `search` query: articles matching a reader's words, best first,
//! with the matches marked in the title and in an excerpt.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};

use crate::graphql::shown;
use crate::{
    content::{
        self,
        search::{MatchCount, Search, SearchCursor},
    },
    graphql::{
        articles::{Article, ArticleFilter},
        connection::PageInfo,
        context::scope,
        scalars::DateTime,
    },
};

/// How many results `search` returns unless `first` says otherwise.
const DEFAULT_SEARCH_FIRST: i32 = 10;

/// Which articles a search may return; every field given must match.
#[derive(InputObject, Default)]
pub struct SearchFilter {
    /// Only articles in the section with this slug or any of its sub-sections.
    pub category: Option<String>,
    /// Only articles carrying the tag with this slug.
    pub tag: Option<String>,
    /// Only articles published at or after this moment.
    pub published_after: Option<DateTime>,
    /// Only articles published before this moment.
    pub published_before: Option<DateTime>,
}

/// The search query.
#[derive(Default)]
pub struct SearchQueryRoot;

#[Object]
impl SearchQueryRoot {
    /// Published articles matching `query`, best first (title matches
    /// weigh most, then summary and tags, then body; recent articles get a
    /// small boost; ties go to the newer article). Chinese is read by
    /// words, not characters: 和服 does not match 和服务. English words,
    /// numbers and mixed words like `CLUE-Next` or `5G` match whole,
    /// ignoring case and full-width forms. Every word must match;
    /// `"quoted phrases"` must appear as written; `-word` excludes. At most
    /// 200 characters; a query of punctuation only finds nothing. `first`
    /// (10 unless given, at most 100) results after the `after` cursor.
    /// Only the newest matches (1,000 unless the server says otherwise) are
    /// ranked; older ones follow them, newest first, with a score of 0. On
    /// PostgreSQL a search that runs too long is refused with
    /// `SERVICE_UNAVAILABLE`: add words or a filter.
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<SearchFilter>,
    ) -> async_graphql::Result<SearchConnection> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let size = content::page_size_of(first.unwrap_or(DEFAULT_SEARCH_FIRST), "first")?;
            // Any publication, and any edit of any article's words, may
            // change the results.
            shown::note_list(ctx);
            shown::note_every_article(ctx);
            let after = after.as_deref().map(SearchCursor::parse).transpose()?;
            let filter = filter.unwrap_or_default();
            let domain = ArticleFilter {
                category: filter.category,
                tag: filter.tag,
                published_after: filter.published_after,
                published_before: filter.published_before,
                updated_since: None,
            }
            .into_domain(state, request)
            .await?;
            let search = Search::new(&query, domain, after.as_ref(), request.now, state.search)?;
            let page = state
                .reads(request.now)
                .search_page(&search, size, after)
                .await?;
            let edges: Vec<SearchEdge> = page
                .hits
                .iter()
                .map(|hit| SearchEdge {
                    cursor: hit.cursor.encode(),
                    score: hit.score(),
                    highlights: SearchHighlights {
                        title: hit.title.clone(),
                        excerpt: hit.excerpt.clone(),
                    },
                    node: Article(Arc::clone(&hit.article)),
                })
                .collect();
            let cursors: Vec<String> = edges.iter().map(|edge| edge.cursor.clone()).collect();
            Ok(SearchConnection {
                page_info: PageInfo {
                    has_next_page: page.has_next_page,
                    has_previous_page: after.is_some(),
                    start_cursor: cursors.first().cloned(),
                    end_cursor: cursors.last().cloned(),
                },
                edges,
                search,
                counted: tokio::sync::OnceCell::new(),
            })
        })
        .await
    }
}

/// A page of search results.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SearchConnection {
    /// The results on this page, best first, each with its cursor.
    edges: Vec<SearchEdge>,
    /// Where this page stands among the results; pass `endCursor` as
    /// `after` for the next page.
    page_info: PageInfo,
    #[graphql(skip)]
    search: Search,
    #[graphql(skip)]
    counted: tokio::sync::OnceCell<MatchCount>,
}

#[ComplexObject]
impl SearchConnection {
    /// How many published articles match, across all pages. Counting stops
    /// at the server's limit (`NEWSROOM_SEARCH_COUNTED_MATCHES`, 10,000
    /// unless set): when more match, this is the limit and
    /// `totalCountIsExact` is false.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(self.count(ctx).await?.counted)
    }

    /// Whether `totalCount` is all the matches: false when more match than
    /// the server counts, so that a page can say "10,000+". The results
    /// themselves go on past the count.
    async fn total_count_is_exact(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.count(ctx).await?.is_exact)
    }
}

impl SearchConnection {
    /// The matches' count, read once for both fields that show it.
    async fn count(&self, ctx: &Context<'_>) -> async_graphql::Result<MatchCount> {
        let counted = self
            .counted
            .get_or_try_init(|| {
                Box::pin(async move {
                    let (state, request) = scope(ctx)?;
                    Ok::<_, async_graphql::Error>(
                        state.reads(request.now).search_count(&self.search).await?,
                    )
                })
            })
            .await?;
        Ok(*counted)
    }
}

/// One search result.
#[derive(SimpleObject)]
pub struct SearchEdge {
    /// Pass as `after` to continue after this result.
    cursor: String,
    /// The article.
    node: Article,
    /// How well the article matches, recency boost included; higher is
    /// better. Comparable within one search only (and between databases
    /// not at all: SQLite ranks by BM25, PostgreSQL by cover density). 0
    /// for a match older than the newest ones ranked.
    score: f64,
    /// The matches, marked.
    highlights: SearchHighlights,
}

/// Where a result matched, ready to render as HTML: the text is escaped,
/// and each match is wrapped in `<mark>`.
#[derive(SimpleObject)]
pub struct SearchHighlights {
    /// The headline.
    title: String,
    /// About 120 characters of the body around its best match (or of the
    /// summary, or the body's start when only the title matched), with `…`
    /// where it was cut.
    excerpt: String,
}
