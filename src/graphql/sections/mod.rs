//! Sections in the API: the `Category` type and the `categories` and
//! `category` queries. Every answer comes from the request's section tree.

pub(super) mod editing;

use async_graphql::{Context, ID, Object};
use entity::category as category_entity;

use async_graphql::Value;

use crate::graphql::shown::{self, Shows};
use crate::graphql::{
    articles::{ArticleConnection, ArticleOrder, FirstPageLoader},
    connection::PageArguments,
    connection::parse_id,
    context::scope,
    scalars::DateTime,
};
use crate::{
    content::{
        articles::{ArticleFilter, FirstPageKey},
        sections::CategoryTree,
    },
    error::AppError,
};

/// A section of the site (科技 Technology, 新闻 News, …). Sections nest.
#[derive(Clone)]
pub struct Category(pub category_entity::Model);

/// A section of the site (科技 Technology, 新闻 News, …). Sections nest:
/// `ancestors` gives the breadcrumb, `children` the sub-sections.
#[Object(guard = "Shows::section(self.0.id)")]
impl Category {
    /// The section's unique id (a UUID v7).
    pub(super) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The unique, URL-safe name to route by.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// A line or two about the section.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Display order among its siblings, smallest first.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// When the section was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    /// The enclosing section; `null` for a top-level one.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        Ok(self
            .0
            .parent_id
            .and_then(|id| tree.get(id))
            .cloned()
            .map(Category))
    }

    /// The sections above this one, from the top level down to the parent
    /// (a breadcrumb); empty for a top-level section.
    async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        Ok(tree
            .ancestors(self.0.id)
            .into_iter()
            .cloned()
            .map(Category)
            .collect())
    }

    /// The direct sub-sections, in display order.
    async fn children(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        // A new sub-section joins the list.
        shown::note_list(ctx);
        Ok(tree
            .children(self.0.id)
            .into_iter()
            .cloned()
            .map(Category)
            .collect())
    }

    /// Published articles of this section and all its sub-sections, newest
    /// first unless `orderBy` says otherwise: `first` (20 when neither `first` nor `last` is
    /// given, at most 100) after the `after` cursor, or the `last` ones
    /// before the `before` cursor.
    #[allow(clippy::too_many_arguments)] // Relay's four paging arguments
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default)] order_by: ArticleOrder,
    ) -> async_graphql::Result<ArticleConnection> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let tree = request.categories(state).await?;
            let filter = ArticleFilter {
                category_ids: Some(tree.with_descendants(self.0.id)),
                tag_slug: None,
                ..ArticleFilter::default()
            };
            let arguments = PageArguments {
                first,
                after,
                last,
                before,
            };
            ArticleConnection::load(ctx, filter, order_by, arguments).await
        })
        .await
    }
}

/// Queries about sections.
#[derive(Default)]
pub struct CategoryQuery;

#[Object]
impl CategoryQuery {
    /// The top-level sections, in display order.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let tree = request.categories(state).await?;
            let roots: Vec<Category> = tree.roots().into_iter().cloned().map(Category).collect();
            shown::note_list(ctx);
            prime_first_pages(ctx, &tree, &roots).await?;
            Ok(roots)
        })
        .await
    }

    /// One section, by `id` or by `slug` (give exactly one); `null` when
    /// there is none.
    async fn category(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        let found = match (id, slug) {
            (Some(id), None) => tree.get(parse_id(&id, "id")?),
            (None, Some(slug)) => tree.by_slug(&slug),
            _ => {
                return Err(
                    AppError::bad_input("id", "Give either `id` or `slug`, not both").into(),
                );
            }
        };
        if found.is_none() {
            shown::note_list(ctx);
        }
        Ok(found.cloned().map(Category))
    }
}

/// When the query asks for each section's first page of articles (as a
/// home page does), loads them all in one batch before the sections resolve,
/// so the number of statements does not depend on the number of sections
/// nor on scheduling.
async fn prime_first_pages(
    ctx: &Context<'_>,
    tree: &CategoryTree,
    sections: &[Category],
) -> async_graphql::Result<()> {
    let mut keys = Vec::new();
    for field in ctx
        .field()
        .selection_set()
        .filter(|f| f.name() == "articles")
    {
        let mut size = 20;
        let mut order = ArticleOrder::Newest;
        let mut paged = false;
        for (name, value) in field.arguments()? {
            match (name.as_str(), value) {
                ("first", Value::Number(number)) => {
                    size = number.as_i64().unwrap_or(20);
                }
                ("after", Value::String(_)) => paged = true,
                ("orderBy", Value::Enum(order_name)) => {
                    order = match order_name.as_str() {
                        "OLDEST" => ArticleOrder::Oldest,
                        "MOST_VIEWED" => ArticleOrder::MostViewed,
                        "MOST_COMMENTED" => ArticleOrder::MostCommented,
                        _ => ArticleOrder::Newest,
                    };
                }
                _ => {}
            }
        }
        let Ok(size) = crate::content::page_size(i32::try_from(size).unwrap_or(i32::MAX)) else {
            continue;
        };
        if paged || size == 0 {
            continue;
        }
        for section in sections {
            keys.push(FirstPageKey {
                filter: ArticleFilter {
                    category_ids: Some(tree.with_descendants(section.0.id)),
                    ..ArticleFilter::default()
                },
                order: order.into(),
                size,
            });
        }
    }
    if keys.len() > 1 {
        ctx.data::<FirstPageLoader>()?
            .load_many(keys)
            .await
            .map_err(crate::error::AppError::from)?;
    }
    Ok(())
}
