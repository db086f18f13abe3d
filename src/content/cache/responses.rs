//! Whole answers to anonymous queries, kept in memory as the HTTP layer
//! encoded them, by everything that makes them differ (the document or its
//! hash, the operation, the variables, the media type). A hit skips
//! parsing, validation, execution and encoding.
//!
//! Never stale: each change readers can see drops the answers that show
//! what it touched, by the same cache tags a CDN purges
//! ([`ResponseCache::purge`], called as the change feed is applied, before
//! a writer's response leaves). An answer showing view counts is kept as a
//! template with a placeholder where each count goes ([`count_slots`]),
//! and the current counts are written in as it is served ([`fill_counts`]);
//! one whose counts cannot be placed so lives one view flush interval. An
//! answer worked out while a change was applied is not kept (a generation
//! number tells).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::sync::Cache;

/// One answer as the HTTP layer sends it.
#[derive(Debug)]
pub struct KeptResponse {
    /// The body.
    pub body: bytes::Bytes,
    /// Its media type, as the HTTP layer names it.
    pub media: &'static str,
    /// Its entity tag.
    pub tag: String,
    /// The operation it answers, as metrics name it.
    pub operation: Option<String>,
    /// How long it may be kept ([`ResponseCache::lives_for`]).
    pub lives: Duration,
    /// The cache tags of what it shows
    /// ([`crate::content::cache::surrogate`]): sent with it, and what drops
    /// it.
    pub keys: Vec<String>,
    /// Where the body holds view counts, to be written in as it is served
    /// (then `body` is a template and `tag` unused); empty when it holds
    /// none, or they are kept as they were (for one flush interval).
    pub counts: Vec<CountSlot>,
    /// The body last served with counts written in, kept while the counts
    /// stay the same (a hot page between views).
    pub filled: std::sync::Mutex<Option<Filled>>,
}

/// A template's body with counts written in, and what it was made from.
#[derive(Debug, Clone)]
pub struct Filled {
    /// The counts, slot by slot.
    pub totals: Vec<i64>,
    /// The body.
    pub body: bytes::Bytes,
    /// Its entity tag.
    pub tag: String,
}

/// One view count in a kept answer's body: the bytes a placeholder takes,
/// and whose count goes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountSlot {
    /// Where the placeholder starts.
    pub at: usize,
    /// How long it is.
    pub len: usize,
    /// The article whose total it stands for.
    pub article: uuid::Uuid,
}

/// The placeholder for the `index`th view count of an answer being kept: a
/// number no article reaches, as JSON writes it.
pub fn count_placeholder(index: usize) -> i64 {
    -7_777_777_777_777_000_000 - i64::try_from(index).unwrap_or(0)
}

/// Where every placeholder begins, as JSON writes it: what
/// [`count_placeholder`] numbers all start with.
const PLACEHOLDER_START: &[u8] = b"-7777777777777";

/// Finds the placeholders `count_placeholder(0..articles.len())` in
/// `template`, in one pass, each exactly once; `None` when one is missing
/// or repeated (the answer is then kept as it is).
pub fn count_slots(template: &[u8], articles: &[uuid::Uuid]) -> Option<Vec<CountSlot>> {
    let mut found: Vec<Option<CountSlot>> = vec![None; articles.len()];
    let mut from = 0;
    while let Some(offset) = template
        .get(from..)?
        .windows(PLACEHOLDER_START.len())
        .position(|window| window == PLACEHOLDER_START)
    {
        let at = from + offset;
        let len = 1 + template
            .get(at + 1..)?
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        from = at + len;
        // Another number that starts alike (in a title, say) is left be.
        let Some(index) = std::str::from_utf8(template.get(at..at + len)?)
            .ok()
            .and_then(|digits| digits.parse::<i64>().ok())
            .and_then(|number| usize::try_from(count_placeholder(0) - number).ok())
            .filter(|index| *index < articles.len())
        else {
            continue;
        };
        if found[index].is_some() {
            return None;
        }
        found[index] = Some(CountSlot {
            at,
            len,
            article: articles[index],
        });
    }
    let mut slots: Vec<CountSlot> = found.into_iter().collect::<Option<_>>()?;
    slots.sort_by_key(|slot| slot.at);
    Some(slots)
}

/// `template` with each slot's placeholder replaced by its article's count
/// in `totals`; `None` when one is missing (the article is no longer
/// public: the answer must be worked out again).
pub fn fill_counts(
    template: &[u8],
    slots: &[CountSlot],
    totals: &std::collections::HashMap<uuid::Uuid, i64>,
) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(template.len());
    let mut from = 0;
    for slot in slots {
        let total = totals.get(&slot.article)?;
        body.extend_from_slice(template.get(from..slot.at)?);
        body.extend_from_slice(total.to_string().as_bytes());
        from = slot.at + slot.len;
    }
    body.extend_from_slice(template.get(from..)?);
    Some(body)
}

/// What in an answer written views move, though no change in the feed
/// says so: it lives no longer than what it shows is kept for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovesWithViews {
    /// A list ordered by all-time views, read again after every flush of
    /// the view counter.
    pub order: bool,
    /// A ranking by period (`mostViewed`), counted again after the ranking
    /// time to live.
    pub period_ranking: bool,
}

/// Answers of anonymous queries; off when made with no memory.
pub struct ResponseCache {
    entries: Option<Cache<String, Arc<KeptResponse>>>,
    /// Moves on every clear, so an answer worked out across one is dropped.
    generation: AtomicU64,
    /// The longest an answer lives (the read cache's: changes reach both
    /// through the feed, so it bounds only changes behind newsroom's back).
    longest: Duration,
    /// The longest an answer showing a ranking by period lives.
    ranking: Duration,
    /// The longest an answer that may show a view count lives: the view
    /// flush interval.
    with_counts: Duration,
}

/// Per-entry lifetimes.
struct Lives;

impl moka::Expiry<String, Arc<KeptResponse>> for Lives {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<KeptResponse>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.lives)
    }

    /// An answer worked out again replaces the kept one for its own life.
    fn expire_after_update(
        &self,
        _key: &String,
        value: &Arc<KeptResponse>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.lives)
    }
}

impl ResponseCache {
    /// A cache holding at most `bytes` of answers (0: off), each for at most
    /// `longest`, `ranking` when it shows a ranking by period, and
    /// `with_counts` when it may show a view count.
    pub fn new(bytes: u64, longest: Duration, ranking: Duration, with_counts: Duration) -> Self {
        let entries = (bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(bytes)
                .weigher(|key: &String, value: &Arc<KeptResponse>| {
                    u32::try_from(key.len() + value.body.len() + value.tag.len() + 64)
                        .unwrap_or(u32::MAX)
                })
                .expire_after(Lives)
                .support_invalidation_closures()
                .build()
        });
        Self {
            entries,
            generation: AtomicU64::new(0),
            longest,
            ranking: ranking.min(longest),
            with_counts: with_counts.min(longest),
        }
    }

    /// `lives`, shortened for an answer that written views `moves`: one
    /// ordered by views lives one flush interval, one showing a ranking by
    /// period the ranking's time to live.
    pub fn capped(&self, lives: Duration, moves: MovesWithViews) -> Duration {
        let mut lives = lives;
        if moves.order {
            lives = lives.min(self.with_counts);
        }
        if moves.period_ranking {
            lives = lives.min(self.ranking);
        }
        lives
    }

    /// How long the answer to `query` (its text; empty for a persisted
    /// query sent by hash alone) may be kept: one that may show a view
    /// count, at most one view flush interval, unless its counts are
    /// written in as it is served ([`ResponseCache::longest`]).
    pub fn lives_for(&self, query: &str) -> Duration {
        if query.is_empty() || query.contains("viewCount") {
            self.with_counts
        } else {
            self.longest
        }
    }

    /// How long an answer may be kept whose view counts are written in as
    /// it is served.
    pub fn longest(&self) -> Duration {
        self.longest
    }

    /// Whether answers are kept at all.
    pub fn is_on(&self) -> bool {
        self.entries.is_some()
    }

    /// The answer kept for `key`.
    pub fn get(&self, key: &str) -> Option<Arc<KeptResponse>> {
        self.entries.as_ref()?.get(key)
    }

    /// The generation to pass to [`ResponseCache::keep`] for an answer
    /// about to be worked out.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps an answer worked out since `generation` for its `lives` (nothing
    /// when a clear came in between, or `lives` is zero).
    pub fn keep(&self, key: String, answer: KeptResponse, generation: u64) {
        let Some(entries) = &self.entries else {
            return;
        };
        if answer.lives.is_zero() || self.generation() != generation {
            return;
        }
        entries.insert(key.clone(), Arc::new(answer));
        // A clear between the check and the insert: drop it again.
        if self.generation() != generation {
            entries.invalidate(&key);
        }
    }

    /// Drops the answers tagged with one of `keys` (a change's purge keys,
    /// [`crate::content::cache::surrogate::purge_keys`]), and those
    /// carrying no tag at all.
    pub fn purge(&self, keys: &[String]) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Some(entries) = &self.entries else {
            return;
        };
        let keys: std::collections::HashSet<String> = keys.iter().cloned().collect();
        let touched = move |_: &String, answer: &Arc<KeptResponse>| {
            answer.keys.is_empty() || answer.keys.iter().any(|key| keys.contains(key))
        };
        if entries.invalidate_entries_if(touched).is_err() {
            // Cannot happen (closures are enabled above); be safe anyway.
            entries.invalidate_all();
        }
    }

    /// Drops every answer: something readers can see changed.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(entries) = &self.entries {
            entries.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(cache: &ResponseCache, key: &str, generation: u64) {
        keep_tagged(cache, key, generation, &["lists"]);
    }

    fn keep_tagged(cache: &ResponseCache, key: &str, generation: u64, keys: &[&str]) {
        let answer = KeptResponse {
            body: bytes::Bytes::from_static(b"{}"),
            media: "application/json",
            tag: "\"t\"".to_owned(),
            operation: None,
            lives: Duration::from_secs(10),
            keys: keys.iter().map(|key| (*key).to_owned()).collect(),
            counts: Vec::new(),
            filled: std::sync::Mutex::default(),
        };
        cache.keep(key.to_owned(), answer, generation);
    }

    #[test]
    fn a_purge_drops_the_answers_tagged_with_its_keys_and_untagged_ones() {
        let cache = ResponseCache::new(
            1024 * 1024,
            Duration::from_secs(10),
            Duration::from_secs(5),
            Duration::from_secs(1),
        );
        let generation = cache.generation();
        keep_tagged(&cache, "home", generation, &["lists", "article:a"]);
        keep_tagged(&cache, "page-b", generation, &["article:b"]);
        keep_tagged(&cache, "untagged", generation, &[]);
        cache.purge(&["article:a".to_owned()]);
        assert!(cache.get("home").is_none());
        assert!(cache.get("untagged").is_none());
        assert!(cache.get("page-b").is_some());
        // An answer worked out across the purge is not kept.
        keep_tagged(&cache, "page-c", generation, &["article:c"]);
        assert!(cache.get("page-c").is_none());
    }

    #[test]
    fn an_answer_worked_out_across_a_clear_is_not_kept() {
        let cache = ResponseCache::new(
            1024 * 1024,
            Duration::from_secs(10),
            Duration::from_secs(5),
            Duration::from_secs(1),
        );
        let before = cache.generation();
        keep(&cache, "a", before);
        assert!(cache.get("a").is_some());
        cache.clear();
        assert!(cache.get("a").is_none());
        keep(&cache, "b", before);
        assert!(cache.get("b").is_none());
        keep(&cache, "b", cache.generation());
        assert!(cache.get("b").is_some());
    }

    #[test]
    fn answers_that_may_show_view_counts_live_one_flush_interval() {
        let cache = ResponseCache::new(
            1024,
            Duration::from_secs(10),
            Duration::from_secs(5),
            Duration::from_millis(250),
        );
        assert_eq!(cache.lives_for("{ a { title } }"), Duration::from_secs(10));
        assert_eq!(
            cache.lives_for("{ a { viewCount } }"),
            Duration::from_millis(250)
        );
        assert_eq!(cache.lives_for(""), Duration::from_millis(250));
        // Written views move a list ordered by them, and a ranking by
        // period, without a change in the feed.
        let long = Duration::from_secs(10);
        let moves = |order, period_ranking| MovesWithViews {
            order,
            period_ranking,
        };
        assert_eq!(cache.capped(long, moves(false, false)), long);
        assert_eq!(
            cache.capped(long, moves(true, false)),
            Duration::from_millis(250)
        );
        assert_eq!(
            cache.capped(long, moves(false, true)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn counts_are_written_into_their_slots_as_served() {
        let one = uuid::Uuid::now_v7();
        let two = uuid::Uuid::now_v7();
        let articles: Vec<uuid::Uuid> = (0..12).map(|i| if i == 1 { two } else { one }).collect();
        let mut template = String::from("{\"data\":[");
        for index in 0..12 {
            template.push_str(&format!("{{\"viewCount\":{}}},", count_placeholder(index)));
        }
        template.push_str("{\"title\":\"-7777777777777000099 in a title\"}]}");
        let slots = count_slots(template.as_bytes(), &articles).unwrap();
        assert_eq!(slots.len(), 12);
        let totals = std::collections::HashMap::from([(one, 5), (two, 1234)]);
        let body =
            String::from_utf8(fill_counts(template.as_bytes(), &slots, &totals).unwrap()).unwrap();
        assert!(
            body.starts_with(
                "{\"data\":[{\"viewCount\":5},{\"viewCount\":1234},{\"viewCount\":5},"
            )
        );
        assert!(body.ends_with("{\"title\":\"-7777777777777000099 in a title\"}]}"));
        // An article no longer public: worked out again.
        assert!(
            fill_counts(
                template.as_bytes(),
                &slots,
                &std::collections::HashMap::from([(one, 5)])
            )
            .is_none()
        );
        // A placeholder that appears twice cannot be told apart.
        let twice = format!("{template}{}", count_placeholder(3));
        assert!(count_slots(twice.as_bytes(), &articles).is_none());
    }

    #[test]
    fn off_keeps_nothing() {
        let cache = ResponseCache::new(
            0,
            Duration::from_secs(10),
            Duration::from_secs(5),
            Duration::from_secs(1),
        );
        keep(&cache, "a", cache.generation());
        assert!(cache.get("a").is_none());
        assert!(!cache.is_on());
    }
}
