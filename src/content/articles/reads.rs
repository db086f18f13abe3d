//! Readers' article reads other than the article's own page (see
//! [`super::page`]): lists and their counts, the most viewed, the
//! neighbours in a section and related teasers, each through the read
//! cache.

use std::{collections::HashMap, sync::Arc};

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

    /// The related teasers of many articles at once (a list whose every
    /// item shows its related articles): cached ones from the read cache,
    /// the rest in a few statements however many there are (see
    /// [`articles::related_of_many`]).
    // RelatedKey hashes and compares by article id and size only, which
    // never change.
    #[allow(clippy::mutable_key_type)]
    pub async fn related_of_many(
        &self,
        keys: &[RelatedKey],
    ) -> AppResult<HashMap<RelatedKey, Arc<Vec<Arc<LoadedArticle>>>>> {
        self.cache
            .get_or_load_many(
                self.db,
                self.now,
                keys,
                |key| Lookup::Related {
                    article: key.article.id,
                    size: key.size,
                },
                |missing| async move {
                    // Tags read with an article are known; the rest are
                    // read together.
                    let unknown: Vec<Uuid> = missing
                        .iter()
                        .filter(|key| key.article.tags().is_none())
                        .map(|key| key.article.id)
                        .collect();
                    let read = match unknown.is_empty() {
                        true => HashMap::new(),
                        false => self.tags_of(&unknown).await?,
                    };
                    let tag_ids = |article: &LoadedArticle| -> Vec<Uuid> {
                        article
                            .tags()
                            .or_else(|| read.get(&article.id))
                            .map(|tags| tags.iter().map(|tag| tag.id).collect())
                            .unwrap_or_default()
                    };
                    let mut loaded = HashMap::with_capacity(missing.len());
                    for (size, group) in crate::content::by_size(&missing, |key| key.size) {
                        let items: Vec<(&entity::article::Model, Vec<Uuid>)> = group
                            .iter()
                            .map(|key| (&**key.article, tag_ids(&key.article)))
                            .collect();
                        let related = match items.as_slice() {
                            // One article (its own page): the one ranking
                            // whose plan the database keeps.
                            [(article, tags)] => vec![
                                articles::related(
                                    self.db,
                                    article,
                                    tags,
                                    size,
                                    self.now,
                                    self.cache.kept_rankings_trusted(self.now),
                                )
                                .await?,
                            ],
                            _ => articles::related_of_many(self.db, &items, size, self.now).await?,
                        };
                        for (key, teasers) in group.into_iter().zip(related) {
                            let teasers = teasers
                                .into_iter()
                                .map(|teaser| Arc::new(LoadedArticle::from(teaser)))
                                .collect();
                            loaded.insert(key.clone(), Arc::new(teasers));
                        }
                    }
                    Ok(loaded)
                },
            )
            .await
    }
}

/// One article's related teasers, `size` of them, as a list of many asks
/// for them; the same whatever copy of the article it holds.
#[derive(Clone)]
pub struct RelatedKey {
    /// The article.
    pub article: Arc<LoadedArticle>,
    /// How many teasers.
    pub size: u64,
}

impl PartialEq for RelatedKey {
    fn eq(&self, other: &Self) -> bool {
        (self.article.id, self.size) == (other.article.id, other.size)
    }
}

impl Eq for RelatedKey {}

impl std::hash::Hash for RelatedKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.article.id, self.size).hash(state);
    }
}
