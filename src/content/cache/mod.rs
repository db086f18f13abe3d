//! The read cache: what public pages read (articles, teaser lists, related
//! teasers, sections, tags, comment pages, counts), kept in memory so a hot
//! page is served without the database. It is never stale:
//!
//! - a change that readers can see makes stale only what it touched
//!   ([`ReadCache::forget`], [`crate::content::cache::staleness`]): an entry loaded before
//!   the change that depends on it is read again when next asked for;
//! - every entry is also keyed by a *generation*; an import calls
//!   [`ReadCache::invalidate`], which starts a new generation, so a read
//!   that starts after it can only see entries filled after it (a read
//!   racing it may fill an old-generation entry that nobody looks up again);
//! - what is public depends on the clock: the cache remembers when the next
//!   scheduled article comes due (read again after any change to what is
//!   listed) and starts a new generation at that moment;
//! - view counts are never cached here: they come from the view counter.
//!
//! Memory is bounded by an estimate of each entry's size (moka's weigher).
//! Several processes on one database each keep their own cache; each calls
//! [`ReadCache::forget`] when the change feed ([`crate::content::writes::feed`]) brings a
//! change readers can see, whoever wrote it.

pub mod responses;
pub mod staleness;
pub mod surrogate;

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    comment, tag,
};
use moka::future::Cache;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::content::{
    Page,
    articles::loaded::LoadedArticle,
    articles::{ArticleFilter, ArticleOrder, FirstPageKey, ViewPeriod, kept_related::TrustedSince},
    cache::staleness::{Dep, Stamps},
    cursor::Window,
    search::{Search, SearchCursor, SearchPage, query::SearchQuery},
    sections::CategoryTree,
};
use crate::error::{AppError, AppResult};

/// What a cached value was read by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// A public article by its slug, current or retired.
    ArticleBySlug(String),
    /// A public article by id.
    ArticleById(Uuid),
    /// The whole section tree.
    Sections,
    /// Every tag, by name.
    AllTags,
    /// A tag by slug.
    TagBySlug(String),
    /// The tags of one article.
    TagsOf(Uuid),
    /// An article's related teasers.
    Related {
        /// The article.
        article: Uuid,
        /// How many teasers.
        size: u64,
    },
    /// The public article just before (`newer` false) or after an article
    /// in its section, in publication order.
    Neighbour {
        /// The article.
        article: Uuid,
        /// Which side.
        newer: bool,
    },
    /// A page of an article's approved comments.
    Comments {
        /// The article.
        article: Uuid,
        /// Which page.
        window: Window,
    },
    /// A page of a list of public articles.
    Articles {
        /// Which articles.
        filter: ArticleFilter,
        /// In which order.
        order: ArticleOrder,
        /// Which page.
        window: Window,
    },
    /// The most viewed public articles over a period, in some sections or
    /// all.
    MostViewed {
        /// Over which days.
        period: ViewPeriod,
        /// Only articles filed in these sections, when given.
        category_ids: Option<Vec<Uuid>>,
        /// How many.
        size: u64,
    },
    /// A section's first page, as the home page batches them.
    FirstPage(FirstPageKey),
    /// How many public articles match a filter.
    Count(ArticleFilter),
    /// A page of a search's results.
    Search {
        /// The query, filter and ranking moment.
        search: Search,
        /// How many results.
        size: u64,
        /// Where the page starts.
        after: Option<SearchCursor>,
    },
    /// How many public articles a search matches.
    SearchCount {
        /// The query.
        query: SearchQuery,
        /// Which articles may match.
        filter: ArticleFilter,
    },
}

/// A cached value. Articles are shared (`Arc`), so a teaser in many lists
/// is one allocation and serving it copies no text.
#[derive(Clone)]
pub enum Cached {
    /// A public article, or `None` when there is none by that key.
    Article(Option<Arc<LoadedArticle>>),
    /// A page of articles.
    Articles(Arc<Page<Arc<LoadedArticle>>>),
    /// Related teasers.
    Related(Arc<Vec<Arc<LoadedArticle>>>),
    /// The section tree.
    Sections(Arc<CategoryTree>),
    /// Some tags.
    Tags(Arc<Vec<tag::Model>>),
    /// A tag, or `None`.
    Tag(Option<Arc<tag::Model>>),
    /// A page of comments.
    Comments(Arc<Page<comment::Model>>),
    /// A count.
    Count(u64),
    /// Articles ranked, each with its figure.
    Ranked(Arc<Vec<(Arc<LoadedArticle>, i64)>>),
    /// A page of search results.
    Search(Arc<SearchPage>),
}

/// A value that can be stored in the cache and read back.
pub trait Cacheable: Sized {
    /// Wraps the value for storing.
    fn wrap(self) -> Cached;
    /// The value back, if `cached` holds this kind.
    fn unwrap(cached: Cached) -> Option<Self>;
}

macro_rules! cacheable {
    ($type:ty, $variant:ident) => {
        impl Cacheable for $type {
            fn wrap(self) -> Cached {
                Cached::$variant(self)
            }
            fn unwrap(cached: Cached) -> Option<Self> {
                match cached {
                    Cached::$variant(value) => Some(value),
                    _ => None,
                }
            }
        }
    };
}

cacheable!(Option<Arc<LoadedArticle>>, Article);
cacheable!(Arc<Page<Arc<LoadedArticle>>>, Articles);
cacheable!(Arc<Vec<Arc<LoadedArticle>>>, Related);
cacheable!(Arc<CategoryTree>, Sections);
cacheable!(Arc<Vec<tag::Model>>, Tags);
cacheable!(Option<Arc<tag::Model>>, Tag);
cacheable!(Arc<Page<comment::Model>>, Comments);
cacheable!(u64, Count);
cacheable!(Arc<Vec<(Arc<LoadedArticle>, i64)>>, Ranked);
cacheable!(Arc<SearchPage>, Search);

/// An entry's key: what it was read by, in which generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    generation: u64,
    lookup: Lookup,
}

/// A cached value and the change counter when its load started (see
/// [`crate::content::cache::staleness`]).
#[derive(Clone)]
struct Stamped {
    value: Cached,
    loaded_at: u64,
}

/// When the next scheduled article becomes public, as last read for one
/// generation.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    generation: u64,
    /// The publication changes it was read after (see
    /// [`ReadCache::forget`]).
    epoch: u64,
    /// The clock the schedule was read at: entries of this generation are
    /// filled only by requests at or after it.
    read_at: DateTime<Utc>,
    /// `None`: nothing is scheduled.
    next_due: Option<DateTime<Utc>>,
}

/// The cache; see the module documentation.
pub struct ReadCache {
    /// `None` when the cache is switched off.
    entries: Option<Cache<Key, Stamped>>,
    /// What changes since an entry was loaded make it stale.
    stamps: Stamps,
    generation: AtomicU64,
    /// Counts changes to what is published, each of which may schedule an
    /// article: the schedule is read again after one.
    schedule_epoch: AtomicU64,
    schedule: Mutex<Option<Schedule>>,
    /// When the cache was last cleared ([`Self::invalidate`]), in
    /// milliseconds since the epoch: kept related rankings from before are
    /// not trusted either.
    cleared_at: AtomicI64,
}

/// How long entries live. Every change made through newsroom reaches them
/// through the change feed, so `longest` bounds only memory and changes
/// made behind newsroom's back. A ranking by period is the exception:
/// written views move it without a change in the feed, so it is counted
/// again after `ranking`.
#[derive(Debug, Clone, Copy)]
struct Lives {
    longest: Duration,
    ranking: Duration,
}

impl Lives {
    /// How long the entry read by `key` lives from when it is stored.
    fn of(&self, key: &Key) -> Duration {
        match key.lookup {
            Lookup::MostViewed { .. } => self.ranking,
            _ => self.longest,
        }
    }
}

impl moka::Expiry<Key, Stamped> for Lives {
    fn expire_after_create(
        &self,
        key: &Key,
        _: &Stamped,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(self.of(key))
    }

    /// A value loaded again replaces a stale one and lives as long as a
    /// new entry.
    fn expire_after_update(
        &self,
        key: &Key,
        _: &Stamped,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.of(key))
    }
}

/// The approximate memory of an article held in the cache.
fn article_weight(article: &article::Model) -> usize {
    256 + article.slug.len()
        + article.title.len()
        + article.summary.as_ref().map_or(0, String::len)
        + article.body.len()
        + article.body_text.len()
        + article.author.len()
        + article.cover_image_url.as_ref().map_or(0, String::len)
        + article.cover_image_alt.as_ref().map_or(0, String::len)
        + article.source.as_ref().map_or(0, String::len)
}

/// The approximate memory of some tags.
fn tags_weight(tags: &[tag::Model]) -> usize {
    tags.iter().map(|t| 96 + t.slug.len() + t.name.len()).sum()
}

/// The approximate memory of an entry, in bytes. Articles shared with other
/// entries are counted in each, which errs on the safe side.
fn weight(key: &Key, stamped: &Stamped) -> u32 {
    let value = &stamped.value;
    let key_bytes = 64
        + match &key.lookup {
            Lookup::ArticleBySlug(slug) | Lookup::TagBySlug(slug) => slug.len(),
            Lookup::Articles { filter, .. }
            | Lookup::Count(filter)
            | Lookup::FirstPage(FirstPageKey { filter, .. }) => {
                filter.category_ids.as_ref().map_or(0, |ids| ids.len() * 16)
                    + filter.tag_slug.as_ref().map_or(0, String::len)
            }
            Lookup::MostViewed { category_ids, .. } => {
                category_ids.as_ref().map_or(0, |ids| ids.len() * 16)
            }
            Lookup::Search { search, .. } => {
                256 + search.query.marked().iter().map(String::len).sum::<usize>()
            }
            Lookup::SearchCount { query, .. } => {
                256 + query.marked().iter().map(String::len).sum::<usize>()
            }
            _ => 0,
        };
    let value_bytes = match value {
        Cached::Article(article) => article.as_deref().map_or(16, |loaded| {
            article_weight(loaded) + loaded.tags().map_or(0, |tags| tags_weight(tags))
        }),
        Cached::Articles(page) => page.items.iter().map(|a| article_weight(a)).sum(),
        Cached::Related(articles) => articles.iter().map(|a| article_weight(a)).sum(),
        Cached::Sections(tree) => 256 * tree.section_count(),
        Cached::Tags(tags) => tags_weight(tags),
        Cached::Tag(tag) => tag
            .as_ref()
            .map_or(16, |t| 96 + t.slug.len() + t.name.len()),
        Cached::Comments(page) => page
            .items
            .iter()
            .map(|c| 160 + c.author_name.len() + c.author_email.len() + c.body.len())
            .sum(),
        Cached::Count(_) => 8,
        Cached::Ranked(ranked) => ranked.iter().map(|(a, _)| 8 + article_weight(a)).sum(),
        Cached::Search(page) => page
            .hits
            .iter()
            .map(|hit| 96 + article_weight(&hit.article) + hit.title.len() + hit.excerpt.len())
            .sum(),
    };
    u32::try_from(key_bytes + value_bytes).unwrap_or(u32::MAX)
}

impl ReadCache {
    /// A cache holding about `max_bytes` of entries, each for at most
    /// `time_to_live`, and a ranking by period for `ranking_ttl` (the two
    /// lives of [`Lives`]); `max_bytes` zero switches it off.
    pub fn new(max_bytes: u64, time_to_live: Duration, ranking_ttl: Duration) -> Self {
        let lives = Lives {
            longest: time_to_live,
            ranking: ranking_ttl.min(time_to_live),
        };
        let entries = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(weight)
                .expire_after(lives)
                .support_invalidation_closures()
                .build()
        });
        Self {
            entries,
            stamps: Stamps::new(time_to_live),
            generation: AtomicU64::new(0),
            schedule_epoch: AtomicU64::new(0),
            schedule: Mutex::new(None),
            cleared_at: AtomicI64::new(0),
        }
    }

    /// The kept related rankings a read at `now` may trust: none kept
    /// before the cache was last cleared (a write behind the server's back,
    /// a site import), none older than their time to live.
    pub fn kept_rankings_trusted(&self, now: DateTime<Utc>) -> TrustedSince {
        TrustedSince::at(now, self.cleared_at.load(Ordering::SeqCst))
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Forgets everything cached: called after every write that changes
    /// what readers see.
    pub fn invalidate(&self) {
        self.cleared_at
            .store(crate::content::now().timestamp_millis(), Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }

    /// Makes stale what a change touched: entries loaded before it that
    /// depend on one of `deps` are read again when next asked for.
    /// A change to what is listed may also have scheduled an article, so
    /// the next scheduled publication is read again.
    pub fn forget(&self, deps: impl IntoIterator<Item = Dep>) {
        let deps: Vec<Dep> = deps.into_iter().collect();
        if deps.contains(&Dep::Lists) {
            self.schedule_epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.stamps.stamp(deps);
    }

    /// Forgets the lists ordered by all-time views: called after view
    /// counts are written, which may reorder them (an indexed read). Rankings
    /// over a period are not dropped here but live out their time to live:
    /// summing a month of per-day counts is the costliest read there is
    /// (BENCHMARKS.md, "Most viewed at scale") and a flush comes every
    /// second under traffic. Nothing else depends on the stored counts
    /// (totals come from the view counter).
    pub fn views_written(&self) {
        if let Some(entries) = &self.entries {
            let by_views = |key: &Key, _: &Stamped| match &key.lookup {
                Lookup::Articles { order, .. } => *order == ArticleOrder::MostViewed,
                Lookup::FirstPage(page) => page.order == ArticleOrder::MostViewed,
                _ => false,
            };
            if entries.invalidate_entries_if(by_views).is_err() {
                // Cannot happen (closures are enabled above); be safe anyway.
                self.invalidate();
            }
        }
    }

    /// How many entries are held (an estimate, for tests and logs).
    pub async fn entry_count(&self) -> u64 {
        match &self.entries {
            Some(entries) => {
                entries.run_pending_tasks().await;
                entries.entry_count()
            }
            None => 0,
        }
    }

    /// The value `lookup` holds at `now` when it is cached and fresh; `None`
    /// otherwise, loading nothing. A field that batches its misses through
    /// a loader looks here first, so a warm page never waits for a batch.
    pub async fn cached<T: Cacheable>(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        lookup: Lookup,
    ) -> AppResult<Option<T>> {
        let Some(entries) = &self.entries else {
            return Ok(None);
        };
        let Some(generation) = self.generation_at(db, now).await? else {
            return Ok(None);
        };
        let Some(value) = self.fresh(entries, &Key { generation, lookup }).await else {
            return Ok(None);
        };
        crate::metrics::read_cache(true, 1);
        Ok(T::unwrap(value))
    }

    /// The value cached under `key` when it is fresh; a stale one is
    /// dropped, so the next load replaces it.
    async fn fresh(&self, entries: &Cache<Key, Stamped>, key: &Key) -> Option<Cached> {
        let hit = entries.get(key).await?;
        if self.stamps.is_fresh(&key.lookup, &hit.value, hit.loaded_at) {
            return Some(hit.value);
        }
        entries.invalidate(key).await;
        None
    }

    /// The value read by `lookup` at `now`: from the cache, or else from
    /// `load`, which is then cached. Concurrent misses on one key run `load`
    /// once.
    pub async fn get_or_load<T, F>(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        lookup: Lookup,
        load: F,
    ) -> AppResult<T>
    where
        T: Cacheable,
        F: Future<Output = AppResult<T>>,
    {
        self.get_or_load_along(db, now, lookup, async {
            load.await.map(|value| (value, Vec::new()))
        })
        .await
    }

    /// As [`Self::get_or_load`], for a `load` that also reads the values of
    /// other lookups in the same statement (an article page's comments and
    /// related teasers with its article): those are cached too, in the
    /// generation of the value they came with, since they were read in the
    /// same snapshot.
    pub async fn get_or_load_along<T, F>(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        lookup: Lookup,
        load: F,
    ) -> AppResult<T>
    where
        T: Cacheable,
        F: Future<Output = AppResult<(T, Vec<(Lookup, Cached)>)>>,
    {
        let Some(entries) = &self.entries else {
            return load.await.map(|(value, _)| value);
        };
        let Some(generation) = self.generation_at(db, now).await? else {
            return load.await.map(|(value, _)| value);
        };
        let key = Key { generation, lookup };
        let wrong_kind = || AppError::Internal("a cache entry of the wrong kind".to_owned());
        if let Some(value) = self.fresh(entries, &key).await {
            crate::metrics::read_cache(true, 1);
            return T::unwrap(value).ok_or_else(wrong_kind);
        }
        let loaded_at = self.stamps.now();
        let mut load = Some(load);
        let missed = std::sync::atomic::AtomicBool::new(false);
        let cached = entries
            .try_get_with(key.clone(), async {
                missed.store(true, std::sync::atomic::Ordering::Relaxed);
                let (value, along) = load.take().ok_or_else(wrong_kind)?.await?;
                for (lookup, other) in along {
                    let other = Stamped {
                        value: other,
                        loaded_at,
                    };
                    entries.insert(Key { generation, lookup }, other).await;
                }
                Ok::<_, AppError>(Stamped {
                    value: value.wrap(),
                    loaded_at,
                })
            })
            .await
            .map_err(AppError::from)?;
        let missed = missed.load(std::sync::atomic::Ordering::Relaxed);
        crate::metrics::read_cache(!missed, 1);
        if !missed
            && !self
                .stamps
                .is_fresh(&key.lookup, &cached.value, cached.loaded_at)
            && let Some(load) = load.take()
        {
            // Another request's load, started before a change, answered
            // for this one: read for this request alone.
            return load.await.map(|(value, _)| value);
        }
        T::unwrap(cached.value).ok_or_else(wrong_kind)
    }

    /// The values of many `keys` at `now`, for loaders that fetch many
    /// in one statement: cached ones from the cache, the rest from one call
    /// of `load` with just those keys, then cached (a key `load` leaves out
    /// gets the default value: no tags, an empty page).
    pub async fn get_or_load_many<K, T, F, Fut>(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
        keys: &[K],
        lookup: impl Fn(&K) -> Lookup,
        load: F,
    ) -> AppResult<HashMap<K, T>>
    where
        K: Clone + Eq + std::hash::Hash,
        T: Cacheable + Clone + Default,
        F: FnOnce(Vec<K>) -> Fut,
        Fut: Future<Output = AppResult<HashMap<K, T>>>,
    {
        let generation = match &self.entries {
            Some(_) => self.generation_at(db, now).await?,
            None => None,
        };
        let live = self.entries.as_ref().zip(generation);
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            let cached = match live {
                Some((entries, generation)) => {
                    let key = Key {
                        generation,
                        lookup: lookup(key),
                    };
                    self.fresh(entries, &key).await.and_then(T::unwrap)
                }
                None => None,
            };
            match cached {
                Some(value) => {
                    found.insert(key.clone(), value);
                }
                None => missing.push(key.clone()),
            }
        }
        if live.is_some() {
            crate::metrics::read_cache(true, found.len());
            crate::metrics::read_cache(false, missing.len());
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let loaded_at = self.stamps.now();
        let mut loaded = load(missing.clone()).await?;
        for key in missing {
            let value = loaded.remove(&key).unwrap_or_default();
            if let Some((entries, generation)) = live {
                let stored = Key {
                    generation,
                    lookup: lookup(&key),
                };
                let value = Stamped {
                    value: value.clone().wrap(),
                    loaded_at,
                };
                entries.insert(stored, value).await;
            }
            found.insert(key, value);
        }
        Ok(found)
    }

    /// The generation entries are read and filled in at `now`, starting a
    /// new one when a scheduled article has come due; `None` when this
    /// request's clock is behind the one the generation's schedule was read
    /// at (a request that started a moment before another): it then reads
    /// the database directly.
    async fn generation_at(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> AppResult<Option<u64>> {
        loop {
            let generation = self.generation.load(Ordering::SeqCst);
            let epoch = self.schedule_epoch.load(Ordering::SeqCst);
            let known = *self
                .schedule
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let schedule = match known {
                Some(schedule) if schedule.generation == generation && schedule.epoch == epoch => {
                    schedule
                }
                _ => {
                    let next_due = next_scheduled(db, now).await?;
                    let mut stored = self
                        .schedule
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    match *stored {
                        // Another request read it first for this generation.
                        Some(existing)
                            if existing.generation == generation && existing.epoch == epoch =>
                        {
                            existing
                        }
                        _ if self.generation.load(Ordering::SeqCst) != generation
                            || self.schedule_epoch.load(Ordering::SeqCst) != epoch =>
                        {
                            continue;
                        }
                        _ => {
                            let schedule = Schedule {
                                generation,
                                epoch,
                                read_at: now,
                                next_due,
                            };
                            *stored = Some(schedule);
                            schedule
                        }
                    }
                }
            };
            if now < schedule.read_at {
                return Ok(None);
            }
            match schedule.next_due {
                Some(due) if due <= now => {
                    // Only the first request to notice moves the generation on.
                    if self
                        .generation
                        .compare_exchange(
                            generation,
                            generation + 1,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        )
                        .is_ok()
                        && let Some(entries) = &self.entries
                    {
                        entries.invalidate_all();
                    }
                }
                _ => return Ok(Some(generation)),
            }
        }
    }
}

/// When the next article scheduled after `now` becomes public, if any.
async fn next_scheduled(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(article::Entity::find()
        .select_only()
        .column(article::Column::PublishedAt)
        .filter(article::Column::Status.eq(ArticleStatus::Published))
        .filter(article::Column::PublishedAt.gt(now))
        .order_by_asc(article::Column::PublishedAt)
        .limit(1)
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn article(body_bytes: usize) -> article::Model {
        article::Model {
            body: "x".repeat(body_bytes),
            ..crate::content::sample_article()
        }
    }

    #[tokio::test]
    async fn a_value_is_loaded_once_until_invalidated() {
        let db = crate::content::test_database().await;
        let cache = ReadCache::new(1 << 20, Duration::from_secs(60), Duration::from_secs(10));
        let loads = AtomicUsize::new(0);
        let load = || async { Ok(loads.fetch_add(1, Ordering::SeqCst) as u64) };
        let now = Utc::now();
        let lookup = || Lookup::Count(ArticleFilter::default());
        assert_eq!(
            cache.get_or_load(&db, now, lookup(), load()).await.ok(),
            Some(0)
        );
        assert_eq!(
            cache.get_or_load(&db, now, lookup(), load()).await.ok(),
            Some(0)
        );
        cache.invalidate();
        assert_eq!(
            cache.get_or_load(&db, now, lookup(), load()).await.ok(),
            Some(1)
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_ranking_by_period_is_counted_again_long_before_other_entries_expire() {
        let db = crate::content::test_database().await;
        let cache = ReadCache::new(1 << 20, Duration::from_secs(60), Duration::from_millis(100));
        let rankings = AtomicUsize::new(0);
        let counts = AtomicUsize::new(0);
        let now = Utc::now();
        let ranking = || Lookup::MostViewed {
            period: ViewPeriod::Week,
            category_ids: None,
            size: 10,
        };
        let count = || Lookup::Count(ArticleFilter::default());
        for _ in 0..2 {
            let ranked = cache
                .get_or_load(&db, now, ranking(), async {
                    rankings.fetch_add(1, Ordering::SeqCst);
                    Ok(Arc::new(Vec::<(Arc<LoadedArticle>, i64)>::new()))
                })
                .await;
            assert!(ranked.is_ok());
            let counted = cache
                .get_or_load(&db, now, count(), async {
                    Ok(counts.fetch_add(1, Ordering::SeqCst) as u64)
                })
                .await;
            assert!(counted.is_ok());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(rankings.load(Ordering::SeqCst), 2, "the ranking expired");
        assert_eq!(
            counts.load(Ordering::SeqCst),
            1,
            "the count is still cached"
        );
    }

    #[tokio::test]
    async fn switched_off_it_always_loads() {
        let db = crate::content::test_database().await;
        let cache = ReadCache::new(0, Duration::from_secs(60), Duration::from_secs(10));
        let loads = AtomicUsize::new(0);
        let now = Utc::now();
        for _ in 0..3 {
            let loaded = cache
                .get_or_load(&db, now, Lookup::AllTags, async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    Ok(Arc::new(Vec::<tag::Model>::new()))
                })
                .await;
            assert!(loaded.is_ok());
        }
        assert_eq!(loads.load(Ordering::SeqCst), 3);
        assert!(!cache.is_enabled());
    }

    #[tokio::test]
    async fn memory_stays_within_its_bound() {
        let db = crate::content::test_database().await;
        let bound = 1 << 20;
        let cache = ReadCache::new(bound, Duration::from_secs(60), Duration::from_secs(10));
        let now = Utc::now();
        // 400 articles of 16 KB: about 6.5 MB offered to a 1 MB cache.
        for _ in 0..400 {
            let model = Arc::new(LoadedArticle::new(article(16 * 1024)));
            let lookup = Lookup::ArticleById(model.id);
            let stored = cache
                .get_or_load(&db, now, lookup, async { Ok(Some(model)) })
                .await;
            assert!(stored.is_ok());
        }
        let entries = cache.entries.as_ref().expect("the cache is on");
        entries.run_pending_tasks().await;
        assert!(
            entries.weighted_size() <= bound,
            "{} bytes held",
            entries.weighted_size()
        );
        assert!(entries.entry_count() > 0);
    }

    #[tokio::test]
    async fn a_scheduled_article_coming_due_starts_a_new_generation() {
        let db = crate::content::test_database().await;
        let cache = ReadCache::new(1 << 20, Duration::from_secs(60), Duration::from_secs(10));
        let now = Utc::now();
        let due = now + chrono::Duration::seconds(60);
        // A section, then an article scheduled a minute ahead.
        let section = crate::content::insert_sample_section(&db).await;
        let mut scheduled = article(10);
        scheduled.category_id = section;
        scheduled.published_at = Some(due);
        sea_orm::ActiveModelTrait::insert(article::ActiveModel::from(scheduled), &db)
            .await
            .expect("an article");

        let before = cache.generation_at(&db, now).await.ok().flatten();
        let still = cache
            .generation_at(&db, now + chrono::Duration::seconds(59))
            .await
            .ok()
            .flatten();
        let after = cache
            .generation_at(&db, due + chrono::Duration::seconds(1))
            .await
            .ok()
            .flatten();
        assert_eq!(before, Some(0));
        assert_eq!(still, Some(0));
        assert_eq!(after, Some(1));
        // A request whose clock is behind the schedule's reads directly.
        assert_eq!(cache.generation_at(&db, now).await.ok().flatten(), None);
    }
}
