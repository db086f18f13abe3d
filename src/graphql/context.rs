//! What a resolver needs from the context, and the per-request scope that
//! holds the clock and the section tree, so that one request sees one moment
//! and reads the sections at most once.

use std::{net::IpAddr, sync::Arc};

use async_graphql::Context;
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::{content::category::CategoryTree, error::AppResult, state::AppState};

/// Data that lives for one request.
pub struct RequestContext {
    /// The moment the request is served at: what is "published" is decided
    /// against it, once for the whole response.
    pub now: DateTime<Utc>,
    /// The client's address, when known; only ever stored hashed.
    pub client: Option<IpAddr>,
    categories: OnceCell<Arc<CategoryTree>>,
}

impl RequestContext {
    /// A scope for a request from `client`, starting now.
    pub fn new(client: Option<IpAddr>) -> Self {
        Self {
            now: crate::content::now(),
            client,
            categories: OnceCell::new(),
        }
    }

    /// The section tree, read from the database on first use in this request.
    pub async fn categories(&self, state: &AppState) -> AppResult<Arc<CategoryTree>> {
        self.categories
            .get_or_try_init(|| async { CategoryTree::load(&state.db).await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// The shared state and this request's scope, from a resolver's context.
pub fn scope<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a RequestContext)> {
    Ok((ctx.data::<AppState>()?, ctx.data::<RequestContext>()?))
}
