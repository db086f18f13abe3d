//! The batch loaders of a request's article reads: sections' first pages,
//! whole articles for teasers asked for their bodies, and view totals.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::{DateTime as ChronoDateTime, Utc};
use uuid::Uuid;

use crate::{
    content::{
        self, articles::FirstPageKey, articles::loaded::LoadedArticle, articles::reads::RelatedKey,
    },
    error::AppError,
    state::AppState,
};

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

/// Loads the related teasers of many articles at once (a list whose every
/// item shows its related articles): cached ones from the read cache, the
/// rest in a few statements however many articles there are.
pub struct RelatedTeasers {
    state: AppState,
}

impl RelatedTeasers {
    /// A loader over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl Loader<RelatedKey> for RelatedTeasers {
    type Value = Arc<Vec<Arc<LoadedArticle>>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[RelatedKey],
    ) -> Result<HashMap<RelatedKey, Self::Value>, Self::Error> {
        self.state
            .reads(content::now())
            .related_of_many(keys)
            .await
            .map_err(Arc::new)
    }
}
