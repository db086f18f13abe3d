//! Sections in the API: the `Category` type and the `categories` and
//! `category` queries. Every answer comes from the request's section tree.

use async_graphql::{Context, ID, Object};
use entity::category as category_entity;

use super::{
    article::{ArticleConnection, ArticleOrder},
    connection::parse_id,
    context::scope,
    scalars::DateTime,
};
use crate::{content::article::ArticleFilter, error::AppError};

/// A section of the site (科技 Technology, 新闻 News, …). Sections nest.
#[derive(Clone)]
pub struct Category(pub category_entity::Model);

/// A section of the site (科技 Technology, 新闻 News, …). Sections nest:
/// `ancestors` gives the breadcrumb, `children` the sub-sections.
#[Object]
impl Category {
    /// The section's unique id (a UUID v7).
    async fn id(&self) -> ID {
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
        Ok(tree
            .children(self.0.id)
            .into_iter()
            .cloned()
            .map(Category)
            .collect())
    }

    /// Published articles of this section and all its sub-sections, newest
    /// first unless `orderBy` says otherwise. `first` is at most 100.
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        #[graphql(default)] order_by: ArticleOrder,
    ) -> async_graphql::Result<ArticleConnection> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        let filter = ArticleFilter {
            category_ids: Some(tree.with_descendants(self.0.id)),
            tag_slug: None,
        };
        ArticleConnection::load(ctx, filter, order_by, first, after).await
    }
}

/// Queries about sections.
#[derive(Default)]
pub struct CategoryQuery;

#[Object]
impl CategoryQuery {
    /// The top-level sections, in display order.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        Ok(tree.roots().into_iter().cloned().map(Category).collect())
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
        Ok(found.cloned().map(Category))
    }
}
