//! Which changes make a read cache entry stale, so that a change drops only
//! what it touches: a comment approved on one article leaves the other
//! articles' pages cached, an edited title leaves the lists it is not in.
//!
//! Every change that the feed brings stamps what it touches ([`Dep`]) with
//! a number that only grows. Every entry remembers the number current when
//! its load started; an entry that depends on something stamped later is
//! stale. Checking at read time, not dropping at change time, also catches a
//! load that started before a change and finished after it, which dropping
//! would miss. Stamps are kept for a little longer than entries live.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use uuid::Uuid;

use crate::content::{
    articles::ArticleOrder,
    cache::{Cached, Lookup},
};

/// Something cached values depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dep {
    /// One article: its row, tags, comments and counts.
    Article(Uuid),
    /// Which articles are public, where they are filed and tagged, and in
    /// which order by publication: every list, ranking, neighbour and
    /// related set, and lookups that found nothing.
    Lists,
    /// The section tree.
    Sections,
    /// Tags: their names and slugs.
    Tags,
    /// When articles last changed (lists in `updatedAt` order or filtered
    /// by it).
    Updated,
    /// How many comments articles have (lists by comments).
    CommentCounts,
}

/// How much longer than entries stamps are kept: more than any load takes.
const STAMP_MARGIN: Duration = Duration::from_secs(60);

/// How many stamps are kept at most. Past it they are all dropped at once
/// and everything loaded before counts as stale: a bounded cache evicting
/// one stamp at a time would make the entries that depend on it look
/// fresh.
const MOST_STAMPS: u64 = 500_000;

/// The stamps of recent changes.
pub struct Stamps {
    /// The number of the last change applied.
    counter: AtomicU64,
    /// Entries loaded before it are stale: the counter when the stamps
    /// were last dropped for being too many.
    floor: AtomicU64,
    stamped: moka::sync::Cache<Dep, u64>,
    most: u64,
}

impl Stamps {
    /// Stamps kept while entries living `time_to_live` may still be read.
    pub fn new(time_to_live: Duration) -> Self {
        Self::keeping(time_to_live, MOST_STAMPS)
    }

    /// Stamps kept for `time_to_live`, at most `most` of them.
    fn keeping(time_to_live: Duration, most: u64) -> Self {
        Self {
            counter: AtomicU64::new(0),
            floor: AtomicU64::new(0),
            // Room beyond `most`, so that none is evicted before all are
            // dropped.
            stamped: moka::sync::Cache::builder()
                .max_capacity(most.saturating_mul(2))
                .time_to_live(time_to_live.saturating_add(STAMP_MARGIN))
                .build(),
            most,
        }
    }

    /// The number a load starting now remembers.
    pub fn now(&self) -> u64 {
        self.counter.load(Ordering::SeqCst)
    }

    /// Stamps `deps` as changed now.
    pub fn stamp(&self, deps: impl IntoIterator<Item = Dep>) {
        let at = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        if self.stamped.entry_count() >= self.most {
            // Too many to keep: everything loaded before now is stale, so
            // the stamps dropped are not needed.
            self.stamped.invalidate_all();
            self.floor
                .fetch_max(self.counter.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        for dep in deps {
            self.stamped.insert(dep, at);
        }
    }

    /// Whether a value read by `lookup`, loaded when the counter stood at
    /// `loaded_at`, depends on nothing stamped since.
    pub fn is_fresh(&self, lookup: &Lookup, value: &Cached, loaded_at: u64) -> bool {
        if loaded_at >= self.now() {
            return true;
        }
        if loaded_at < self.floor.load(Ordering::SeqCst) {
            return false;
        }
        let changed_since = |dep: Dep| self.stamped.get(&dep).is_some_and(|at| at > loaded_at);
        !depends_on(lookup, value, changed_since)
    }
}

/// Whether the value read by `lookup` depends on a dep for which `changed`
/// says yes.
fn depends_on(lookup: &Lookup, value: &Cached, changed: impl Fn(Dep) -> bool) -> bool {
    let by_lookup = match lookup {
        Lookup::ArticleBySlug(_) | Lookup::ArticleById(_) => changed(Dep::Tags),
        Lookup::Sections => changed(Dep::Sections),
        Lookup::AllTags | Lookup::TagBySlug(_) => changed(Dep::Tags) || changed(Dep::Lists),
        Lookup::TagsOf(article) => changed(Dep::Tags) || changed(Dep::Article(*article)),
        Lookup::Related { article, .. } | Lookup::Neighbour { article, .. } => {
            changed(Dep::Lists) || changed(Dep::Article(*article))
        }
        Lookup::Comments { article, .. } => changed(Dep::Article(*article)),
        Lookup::Articles { filter, order, .. } => {
            changed(Dep::Lists)
                || ((*order == ArticleOrder::RecentlyUpdated || filter.updated_since.is_some())
                    && changed(Dep::Updated))
                || (*order == ArticleOrder::MostCommented && changed(Dep::CommentCounts))
        }
        Lookup::FirstPage(page) => {
            changed(Dep::Lists)
                || (page.order == ArticleOrder::RecentlyUpdated && changed(Dep::Updated))
                || (page.order == ArticleOrder::MostCommented && changed(Dep::CommentCounts))
        }
        Lookup::Count(filter) => {
            changed(Dep::Lists) || (filter.updated_since.is_some() && changed(Dep::Updated))
        }
        Lookup::MostViewed { .. } => changed(Dep::Lists),
        // Any article's words may have changed (an edit stamps Updated),
        // or a tag's name, or what is public.
        Lookup::Search { .. } | Lookup::SearchCount { .. } => {
            changed(Dep::Lists) || changed(Dep::Updated) || changed(Dep::Tags)
        }
    };
    by_lookup || contents_changed(value, &changed)
}

/// Whether an article inside `value` changed, or, for a lookup that found
/// nothing, whether what is public did.
fn contents_changed(value: &Cached, changed: &impl Fn(Dep) -> bool) -> bool {
    let article = |id: Uuid| changed(Dep::Article(id));
    match value {
        Cached::Article(Some(loaded)) => article(loaded.id),
        Cached::Article(None) | Cached::Tag(None) => changed(Dep::Lists),
        Cached::Articles(page) => page.items.iter().any(|a| article(a.id)),
        Cached::Related(articles) => articles.iter().any(|a| article(a.id)),
        Cached::Ranked(ranked) => ranked.iter().any(|(a, _)| article(a.id)),
        Cached::Search(page) => page.hits.iter().any(|hit| article(hit.article.id)),
        Cached::Sections(_)
        | Cached::Tags(_)
        | Cached::Tag(Some(_))
        | Cached::Comments(_)
        | Cached::Count(_) => false,
    }
}

/// What a change of the feed touches, from its kind and keys (`article:<id>`,
/// `section:<id>`, `tag:<id>`, `lists`).
pub fn deps_of_change(kind: &str, keys: &[String]) -> Vec<Dep> {
    let mut deps = Vec::new();
    for key in keys {
        match key.split_once(':') {
            Some(("article", id)) => {
                if let Ok(id) = Uuid::parse_str(id) {
                    deps.push(Dep::Article(id));
                }
            }
            // An article's section or tag: what is listed under it.
            Some(("section" | "tag", _)) => deps.push(Dep::Lists),
            _ if key == "lists" => deps.push(Dep::Lists),
            _ => {}
        }
    }
    if kind.starts_with("section.") {
        deps.push(Dep::Sections);
    }
    if kind.starts_with("tag.") {
        deps.push(Dep::Tags);
    }
    if kind.starts_with("article.") {
        deps.push(Dep::Updated);
    }
    if kind.starts_with("comment.") {
        deps.push(Dep::CommentCounts);
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_makes_stale_only_what_was_loaded_before_it() {
        let stamps = Stamps::new(Duration::from_secs(10));
        let one = Uuid::now_v7();
        let other = Uuid::now_v7();
        let comments = |article| Lookup::Comments {
            article,
            window: crate::content::cursor::Window::first(10),
        };
        let empty = Cached::Count(0);
        let before = stamps.now();
        stamps.stamp([Dep::Article(one)]);
        assert!(!stamps.is_fresh(&comments(one), &empty, before));
        assert!(stamps.is_fresh(&comments(other), &empty, before));
        assert!(stamps.is_fresh(&comments(one), &empty, stamps.now()));
        assert!(stamps.is_fresh(&Lookup::Sections, &empty, before));
    }

    #[test]
    fn too_many_changes_make_everything_loaded_before_them_stale() {
        let stamps = Stamps::keeping(Duration::from_secs(3600), 10);
        let untouched = Lookup::Comments {
            article: Uuid::now_v7(),
            window: crate::content::cursor::Window::first(10),
        };
        let empty = Cached::Count(0);
        let before = stamps.now();
        for _ in 0..30 {
            stamps.stamp([Dep::Article(Uuid::now_v7())]);
            stamps.stamped.run_pending_tasks();
        }
        assert!(
            !stamps.is_fresh(&untouched, &empty, before),
            "its stamp may have been among those dropped"
        );
        assert!(stamps.is_fresh(&untouched, &empty, stamps.now()));
        assert!(stamps.stamped.entry_count() <= 20);
    }

    #[test]
    fn changes_say_what_they_touch() {
        let id = Uuid::now_v7();
        let deps = deps_of_change("comment.approved", &[format!("article:{id}")]);
        assert_eq!(deps, [Dep::Article(id), Dep::CommentCounts]);
        let deps = deps_of_change(
            "section.changed",
            &[format!("section:{id}"), "lists".into()],
        );
        assert!(deps.contains(&Dep::Sections) && deps.contains(&Dep::Lists));
        let deps = deps_of_change("article.updated", &[format!("article:{id}")]);
        assert_eq!(
            deps,
            [Dep::Article(id), Dep::Updated],
            "a title edit leaves lists alone"
        );
    }
}
