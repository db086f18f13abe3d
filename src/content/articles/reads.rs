//! Readers' article reads other than the article's own page (see
//! [`super::page`]): lists and their counts, the most viewed, the
//! neighbours in a section and the related teasers, each through the read
//! cache.

use std::{collections::HashMap, future::Future, sync::Arc};

use uuid::Uuid;

use crate::content::{
    Page,
    articles::{
        self, ArticleFilter, ArticleOrder, FirstPageKey, ViewPeriod, loaded::LoadedArticle,
    },
    cache::Lookup,
    cursor::Window,
    reads::Reads,
};
use crate::error::AppResult;

/// A list of articles as pages keep it: shared rows, cut once.
pub type SharedPage = Arc<Page<Arc<LoadedArticle>>>;

impl Reads<'_> {
    /// One page of the public list `filter` and `order` describe.
    pub async fn articles(
        &self,
        filter: &ArticleFilter,
        order: ArticleOrder,
        window: Window,
    ) -> AppResult<SharedPage> {
        let lookup = Lookup::Articles {
            filter: filter.clone(),
            order,
            window,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let steady = self.views.steady();
                let page = articles::list(self.db, filter, order, &window, self.now).await?;
                self.views.learn(steady, page.view_counts());
                Ok(Arc::new(page.shared()))
            })
            .await
    }

    /// How many public articles `filter` matches.
    pub async fn article_count(&self, filter: &ArticleFilter) -> AppResult<u64> {
        let lookup = Lookup::Count(filter.clone());
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                articles::count(self.db, filter, self.now).await
            })
            .await
    }

    /// The `size` articles most viewed over `period`, in the sections
    /// `category_ids` when given, each with its views in the period.
    pub async fn most_viewed(
        &self,
        period: ViewPeriod,
        category_ids: Option<Vec<Uuid>>,
        size: u64,
    ) -> AppResult<Arc<Vec<(Arc<LoadedArticle>, i64)>>> {
        let lookup = Lookup::MostViewed {
            period,
            category_ids: category_ids.clone(),
            size,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let ranked =
                    articles::most_viewed(self.db, period, category_ids.as_deref(), size, self.now)
                        .await?;
                Ok(Arc::new(
                    ranked
                        .into_iter()
                        .map(|(teaser, views)| (Arc::new(LoadedArticle::from(teaser)), views))
                        .collect(),
                ))
            })
            .await
    }

    /// The public article next to `article` in its section, newer or older.
    pub async fn neighbour(
        &self,
        article: &LoadedArticle,
        newer: bool,
    ) -> AppResult<Option<Arc<LoadedArticle>>> {
        let lookup = Lookup::Neighbour {
            article: article.id,
            newer,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let teaser = articles::neighbour(self.db, article, newer, self.now).await?;
                Ok(teaser.map(|teaser| Arc::new(LoadedArticle::from(teaser))))
            })
            .await
    }

    /// Up to `size` related teasers of `article` (see [`articles::related`]);
    /// `tag_ids` gives its tags' ids when they must be read.
    pub async fn related(
        &self,
        article: &LoadedArticle,
        size: u64,
        tag_ids: impl Future<Output = AppResult<Vec<Uuid>>>,
    ) -> AppResult<Arc<Vec<Arc<LoadedArticle>>>> {
        let lookup = Lookup::Related {
            article: article.id,
            size,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let tag_ids = tag_ids.await?;
                let related = articles::related(self.db, article, &tag_ids, size, self.now).await?;
                Ok(Arc::new(
                    related
                        .into_iter()
                        .map(|teaser| Arc::new(LoadedArticle::from(teaser)))
                        .collect(),
                ))
            })
            .await
    }

    /// The first pages of many sections' lists at once: cached ones from
    /// the read cache, the rest in one statement (a home page of forty
    /// sections costs what one does).
    pub async fn first_pages(
        &self,
        keys: &[FirstPageKey],
    ) -> AppResult<HashMap<FirstPageKey, SharedPage>> {
        self.cache
            .get_or_load_many(
                self.db,
                self.now,
                keys,
                |key| Lookup::FirstPage(key.clone()),
                |missing| async move {
                    let steady = self.views.steady();
                    let loaded = articles::first_pages(self.db, &missing, self.now).await?;
                    self.views
                        .learn(steady, loaded.values().flat_map(Page::view_counts));
                    Ok(loaded
                        .into_iter()
                        .map(|(key, page)| (key, Arc::new(page.shared())))
                        .collect())
                },
            )
            .await
    }
}
