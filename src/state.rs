//! What every request shares: the database and the settings resolvers need.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::content::{
    cache::ReadCache,
    cache::responses::ResponseCache,
    cache::staleness::{self, Dep},
    cache::surrogate,
    comments::CommentPolicy,
    comments::abuse::AbuseGuard,
    search::{SearchSettings, shares::SharesMemo},
    sections::SectionsMemo,
    views::counter::ViewCounter,
    webhooks::delivery::WebhookSettings,
    writes::change::Change,
    writes::feed::{self, Apply, Feed},
    writes::listeners::ChangeListeners,
};

/// The server's shared state: one allocation behind an `Arc`, so that the
/// clones a request makes (its loaders, a view's spawned count) cost one
/// reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
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
    /// Whole answers to anonymous queries, dropped by the cache tags each
    /// public change purges.
    pub responses: Arc<ResponseCache>,
    /// The last section tree read, reused while its version is current.
    pub sections: Arc<SectionsMemo>,
    /// How common the search index's words are, as the database last
    /// counted them (PostgreSQL searches choose their plan by it).
    pub word_shares: Arc<SharesMemo>,
    /// This process's place in the change feed.
    pub feed: Arc<Feed>,
    /// Who in this process hears the changes the feed brings (live
    /// subscriptions).
    pub listeners: ChangeListeners,
    /// How webhooks are checked and sent.
    pub webhooks: WebhookSettings,
    /// How far a search ranks, and how long its statements may run.
    pub search: SearchSettings,
    /// Set when a request failed on the database; `/readyz` then proves a
    /// write before it says ready again.
    writes_suspect: AtomicBool,
    /// Told when the server stops taking requests; holds the count of
    /// long-lived connections the stop waits for.
    pub stopping: Arc<Stopping>,
}

/// The process's stop as long-lived connections (WebSockets) see it: they
/// are told when the server stops taking requests, so each says goodbye
/// (close 1001) and clients reconnect elsewhere rather than finding the
/// connection cut; and they are counted, so the stop can wait for them.
pub struct Stopping {
    told: tokio::sync::watch::Sender<bool>,
    open: std::sync::atomic::AtomicUsize,
    closed: tokio::sync::Notify,
}

impl Default for Stopping {
    fn default() -> Self {
        Self {
            told: tokio::sync::watch::Sender::new(false),
            open: std::sync::atomic::AtomicUsize::new(0),
            closed: tokio::sync::Notify::new(),
        }
    }
}

/// One long-lived connection counted by [`Stopping`]; dropping it says it
/// closed.
pub struct HeldOpen(Arc<Stopping>);

impl Drop for HeldOpen {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

impl Stopping {
    /// Tells every long-lived connection that the server is stopping.
    pub fn begin(&self) {
        self.told.send_replace(true);
    }

    /// Completes once the server is stopping.
    pub async fn begun(&self) {
        let mut told = self.told.subscribe();
        // An error means the sender is gone, which it never is while
        // `self` lives; wait forever then.
        if told.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Counts a long-lived connection until the result is dropped.
    pub fn hold_open(self: &Arc<Self>) -> HeldOpen {
        self.open.fetch_add(1, Ordering::SeqCst);
        HeldOpen(Arc::clone(self))
    }

    /// Waits until every counted connection closed, at most `limit`;
    /// whether they all did.
    pub async fn all_closed_within(&self, limit: std::time::Duration) -> bool {
        tokio::time::timeout(limit, async {
            loop {
                let closed = self.closed.notified();
                if self.open.load(Ordering::SeqCst) == 0 {
                    return;
                }
                closed.await;
            }
        })
        .await
        .is_ok()
    }
}

/// The settings the shared state is made with, as plain values: the
/// configuration is read at the edge (`Config::state_settings`) and handed
/// down.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What happens to a new comment.
    pub comment_policy: CommentPolicy,
    /// The read cache's memory bound, in bytes (0: off).
    pub read_cache_bytes: u64,
    /// The response cache's memory bound, in bytes (0: off).
    pub response_cache_bytes: u64,
    /// How long a read cache entry, or a kept answer, lives at most.
    pub read_cache_ttl: std::time::Duration,
    /// How long a ranking by period, or a kept answer showing one, lives.
    pub ranking_ttl: std::time::Duration,
    /// How often buffered views are written (0: at once).
    pub view_flush_interval: std::time::Duration,
    /// A client's repeated views within it count once (0: every view).
    pub view_window: std::time::Duration,
    /// Comments one client may send a minute (0: no limit).
    pub comments_per_client_per_minute: u32,
    /// Comments one article may receive a minute (0: no limit).
    pub comments_per_article_per_minute: u32,
    /// Where the process starts in the change feed.
    pub feed_start: feed::Start,
    /// Mixed into the hashes of clients' addresses.
    pub fingerprint_secret: String,
    /// How webhooks are checked and sent.
    pub webhooks: WebhookSettings,
    /// How many batches of changes may wait for a live subscription.
    pub live_backlog: usize,
    /// How far a search ranks, and how long its statements may run.
    pub search: SearchSettings,
}

impl AppState {
    /// The stores readers' pages read from, at `now` (see
    /// [`crate::content::reads`]).
    pub fn reads(&self, now: chrono::DateTime<chrono::Utc>) -> crate::content::reads::Reads<'_> {
        crate::content::reads::Reads {
            db: &self.db,
            cache: &self.cache,
            views: &self.views,
            sections: &self.sections,
            word_shares: &self.word_shares,
            now,
        }
    }

    /// State for a connected database made with `settings`.
    pub fn new(db: DatabaseConnection, settings: Settings) -> Self {
        let Settings {
            comment_policy,
            read_cache_bytes,
            response_cache_bytes,
            read_cache_ttl,
            ranking_ttl,
            view_flush_interval,
            view_window,
            comments_per_client_per_minute,
            comments_per_article_per_minute,
            feed_start,
            fingerprint_secret,
            webhooks,
            live_backlog,
            search,
        } = settings;
        let cache = Arc::new(ReadCache::new(
            read_cache_bytes,
            read_cache_ttl,
            ranking_ttl,
        ));
        let listeners = ChangeListeners::with_room(live_backlog);
        listeners.start_at(feed_start.applied);
        let responses = Arc::new(ResponseCache::new(
            response_cache_bytes,
            read_cache_ttl,
            ranking_ttl,
            view_flush_interval,
        ));
        let views = Arc::new(ViewCounter::new(
            db.clone(),
            view_flush_interval,
            view_window,
            Arc::clone(&cache),
        ));
        Self(Arc::new(Shared {
            db: db.clone(),
            comment_policy,
            fingerprint_secret,
            abuse: Arc::new(AbuseGuard::new(
                comments_per_client_per_minute,
                comments_per_article_per_minute,
                view_window,
            )),
            feed: Arc::new(Feed::new(
                db.clone(),
                feed_start,
                forget_then_tell(&cache, &responses, &views, &listeners),
                Arc::clone(&views),
            )),
            listeners,
            views,
            cache,
            responses,
            sections: Arc::default(),
            word_shares: Arc::default(),
            webhooks,
            search,
            writes_suspect: AtomicBool::new(false),
            stopping: Arc::default(),
        }))
    }

    /// Called after every write that may change what readers see: clears
    /// the read cache and the remembered view counts (which also stand for
    /// "this article is public").
    pub fn content_changed(&self) {
        self.cache.invalidate();
        self.responses.clear();
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
/// public"). An import may have touched anything: everything goes. Then
/// whole answers kept for anonymous queries go when tagged with a key the
/// change purges: in that order, since an answer worked out between the two
/// would be kept, and built from the read cache as it was. Then the
/// process's listeners hear every change, public or not.
fn forget_then_tell(
    cache: &Arc<ReadCache>,
    responses: &Arc<ResponseCache>,
    views: &Arc<ViewCounter>,
    listeners: &ChangeListeners,
) -> Apply {
    let cache = Arc::clone(cache);
    let responses = Arc::clone(responses);
    let views = Arc::clone(views);
    let listeners = listeners.clone();
    Arc::new(move |changes: &[Change]| {
        for change in changes.iter().filter(|change| change.is_public()) {
            // The read cache first: an answer worked out after the purge
            // below may be kept, so it must not be built from entries
            // this change makes stale.
            if change.kind == "site.imported" {
                cache.invalidate();
                views.forget_stored();
            } else {
                let deps = staleness::deps_of_change(&change.kind, &change.keys);
                for dep in &deps {
                    if let Dep::Article(id) = dep {
                        views.forget(*id);
                    }
                }
                cache.forget(deps);
            }
            let purged = surrogate::purge_keys(&change.keys);
            if change.kind == "site.imported" || purged.is_empty() {
                responses.clear();
            } else {
                responses.purge(&purged);
            }
        }
        listeners.tell(changes);
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
