//! What an anonymous response shows, collected while it resolves, as the
//! change feed's keys: each article, section and tag object records its
//! key through an object-wide guard ([`Shows`]) whenever one of its fields
//! is resolved, and each list that a publication could lengthen records
//! [`Key::Lists`]. The HTTP layer turns the keys into cache-tag headers, so
//! a CDN purging a change's keys drops exactly the responses it touched.

use std::{
    collections::{BTreeSet, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{Context, Guard};
use uuid::Uuid;

use crate::content::{cache::surrogate, writes::change::Key};

/// The keys one request's response shows; in an anonymous request's data
/// only (an editor's answers are never cached by anyone).
#[derive(Default)]
pub struct Shown {
    keys: Mutex<Noted>,
    /// Whether a change to any article may change the response (a search,
    /// a list by last update).
    every_article: AtomicBool,
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
