//! Tags in the API: the `Tag` type, the `tags` and `tag` queries, and the
//! loader that fetches the tags of many articles in one query.

pub(super) mod editing;

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, Object, dataloader::Loader};
use entity::tag as tag_entity;
use uuid::Uuid;

use crate::graphql::shown::{self, Shows};
use crate::graphql::{
    articles::{ArticleConnection, ArticleOrder},
    connection::PageArguments,
    context::scope,
};
use crate::{
    content::{self, articles::ArticleFilter},
    error::AppError,
    state::AppState,
};

/// A label that groups articles across sections.
pub struct Tag(pub tag_entity::Model);

/// A label that groups articles across sections.
#[Object(guard = "Shows::tag(self.0.id)")]
impl Tag {
    /// The tag's unique id.
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

    /// Published articles carrying this tag, newest first unless `orderBy`
    /// says otherwise: `first` (20 when neither `first` nor `last` is
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
            let filter = ArticleFilter {
                category_ids: None,
                tag_slug: Some(self.0.slug.clone()),
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

/// Queries about tags.
#[derive(Default)]
pub struct TagQuery;

#[Object]
impl TagQuery {
    /// Every tag, by name.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tag>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let tags = request.all_tags(state).await?;
            shown::note_list(ctx);
            Ok(tags.iter().cloned().map(Tag).collect())
        })
        .await
    }

    /// The tag with this slug; `null` when there is none.
    async fn tag(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<Option<Tag>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let tag = state.reads(request.now).tag(&slug).await?;
            if tag.is_none() {
                shown::note_list(ctx);
            }
            Ok(tag.map(|tag| Tag(tag.as_ref().clone())))
        })
        .await
    }
}

/// Loads the tags of many articles at once: cached ones from the read
/// cache, the rest in one query per batch.
pub struct TagsByArticle {
    state: AppState,
}

impl TagsByArticle {
    /// A loader over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Loader<Uuid> for TagsByArticle {
    type Value = Arc<Vec<tag_entity::Model>>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        self.state
            .reads(content::now())
            .tags_of(keys)
            .await
            .map_err(Arc::new)
    }
}
