//! Page views. A storm of views must not become a storm of writes: each view
//! is added to an in-memory counter per article, and a background task
//! flushes all pending counts in one transaction (one `UPDATE … FROM
//! (VALUES …)` per thousand articles) every interval and at shutdown.
//! Additions commute, so several processes on one database stay exact
//! together. A hard crash loses at most one interval of views.
//!
//! With a zero interval every view is written at once instead.
//!
//! Totals are the stored count plus what is counted here and not yet
//! stored. A flush takes the pending views in one step, counts them as in
//! flight while it writes, and trades them for the stored totals it read
//! back in one step after its commit: it never holds a lock while the
//! database works, so views and counts go on while a flush waits.
//!
//! Stored counts of public articles read lately are remembered, so counting
//! a view or showing a count is done in memory. Views written by other
//! processes show here as each flush commits: on PostgreSQL every flush
//! announces the totals it wrote ([`TOTALS_CHANNEL`]) and every process
//! takes them in ([`ViewCounter::hear_totals`]); on SQLite each process
//! reads back what it remembers every second
//! ([`ViewCounter::refresh_stored`]). Pages that read articles anyway teach
//! the counter their stored counts ([`ViewCounter::learn`]), so showing a
//! count costs no statement of its own.
//!
//! On PostgreSQL a client's repeated view within the window counts once
//! across processes: each flush settles who viewed what against the
//! database's marks ([`crate::content::views::marks`]) and takes back repeats.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use moka::sync::Cache;

use chrono::{DateTime, Utc};
use entity::article;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Set,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::content::{
    articles::visible,
    cache::ReadCache,
    sql::view_counts,
    views::marks::{self, Mark},
};
use crate::error::{AppError, AppResult};

/// Adds each article's views to its stored count, inside `txn`, in one
/// statement per [`DAILY_ROWS_PER_STATEMENT`] articles (an `UPDATE … FROM
/// (VALUES …)`), and to its count for today (see [`add_daily_views`]).
/// Additions commute, so processes flushing at once stay exact.
pub async fn add_views(
    txn: &crate::database::WriteTransaction,
    counts: &[(Uuid, i64)],
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    for chunk in counts.chunks(DAILY_ROWS_PER_STATEMENT) {
        txn.execute_raw(view_counts::add_to_stored(backend, chunk))
            .await?;
    }
    add_daily_views(txn, counts, crate::content::now()).await
}

/// The day `at` falls on (UTC), as days since 1970-01-01: how per-day
/// counts are keyed.
pub fn day_number(at: DateTime<Utc>) -> i32 {
    i32::try_from(at.timestamp().div_euclid(86_400)).unwrap_or(i32::MAX)
}

/// How many articles one per-day statement adds to: three values each,
/// well under SQLite's limit on bound values.
const DAILY_ROWS_PER_STATEMENT: usize = 1_000;

/// Adds each article's views to its count for the day of `at`, inside
/// `txn`: what rankings over a day, week or month sum. Views are dated when
/// they are written, at most one flush interval after they were counted.
pub async fn add_daily_views(
    txn: &crate::database::WriteTransaction,
    counts: &[(Uuid, i64)],
    at: DateTime<Utc>,
) -> AppResult<()> {
    use entity::article_daily_view as daily;
    let day = day_number(at);
    for chunk in counts.chunks(DAILY_ROWS_PER_STATEMENT) {
        let added = Expr::col((daily::Entity, daily::Column::Views))
            .add(Expr::col((Alias::new("excluded"), daily::Column::Views)));
        daily::Entity::insert_many(chunk.iter().map(|(article_id, count)| daily::ActiveModel {
            article_id: Set(*article_id),
            day: Set(day),
            views: Set(*count),
        }))
        .on_conflict(
            OnConflict::columns([daily::Column::ArticleId, daily::Column::Day])
                .value(daily::Column::Views, added)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// Views counted but not yet written.
pub struct ViewCounter {
    db: DatabaseConnection,
    /// Whether views are buffered (a non-zero flush interval).
    buffered: bool,
    /// How often buffered views are written.
    interval: Duration,
    /// Views counted here and not yet stored. Remembered stored counts
    /// change only under this lock too, so a total read under it never
    /// counts a view twice or misses one.
    unstored: Mutex<Unstored>,
    /// Stored counts of public articles, as last read or flushed here; only
    /// used when buffered.
    stored: Cache<Uuid, i64>,
    /// Told when counts are written, since lists by views may reorder.
    read_cache: std::sync::Arc<ReadCache>,
    /// One flush at a time.
    flush_turn: tokio::sync::Mutex<()>,
    /// How many flushes have started and finished: a stored count read
    /// while both are equal and unchanged was read between flushes, so it
    /// holds none of the views in flight.
    flushes_started: AtomicU64,
    flushes_finished: AtomicU64,
    /// Wakes the readers that waited for a flush to finish.
    flush_done: tokio::sync::Notify,
    /// Whether the last flush failed (for `/readyz`).
    flush_failed: AtomicBool,
    /// The view window, when the database settles repeats across processes
    /// (PostgreSQL, see [`crate::content::views::marks`]).
    shared_window: Option<Duration>,
    /// Who viewed what since the last flush, for the database to settle.
    marks: Mutex<Vec<Mark>>,
    /// When old marks were last pruned.
    marks_pruned: Mutex<Instant>,
}

/// The views counted here and not yet stored.
#[derive(Default)]
struct Unstored {
    /// Counted since the last flush took them.
    pending: HashMap<Uuid, i64>,
    /// Taken by the flush writing them now; back to pending if it fails.
    in_flight: HashMap<Uuid, i64>,
    /// Totals other processes announced while a flush ran here, taken in
    /// when it ends (see [`ViewCounter::hear_totals`]).
    heard: Vec<(Uuid, i64)>,
}

impl Unstored {
    /// Views of `article_id` counted here and not yet stored.
    fn of(&self, article_id: &Uuid) -> i64 {
        self.pending.get(article_id).copied().unwrap_or(0)
            + self.in_flight.get(article_id).copied().unwrap_or(0)
    }
}

/// How often a flush also prunes old view marks.
const MARK_PRUNING_INTERVAL: Duration = Duration::from_secs(60);

/// A moment between two flushes, taken before reading stored counts along
/// with other data; see [`ViewCounter::learn`].
#[derive(Clone, Copy, Debug)]
pub struct Steady {
    flushes_started: u64,
}

/// How many articles' stored counts are remembered.
const STORED_COUNTS_HELD: u64 = 100_000;

/// How long an article's stored count is remembered after it was last
/// asked for (announced totals and SQLite's read-backs update it meanwhile).
const STORED_COUNT_IDLE: Duration = Duration::from_secs(10);

pub use crate::content::sql::view_counts::TOTALS_CHANNEL;

/// How often a process on SQLite reads back the stored counts it
/// remembers: several processes on one SQLite file have no notifications.
const SQLITE_REFRESH_EVERY: Duration = Duration::from_secs(1);

/// How many stored counts one refreshing statement reads.
const REFRESH_CHUNK: usize = 1_000;

/// Keeps a remembered count for its idle time after it was last asked
/// for: reading it extends its life, refreshing it does not, so the counts
/// refreshed are those of articles read lately. (Raising a count through
/// moka's `and_compute_with` reads it, so a refresh raises only the counts
/// that grew.)
struct AskedForLately(Duration);

impl moka::Expiry<Uuid, i64> for AskedForLately {
    fn expire_after_create(&self, _: &Uuid, _: &i64, _: Instant) -> Option<Duration> {
        Some(self.0)
    }

    fn expire_after_read(
        &self,
        _: &Uuid,
        _: &i64,
        _: Instant,
        _: Option<Duration>,
        _: Instant,
    ) -> Option<Duration> {
        Some(self.0)
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No published article has this id".to_owned())
}

impl ViewCounter {
    /// A counter over `db`; `interval` zero writes every view at once.
    /// `read_cache` is told whenever counts are written. On PostgreSQL a
    /// non-zero `view_window` is settled across processes by the database.
    pub fn new(
        db: DatabaseConnection,
        interval: Duration,
        view_window: Duration,
        read_cache: std::sync::Arc<ReadCache>,
    ) -> Self {
        Self::remembering(db, interval, view_window, read_cache, STORED_COUNT_IDLE)
    }

    /// [`Self::new`], remembering a stored count for `idle` after it was
    /// last asked for.
    fn remembering(
        db: DatabaseConnection,
        interval: Duration,
        view_window: Duration,
        read_cache: std::sync::Arc<ReadCache>,
        idle: Duration,
    ) -> Self {
        let shared_window = (db.get_database_backend() == DbBackend::Postgres
            && !view_window.is_zero())
        .then_some(view_window);
        Self {
            shared_window,
            marks: Mutex::new(Vec::new()),
            marks_pruned: Mutex::new(Instant::now()),
            db,
            buffered: !interval.is_zero(),
            interval,
            unstored: Mutex::new(Unstored::default()),
            stored: Cache::builder()
                .max_capacity(STORED_COUNTS_HELD)
                .expire_after(AskedForLately(idle))
                .build(),
            read_cache,
            flush_turn: tokio::sync::Mutex::new(()),
            flushes_started: AtomicU64::new(0),
            flushes_finished: AtomicU64::new(0),
            flush_done: tokio::sync::Notify::new(),
            flush_failed: AtomicBool::new(false),
        }
    }

    fn unstored(&self) -> std::sync::MutexGuard<'_, Unstored> {
        // A panic elsewhere while holding the lock leaves plain counts behind,
        // which are still right to use.
        self.unstored
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How often buffered views are written (zero: at once).
    pub fn flush_interval(&self) -> Duration {
        self.interval
    }

    /// Views of `article_id` counted here and not yet stored.
    pub fn pending(&self, article_id: Uuid) -> i64 {
        self.unstored().of(&article_id)
    }

    /// How many flushes have started, when none runs now: a moment between
    /// flushes, to check later with [`Self::quiet_since`].
    fn between_flushes(&self) -> Option<u64> {
        let started = self.flushes_started.load(Ordering::SeqCst);
        (self.flushes_finished.load(Ordering::SeqCst) == started).then_some(started)
    }

    /// Whether no flush runs and none started since `started` (as read
    /// when no flush ran).
    fn quiet_since(&self, started: u64) -> bool {
        self.flushes_started.load(Ordering::SeqCst) == started
            && self.flushes_finished.load(Ordering::SeqCst) == started
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Vec<Mark>> {
        self.marks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one view of a public article by `client` (its key, when views
    /// are told apart by client) and returns its total, this view and
    /// everything still buffered included. On PostgreSQL a view that another
    /// process already counted for this client within the window is taken
    /// back when views are written.
    pub async fn record(
        &self,
        article_id: Uuid,
        client: Option<String>,
        now: DateTime<Utc>,
    ) -> AppResult<i64> {
        let mark = client
            .filter(|_| self.shared_window.is_some())
            .map(|client| (client, article_id));
        if !self.buffered {
            let txn = crate::database::begin_write(&self.db).await?;
            if let (Some(mark), Some(window)) = (mark, self.shared_window)
                && marks::settle(&txn, std::slice::from_ref(&mark), now, window)
                    .await?
                    .is_empty()
            {
                txn.commit().await?;
                return self.current(article_id, now).await;
            }
            let updated = article::Entity::update_many()
                .col_expr(
                    article::Column::ViewCount,
                    Expr::col(article::Column::ViewCount).add(1),
                )
                .filter(article::Column::Id.eq(article_id))
                .filter(visible(now))
                .exec_with_returning(&txn)
                .await?;
            if updated.is_empty() {
                return Err(not_found());
            }
            add_daily_views(&txn, &[(article_id, 1)], now).await?;
            txn.commit().await?;
            self.read_cache.views_written();
            return updated
                .first()
                .map(|article| article.view_count)
                .ok_or_else(not_found);
        }
        let counted = self
            .settled_totals(&[article_id], now, Some((article_id, mark)))
            .await?;
        counted.get(&article_id).copied().ok_or_else(not_found)
    }

    /// A public article's total views without counting one.
    pub async fn current(&self, article_id: Uuid, now: DateTime<Utc>) -> AppResult<i64> {
        self.totals(&[article_id], now)
            .await?
            .get(&article_id)
            .copied()
            .ok_or_else(not_found)
    }

    /// The totals of those of `article_ids` that are public at `now`, in
    /// at most one statement.
    pub async fn totals(
        &self,
        article_ids: &[Uuid],
        now: DateTime<Utc>,
    ) -> AppResult<HashMap<Uuid, i64>> {
        self.settled_totals(article_ids, now, None).await
    }

    /// The totals of those of `article_ids` that are public at `now`: the
    /// stored count (remembered, or the rest read in one statement) plus
    /// the views not yet stored, and, when `count` names an article, one
    /// more view of it counted (with its client's mark). The totals and the
    /// count are taken under one lock, so no flush falls between them; a
    /// flush never holds it while it writes. A stored count read while a
    /// flush ran may or may not hold the flush's views: it is read again
    /// once the flush is done.
    async fn settled_totals(
        &self,
        article_ids: &[Uuid],
        now: DateTime<Utc>,
        count: Option<(Uuid, Option<Mark>)>,
    ) -> AppResult<HashMap<Uuid, i64>> {
        let mut count = count;
        loop {
            let done = self.flush_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            let before = self.between_flushes();
            let missing: Vec<Uuid> = article_ids
                .iter()
                .filter(|id| !self.stored.contains_key(*id))
                .copied()
                .collect();
            let read: Vec<(Uuid, i64)> = if missing.is_empty() {
                Vec::new()
            } else {
                article::Entity::find()
                    .filter(article::Column::Id.is_in(missing.iter().copied()))
                    .filter(visible(now))
                    .select_only()
                    .column(article::Column::Id)
                    .column(article::Column::ViewCount)
                    .into_tuple()
                    .all(&self.db)
                    .await?
            };
            {
                let mut unstored = self.unstored();
                let settled =
                    read.is_empty() || before.is_some_and(|started| self.quiet_since(started));
                if settled {
                    let mut totals = HashMap::with_capacity(article_ids.len());
                    for (id, stored) in &read {
                        if self.buffered {
                            self.stored.insert(*id, *stored);
                        }
                        totals.insert(*id, *stored);
                    }
                    // Remembered a moment ago; one forgotten since (its
                    // article changed) makes the whole read start over.
                    let mut complete = true;
                    for id in article_ids.iter().filter(|id| !missing.contains(id)) {
                        match self.stored.get(id) {
                            Some(stored) => {
                                totals.insert(*id, stored);
                            }
                            None => complete = false,
                        }
                    }
                    if complete {
                        if let Some((article_id, mark)) = count.take()
                            && totals.contains_key(&article_id)
                        {
                            *unstored.pending.entry(article_id).or_insert(0) += 1;
                            if let Some(mark) = mark {
                                self.marks().push(mark);
                            }
                        }
                        for (id, total) in &mut totals {
                            *total += unstored.of(id);
                        }
                        return Ok(totals);
                    }
                }
            }
            if self.between_flushes().is_none() {
                done.await;
            }
        }
    }

    /// Marks a moment between flushes, before a statement reads articles'
    /// stored counts along with what a page shows; `None` when no count
    /// could be learnt from it (views are not buffered, or a flush is
    /// running and would make the read count its views twice or miss them).
    pub fn steady(&self) -> Option<Steady> {
        if !self.buffered {
            return None;
        }
        self.between_flushes()
            .map(|flushes_started| Steady { flushes_started })
    }

    /// Remembers the stored counts of public articles that a statement
    /// started after `steady` read, when no flush has started since: then
    /// each count is exactly what is stored beside this counter's pending
    /// views, as if [`Self::totals`] had read it. Otherwise it learns nothing
    /// and the next total is read by itself.
    pub fn learn(&self, steady: Option<Steady>, counts: impl IntoIterator<Item = (Uuid, i64)>) {
        self.while_steady(steady, || {
            for (id, count) in counts {
                self.stored.insert(id, count);
            }
        });
    }

    /// Runs `remember` when no flush has started since `steady` (and none
    /// runs now), so that what it remembers was read between flushes.
    fn while_steady(&self, steady: Option<Steady>, remember: impl FnOnce()) {
        let Some(steady) = steady else {
            return;
        };
        let _unstored = self.unstored();
        if self.quiet_since(steady.flushes_started) {
            remember();
        }
    }

    /// Forgets the remembered count of one article, so the next read checks
    /// again that it is public: called when it changes.
    pub fn forget(&self, article_id: Uuid) {
        self.stored.invalidate(&article_id);
    }

    /// Forgets remembered counts, so the next read checks again that each
    /// article is public: called when content changes.
    pub fn forget_stored(&self) {
        self.stored.invalidate_all();
    }

    /// Views counted and not yet written, over all articles (for metrics,
    /// read when they are scraped).
    pub fn pending_total(&self) -> i64 {
        let unstored = self.unstored();
        unstored.pending.values().sum::<i64>() + unstored.in_flight.values().sum::<i64>()
    }

    /// Whether the last flush failed.
    pub fn flush_failing(&self) -> bool {
        self.flush_failed.load(Ordering::SeqCst)
    }

    /// Writes every pending count in one transaction; returns how many views
    /// it wrote. On failure the counts stay pending for the next try.
    pub async fn flush(&self) -> AppResult<i64> {
        let flushed = self.flush_once().await;
        self.flush_failed.store(flushed.is_err(), Ordering::SeqCst);
        crate::metrics::view_flush(flushed.is_ok(), *flushed.as_ref().unwrap_or(&0));
        flushed
    }

    /// Flushes at shutdown: tries again, with growing pauses, until it
    /// succeeds or `deadline` passes; then whatever is still pending is
    /// handed back to be kept elsewhere (see [`crate::content::views::spill`]).
    pub async fn flush_before(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<i64, (AppError, HashMap<Uuid, i64>)> {
        let mut pause = Duration::from_millis(100);
        loop {
            match self.flush().await {
                Ok(written) => return Ok(written),
                Err(error) => {
                    if tokio::time::Instant::now() + pause >= deadline {
                        let left = std::mem::take(&mut self.unstored().pending);
                        return Err((error, left));
                    }
                    tracing::warn!(error = %error.log_message(), "could not write the buffered view counts; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn flush_once(&self) -> AppResult<i64> {
        let _turn = self.flush_turn.lock().await;
        // The pending views (and their clients' marks) become the flush's,
        // in one step under the lock: totals go on counting them, as in
        // flight, while the flush writes without holding it.
        let (snapshot, marks) = {
            let mut unstored = self.unstored();
            unstored.pending.retain(|_, count| *count > 0);
            if unstored.pending.is_empty() {
                return Ok(0);
            }
            unstored.in_flight = std::mem::take(&mut unstored.pending);
            self.flushes_started.fetch_add(1, Ordering::SeqCst);
            let snapshot: Vec<(Uuid, i64)> = unstored
                .in_flight
                .iter()
                .map(|(id, count)| (*id, *count))
                .collect();
            (snapshot, std::mem::take(&mut *self.marks()))
        };
        let written = self.write_flush(&snapshot, &marks).await;
        {
            let mut unstored = self.unstored();
            match &written {
                // Remember only counts already remembered: whether an
                // article is public is checked when a count is first read.
                Ok(written) => {
                    for (id, count) in written {
                        if self.stored.contains_key(id) {
                            self.stored.insert(*id, *count);
                        }
                    }
                    unstored.in_flight.clear();
                }
                Err(_) => {
                    for (id, count) in std::mem::take(&mut unstored.in_flight) {
                        *unstored.pending.entry(id).or_insert(0) += count;
                    }
                    self.marks().extend(marks);
                }
            }
            self.take_in_larger(std::mem::take(&mut unstored.heard));
            self.flushes_finished.fetch_add(1, Ordering::SeqCst);
        }
        self.flush_done.notify_waiters();
        written?;
        self.read_cache.views_written();
        self.prune_marks().await;
        Ok(snapshot.iter().map(|(_, count)| count).sum())
    }

    /// Writes one flush's views in one transaction; the stored totals of
    /// the articles it wrote.
    async fn write_flush(
        &self,
        snapshot: &[(Uuid, i64)],
        marks: &[Mark],
    ) -> AppResult<Vec<(Uuid, i64)>> {
        let txn = crate::database::begin_write(&self.db).await?;
        let firsts = match self.shared_window {
            Some(window) if !marks.is_empty() => {
                Self::without_repeats(&txn, snapshot, marks, window).await?
            }
            _ => snapshot.to_vec(),
        };
        add_views(&txn, &firsts).await?;
        let written: Vec<(Uuid, i64)> = article::Entity::find()
            .filter(article::Column::Id.is_in(snapshot.iter().map(|(id, _)| *id)))
            .select_only()
            .column(article::Column::Id)
            .column(article::Column::ViewCount)
            .into_tuple()
            .all(&txn)
            .await?;
        if self.db.get_database_backend() == DbBackend::Postgres {
            for announcement in view_counts::announcements(&written) {
                txn.execute_raw(announcement).await?;
            }
        }
        txn.commit().await?;
        Ok(written)
    }

    /// The `snapshot` counts less the views that another process (or this
    /// one, before its memory of a client expired) already counted for the
    /// same client within the window, as the database's marks tell, in
    /// `txn`.
    async fn without_repeats(
        txn: &crate::database::WriteTransaction,
        snapshot: &[(Uuid, i64)],
        marks: &[Mark],
        window: Duration,
    ) -> AppResult<Vec<(Uuid, i64)>> {
        let mut counts: HashMap<Uuid, i64> = snapshot.iter().copied().collect();
        let mut unique = HashSet::with_capacity(marks.len());
        let mut repeats: Vec<Uuid> = Vec::new();
        for mark in marks {
            if !unique.insert(mark.clone()) {
                repeats.push(mark.1);
            }
        }
        let unique: Vec<Mark> = unique.into_iter().collect();
        let firsts = marks::settle(txn, &unique, crate::content::now(), window).await?;
        repeats.extend(
            unique
                .iter()
                .filter(|mark| !firsts.contains(*mark))
                .map(|(_, article)| *article),
        );
        for article in repeats {
            if let Some(count) = counts.get_mut(&article) {
                *count -= 1;
            }
        }
        Ok(counts.into_iter().filter(|(_, count)| *count > 0).collect())
    }

    /// Deletes view marks older than the window, at most once a minute; a
    /// failure waits for the next time.
    async fn prune_marks(&self) {
        let Some(window) = self.shared_window else {
            return;
        };
        {
            let mut pruned = self
                .marks_pruned
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if pruned.elapsed() < MARK_PRUNING_INTERVAL {
                return;
            }
            *pruned = Instant::now();
        }
        if let Err(error) = marks::prune(&self.db, crate::content::now(), window).await {
            tracing::warn!(error = %error.log_message(), "could not prune old view marks");
        }
    }

    /// Flushes every `interval` until the process ends; failures are logged
    /// and retried at the next tick.
    pub async fn flush_every(&self, interval: Duration) {
        if interval.is_zero() {
            return;
        }
        // The first write is one interval away, not at once.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refreshed = Instant::now();
        loop {
            ticks.tick().await;
            if let Err(error) = self.flush().await {
                tracing::warn!(error = %error.log_message(), "could not write view counts; will retry");
            }
            if self.db.get_database_backend() != DbBackend::Postgres
                && refreshed.elapsed() >= SQLITE_REFRESH_EVERY
            {
                refreshed = Instant::now();
                if let Err(error) = self.refresh_stored().await {
                    tracing::warn!(error = %error.log_message(), "could not read the stored view counts; will retry");
                }
            }
        }
    }

    /// Reads again the stored counts of the articles read lately, so that
    /// views other processes wrote become the base of this one's answers
    /// within an interval; an article no longer public is forgotten. A
    /// count is only updated, never added: one forgotten meanwhile (its
    /// article changed) is read afresh when next asked for.
    pub async fn refresh_stored(&self) -> AppResult<()> {
        if !self.buffered {
            return Ok(());
        }
        // Iterating is not a read: it leaves each count's idle time running.
        let remembered: Vec<(Uuid, i64)> =
            self.stored.iter().map(|(id, count)| (*id, count)).collect();
        for chunk in remembered.chunks(REFRESH_CHUNK) {
            let steady = self.steady();
            let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
            let statement = view_counts::stored_again(
                self.db.get_database_backend(),
                &ids,
                crate::content::now(),
            );
            let mut read: HashMap<Uuid, i64> = self
                .db
                .query_all_raw(statement)
                .await?
                .iter()
                .map(view_counts::stored_of_row)
                .collect::<Result<_, sea_orm::DbErr>>()?;
            for (id, remembered) in chunk {
                match read.get(id) {
                    None => self.stored.invalidate(id),
                    // Raising reads the count, which would keep it
                    // remembered though nobody asks for it.
                    Some(stored) if stored <= remembered => {
                        read.remove(id);
                    }
                    Some(_) => {}
                }
            }
            self.relearn(steady, read);
        }
        Ok(())
    }

    /// Takes in the stored totals another process (or this one) wrote, as
    /// its flush announced them on PostgreSQL ([`TOTALS_CHANNEL`]), for the
    /// articles whose counts are remembered here. Stored counts only grow,
    /// so the larger of the remembered and the announced one is the later.
    /// While a flush of this process runs, an announced total may already
    /// hold the views it has in flight: it is kept, and taken in when the
    /// flush ends. Never waits, so the listener goes on hearing changes.
    pub fn hear_totals(&self, announced: &str) {
        let totals = view_counts::parse_announcement(announced);
        let mut unstored = self.unstored();
        if self.between_flushes().is_some() {
            self.take_in_larger(totals);
        } else {
            unstored.heard.extend(totals);
        }
    }

    /// Raises each remembered count to the total given for it, if larger.
    /// Call it under the `unstored` lock.
    fn take_in_larger(&self, totals: impl IntoIterator<Item = (Uuid, i64)>) {
        for (id, total) in totals {
            self.stored
                .entry(id)
                .and_compute_with(|remembered| match remembered {
                    Some(entry) if *entry.value() < total => moka::ops::compute::Op::Put(total),
                    _ => moka::ops::compute::Op::Nop,
                });
        }
    }

    /// [`Self::learn`] for counts already remembered only.
    fn relearn(&self, steady: Option<Steady>, counts: HashMap<Uuid, i64>) {
        self.while_steady(steady, || self.take_in_larger(counts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refreshed_count_nobody_asks_for_is_forgotten() {
        let db = crate::content::test_database().await;
        let now = crate::content::now();
        let section = crate::content::insert_sample_section(&db).await;
        let article = entity::article::Model {
            category_id: section,
            published_at: Some(now - chrono::Duration::hours(1)),
            view_count: 5,
            ..crate::content::sample_article()
        };
        let id = article.id;
        sea_orm::ActiveModelTrait::insert(entity::article::ActiveModel::from(article), &db)
            .await
            .expect("an article");
        let cache = std::sync::Arc::new(ReadCache::new(
            0,
            Duration::from_secs(60),
            Duration::from_secs(10),
        ));
        let idle = Duration::from_millis(300);
        let counter =
            ViewCounter::remembering(db, Duration::from_millis(250), Duration::ZERO, cache, idle);
        counter.learn(counter.steady(), [(id, 5)]);
        assert!(counter.stored.contains_key(&id));
        // Refreshed more often than its idle time, and never asked for.
        for _ in 0..6 {
            tokio::time::sleep(idle / 3).await;
            assert!(counter.refresh_stored().await.is_ok());
        }
        counter.stored.run_pending_tasks();
        assert!(
            !counter.stored.contains_key(&id),
            "refreshing kept a count nobody asked for"
        );
    }
}
