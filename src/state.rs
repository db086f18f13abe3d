//! What every request shares: the database and the settings resolvers need.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::{
    config::Config,
    content::{
        abuse::AbuseGuard,
        category::SectionsMemo,
        change::Change,
        comment::CommentPolicy,
        feed::{self, Apply, Feed},
        read_cache::ReadCache,
        staleness::{self, Dep},
        view_counter::ViewCounter,
    },
};

/// The server's shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool; cheap to clone, held by value.
    pub db: DatabaseConnection,
    /// Whether a new comment waits for a moderator or is published at once.
    pub comment_policy: CommentPolicy,
    /// Mixed into the hash of a commenter's address so it cannot be reversed.
    fingerprint_secret: String,
    /// Rate limits and view windows for readers' mutations.
    pub abuse: Arc<AbuseGuard>,
    /// Views counted in memory until the next flush.
    pub views: Arc<ViewCounter>,
    /// What public pages read, kept in memory until a write changes it.
    pub cache: Arc<ReadCache>,
    /// The last section tree read, reused while its version is current.
    pub sections: Arc<SectionsMemo>,
    /// This process's place in the change feed.
    pub feed: Arc<Feed>,
    /// Set when a request failed on the database; `/readyz` then proves a
    /// write before it says ready again.
    writes_suspect: Arc<AtomicBool>,
}

impl AppState {
    /// State for a connected database under `config`, following the change
    /// feed from change `feed_start` on, hashing clients' addresses with
    /// `fingerprint_secret`.
    pub fn new(
        db: DatabaseConnection,
        config: &Config,
        feed_start: feed::Start,
        fingerprint_secret: String,
    ) -> Self {
        let cache = Arc::new(ReadCache::new(
            config.read_cache_mb.saturating_mul(1024 * 1024),
            config.read_cache_ttl,
        ));
        let views = Arc::new(ViewCounter::new(
            db.clone(),
            config.view_flush_interval,
            config.view_window,
            Arc::clone(&cache),
        ));
        Self {
            db: db.clone(),
            comment_policy: config.comment_policy,
            fingerprint_secret,
            abuse: Arc::new(AbuseGuard::new(
                config.comments_per_client_per_minute,
                config.comments_per_article_per_minute,
                config.view_window,
            )),
            feed: Arc::new(Feed::new(db.clone(), feed_start, forget(&cache, &views))),
            views,
            cache,
            sections: Arc::default(),
            writes_suspect: Arc::default(),
        }
    }

    /// Called after every write that may change what readers see: clears
    /// the read cache and the remembered view counts (which also stand for
    /// "this article is public").
    pub fn content_changed(&self) {
        self.cache.invalidate();
        self.views.forget_stored();
    }

    /// Applies the change feed up to the latest change: what a write calls
    /// before its response leaves, so the writer reads its own write.
    pub async fn catch_up(&self) -> crate::error::AppResult<usize> {
        self.feed.catch_up().await
    }

    /// A keyed hash of a client's address, stored with its comments so that a
    /// moderator can see which came from one sender without the raw IP ever
    /// being kept.
    pub fn client_fingerprint(&self, client: std::net::IpAddr) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.fingerprint_secret.as_bytes());
        hasher.update([0]);
        hasher.update(client.to_string().as_bytes());
        let digest = hasher.finalize();
        hex::encode(&digest[..16])
    }
}

/// What following the feed does here: a change readers can see makes stale
/// what it touched in the read cache, and forgets the remembered view counts
/// of the articles it names (which also stand for "this article is
/// public"). An import may have touched anything: everything goes.
fn forget(cache: &Arc<ReadCache>, views: &Arc<ViewCounter>) -> Apply {
    let cache = Arc::clone(cache);
    let views = Arc::clone(views);
    Arc::new(move |changes: &[Change]| {
        for change in changes.iter().filter(|change| change.is_public()) {
            if change.kind == "site.imported" {
                cache.invalidate();
                views.forget_stored();
                continue;
            }
            let deps = staleness::deps_of_change(&change.kind, &change.keys);
            for dep in &deps {
                if let Dep::Article(id) = dep {
                    views.forget(*id);
                }
            }
            cache.forget(deps);
        }
    })
}

impl AppState {
    /// Notes that a request failed on the database, so that readiness is
    /// proven by a write before it is claimed again.
    pub fn database_failed(&self) {
        self.writes_suspect.store(true, Ordering::SeqCst);
    }

    /// Whether the database answers and, after a failure (of a request or a
    /// view flush), takes a write again; for `/readyz`. A write that works
    /// clears the suspicion, so readiness comes back by itself.
    pub async fn is_ready(&self) -> bool {
        if self.db.ping().await.is_err() {
            return false;
        }
        if !self.writes_suspect.load(Ordering::SeqCst) && !self.views.flush_failing() {
            return true;
        }
        match crate::database::probe_write(&self.db).await {
            Ok(()) => {
                self.writes_suspect.store(false, Ordering::SeqCst);
                true
            }
            Err(error) => {
                tracing::warn!(error = %error.log_message(), "not ready: the database refuses writes");
                false
            }
        }
    }
}
