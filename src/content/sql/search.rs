//! Full-text search's statements. Both databases see only the server's
//! words: SQLite as space-separated tokens in an FTS5 table (matched by
//! an expression of quoted terms, ranked by `bm25`), PostgreSQL as a
//! `tsvector` written out lexeme by lexeme (matched by a `tsquery` of
//! quoted lexemes, ranked by `ts_rank_cd`). Neither ever parses a reader's
//! text as its query language, so no input is syntax to it.
//!
//! Both rankings weigh the title above the summary and the tag names, and
//! those above the body, then boost recent articles a little: the
//! relevance times `1 + 6 / (30 + age in days)`, so an article of today
//! gains a fifth, one a month old a tenth, one a year old a sixtieth. The score
//! is kept as an integer (millionths), so that pages of results sort, and
//! cursors resume, on exact values. Only the newest matches are scored
//! (see [`Ranking`]); the rest score 0 and follow by recency.
//!
//! SQLite's full-text index lists a match's rows in key order only, so
//! its documents are keyed by publication ([`first_key_at`]): the newest
//! matches are then the first it lists, and a search for a word most
//! articles hold reads its bound and its page without sorting them all.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    Condition, DbBackend, Statement, Value,
    sea_query::{
        Alias, CommonTableExpression, Expr, ExprTrait, Func, Order, Query, SelectStatement,
        SubQueryStatement, WithClause,
    },
};
use uuid::Uuid;

use crate::content::search::{SearchCursor, query::SearchQuery};
use crate::content::sql::Values;
use crate::content::text::search_terms::QueryWord;

/// A document as the index keeps it: its words by field.
#[derive(Debug, Default)]
pub struct IndexedWords {
    /// The headline's words (weighted most).
    pub title: Vec<String>,
    /// The editor's summary's words.
    pub summary: Vec<String>,
    /// The words of the article's tag names.
    pub tags: Vec<String>,
    /// The body's words.
    pub body: Vec<String>,
}

/// PostgreSQL keeps at most this position in a `tsvector`.
const MAX_POSITION: usize = 16_383;

/// PostgreSQL keeps at most this many positions of one lexeme.
const MAX_POSITIONS_PER_LEXEME: usize = 255;

impl IndexedWords {
    /// The fields in index order with their PostgreSQL weight letters.
    fn fields(&self) -> [(&[String], char); 4] {
        [
            (&self.title, 'A'),
            (&self.summary, 'B'),
            (&self.tags, 'C'),
            (&self.body, 'D'),
        ]
    }

    /// The `tsvector` literal: each lexeme quoted, with its positions
    /// (counted across the fields in order) and its field's weight.
    pub fn tsvector(&self) -> String {
        let mut lexemes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut position: usize = 0;
        for (words, weight) in self.fields() {
            for word in words {
                position = Ord::min(position + 1, MAX_POSITION);
                let positions = lexemes.entry(word.as_str()).or_default();
                if positions.len() < MAX_POSITIONS_PER_LEXEME {
                    positions.push(format!("{position}{weight}"));
                }
            }
        }
        let mut out = String::new();
        for (lexeme, positions) in lexemes {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&quoted_lexeme(lexeme));
            out.push(':');
            out.push_str(&positions.join(","));
        }
        out
    }
}

/// A lexeme quoted for a `tsvector` or `tsquery` literal.
fn quoted_lexeme(lexeme: &str) -> String {
    format!("'{}'", lexeme.replace('\\', "\\\\").replace('\'', "''"))
}

/// A term quoted for an FTS5 expression: a string, never an operator.
fn quoted_term(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// One word of a query in an engine's syntax: the word, or all the words
/// inside it.
fn word_expression(word: &QueryWord, quote: fn(&str) -> String, and: &str, or: &str) -> String {
    let whole = quote(&word.whole);
    if word.inside.is_empty() {
        return whole;
    }
    let inside: Vec<String> = word.inside.iter().map(|part| quote(part)).collect();
    format!("({whole}{or}({}))", inside.join(and))
}

/// The query as an FTS5 `MATCH` expression.
pub fn fts5_expression(query: &SearchQuery) -> String {
    let required: Vec<String> = query
        .required()
        .map(|word| word_expression(word, quoted_term, " AND ", " OR "))
        .collect();
    let mut out = required.join(" AND ");
    for excluded in &query.excluded {
        let words: Vec<String> = excluded
            .iter()
            .map(|word| word_expression(word, quoted_term, " AND ", " OR "))
            .collect();
        out.push_str(&format!(" NOT ({})", words.join(" AND ")));
    }
    out
}

/// The query as a PostgreSQL `tsquery` literal.
pub fn tsquery(query: &SearchQuery) -> String {
    let mut parts: Vec<String> = query
        .required()
        .map(|word| word_expression(word, quoted_lexeme, " & ", " | "))
        .collect();
    for excluded in &query.excluded {
        let words: Vec<String> = excluded
            .iter()
            .map(|word| word_expression(word, quoted_lexeme, " & ", " | "))
            .collect();
        parts.push(format!("!({})", words.join(" & ")));
    }
    parts.join(" & ")
}

/// The column every hit's score is read as.
pub const SCORE: &str = "score";

/// How a page of results is scored: from which moment recency is
/// measured, and how many of the newest matches are ranked at all.
#[derive(Debug, Clone, Copy)]
pub struct Ranking {
    /// The moment the recency boost is measured from (the search's).
    pub as_of: DateTime<Utc>,
    /// Only the newest this many matches published by `as_of` (and any
    /// published since) are scored; older matches score 0 and follow by
    /// recency. Scoring reads every position of every matched word, so
    /// this is what bounds a search for a word most articles hold.
    pub ranked: u64,
    /// The reader's filter as the documents can apply it themselves, when
    /// it narrows by publication time only (or not at all): the oldest
    /// ranked match is then found among the documents alone.
    pub on_documents: Option<PublishedRange>,
}

/// The documents matching `query`: a select with no columns yet, from
/// `search_documents` (and, on SQLite, the FTS5 table it is found
/// through), holding the match and each quoted phrase.
fn matched_documents(backend: DbBackend, query: &SearchQuery) -> SelectStatement {
    let documents = Alias::new("search_documents");
    let mut select = Query::select();
    match backend {
        DbBackend::Postgres => {
            select
                .from(documents.clone())
                .and_where(Expr::cust_with_values(
                    r#""search_documents"."terms" @@ $1::tsquery"#,
                    [tsquery(query)],
                ));
        }
        _ => {
            // CROSS JOIN keeps the full-text match the outer loop (SQLite
            // never reorders it): left to itself the planner starts from
            // the visible articles and runs the match once for each. The
            // join conditions go in WHERE, as sea-query writes no ON for a
            // cross join.
            select
                .from(Alias::new("search_terms"))
                .join(
                    sea_orm::sea_query::JoinType::CrossJoin,
                    documents.clone(),
                    Condition::all(),
                )
                .and_where(
                    Expr::col((documents, Alias::new("id")))
                        .equals((Alias::new("search_terms"), Alias::new("rowid"))),
                )
                .and_where(Expr::cust_with_values(
                    r#""search_terms" MATCH ?"#,
                    [fts5_expression(query)],
                ));
        }
    }
    let find = match backend {
        DbBackend::Postgres => r#"strpos("search_documents"."normalized", $1) > 0"#,
        _ => r#"instr("search_documents"."normalized", ?) > 0"#,
    };
    for phrase in &query.phrases {
        select.and_where(Expr::cust_with_values(find, [phrase.text.clone()]));
    }
    select
}

/// The articles matching `query` and `filter` (a condition on `articles`):
/// a select of `id`, `published_at` and, when `ranking` is given,
/// [`SCORE`].
fn matching(
    backend: DbBackend,
    query: &SearchQuery,
    filter: Condition,
    ranking: Option<Ranking>,
) -> SelectStatement {
    let articles = Alias::new("articles");
    let mut select = matched_documents(backend, query);
    select
        .column((articles.clone(), Alias::new("id")))
        .column((articles.clone(), Alias::new("published_at")));
    join_articles(backend, &mut select);
    select.cond_where(filter.clone());
    if let Some(ranking) = ranking {
        // No bound (fewer than `ranked` matches): a time earlier than any
        // publication, so every match is ranked.
        let no_bound = match backend {
            DbBackend::Postgres => Expr::cust("'-infinity'::timestamptz"),
            _ => Expr::val(""),
        };
        let oldest_ranked = Expr::SubQuery(
            None,
            Box::new(SubQueryStatement::SelectStatement(oldest_ranked_select(
                backend, query, &filter, ranking,
            ))),
        );
        let published = Expr::col((articles, Alias::new("published_at")));
        let is_ranked = published.gte(Func::coalesce([oldest_ranked, no_bound]));
        select.expr_as(
            Expr::case(is_ranked, relevance(backend, query, ranking.as_of))
                .finally(Expr::val(0i64)),
            Alias::new(SCORE),
        );
    }
    select
}

/// Joins the matched documents (see [`matched_documents`]) to their
/// articles; on SQLite after the match, which stays the outer loop.
fn join_articles(backend: DbBackend, select: &mut SelectStatement) {
    let articles = Alias::new("articles");
    let on_document = Expr::col((articles.clone(), Alias::new("id")))
        .equals((Alias::new("search_documents"), Alias::new("article_id")));
    match backend {
        DbBackend::Postgres => {
            select.inner_join(articles, on_document);
        }
        _ => {
            select
                .join(
                    sea_orm::sea_query::JoinType::CrossJoin,
                    articles,
                    Condition::all(),
                )
                .and_where(on_document);
        }
    }
}

/// A reader's filter that narrows by publication time alone, or not at
/// all: which matches are then public, and in range, is on PostgreSQL's
/// documents themselves (`public_since`: their article's publication
/// while it is published), so the ranking's bound and the count are read
/// without joining a single article.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishedRange {
    /// Only articles published at or after this moment.
    pub after: Option<DateTime<Utc>>,
    /// Only articles published before this moment.
    pub before: Option<DateTime<Utc>>,
}

/// The documents matching `query` whose articles are published within
/// `range`: a select of their `public_since` as `published_at` (a time
/// the caller still bounds by its moment: a scheduled article carries its
/// future time).
fn public_documents(
    backend: DbBackend,
    query: &SearchQuery,
    range: PublishedRange,
) -> SelectStatement {
    let stamped = || Expr::col((Alias::new("search_documents"), Alias::new("public_since")));
    let mut documents = matched_documents(backend, query);
    documents.expr_as(stamped(), Alias::new("published_at"));
    if let Some(after) = range.after {
        documents.and_where(stamped().gte(after));
    }
    if let Some(before) = range.before {
        documents.and_where(stamped().lt(before));
    }
    documents
}

/// SQLite: the matches whose documents are keyed as published within
/// `range` and by `now` (a select of their keys). Unless the query holds
/// a quoted phrase, which is looked for in the documents' text, the
/// full-text index alone answers: no document or article is read.
fn public_by_key(
    query: &SearchQuery,
    range: PublishedRange,
    now: DateTime<Utc>,
) -> SelectStatement {
    let mut keys = if query.phrases.is_empty() {
        let mut keys = Query::select();
        keys.from(Alias::new("search_terms"))
            .and_where(Expr::cust_with_values(
                r#""search_terms" MATCH ?"#,
                [fts5_expression(query)],
            ));
        keys
    } else {
        matched_documents(DbBackend::Sqlite, query)
    };
    keys.expr(document_key())
        .and_where(document_key().gte(range.after.map_or(0, first_key_at)))
        .and_where(document_key().lt(first_key_at(now) + KEYS_PER_MICROSECOND));
    if let Some(before) = range.before {
        keys.and_where(document_key().lt(first_key_at(before)));
    }
    keys
}

/// The oldest publication time still ranked: the `ranked`-th newest
/// match published by the search's moment, so that pages of one search
/// agree on it while articles are published. No row when fewer match.
/// Read from the documents alone when the filter is a [`PublishedRange`],
/// else from the matches joined to their articles. SQLite keeps
/// publication times as RFC 3339 text, which sorts as time does.
fn oldest_ranked_select(
    backend: DbBackend,
    query: &SearchQuery,
    filter: &Condition,
    ranking: Ranking,
) -> SelectStatement {
    let window = Alias::new("ranked_window");
    let published = (window.clone(), Alias::new("published_at"));
    let matches = match ranking.on_documents {
        Some(range) => public_documents(backend, query, range),
        None => matching(backend, query, filter.clone(), None),
    };
    let mut newest = Query::select();
    newest
        .column(published.clone())
        .from_subquery(matches, window)
        .and_where(Expr::col(published.clone()).lte(ranking.as_of))
        .order_by(published, Order::Desc)
        .limit(1)
        .offset(ranking.ranked.saturating_sub(1));
    newest
}

/// The column SQLite's bound walk reads a document's key as.
const RANKED_KEY: &str = "ranked_key";

/// The oldest publication time a search ranks (see [`Ranking`]), as a
/// statement of its own: one row of `published_at`, or none when every
/// match is ranked. PostgreSQL's page is planned with it as a value
/// ([`page_split_at`]); SQLite walks its bound inside the page
/// ([`page_on_sqlite`]).
pub fn oldest_ranked(
    backend: DbBackend,
    query: &SearchQuery,
    filter: Condition,
    ranking: Ranking,
) -> Statement {
    backend.build(&oldest_ranked_select(backend, query, &filter, ranking))
}

/// SQLite's bound: the key of the `ranked`-th match the full-text index
/// lists newest first, published by the search's moment ([`RANKED_KEY`]).
fn oldest_ranked_walk(query: &SearchQuery, filter: Condition, ranking: Ranking) -> SelectStatement {
    let mut walk = matching(DbBackend::Sqlite, query, filter, None);
    walk.expr_as(document_key(), Alias::new(RANKED_KEY))
        .and_where(document_key().lt(first_key_at(ranking.as_of) + KEYS_PER_MICROSECOND))
        .order_by_expr(document_key(), Order::Desc)
        .limit(1)
        .offset(ranking.ranked.saturating_sub(1));
    walk
}

/// SQLite: a match's document key, as its full-text row holds it.
fn document_key() -> Expr {
    Expr::col((Alias::new("search_terms"), Alias::new("rowid")))
}

/// A match's score as of `as_of`: the engine's relevance with the recency
/// boost, in millionths.
fn relevance(backend: DbBackend, query: &SearchQuery, as_of: DateTime<Utc>) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_values(
            r#"CAST(ts_rank_cd('{0.1,0.3,0.4,1.0}'::float4[], "search_documents"."terms", $1::tsquery, 1)::float8 * 1000000.0 * (1.0 + 6.0 / (30.0 + GREATEST(0.0, ($2 - extract(epoch FROM "articles"."published_at")::float8) / 86400.0))) AS BIGINT)"#,
            [Value::from(tsquery(query)), Value::from(seconds_of(as_of))],
        ),
        _ => Expr::cust_with_values(
            r#"CAST(-bm25("search_terms", 10.0, 4.0, 3.0, 1.0) * 1000000.0 * (1.0 + 6.0 / (30.0 + max(0.0, (? - unixepoch("articles"."published_at")) / 86400.0))) AS INTEGER)"#,
            [seconds_of(as_of)],
        ),
    }
}

/// Seconds since the epoch, as the recency boost reads them.
fn seconds_of(moment: DateTime<Utc>) -> f64 {
    moment.timestamp_micros() as f64 / 1_000_000.0
}

/// One page of hits, best first: after `after` when given, at most
/// `limit` rows of `id`, `published_at` and [`SCORE`], in one statement
/// with the ranking's bound as a subquery, which sorts every match. What
/// a page means: the reference the tests hold [`page_split_at`] and
/// [`page_on_sqlite`] to, which searches read their pages with.
pub fn page(
    backend: DbBackend,
    query: &SearchQuery,
    filter: Condition,
    ranking: Ranking,
    after: Option<&SearchCursor>,
    limit: u64,
) -> Statement {
    backend.build(&best_first(
        matching(backend, query, filter, Some(ranking)),
        after,
        limit,
    ))
}

/// As [`page`], for PostgreSQL with the oldest ranked publication time
/// known ([`oldest_ranked`]; `None` when every match is ranked). The
/// ranked matches (at or after it) and the unranked ones (before it,
/// scoring 0) are read apart, each only as far as the page goes: the
/// newest unranked matches come from the articles' publication index,
/// and the ranked ones number about `ranked`. Read together, a word that
/// every article holds had each of its matches joined and sorted.
pub fn page_split_at(
    query: &SearchQuery,
    filter: Condition,
    ranking: Ranking,
    oldest_ranked: Option<DateTime<Utc>>,
    after: Option<&SearchCursor>,
    limit: u64,
) -> Statement {
    let backend = DbBackend::Postgres;
    let published = || Expr::col((Alias::new("articles"), Alias::new("published_at")));
    let mut ranked = matching(backend, query, filter.clone(), None);
    ranked.expr_as(relevance(backend, query, ranking.as_of), Alias::new(SCORE));
    let Some(oldest_ranked) = oldest_ranked else {
        return backend.build(&best_first(ranked, after, limit));
    };
    ranked.and_where(published().gte(oldest_ranked));
    if ranking.on_documents.is_some() {
        // The same bound on the documents' own time: the full-text
        // index's matches are cut to the ranked ones before any is joined
        // to its article.
        ranked.and_where(
            Expr::col((Alias::new("search_documents"), Alias::new("public_since")))
                .gte(oldest_ranked),
        );
    }
    let mut unranked = matching(backend, query, filter, None);
    unranked
        .expr_as(Expr::val(0i64), Alias::new(SCORE))
        .and_where(published().lt(oldest_ranked));
    backend.build(&ranked_then_unranked(ranked, unranked, after, limit))
}

/// SQLite's page: as [`page_split_at`], cut by document key rather than
/// time, in one statement. The bound's key is the `ranked`-th match the
/// full-text index lists newest first, walked once in a `WITH` (every
/// match is ranked when there is none, and the unranked part is then
/// never read); the unranked matches are walked down from it, or from the
/// cursor, in the index's order ([`unranked_on_sqlite`]). One statement
/// rather than two spares every search a second trip to the database.
pub fn page_on_sqlite(
    query: &SearchQuery,
    filter: Condition,
    ranking: Ranking,
    after: Option<&SearchCursor>,
    limit: u64,
) -> Statement {
    let backend = DbBackend::Sqlite;
    let bound_name = Alias::new("bound");
    let mut bound = Query::select();
    bound
        .expr_as(
            Expr::cust(format!(
                r#""walk"."{RANKED_KEY}" - (("walk"."{RANKED_KEY}" % {KEYS_PER_MICROSECOND}) + {KEYS_PER_MICROSECOND}) % {KEYS_PER_MICROSECOND}"#
            )),
            Alias::new("cut"),
        )
        .from_subquery(
            oldest_ranked_walk(query, filter.clone(), ranking),
            Alias::new("walk"),
        );
    let mut read_once = CommonTableExpression::new();
    read_once
        .table_name(bound_name.clone())
        .column(Alias::new("cut"))
        .query(bound)
        .materialized(true);
    let cut: Expr = Func::coalesce([
        Expr::SubQuery(
            None,
            Box::new(SubQueryStatement::SelectStatement(
                Query::select()
                    .column((bound_name.clone(), Alias::new("cut")))
                    .from(bound_name.clone())
                    .to_owned(),
            )),
        ),
        Expr::val(i64::MIN),
    ])
    .into();
    let mut ranked = matching(backend, query, filter.clone(), None);
    ranked
        .expr_as(relevance(backend, query, ranking.as_of), Alias::new(SCORE))
        .and_where(document_key().gte(cut.clone()));
    // The unranked part is read for each row of the bound: for none (a
    // rare word, every match ranked) its full-text scans never start.
    let gated = Alias::new("gated");
    let mut unranked = Query::select();
    unranked
        .columns([
            (gated.clone(), Alias::new("id")),
            (gated.clone(), Alias::new("published_at")),
            (gated.clone(), Alias::new(SCORE)),
        ])
        .from(bound_name)
        .join_subquery(
            sea_orm::sea_query::JoinType::CrossJoin,
            unranked_on_sqlite(query, filter, cut, after, limit),
            gated,
            Condition::all(),
        );
    backend.build(
        &ranked_then_unranked(ranked, unranked, after, limit)
            .with(WithClause::new().cte(read_once).to_owned()),
    )
}

/// The best `limit` hits after `after` of the ranked and the unranked
/// matches, each read only as far as the page goes.
fn ranked_then_unranked(
    ranked: SelectStatement,
    unranked: SelectStatement,
    after: Option<&SearchCursor>,
    limit: u64,
) -> SelectStatement {
    let mut both = Query::select();
    both.column(sea_orm::sea_query::Asterisk)
        .from_subquery(best_first(ranked, after, limit), Alias::new("ranked"))
        .union(
            sea_orm::sea_query::UnionType::All,
            Query::select()
                .column(sea_orm::sea_query::Asterisk)
                .from_subquery(best_first(unranked, after, limit), Alias::new("unranked"))
                .to_owned(),
        );
    best_first(both, None, limit)
}

/// SQLite's unranked matches (keys below `cut`, scoring 0) that a page
/// after `after` of `limit` hits can list: the `limit` newest after the
/// cursor as the full-text index lists them, by key, and every other
/// match published in the same microsecond as the oldest of those, so
/// that ties are ordered by id as everywhere else.
fn unranked_on_sqlite(
    query: &SearchQuery,
    filter: Condition,
    cut: Expr,
    after: Option<&SearchCursor>,
    limit: u64,
) -> SelectStatement {
    let backend = DbBackend::Sqlite;
    let below = |select: &mut SelectStatement| {
        select.and_where(document_key().lt(cut.clone()));
        if let Some(after) = after {
            select.cond_where(comes_after(
                Expr::val(0i64),
                Expr::col((Alias::new("articles"), Alias::new("published_at"))),
                Expr::col((Alias::new("articles"), Alias::new("id"))),
                after,
            ));
            if after.score == 0 {
                // A match after the cursor is published no later than it.
                select.and_where(
                    document_key().lt(first_key_at(after.published_at) + KEYS_PER_MICROSECOND),
                );
            }
        }
    };
    let walked = Alias::new("walked");
    let mut walk = matched_documents(backend, query);
    join_articles(backend, &mut walk);
    walk.cond_where(filter.clone())
        .expr_as(document_key(), walked.clone());
    below(&mut walk);
    walk.order_by_expr(document_key(), Order::Desc).limit(limit);
    let mut oldest_walked = Query::select();
    oldest_walked
        .expr(Expr::cust(format!(
            r#"min("walked"."walked") - ((min("walked"."walked") % {KEYS_PER_MICROSECOND}) + {KEYS_PER_MICROSECOND}) % {KEYS_PER_MICROSECOND}"#
        )))
        .from_subquery(walk, walked);
    let mut unranked = matching(backend, query, filter, None);
    unranked
        .expr_as(Expr::val(0i64), Alias::new(SCORE))
        .and_where(document_key().gte(Expr::SubQuery(
            None,
            Box::new(SubQueryStatement::SelectStatement(oldest_walked)),
        )));
    below(&mut unranked);
    unranked
}

/// `hits` (a select of `id`, `published_at` and [`SCORE`]) best first:
/// by score, then the newest, then the greatest id; after `after` when
/// given, at most `limit` rows.
fn best_first(hits: SelectStatement, after: Option<&SearchCursor>, limit: u64) -> SelectStatement {
    let name = Alias::new("hits");
    let score = || Expr::col((name.clone(), Alias::new(SCORE)));
    let published = || Expr::col((name.clone(), Alias::new("published_at")));
    let id = || Expr::col((name.clone(), Alias::new("id")));
    let mut select = Query::select();
    select
        .columns([
            (name.clone(), Alias::new("id")),
            (name.clone(), Alias::new("published_at")),
            (name.clone(), Alias::new(SCORE)),
        ])
        .from_subquery(hits, name.clone())
        .order_by((name.clone(), Alias::new(SCORE)), Order::Desc)
        .order_by((name.clone(), Alias::new("published_at")), Order::Desc)
        .order_by((name.clone(), Alias::new("id")), Order::Desc)
        .limit(limit);
    if let Some(after) = after {
        select.cond_where(comes_after(score(), published(), id(), after));
    }
    select
}

/// Whether a hit of this `score`, publication and `id` comes after
/// `after` in best-first order.
fn comes_after(score: Expr, published: Expr, id: Expr, after: &SearchCursor) -> Condition {
    Condition::any().add(score.clone().lt(after.score)).add(
        Condition::all().add(score.eq(after.score)).add(
            Condition::any()
                .add(published.clone().lt(after.published_at))
                .add(
                    Condition::all()
                        .add(published.eq(after.published_at))
                        .add(id.lt(after.id)),
                ),
        ),
    )
}

/// How many articles match, counting at most `most` of them: the matches
/// are read until that many are found. When the filter is a time range
/// (`on_documents`) the documents alone are counted, as public at `now`:
/// on PostgreSQL by the time they carry, on SQLite by their keys.
pub fn count(
    backend: DbBackend,
    query: &SearchQuery,
    filter: Condition,
    on_documents: Option<(PublishedRange, DateTime<Utc>)>,
    most: u64,
) -> Statement {
    let mut hits = match on_documents {
        Some((range, now)) if backend != DbBackend::Postgres => public_by_key(query, range, now),
        Some((range, now)) => {
            let mut documents = public_documents(backend, query, range);
            documents.and_where(
                Expr::col((Alias::new("search_documents"), Alias::new("public_since"))).lte(now),
            );
            documents
        }
        None => matching(backend, query, filter, None),
    };
    hits.limit(most);
    let mut select = Query::select();
    select
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(hits, Alias::new("hits"));
    backend.build(&select)
}

/// Drops the index's rows of these articles.
pub fn forget(backend: DbBackend, ids: &[Uuid]) -> Vec<Statement> {
    let mut values = Values::default();
    let list = values.bind_list(ids);
    let mut statements = Vec::new();
    if backend != DbBackend::Postgres {
        statements.push(Statement::from_sql_and_values(
            backend,
            format!(
                r#"DELETE FROM "search_terms" WHERE rowid IN (SELECT "id" FROM "search_documents" WHERE "article_id" IN ({list}))"#
            ),
            values.0.clone(),
        ));
    }
    statements.push(Statement::from_sql_and_values(
        backend,
        format!(r#"DELETE FROM "search_documents" WHERE "article_id" IN ({list})"#),
        values.0,
    ));
    statements
}

/// Stores one article's document: on PostgreSQL one statement, with the
/// time the article is public from (`None` while it is not published; a
/// trigger keeps it as the article changes); on SQLite the document row
/// under its key ([`first_key_at`]: room after the keys of any document
/// published in the same microsecond, below every key while unpublished),
/// which it returns as the id of the full-text row ([`fts5_rows`]).
pub fn store(
    backend: DbBackend,
    id: Uuid,
    public_since: Option<DateTime<Utc>>,
    normalized: &str,
    words: &IndexedWords,
) -> Statement {
    match backend {
        DbBackend::Postgres => Statement::from_sql_and_values(
            backend,
            r#"INSERT INTO "search_documents" ("article_id", "public_since", "normalized", "terms") VALUES ($1, $2, $3, $4::tsvector)"#,
            [
                Value::from(id),
                Value::from(public_since),
                Value::from(normalized.to_owned()),
                Value::from(words.tsvector()),
            ],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            format!(
                r#"INSERT INTO "search_documents" ("id", "article_id", "normalized") VALUES ((SELECT CASE WHEN $3 IS NULL THEN {below} WHEN max("id") IS NULL THEN $3 WHEN max("id") + 1 < $3 + {KEYS_PER_MICROSECOND} THEN max("id") + 1 ELSE {below} END FROM "search_documents" WHERE "id" >= $3 AND "id" < $3 + {KEYS_PER_MICROSECOND}), $1, $2) RETURNING "id""#,
                below = r#"(SELECT min(coalesce(min("id"), 0), 0) - 1 FROM "search_documents")"#
            ),
            [
                Value::from(id),
                Value::from(normalized.to_owned()),
                Value::from(public_since.map(first_key_at)),
            ],
        ),
    }
}

/// SQLite keys documents by publication, so that the full-text index,
/// which lists matches in key order, lists them newest first: a published
/// article's key is its publication time in microseconds times this, plus
/// its place among articles published in the same microsecond.
pub const KEYS_PER_MICROSECOND: i64 = 1024;

/// SQLite: the first key of documents published at `moment` (moments
/// before 1970 share the first microsecond's keys).
pub fn first_key_at(moment: DateTime<Utc>) -> i64 {
    moment
        .timestamp_micros()
        .clamp(0, i64::MAX / KEYS_PER_MICROSECOND - 1)
        * KEYS_PER_MICROSECOND
}

/// SQLite: the full-text rows of the documents stored as each `rowid`, in
/// one statement. FTS5 writes the words it holds to disk as a new segment
/// whenever a statement of the transaction opens a savepoint (the next
/// document's own `INSERT` did), and merges those segments as they pile
/// up: a row per statement made a rebuild spend nine tenths of its time
/// merging (see BENCHMARKS.md). `None` for no rows.
pub fn fts5_rows(rows: &[(i64, IndexedWords)]) -> Option<Statement> {
    if rows.is_empty() {
        return None;
    }
    let joined = |words: &[String]| Value::from(words.join(" "));
    let mut values = Values::default();
    let tuples: Vec<String> = rows
        .iter()
        .map(|(rowid, words)| {
            format!(
                "({}, {}, {}, {}, {})",
                values.bind(*rowid),
                values.bind(joined(&words.title)),
                values.bind(joined(&words.summary)),
                values.bind(joined(&words.tags)),
                values.bind(joined(&words.body)),
            )
        })
        .collect();
    Some(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!(
            r#"INSERT INTO "search_terms" ("rowid", "title", "summary", "tags", "body") VALUES {}"#,
            tuples.join(", ")
        ),
        values.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn a_batch_s_full_text_rows_are_written_in_one_statement() {
        assert!(fts5_rows(&[]).is_none());
        let indexed = |word: &str| IndexedWords {
            title: words(&[word, "新闻"]),
            summary: words(&[]),
            tags: words(&["tag"]),
            body: words(&["body"]),
        };
        let statement = fts5_rows(&[(7, indexed("one")), (9, indexed("two"))]).expect("rows");
        assert!(
            statement
                .sql
                .ends_with("VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)"),
            "{}",
            statement.sql
        );
        let values = statement.values.expect("values").0;
        assert_eq!(values[0], Value::from(7_i64));
        assert_eq!(values[1], Value::from("one 新闻".to_owned()));
        assert_eq!(values[2], Value::from(String::new()));
        assert_eq!(values[5], Value::from(9_i64));
        assert_eq!(values[6], Value::from("two 新闻".to_owned()));
    }

    #[test]
    fn a_tsvector_weighs_each_field_and_quotes_each_lexeme() {
        let indexed = IndexedWords {
            title: words(&["ai", "天气"]),
            summary: words(&["it's"]),
            tags: words(&["ai"]),
            body: words(&["back\\slash"]),
        };
        assert_eq!(
            indexed.tsvector(),
            r"'ai':1A,4C 'back\\slash':5D 'it''s':3B '天气':2A"
        );
    }

    #[test]
    fn queries_are_quoted_terms_in_both_syntaxes() {
        let query = SearchQuery::parse(r#"中华人民共和国 NEAR( "a""b" -x"#).unwrap();
        let fts = fts5_expression(&query);
        assert!(fts.starts_with(r#"("中华人民共和国" OR ("#), "{fts}");
        assert!(
            fts.contains(r#""near""#) && fts.ends_with(r#" NOT ("x")"#),
            "{fts}"
        );
        let ts = tsquery(&query);
        assert!(ts.starts_with("('中华人民共和国' | ("), "{ts}");
        assert!(ts.ends_with("& !('x')"), "{ts}");
    }

    #[test]
    fn statements_name_their_engine_s_index() {
        let query = SearchQuery::parse(r#"台风 "台风 路径""#).unwrap();
        let ranking = Ranking {
            as_of: Utc::now(),
            ranked: 1_000,
            on_documents: None,
        };
        let sqlite = page(
            DbBackend::Sqlite,
            &query,
            Condition::all(),
            ranking,
            None,
            11,
        );
        assert!(
            sqlite.sql.contains(r#""search_terms" MATCH ?"#),
            "{}",
            sqlite.sql
        );
        assert!(sqlite.sql.contains("bm25") && sqlite.sql.contains("instr("));
        let postgres = page(
            DbBackend::Postgres,
            &query,
            Condition::all(),
            ranking,
            None,
            11,
        );
        assert!(
            postgres.sql.contains(r#""terms" @@ $1::tsquery"#),
            "{}",
            postgres.sql
        );
        assert!(postgres.sql.contains("ts_rank_cd") && postgres.sql.contains("strpos("));
        // Both rank only matches at or after the bound, and rank all when
        // there is none.
        assert!(
            postgres
                .sql
                .contains(r#"CASE WHEN ("articles"."published_at" >= COALESCE((SELECT"#),
            "{}",
            postgres.sql
        );
        assert!(
            postgres
                .sql
                .contains("'-infinity'::timestamptz)) THEN CAST(ts_rank_cd")
        );
        assert!(
            sqlite.sql.contains(", ?)) THEN CAST(-bm25"),
            "{}",
            sqlite.sql
        );
        assert_eq!(
            postgres
                .values
                .iter()
                .flat_map(|values| values.0.iter())
                .filter(|value| **value == Value::from(999u64))
                .count(),
            1,
            "the bound is the 1,000th newest match"
        );
        let counted = count(DbBackend::Postgres, &query, Condition::all(), None, 10_001);
        assert!(counted.sql.starts_with("SELECT COUNT(*)"));
        assert!(counted.sql.contains("LIMIT $"), "{}", counted.sql);
        assert!(
            counted
                .values
                .is_some_and(|values| values.0.contains(&Value::from(10_001u64)))
        );
    }

    #[test]
    fn postgresql_reads_ranked_and_unranked_matches_apart_when_there_is_a_bound() {
        let query = SearchQuery::parse("数据").unwrap();
        let ranking = Ranking {
            as_of: Utc::now(),
            ranked: 1_000,
            on_documents: None,
        };
        let oldest = Utc::now() - chrono::TimeDelta::days(3);
        let split = page_split_at(&query, Condition::all(), ranking, Some(oldest), None, 11);
        assert!(split.sql.contains(" UNION ALL "), "{}", split.sql);
        assert_eq!(split.sql.matches("ts_rank_cd").count(), 1, "{}", split.sql);
        assert!(split.sql.contains(r#""articles"."published_at" >= $"#));
        assert!(split.sql.contains(r#""articles"."published_at" < $"#));
        assert!(!split.sql.contains("OFFSET"), "the bound is a value");
        // Each part and the whole stop at the page's size.
        assert_eq!(split.sql.matches("LIMIT $").count(), 3, "{}", split.sql);

        // Read from the documents, the ranked part is cut by the
        // documents' own time as well.
        assert!(!split.sql.contains(r#""search_documents"."public_since""#));
        let on_documents = Ranking {
            on_documents: Some(PublishedRange::default()),
            ..ranking
        };
        let cut = page_split_at(
            &query,
            Condition::all(),
            on_documents,
            Some(oldest),
            None,
            11,
        );
        assert!(
            cut.sql
                .contains(r#""search_documents"."public_since" >= $"#),
            "{}",
            cut.sql
        );

        let unbounded = page_split_at(&query, Condition::all(), ranking, None, None, 11);
        assert!(!unbounded.sql.contains("UNION"), "{}", unbounded.sql);
        assert!(unbounded.sql.contains("ts_rank_cd"));
        assert!(!unbounded.sql.contains("CASE"), "every match is ranked");

        let bound = oldest_ranked(DbBackend::Postgres, &query, Condition::all(), ranking);
        assert!(bound.sql.contains(" LIMIT $3 OFFSET $4"), "{}", bound.sql);
        assert!(bound.sql.contains(r#"JOIN "articles""#), "{}", bound.sql);
    }

    #[test]
    fn sqlite_keys_stand_for_their_publication_microsecond() {
        let moment: DateTime<Utc> = "2026-12-01T04:05:06.123456Z".parse().unwrap();
        let first = first_key_at(moment);
        assert_eq!(first % KEYS_PER_MICROSECOND, 0);
        assert_eq!(first / KEYS_PER_MICROSECOND, moment.timestamp_micros());
        assert_eq!(
            first_key_at(moment + chrono::TimeDelta::microseconds(1)),
            first + KEYS_PER_MICROSECOND
        );
        // Moments before 1970 share the first keys rather than go below
        // zero, and the last moment chrono knows does not overflow.
        let early: DateTime<Utc> = "1969-07-20T20:17:00Z".parse().unwrap();
        assert_eq!(first_key_at(early), 0);
        assert!(first_key_at(DateTime::<Utc>::MAX_UTC) > first);
    }

    #[test]
    fn sqlite_walks_its_bound_once_and_cuts_its_page_by_key() {
        let query = SearchQuery::parse("数据").unwrap();
        let ranking = Ranking {
            as_of: Utc::now(),
            ranked: 1_000,
            on_documents: None,
        };
        let page = page_on_sqlite(&query, Condition::all(), ranking, None, 11);
        assert!(page.sql.starts_with(r#"WITH "bound""#), "{}", page.sql);
        // The bound is the thousandth match the index lists newest first.
        assert!(
            page.sql
                .contains(r#"ORDER BY "search_terms"."rowid" DESC LIMIT ? OFFSET ?"#),
            "{}",
            page.sql
        );
        assert_eq!(page.sql.matches("OFFSET").count(), 1, "{}", page.sql);
        assert_eq!(page.sql.matches("bm25").count(), 1, "{}", page.sql);
        assert!(
            page.sql.contains(
                r#""search_terms"."rowid" >= COALESCE((SELECT "bound"."cut" FROM "bound"), ?)"#
            ),
            "{}",
            page.sql
        );
        // Read by each part, and the unranked part once for each of its
        // rows.
        assert_eq!(
            page.sql.matches(r#"FROM "bound""#).count(),
            4,
            "{}",
            page.sql
        );
        assert!(
            page.sql.contains(r#"FROM "bound" CROSS JOIN (SELECT"#),
            "{}",
            page.sql
        );
    }

    #[test]
    fn a_bound_over_a_time_range_only_is_read_from_the_documents_alone() {
        let query = SearchQuery::parse("标签 77").unwrap();
        let since = Utc::now() - chrono::TimeDelta::days(30);
        let ranking = Ranking {
            as_of: Utc::now(),
            ranked: 1_000,
            on_documents: Some(PublishedRange {
                after: Some(since),
                before: None,
            }),
        };
        let backend = DbBackend::Postgres;
        let bound = oldest_ranked(backend, &query, Condition::all(), ranking);
        assert!(!bound.sql.contains(r#""articles""#), "{}", bound.sql);
        assert!(
            bound
                .sql
                .contains(r#""search_documents"."public_since" >= "#),
            "{}",
            bound.sql
        );
        let counted = count(
            backend,
            &query,
            Condition::all(),
            Some((ranking.on_documents.unwrap(), Utc::now())),
            10_001,
        );
        assert!(!counted.sql.contains(r#""articles""#), "{}", counted.sql);
    }
}
