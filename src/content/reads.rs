//! What readers' pages read, as use cases: each one looks in the read
//! cache, loads what is missing once for every request that asks at the
//! same moment, and teaches the view counter the stored counts it read on
//! the way. The GraphQL layer parses arguments, checks roles and looks
//! ahead, then calls one of these; the methods live beside their noun
//! (`articles/reads.rs`, `articles/page.rs`, `comments`, `sections`,
//! `tags`).

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::content::{
    cache::{Cacheable, Lookup, ReadCache},
    search::shares::SharesMemo,
    sections::SectionsMemo,
    views::counter::ViewCounter,
};
use crate::error::AppResult;

/// The stores a reader's request reads from, at one moment.
#[derive(Clone, Copy)]
pub struct Reads<'a> {
    /// Where everything is stored.
    pub db: &'a DatabaseConnection,
    /// What public pages read, kept in memory.
    pub cache: &'a ReadCache,
    /// Learns the stored counts that statements read anyway.
    pub views: &'a ViewCounter,
    /// The section trees remembered by version.
    pub sections: &'a SectionsMemo,
    /// How common the search index's words are.
    pub word_shares: &'a SharesMemo,
    /// The request's moment: what is public is public at this time.
    pub now: DateTime<Utc>,
}

impl Reads<'_> {
    /// What `lookup` holds when it is cached and fresh, loading nothing: a
    /// field that batches its misses looks here first, so a warm page never
    /// waits for a batch.
    pub async fn cached<T: Cacheable>(&self, lookup: Lookup) -> AppResult<Option<T>> {
        self.cache.cached(self.db, self.now, lookup).await
    }
}
