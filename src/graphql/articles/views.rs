//! The `recordView` mutation that every article page sends once.

use async_graphql::{ComplexObject, Context, ID, Object, SimpleObject};
use uuid::Uuid;

use crate::graphql::{articles::Article, connection::parse_id, context::scope};
use crate::{content::comments::abuse, error::AppError};

/// An article's view count after a view was recorded.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ViewCount {
    /// The article viewed.
    article_id: ID,
    /// Its total views, this one included.
    view_count: i64,
    #[graphql(skip)]
    id: Uuid,
}

#[ComplexObject]
impl ViewCount {
    /// The article viewed, as it is now: select `id` and `viewCount` here
    /// and a normalized client cache (Apollo, urql, Relay) updates the
    /// count it shows wherever the article appears.
    async fn article(&self, ctx: &Context<'_>) -> async_graphql::Result<Article> {
        Article::public_by_id(ctx, self.id).await?.ok_or_else(|| {
            AppError::NotFound("The article was taken down a moment ago".to_owned()).into()
        })
    }
}

/// Mutations about page views.
#[derive(Default)]
pub struct ViewMutation;

#[Object]
impl ViewMutation {
    /// Counts one view of a published article and returns the new total; an
    /// unknown or unpublished article is `NOT_FOUND`. A client's repeated
    /// views within the configured window, and known bots, are not counted
    /// again: they get the current total.
    async fn record_view(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
    ) -> async_graphql::Result<ViewCount> {
        let (state, request) = scope(ctx)?;
        let id = parse_id(&article_id, "articleId")?;
        let bot = abuse::is_bot(request.user_agent.as_deref());
        // The client's key (a keyed hash) only when views are told apart.
        let client = (!bot && state.abuse.remembers_views()).then(|| request.client_key(state));
        // The "seen" mark and the count are made by a task of their own,
        // which a client hanging up cannot cancel between the two: a view
        // is then counted or the client not marked, never marked alone.
        let (state, now) = (state.clone(), request.now);
        let counted = tokio::spawn(async move {
            let counts = !bot
                && client
                    .as_deref()
                    .is_none_or(|key| state.abuse.first_view(key, id));
            if !counts {
                return state.views.current(id, now).await;
            }
            let recorded = state.views.record(id, client.clone(), now).await;
            if recorded.is_err()
                && let Some(key) = &client
            {
                state.abuse.forget_view(key, id);
            }
            recorded
        });
        let view_count = counted
            .await
            .map_err(|error| AppError::Internal(format!("the view task failed: {error}")))??;
        Ok(ViewCount {
            article_id: ID(id.to_string()),
            view_count,
            id,
        })
    }
}
