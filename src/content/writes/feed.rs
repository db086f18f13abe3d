//! Following the change feed: each server process applies the feed's
//! changes in sequence order from the last one it applied, whoever wrote
//! them. The process that wrote a change catches up before its response
//! leaves ([`Feed::catch_up`]), so a client reads its own write at once;
//! the others hear of it through `LISTEN` on PostgreSQL, and every process
//! also looks at the table on a short interval, so a lost notification or a
//! dropped listening connection delays a change but never loses it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    DatabaseConnection, DbBackend,
    sqlx::postgres::{PgListener, PgPoolOptions},
};
use tokio::sync::Mutex;

use crate::content::views::counter::{TOTALS_CHANNEL, ViewCounter};
use crate::content::writes::change::{self, CHANNEL, Change};
use crate::error::AppResult;

/// How many changes one read of the table brings.
const BATCH: u64 = 500;

/// How often old changes are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// What a process does with the changes it follows: drop what it cached.
pub type Apply = Arc<dyn Fn(&[Change]) + Send + Sync>;

/// Where a process starts in the feed.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// The latest change ([`change::latest`]) as it starts: nothing is
    /// cached yet, so nothing before needs applying.
    pub applied: i64,
    /// Up to when scheduled publications were announced
    /// ([`change::announce_due`], run once before serving).
    pub announced: DateTime<Utc>,
}

/// One process's place in the feed.
pub struct Feed {
    db: DatabaseConnection,
    /// The last change applied here.
    applied: AtomicI64,
    /// Up to when scheduled publications were announced as it started.
    announced: DateTime<Utc>,
    /// One catch-up at a time, so changes are applied in order, once.
    turn: Mutex<()>,
    apply: Apply,
    /// Takes in the view totals other processes' flushes announce.
    views: Arc<ViewCounter>,
}

impl Feed {
    /// A process's place in the feed as it starts.
    /// `apply` applies changes here; `views` hears the view totals that
    /// flushes announce on PostgreSQL.
    pub fn new(
        db: DatabaseConnection,
        start: Start,
        apply: Apply,
        views: Arc<ViewCounter>,
    ) -> Self {
        Self {
            db,
            applied: AtomicI64::new(start.applied),
            announced: start.announced,
            turn: Mutex::new(()),
            apply,
            views,
        }
    }

    /// The last change applied here.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// Applies every change committed after the last one applied; returns
    /// how many.
    pub async fn catch_up(&self) -> AppResult<usize> {
        let _turn = self.turn.lock().await;
        let mut total = 0;
        loop {
            let changes = change::after(&self.db, self.applied(), BATCH).await?;
            let Some(last) = changes.last().map(|change| change.seq) else {
                return Ok(total);
            };
            (self.apply)(&changes);
            self.applied.store(last, Ordering::SeqCst);
            total += changes.len();
            if (changes.len() as u64) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Follows the feed until the task is aborted: on PostgreSQL, catches
    /// up on every notification and after every reconnection of the
    /// listening connection; everywhere, every `poll` as well. Announces
    /// scheduled articles as they come due, and every hour prunes changes
    /// older than `retention`.
    pub async fn follow(self: Arc<Self>, poll: Duration, retention: Duration) {
        let following = async {
            if self.db.get_database_backend() == DbBackend::Postgres {
                self.follow_notifications(poll).await;
            } else {
                self.poll_forever(poll).await;
            }
        };
        tokio::join!(
            following,
            self.prune_forever(retention),
            self.announce_forever(poll)
        );
    }

    /// Deletes old changes every [`PRUNE_EVERY`]. Every process does it:
    /// the deletes are idempotent and cheap (an index on the time).
    async fn prune_forever(&self, retention: Duration) {
        let mut ticks = tokio::time::interval(PRUNE_EVERY);
        loop {
            ticks.tick().await;
            let Ok(age) = chrono::Duration::from_std(retention) else {
                return;
            };
            match change::prune(&self.db, crate::content::now() - age).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned old changes from the feed"),
                Err(error) => {
                    tracing::warn!(error = %error.log_message(), "cannot prune the change feed")
                }
            }
        }
    }

    /// Catches up every `poll`.
    async fn poll_forever(&self, poll: Duration) {
        // The place in the feed was read as the process started: the first
        // look is due one interval later.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
        loop {
            ticks.tick().await;
            self.catch_up_logged().await;
        }
    }

    /// Listens on the feed's channel, catching up on each notification,
    /// when the connection comes back and every `poll`.
    async fn follow_notifications(&self, poll: Duration) {
        let mut listened_before = false;
        loop {
            let mut listener = match self.listen().await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for changes; polling until it can");
                    tokio::time::sleep(poll).await;
                    self.catch_up_logged().await;
                    continue;
                }
            };
            // Whatever was committed while nobody listened; view totals
            // announced meanwhile are lost, so remembered counts are read
            // afresh.
            if listened_before {
                self.views.forget_stored();
            }
            listened_before = true;
            self.catch_up_logged().await;
            loop {
                match tokio::time::timeout(poll, listener.try_recv()).await {
                    Ok(Ok(Some(notification))) if notification.channel() == TOTALS_CHANNEL => {
                        self.views.hear_totals(notification.payload());
                    }
                    // A change, or the poll interval passed.
                    Ok(Ok(Some(_))) | Err(_) => self.catch_up_logged().await,
                    // The connection dropped and sqlx reconnected: what was
                    // announced meanwhile is lost, the table is not.
                    Ok(Ok(None)) => {
                        self.views.forget_stored();
                        self.catch_up_logged().await;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "the change listener failed; listening again");
                        break;
                    }
                }
            }
        }
    }

    /// A listening connection of its own, subscribed to the channel. It is
    /// opened beside the pool, not taken from it: a listener holds its
    /// connection for good, and requests would have one fewer.
    async fn listen(&self) -> Result<PgListener, sea_orm::sqlx::Error> {
        let options = self.db.get_postgres_connection_pool().connect_options();
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*options).clone());
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen_all([CHANNEL, TOTALS_CHANNEL]).await?;
        Ok(listener)
    }

    /// [`Feed::catch_up`], with a failure logged (the next try repeats it).
    async fn catch_up_logged(&self) {
        if let Err(error) = self.catch_up().await {
            tracing::warn!(error = %error.log_message(), "cannot read the change feed; trying again");
        }
    }

    /// Announces scheduled articles as they come due, checking every
    /// `poll` (one indexed read when none did), so the feed says
    /// `article.published` when readers can first see them.
    async fn announce_forever(&self, poll: Duration) {
        let mut announced = self.announced;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
        loop {
            ticks.tick().await;
            match change::announce_due(&self.db, Some(announced), crate::content::now()).await {
                Ok(until) => announced = until,
                Err(error) => {
                    tracing::warn!(error = %error.log_message(), "cannot announce scheduled articles; trying again");
                }
            }
        }
    }
}
