//! How many documents a search's words are in, as PostgreSQL's own
//! statistics last counted them (`ANALYZE` keeps the most common words of
//! the documents' `tsvector`s and each one's share), read by the server
//! every few minutes. A PostgreSQL search uses them to choose how to find
//! its ranking's bound ([`WordShares::read_from_documents`]).
//!
//! The bound is the `ranked`-th newest match. It is found either by
//! walking the articles newest first and trying each one's words, which
//! costs about `ranked` divided by the query's share of the documents, or
//! by reading every match from the full-text index and sorting their
//! publication times, which costs about the number of matches. The
//! planner makes the choice itself, but it prices trying an article's
//! words as nearly free while each try reads a `tsvector` back from
//! TOAST, so for a word that one article in a hundred holds, on a large
//! site, it walked where reading the matches was ten times faster.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::content::search::query::SearchQuery;

/// How long the statistics read are used before they are read again.
const READ_AGAIN_AFTER: Duration = Duration::from_secs(300);

/// How long finding no statistics at all is believed: a table not yet
/// analysed (a new site, a rebuild just ending) gets them soon, and
/// searches meanwhile leave every choice to the planner.
const READ_AGAIN_WHILE_UNKNOWN_AFTER: Duration = Duration::from_secs(10);

/// What trying one article's words costs, in units of what reading one
/// match from the index and sorting it costs: trying reads the article's
/// whole `tsvector` back, a match read from the index only its lean row
/// (BENCHMARKS.md, "Bounds read from the documents").
const TRY_COST_PER_MATCH_COST: f64 = 4.0;

/// The shares of the documents' most common words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordShares {
    /// How many documents PostgreSQL counted (its estimate of the rows).
    documents: f64,
    /// Each listed word's share of the documents, between 0 and 1.
    shares: HashMap<String, f64>,
    /// The smallest share listed: a word not listed is at most this common.
    rarest_listed: f64,
}

impl WordShares {
    /// Shares from PostgreSQL's statistics: `documents` counted, and each
    /// listed word with its share.
    pub fn new(documents: f64, listed: impl IntoIterator<Item = (String, f64)>) -> Self {
        let shares: HashMap<String, f64> = listed.into_iter().collect();
        let rarest_listed = shares.values().copied().fold(1.0, f64::min);
        Self {
            documents,
            shares,
            rarest_listed,
        }
    }

    /// Reads PostgreSQL's statistics of the documents' words; empty
    /// (nothing known) before the table was first analysed.
    pub async fn read(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let documents = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT reltuples::float8 AS documents FROM pg_class \
                 WHERE oid = to_regclass('search_documents')",
            ))
            .await?
            .map(|row| row.try_get::<f64>("", "documents"))
            .transpose()?
            .unwrap_or(0.0);
        // The shares array ends with three more numbers (the least and
        // greatest share, and the share of empty values): zipped with the
        // words, they pair with none.
        let listed = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT listed.word, listed.share::float8 AS share \
                 FROM pg_stats, \
                      unnest(most_common_elems::text::text[], most_common_elem_freqs) \
                        AS listed(word, share) \
                 WHERE schemaname = current_schema() AND tablename = 'search_documents' \
                   AND attname = 'terms' AND listed.word IS NOT NULL",
            ))
            .await?
            .into_iter()
            .map(|row| Ok((row.try_get("", "word")?, row.try_get("", "share")?)))
            .collect::<Result<Vec<(String, f64)>, DbErr>>()?;
        Ok(Self::new(documents, listed))
    }

    /// Whether PostgreSQL had counted anything when these were read.
    fn is_known(&self) -> bool {
        self.documents > 0.0 && !self.shares.is_empty()
    }

    /// How long these shares are used before they are read again.
    fn lifetime(&self) -> Duration {
        if self.is_known() {
            READ_AGAIN_AFTER
        } else {
            READ_AGAIN_WHILE_UNKNOWN_AFTER
        }
    }

    /// At most how many documents `query` matches, as far as the shares
    /// tell: each required word is the word itself or all the words inside
    /// it, and all of them must match, so the rarest bounds the rest.
    /// `None` when the statistics know nothing yet.
    pub fn matches_at_most(&self, query: &SearchQuery) -> Option<f64> {
        if !self.is_known() {
            return None;
        }
        let share_of = |word: &str| self.shares.get(word).copied().unwrap_or(self.rarest_listed);
        let share = query
            .required()
            .map(|word| {
                let inside = word
                    .inside
                    .iter()
                    .map(|part| share_of(part))
                    .fold(None, |rarest: Option<f64>, share| {
                        Some(rarest.map_or(share, |rarest| rarest.min(share)))
                    })
                    .unwrap_or(0.0);
                (share_of(&word.whole) + inside).min(1.0)
            })
            .fold(1.0, f64::min);
        Some(share * self.documents)
    }

    /// Whether reading every match of `query` costs less than walking the
    /// newest articles until `wanted` of them match (the ranked ones, for
    /// a bound; the counted ones, for a count): the walk tries about
    /// `wanted × documents / matches` articles. Unknown statistics leave
    /// the choice to the planner (`false`).
    pub fn read_from_documents(&self, query: &SearchQuery, wanted: u64) -> bool {
        let Some(matches) = self.matches_at_most(query) else {
            return false;
        };
        let tried = wanted as f64 * self.documents / matches.max(1.0);
        matches <= tried * TRY_COST_PER_MATCH_COST
    }
}

/// The word shares this server last read, shared by all requests, read
/// again when older than a few minutes, by one request at a time: the
/// others meanwhile go on with the shares known (or, when none are known
/// yet, wait for that one read rather than each making its own).
#[derive(Default)]
pub struct SharesMemo {
    latest: Mutex<Option<(Instant, Arc<WordShares>)>>,
    reading: tokio::sync::Mutex<()>,
}

impl SharesMemo {
    /// The shares, read again first when they are old or were never read
    /// (a failed read keeps the old ones, or none, and is tried again on
    /// the next search); none on SQLite, which keeps no such statistics.
    pub async fn current(&self, db: &DatabaseConnection) -> Arc<WordShares> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Arc::default();
        }
        let known = match self.fresh_or_known() {
            Ok(fresh) => return fresh,
            Err(known) => known,
        };
        let _reading = match (self.reading.try_lock(), &known) {
            (Ok(reading), _) => reading,
            // Another request is reading them: the known ones serve until
            // it has.
            (Err(_), Some(shares)) => return Arc::clone(shares),
            (Err(_), None) => self.reading.lock().await,
        };
        // Read by the request this one waited for.
        if let Ok(fresh) = self.fresh_or_known() {
            return fresh;
        }
        match WordShares::read(db).await {
            Ok(shares) => {
                let shares = Arc::new(shares);
                if let Ok(mut latest) = self.latest.lock() {
                    *latest = Some((Instant::now(), Arc::clone(&shares)));
                }
                shares
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the search words' statistics");
                known.unwrap_or_default()
            }
        }
    }

    /// The shares when they are fresh, else the ones known (if any).
    /// Shares that knew nothing stay fresh only briefly.
    fn fresh_or_known(&self) -> Result<Arc<WordShares>, Option<Arc<WordShares>>> {
        let known = self.latest.lock().ok().and_then(|latest| latest.clone());
        match known {
            Some((read_at, shares)) if read_at.elapsed() < shares.lifetime() => Ok(shares),
            Some((_, shares)) => Err(Some(shares)),
            None => Err(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares() -> WordShares {
        WordShares::new(
            1_000_000.0,
            [
                ("数据".to_owned(), 1.0),
                ("标签".to_owned(), 1.0),
                ("77".to_owned(), 0.015),
                ("经济".to_owned(), 0.2),
            ],
        )
    }

    #[test]
    fn the_rarest_required_word_bounds_the_matches() {
        let matches = |text| {
            shares()
                .matches_at_most(&SearchQuery::parse(text).unwrap())
                .unwrap()
        };
        assert_eq!(matches("数据"), 1_000_000.0);
        assert_eq!(matches("标签 77"), 15_000.0);
        assert_eq!(matches("经济 数据"), 200_000.0);
        // A word not listed is at most as common as the rarest listed one.
        assert_eq!(matches("zebra"), 15_000.0);
        // Excluded words only take matches away.
        assert_eq!(matches("数据 -77"), 1_000_000.0);
    }

    #[test]
    fn few_matches_are_read_from_the_index_and_many_are_walked() {
        let shares = shares();
        let on_documents =
            |text| shares.read_from_documents(&SearchQuery::parse(text).unwrap(), 1_000);
        // 15,000 matches against 66,667 articles tried.
        assert!(on_documents("标签 77"));
        // 1,000,000 matches against 1,000 tried; 200,000 against 5,000.
        assert!(!on_documents("数据"));
        assert!(!on_documents("经济"));
        // Fewer matches than are ranked: a walk would try every article.
        let small = WordShares::new(500.0, [("数据".to_owned(), 1.0)]);
        assert!(small.read_from_documents(&SearchQuery::parse("数据").unwrap(), 1_000));
    }

    #[test]
    fn shares_that_knew_nothing_are_read_again_soon() {
        let read_at = |age: Duration, shares: WordShares| {
            let memo = SharesMemo::default();
            *memo.latest.lock().unwrap() = Some((Instant::now() - age, Arc::new(shares)));
            memo.fresh_or_known().is_ok()
        };
        let a_while = Duration::from_secs(30);
        assert!(read_at(a_while, shares()));
        assert!(!read_at(a_while, WordShares::default()));
        assert!(read_at(Duration::ZERO, WordShares::default()));
        assert!(!read_at(READ_AGAIN_AFTER, shares()));
    }

    #[test]
    fn without_statistics_the_planner_chooses() {
        let unknown = WordShares::default();
        let query = SearchQuery::parse("标签 77").unwrap();
        assert_eq!(unknown.matches_at_most(&query), None);
        assert!(!unknown.read_from_documents(&query, 1_000));
    }
}
