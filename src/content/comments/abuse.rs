//! Readers' mutations under abuse: per-client and per-article comment rate
//! limits, one counted view per client and article within a window, and
//! telling known bots apart. Everything here is kept in memory, keyed by the
//! hashed client address: exact for one process (SQLite). On PostgreSQL,
//! where several processes may serve, the comment limits are counted by the
//! database instead ([`crate::content::comments::SharedLimits`]).

use std::{num::NonZeroU32, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The limits a server applies to readers.
pub struct AbuseGuard {
    /// The limits as configured, for the database to apply on PostgreSQL.
    shared: crate::content::comments::SharedLimits,
    comments_by_client: Option<DefaultKeyedRateLimiter<String>>,
    comments_by_article: Option<DefaultKeyedRateLimiter<Uuid>>,
    /// Comments admitted and then not stored (the database refused them
    /// for a moment), given back within the limits' minute: a retry is not
    /// charged twice. `governor` has no way to return a cell, so the credit
    /// is kept beside it.
    client_credits: moka::sync::Cache<String, u32>,
    article_credits: moka::sync::Cache<Uuid, u32>,
    recent_views: Option<moka::sync::Cache<(String, Uuid), ()>>,
}

/// How many distinct (client, article) views are remembered at most.
const REMEMBERED_VIEWS: u64 = 1_000_000;

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl AbuseGuard {
    /// Guards with these limits; a zero turns the limit off.
    pub fn new(
        comments_per_client_per_minute: u32,
        comments_per_article_per_minute: u32,
        view_window: Duration,
    ) -> Self {
        Self {
            shared: crate::content::comments::SharedLimits {
                per_client: comments_per_client_per_minute,
                per_article: comments_per_article_per_minute,
            },
            comments_by_client: limiter(comments_per_client_per_minute),
            comments_by_article: limiter(comments_per_article_per_minute),
            client_credits: credits(),
            article_credits: credits(),
            recent_views: (!view_window.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(REMEMBERED_VIEWS)
                    .time_to_live(view_window)
                    .build()
            }),
        }
    }

    /// Lets a comment from `client` on `article` through, or answers
    /// `RATE_LIMITED` with how long to wait. Other clients are unaffected by
    /// one client's limit. A comment that is then not stored is given back
    /// with [`Self::refund_comment`].
    pub fn admit_comment(&self, client: &str, article: Uuid) -> AppResult<()> {
        let clock = DefaultClock::default();
        if let Some(limiter) = &self.comments_by_client
            && let Err(wait) = limiter.check_key(&client.to_owned())
            && !take_credit(&self.client_credits, &client.to_owned())
        {
            crate::metrics::rate_limited("client");
            return Err(AppError::RateLimited {
                message: "You are sending comments too quickly".to_owned(),
                retry_after: wait.wait_time_from(clock.now()),
            });
        }
        if let Some(limiter) = &self.comments_by_article
            && let Err(wait) = limiter.check_key(&article)
            && !take_credit(&self.article_credits, &article)
        {
            // The client's share was taken for a comment that is refused.
            if self.comments_by_client.is_some() {
                give_credit(&self.client_credits, client.to_owned());
            }
            crate::metrics::rate_limited("article");
            return Err(AppError::RateLimited {
                message: "This article is receiving too many comments; try again shortly"
                    .to_owned(),
                retry_after: wait.wait_time_from(clock.now()),
            });
        }
        Ok(())
    }

    /// The comment limits, for the database to count (PostgreSQL).
    pub fn shared_limits(&self) -> crate::content::comments::SharedLimits {
        self.shared
    }

    /// Gives back what [`Self::admit_comment`] took for a comment that was
    /// not stored after all.
    pub fn refund_comment(&self, client: &str, article: Uuid) {
        if self.comments_by_client.is_some() {
            give_credit(&self.client_credits, client.to_owned());
        }
        if self.comments_by_article.is_some() {
            give_credit(&self.article_credits, article);
        }
    }

    /// Forgets that `client` viewed `article`, when its view could not be
    /// counted after all: the next view counts.
    pub fn forget_view(&self, client: &str, article: Uuid) {
        if let Some(recent) = &self.recent_views {
            recent.invalidate(&(client.to_owned(), article));
        }
    }

    /// Whether views are told apart by client (a non-zero window).
    pub fn remembers_views(&self) -> bool {
        self.recent_views.is_some()
    }

    /// Whether this view of `article` by `client` is the first within the
    /// window, and so counts.
    pub fn first_view(&self, client: &str, article: Uuid) -> bool {
        let Some(recent) = &self.recent_views else {
            return true;
        };
        let entry = recent.entry((client.to_owned(), article)).or_insert(());
        entry.is_fresh()
    }
}

/// An empty set of refund credits, each kept for the limits' minute.
fn credits<K: std::hash::Hash + Eq + Send + Sync + Clone + 'static>() -> moka::sync::Cache<K, u32> {
    moka::sync::Cache::builder()
        .max_capacity(REMEMBERED_VIEWS)
        .time_to_live(Duration::from_secs(60))
        .build()
}

/// Uses one credit of `key`, if it has any.
fn take_credit<K: std::hash::Hash + Eq + Send + Sync + Clone + 'static>(
    credits: &moka::sync::Cache<K, u32>,
    key: &K,
) -> bool {
    let mut taken = false;
    credits
        .entry(key.clone())
        .and_compute_with(|entry| match entry {
            Some(entry) if *entry.value() > 0 => {
                taken = true;
                moka::ops::compute::Op::Put(entry.into_value() - 1)
            }
            _ => moka::ops::compute::Op::Nop,
        });
    taken
}

/// Adds one credit to `key`.
fn give_credit<K: std::hash::Hash + Eq + Send + Sync + Clone + 'static>(
    credits: &moka::sync::Cache<K, u32>,
    key: K,
) {
    credits.entry(key).and_compute_with(|entry| {
        moka::ops::compute::Op::Put(entry.map_or(1, |entry| entry.into_value().saturating_add(1)))
    });
}

/// The crawlers, preview fetchers, monitors and HTTP libraries of the
/// `isbot` list (kept up to date by its maintainers from real traffic),
/// compiled into one expression once.
static BOTS: std::sync::LazyLock<isbot::Bots> = std::sync::LazyLock::new(isbot::Bots::default);

/// Whether a user agent is a known bot, whose views are not counted.
pub fn is_bot(user_agent: Option<&str>) -> bool {
    user_agent.is_some_and(|agent| BOTS.is_bot(agent))
}

/// How many links a comment holds; many links mark likely spam.
pub fn link_count(body: &str) -> usize {
    let lower = body.to_lowercase();
    ["http://", "https://", "www."]
        .iter()
        .map(|mark| lower.matches(mark).count())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawlers_and_scripts_are_bots_and_readers_browsers_are_not() {
        for bot in [
            "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
            "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
            "Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "facebookexternalhit/1.1",
            "curl/8.5.0",
            "python-requests/2.31.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        ] {
            assert!(is_bot(Some(bot)), "{bot}");
        }
        for reader in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN",
            "Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.5195.136 Mobile Safari/537.36 UCBrowser/15.5.0.1247",
        ] {
            assert!(!is_bot(Some(reader)), "{reader}");
        }
        assert!(!is_bot(None));
    }

    #[test]
    fn a_client_over_its_limit_is_told_when_to_retry_and_others_are_not_blocked() {
        let guard = AbuseGuard::new(2, 100, Duration::ZERO);
        let article = Uuid::now_v7();
        assert!(guard.admit_comment("a", article).is_ok());
        assert!(guard.admit_comment("a", article).is_ok());
        match guard.admit_comment("a", article) {
            Err(AppError::RateLimited { retry_after, .. }) => {
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(60));
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(guard.admit_comment("b", article).is_ok());
    }

    #[test]
    fn a_refunded_comment_does_not_count_against_the_limits() {
        let guard = AbuseGuard::new(2, 100, Duration::ZERO);
        let article = Uuid::now_v7();
        assert!(guard.admit_comment("a", article).is_ok());
        assert!(guard.admit_comment("a", article).is_ok());
        guard.refund_comment("a", article);
        assert!(guard.admit_comment("a", article).is_ok());
        assert!(guard.admit_comment("a", article).is_err());
    }

    #[test]
    fn an_article_has_its_own_limit_across_clients() {
        let guard = AbuseGuard::new(100, 2, Duration::ZERO);
        let article = Uuid::now_v7();
        assert!(guard.admit_comment("a", article).is_ok());
        assert!(guard.admit_comment("b", article).is_ok());
        assert!(guard.admit_comment("c", article).is_err());
        assert!(guard.admit_comment("c", Uuid::now_v7()).is_ok());
    }

    #[test]
    fn a_view_counts_once_per_client_and_article_within_the_window() {
        let guard = AbuseGuard::new(0, 0, Duration::from_secs(60));
        let article = Uuid::now_v7();
        assert!(guard.first_view("a", article));
        assert!(!guard.first_view("a", article));
        assert!(guard.first_view("b", article));
        assert!(guard.first_view("a", Uuid::now_v7()));
        let counting_all = AbuseGuard::new(0, 0, Duration::ZERO);
        assert!(counting_all.first_view("a", article) && counting_all.first_view("a", article));
    }

    #[test]
    fn bots_are_told_apart_from_browsers() {
        assert!(is_bot(Some("Mozilla/5.0 (compatible; Googlebot/2.1)")));
        assert!(is_bot(Some("Baiduspider-render/2.0")));
        assert!(is_bot(Some("curl/8.5.0")));
        assert!(!is_bot(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0"
        )));
        assert!(!is_bot(None));
    }

    #[test]
    fn links_are_counted() {
        assert_eq!(
            link_count("see https://a.example and www.b.example, HTTP://c"),
            3
        );
        assert_eq!(link_count("没有链接"), 0);
    }
}
