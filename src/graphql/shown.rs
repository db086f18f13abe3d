//! What an anonymous response shows, collected while it resolves, as the
//! change feed's keys: each article, section and tag object records its
//! key through an object-wide guard ([`Shows`]) whenever one of its fields
//! is resolved, and each list that a publication could lengthen records
//! [`Key::Lists`]. The HTTP layer turns the keys into cache-tag headers, so
//! a CDN purging a change's keys drops exactly the responses it touched.
//! Where the response shows view counts is collected too, so that a kept
//! copy can have the current counts written in as it is served.

use std::{
    collections::{BTreeSet, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{Context, Guard};
use uuid::Uuid;

use crate::content::{
    cache::{responses::MovesWithViews, surrogate},
    writes::change::Key,
};

/// The keys one request's response shows; in an anonymous request's data
/// only (an editor's answers are never cached by anyone).
#[derive(Default)]
pub struct Shown {
    keys: Mutex<Noted>,
    /// Whether a change to any article may change the response (a search,
    /// a list by last update).
    every_article: AtomicBool,
    /// Where the response shows view counts, and whose.
    counts: Mutex<Vec<CountAt>>,
    /// Whether it holds a list ordered by views, whose order the counts
    /// written in later would contradict.
    ordered_by_views: AtomicBool,
    /// Whether it shows a ranking by period, which written views move.
    period_ranking: AtomicBool,
}

/// A view count in a response: its path (response keys and list indexes)
/// and the article it counts.
#[derive(Debug, Clone)]
pub struct CountAt {
    /// The path from `data` down to the count.
    pub path: Vec<String>,
    /// Whose count it is.
    pub article: Uuid,
}

/// The keys noted so far.
#[derive(Default)]
struct Noted {
    /// The last one: an object's fields are resolved one after another and
    /// each notes the same key, so most notes stop at this comparison.
    last: Option<Key>,
    all: HashSet<Key>,
}

impl Shown {
    /// Notes that the response shows `key`.
    fn add(&self, key: Key) {
        if let Ok(mut noted) = self.keys.lock()
            && noted.last != Some(key)
        {
            noted.last = Some(key);
            noted.all.insert(key);
        }
    }

    /// Where the response shows view counts; none when a list in it is
    /// ordered by views (then it is kept as it is, one flush interval).
    pub fn counts(&self) -> Vec<CountAt> {
        if self.ordered_by_views.load(Ordering::Relaxed) {
            return Vec::new();
        }
        self.counts
            .lock()
            .map(|counts| counts.clone())
            .unwrap_or_default()
    }

    /// What in the response written views move.
    pub fn moves_with_views(&self) -> MovesWithViews {
        MovesWithViews {
            order: self.ordered_by_views.load(Ordering::Relaxed),
            period_ranking: self.period_ranking.load(Ordering::Relaxed),
        }
    }

    /// The response's cache tags, within a header's budget
    /// ([`surrogate::response_keys`]).
    pub fn header_keys(&self) -> Vec<String> {
        let keys: BTreeSet<Key> = self
            .keys
            .lock()
            .map(|noted| noted.all.iter().copied().collect())
            .unwrap_or_default();
        surrogate::response_keys(&keys, self.every_article.load(Ordering::Relaxed))
    }
}

/// Notes that the response shows `key`, when the request collects keys.
pub fn note(ctx: &Context<'_>, key: Key) {
    if let Some(shown) = ctx.data_opt::<std::sync::Arc<Shown>>() {
        shown.add(key);
    }
}

/// Whether the request collects keys (an anonymous one): work done only
/// to name keys is skipped otherwise.
pub fn is_collecting(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<std::sync::Arc<Shown>>().is_some()
}

/// Notes a list that a publication could change (a new article may join
/// it): purged by every change to what is listed.
pub fn note_list(ctx: &Context<'_>) {
    note(ctx, Key::Lists);
}

/// Notes that the response shows `article`'s view count where `ctx`
/// resolves, so a kept copy can have the count written in as it is served.
pub fn note_count(ctx: &Context<'_>, article: Uuid) {
    if let Some(shown) = ctx.data_opt::<std::sync::Arc<Shown>>()
        && let Some(path) = ctx.path_node
        && let Ok(mut counts) = shown.counts.lock()
    {
        counts.push(CountAt {
            path: path.to_string_vec(),
            article,
        });
    }
}

/// `data` with the value at each of `counts`' paths replaced by
/// `placeholder(index)`; `None` when a path leads nowhere or to something
/// other than a number (then no count is written in later).
pub fn with_placeholders(
    data: &async_graphql::Value,
    counts: &[CountAt],
    placeholder: impl Fn(usize) -> i64,
) -> Option<async_graphql::Value> {
    use async_graphql::Value;
    let mut data = data.clone();
    for (index, count) in counts.iter().enumerate() {
        let mut at = &mut data;
        for segment in &count.path {
            at = match at {
                Value::Object(fields) => fields.get_mut(segment.as_str())?,
                Value::List(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        if !matches!(at, Value::Number(_)) {
            return None;
        }
        *at = Value::from(placeholder(index));
    }
    Some(data)
}

/// Notes a list ordered by views: counts written into a kept copy would
/// not match its order.
pub fn note_ordered_by_views(ctx: &Context<'_>) {
    if let Some(shown) = ctx.data_opt::<std::sync::Arc<Shown>>() {
        shown.ordered_by_views.store(true, Ordering::Relaxed);
    }
}

/// Notes a ranking by period (`mostViewed`): a kept copy lives no longer
/// than the ranking does in the read cache.
pub fn note_period_ranking(ctx: &Context<'_>) {
    if let Some(shown) = ctx.data_opt::<std::sync::Arc<Shown>>() {
        shown.period_ranking.store(true, Ordering::Relaxed);
    }
}

/// Notes that a change to any article may change the response.
pub fn note_every_article(ctx: &Context<'_>) {
    if let Some(shown) = ctx.data_opt::<std::sync::Arc<Shown>>() {
        shown.every_article.store(true, Ordering::Relaxed);
    }
}

/// The guard every field of a keyed object passes: it lets every request
/// through and notes the object's key.
pub struct Shows(Key);

impl Shows {
    /// An article object.
    pub fn article(id: Uuid) -> Self {
        Self(Key::Article(id))
    }

    /// A section object.
    pub fn section(id: Uuid) -> Self {
        Self(Key::Section(id))
    }

    /// A tag object.
    pub fn tag(id: Uuid) -> Self {
        Self(Key::Tag(id))
    }
}

impl Guard for Shows {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        note(ctx, self.0);
        Ok(())
    }
}
