//! Full-text search over published articles, in Chinese and English:
//! what a reader's query means ([`query`]), keeping the index true
//! ([`index`]), and marking what matched ([`highlight`]). The statements
//! live in [`crate::content::sql::search`].
//!
//! Results come best first, ties by recency then id, and pages resume
//! from an opaque [`SearchCursor`] that also fixes the moment the recency
//! boost was measured from (the start of the minute the search began), so
//! every page of one search ranks alike, and a popular query asked again
//! within the minute is answered from the read cache
//! ([`Reads::search_page`]) until a change to what is public, an article's
//! text or a tag's name makes it stale.

pub mod highlight;
pub mod index;
pub mod query;
pub mod shares;

use std::{collections::HashMap, sync::Arc};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use entity::article;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    content::{
        articles::{ArticleFilter, loaded::LoadedArticle, visible},
        cache::Lookup,
        reads::Reads,
        sql::search as statements,
    },
    database::{IndexReads, query_all_by_index_within},
    error::{AppError, AppResult},
    fault::DbFault,
};
use query::SearchQuery;
use shares::WordShares;

/// How searches run on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchSettings {
    /// How many of a search's newest matches are ranked; older ones
    /// follow by recency.
    pub ranked_matches: u64,
    /// How many matches a search's count visits at most: a word every
    /// article holds would otherwise be counted at every article.
    pub counted_matches: u64,
    /// How long one search statement may run (PostgreSQL), which also
    /// reads from the full-text index wherever it serves
    /// ([`crate::database::IndexReads`]).
    pub statement_timeout: std::time::Duration,
}

/// How many articles a search matches, as far as it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchCount {
    /// The matches counted: all of them, or the most a count visits.
    pub counted: u64,
    /// Whether `counted` is all of them; when not, more match.
    pub is_exact: bool,
}

impl MatchCount {
    /// What a count of up to one past `most` rows says.
    pub fn of(rows: u64, most: u64) -> Self {
        Self {
            counted: rows.min(most),
            is_exact: rows <= most,
        }
    }
}

/// Characters of body text a hit's excerpt shows.
pub const EXCERPT_CHARS: usize = 120;

/// Where a page of results ends: the moment the search ranked from, and
/// the last hit's score, publication time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchCursor {
    /// The ranking's moment (microseconds since the epoch).
    pub as_of: i64,
    /// The hit's score, in millionths.
    pub score: i64,
    /// When the hit was published.
    pub published_at: DateTime<Utc>,
    /// The hit's id.
    pub id: Uuid,
}

impl SearchCursor {
    /// The opaque string a client sees.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "s:{}:{}:{}:{}",
            self.as_of,
            self.score,
            self.published_at.timestamp_micros(),
            self.id.simple()
        ))
    }

    /// Reads a client's `after`: `BAD_USER_INPUT` naming `after` when it
    /// is not a search cursor this server made.
    pub fn parse(text: &str) -> AppResult<Self> {
        Self::decode(text).ok_or_else(|| {
            AppError::bad_input("after", "`after` is not a cursor of a search's results")
        })
    }

    fn decode(text: &str) -> Option<Self> {
        if text.len() > 160 {
            return None;
        }
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = plain.split(':');
        if parts.next()? != "s" {
            return None;
        }
        let as_of = parts.next()?.parse().ok()?;
        let score = parts.next()?.parse().ok()?;
        let published_at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let id = Uuid::try_parse(parts.next()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            as_of,
            score,
            published_at,
            id,
        })
    }
}

/// One search, as a reader asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Search {
    /// The query, read.
    pub query: SearchQuery,
    /// Which articles may match (section, tag, dates).
    pub filter: ArticleFilter,
    /// The ranking's moment: the first page's, carried by its cursors.
    pub as_of: DateTime<Utc>,
    /// How far it ranks and how long it may run (the server's settings).
    pub settings: SearchSettings,
}

/// One result.
#[derive(Clone)]
pub struct Hit {
    /// The article, whole.
    pub article: Arc<LoadedArticle>,
    /// Where the hit stands, for the next page.
    pub cursor: SearchCursor,
    /// The headline, escaped, with matches marked.
    pub title: String,
    /// Body text around the best match, escaped and marked (or the
    /// summary's, or the start of the body when only the title matched).
    pub excerpt: String,
}

impl Hit {
    /// The hit's relevance with its recency boost.
    pub fn score(&self) -> f64 {
        self.cursor.score as f64 / 1_000_000.0
    }
}

/// A page of results.
pub struct SearchPage {
    /// The hits, best first.
    pub hits: Vec<Hit>,
    /// Whether more follow.
    pub has_next_page: bool,
}

impl Search {
    /// Reads the reader's query and filter: a new search ranks as of the
    /// start of `now`'s minute, a continued one as of its cursor's moment;
    /// `settings` say how many of the newest matches are ranked.
    pub fn new(
        text: &str,
        filter: ArticleFilter,
        after: Option<&SearchCursor>,
        now: DateTime<Utc>,
        settings: SearchSettings,
    ) -> AppResult<Self> {
        let as_of = match after {
            Some(cursor) => DateTime::from_timestamp_micros(cursor.as_of)
                .ok_or_else(|| AppError::bad_input("after", "`after` is out of range"))?,
            None => now
                .duration_trunc(TimeDelta::minutes(1))
                .map_err(|error| AppError::Internal(format!("the clock: {error}")))?,
        };
        Ok(Self {
            query: SearchQuery::parse(text)?,
            filter,
            as_of,
            settings,
        })
    }

    /// Up to `first` results after `after`, public at `now`; `shares`
    /// say how common the words are, which decides on PostgreSQL where
    /// the ranking's bound is read from.
    pub async fn page(
        &self,
        db: &DatabaseConnection,
        shares: &WordShares,
        first: u64,
        after: Option<&SearchCursor>,
        now: DateTime<Utc>,
    ) -> AppResult<SearchPage> {
        if self.query.is_empty() || first == 0 {
            return Ok(SearchPage {
                hits: Vec::new(),
                has_next_page: false,
            });
        }
        let backend = db.get_database_backend();
        let ranking = statements::Ranking {
            as_of: self.as_of,
            ranked: self.settings.ranked_matches,
            on_documents: self.on_documents(backend, shares, self.settings.ranked_matches),
        };
        let filter = self.filter.condition(now);
        let reads = IndexReads::begin(db, self.settings.statement_timeout)
            .await
            .map_err(|error| self.read_error(error))?;
        let statement = if backend == sea_orm::DbBackend::Postgres {
            let oldest_ranked = reads
                .query_all(statements::oldest_ranked(
                    backend,
                    &self.query,
                    filter.clone(),
                    ranking,
                ))
                .await
                .map_err(|error| self.read_error(error))?
                .first()
                .map(|row| row.try_get::<DateTime<Utc>>("", "published_at"))
                .transpose()?;
            statements::page_split_at(
                &self.query,
                filter,
                ranking,
                oldest_ranked,
                after,
                first + 1,
            )
        } else {
            statements::page_on_sqlite(&self.query, filter, ranking, after, first + 1)
        };
        let rows = reads
            .query_all(statement)
            .await
            .map_err(|error| self.read_error(error))?;
        reads.finish().await?;
        let mut ranked = Vec::new();
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let published_at: Option<DateTime<Utc>> = row.try_get("", "published_at")?;
            let score: i64 = row.try_get("", statements::SCORE)?;
            ranked.push(SearchCursor {
                as_of: self.as_of.timestamp_micros(),
                score,
                published_at: published_at.unwrap_or(self.as_of),
                id,
            });
        }
        let has_next_page = ranked.len() as u64 > first;
        ranked.truncate(first as usize);
        let mut rows: HashMap<Uuid, article::Model> = article::Entity::find()
            .filter(article::Column::Id.is_in(ranked.iter().map(|cursor| cursor.id)))
            .filter(visible(now))
            .all(db)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let marked = self.query.marked();
        let hits = ranked
            .into_iter()
            .filter_map(|cursor| {
                let row = rows.remove(&cursor.id)?;
                let title = highlight::highlight(&row.title, &marked);
                let excerpt = highlight::excerpt(&row.body_text, &marked, EXCERPT_CHARS)
                    .or_else(|| {
                        row.summary
                            .as_deref()
                            .and_then(|summary| highlight::excerpt(summary, &marked, EXCERPT_CHARS))
                    })
                    .unwrap_or_else(|| {
                        highlight::start_of(
                            row.summary.as_deref().unwrap_or(&row.body_text),
                            EXCERPT_CHARS,
                        )
                    });
                Some(Hit {
                    article: Arc::new(LoadedArticle::new(row)),
                    cursor,
                    title,
                    excerpt,
                })
            })
            .collect();
        Ok(SearchPage {
            hits,
            has_next_page,
        })
    }

    /// The reader's filter as the documents apply it, when the statement
    /// that wants this many matches should read them from the documents
    /// alone: on PostgreSQL, when the words are rare enough that reading
    /// every match costs less than walking the newest articles
    /// ([`WordShares::read_from_documents`]). SQLite's documents carry no
    /// publication (see the migration that added it on PostgreSQL).
    fn on_documents(
        &self,
        backend: sea_orm::DbBackend,
        shares: &WordShares,
        wanted: u64,
    ) -> Option<statements::PublishedRange> {
        let range = range_on_documents(&self.filter)?;
        (backend == sea_orm::DbBackend::Postgres && shares.read_from_documents(&self.query, wanted))
            .then_some(range)
    }

    /// A search statement's error as the reader sees it: past the
    /// server's time limit, a request to narrow the search.
    fn read_error(&self, error: sea_orm::DbErr) -> AppError {
        if DbFault::of(&error) != DbFault::TimedOut {
            return error.into();
        }
        crate::metrics::database_error(DbFault::TimedOut);
        tracing::warn!(
            words = self.query.required().count(),
            "a search ran past its time limit (its words are not logged: a reader typed them)"
        );
        AppError::Unavailable {
            message: format!(
                "This search took longer than the server allows ({}); add words or a filter, or try again",
                humantime::format_duration(self.settings.statement_timeout)
            ),
            retry_after: std::time::Duration::from_secs(1),
        }
    }

    /// How many articles public at `now` match, across all pages, counted
    /// up to one past [`SearchSettings::counted_matches`] (see
    /// [`MatchCount`]).
    pub async fn count(
        &self,
        db: &DatabaseConnection,
        shares: &WordShares,
        now: DateTime<Utc>,
    ) -> AppResult<u64> {
        if self.query.is_empty() {
            return Ok(0);
        }
        let backend = db.get_database_backend();
        let most = self.settings.counted_matches.saturating_add(1);
        // SQLite's document keys say when an article is public, so its
        // index alone counts an unfiltered search, however common.
        let on_documents = match backend {
            sea_orm::DbBackend::Postgres => self.on_documents(backend, shares, most),
            _ => range_on_documents(&self.filter),
        };
        let statement = statements::count(
            backend,
            &self.query,
            self.filter.condition(now),
            on_documents.map(|range| (range, now)),
            most,
        );
        let row = query_all_by_index_within(db, statement, self.settings.statement_timeout)
            .await
            .map_err(|error| self.read_error(error))?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("a count returned no row".to_owned()))?;
        let count: i64 = row.try_get_by_index(0)?;
        Ok(count.max(0) as u64)
    }
}

/// The reader's filter as a search's documents can apply it themselves:
/// when it narrows by publication time only, or not at all.
fn range_on_documents(filter: &ArticleFilter) -> Option<statements::PublishedRange> {
    let ArticleFilter {
        category_ids: None,
        tag_slug: None,
        published_after,
        published_before,
        updated_since: None,
    } = filter
    else {
        return None;
    };
    Some(statements::PublishedRange {
        after: *published_after,
        before: *published_before,
    })
}

impl Reads<'_> {
    /// A page of `search`'s results, through the read cache.
    pub async fn search_page(
        &self,
        search: &Search,
        first: u64,
        after: Option<SearchCursor>,
    ) -> AppResult<Arc<SearchPage>> {
        let lookup = Lookup::Search {
            search: search.clone(),
            size: first,
            after,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let shares = self.word_shares.current(self.db).await;
                Ok(Arc::new(
                    search
                        .page(self.db, &shares, first, after.as_ref(), self.now)
                        .await?,
                ))
            })
            .await
    }

    /// How many public articles match `search`, through the read cache.
    pub async fn search_count(&self, search: &Search) -> AppResult<MatchCount> {
        let lookup = Lookup::SearchCount {
            query: search.query.clone(),
            filter: search.filter.clone(),
        };
        let rows = self
            .cache
            .get_or_load(self.db, self.now, lookup, async {
                let shares = self.word_shares.current(self.db).await;
                search.count(self.db, &shares, self.now).await
            })
            .await?;
        Ok(MatchCount::of(rows, search.settings.counted_matches))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_wrote_and_refuse_the_rest() {
        let cursor = SearchCursor {
            as_of: 1_764_000_000_123_456,
            score: 12_345_678,
            published_at: DateTime::from_timestamp_micros(1_763_000_000_000_001).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(SearchCursor::parse(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "bm90IGEgY3Vyc29y", &"A".repeat(400)] {
            assert!(SearchCursor::parse(bad).is_err());
        }
        // A list's cursor is no search cursor.
        let list = crate::content::cursor::Cursor {
            list: 'n',
            key: 1,
            id: Uuid::nil(),
        };
        assert!(SearchCursor::parse(&list.encode()).is_err());
    }
}
