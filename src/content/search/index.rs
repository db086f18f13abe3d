//! Keeping the search index true: every write that changes what an
//! article says (its text, its tags, a tag's name) refreshes the article's
//! document in the write's own transaction ([`refresh`], called by
//! [`crate::content::writes::Edit::commit`]), so a search run after the
//! commit finds the new words and never the old ones. Every article is
//! indexed, drafts too; who may see a hit is decided when searching. On
//! PostgreSQL a document also carries when its article is public, written
//! here and kept by a trigger as the article is published, scheduled or
//! taken down, so the ranking's bound is found among the documents alone.
//! On SQLite a document's key is its article's publication, so it is
//! stored again whenever that changes (see
//! [`crate::content::writes::Edit::commit`]).
//!
//! [`rebuild`] indexes everything again (`newsroom reindex`, and a server
//! starting on a database whose index an older build made), and tells the
//! change feed, so every server drops the searches it cached.

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_tag, tag,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::LockType,
};
use uuid::Uuid;

use crate::{
    content::{
        shared_settings,
        sql::search::{self as statements, IndexedWords},
        text::search_terms::{normalize_for_phrases, terms},
        writes::change::Key,
    },
    error::{AppError, AppResult},
};

/// What PostgreSQL's index is made by: change it when normalising,
/// segmenting, the fields indexed or the way documents are stored change,
/// and servers starting on an older index rebuild it.
const POSTGRES_INDEX_VERSION: &str =
    "2: nfkc lowercase, jieba 0.11 search mode, title summary tags body; lean rows on postgresql";

/// What SQLite's index is made by: the same words, with documents keyed
/// by publication ([`statements::first_key_at`]).
const SQLITE_INDEX_VERSION: &str = "3: nfkc lowercase, jieba 0.11 search mode, title summary tags body; documents keyed by publication";

/// The version this build makes on `backend`'s index.
pub fn index_version(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => POSTGRES_INDEX_VERSION,
        _ => SQLITE_INDEX_VERSION,
    }
}

/// The setting that names the version the stored index was made by.
const VERSION_SETTING: &str = "search_index_version";

/// Articles indexed per transaction by [`rebuild`].
const REBUILD_BATCH: usize = 200;

/// An article's text as the index reads it.
struct Source {
    id: Uuid,
    /// When it is public from, while it is published.
    public_since: Option<DateTime<Utc>>,
    title: String,
    summary: Option<String>,
    body_text: String,
}

/// Indexes these articles again from what the connection sees (inside a
/// write, the write's own changes); articles that no longer exist leave
/// the index.
pub async fn refresh<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<()> {
    let ids: Vec<Uuid> = ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in ids.chunks(REBUILD_BATCH) {
        index(conn, chunk).await?;
    }
    Ok(())
}

/// Indexes again every article carrying one of these tags (a renamed
/// tag's name is in their documents).
pub async fn refresh_tagged<C: ConnectionTrait>(conn: &C, tag_ids: &[Uuid]) -> AppResult<()> {
    if tag_ids.is_empty() {
        return Ok(());
    }
    refresh(conn, &articles_tagged(conn, tag_ids).await?).await
}

/// The ids of the articles carrying any of `tag_ids` (for a write about
/// to take a tag from them, before it does).
pub async fn articles_tagged<C: ConnectionTrait>(
    conn: &C,
    tag_ids: &[Uuid],
) -> AppResult<Vec<Uuid>> {
    Ok(article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::ArticleId)
        .filter(article_tag::Column::TagId.is_in(tag_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?)
}

/// Writes the documents of `ids` (at most [`REBUILD_BATCH`]).
async fn index<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> AppResult<()> {
    let backend = conn.get_database_backend();
    let mut rows = article::Entity::find()
        .select_only()
        .columns([
            article::Column::Id,
            article::Column::Status,
            article::Column::PublishedAt,
            article::Column::Title,
            article::Column::Summary,
            article::Column::BodyText,
        ])
        .filter(article::Column::Id.is_in(ids.iter().copied()));
    if backend == DbBackend::Postgres {
        // A rebuild and an edit of the same article take turns on its row,
        // so the later of the two writes the document last; rows are
        // locked in id order, so two refreshes never wait on each other
        // in a circle.
        rows = rows
            .order_by_asc(article::Column::Id)
            .lock(LockType::Update);
    }
    let sources: Vec<Source> = rows
        .into_tuple::<(
            Uuid,
            ArticleStatus,
            Option<DateTime<Utc>>,
            String,
            Option<String>,
            String,
        )>()
        .all(conn)
        .await?
        .into_iter()
        .map(
            |(id, status, published_at, title, summary, body_text)| Source {
                id,
                public_since: published_at.filter(|_| status == ArticleStatus::Published),
                title,
                summary,
                body_text,
            },
        )
        .collect();
    let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (article_id, name) in article_tag::Entity::find()
        .select_only()
        .column(article_tag::Column::ArticleId)
        .column(tag::Column::Name)
        .inner_join(tag::Entity)
        .filter(article_tag::Column::ArticleId.is_in(ids.iter().copied()))
        .order_by_asc(tag::Column::Name)
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
    {
        tags.entry(article_id).or_default().push(name);
    }
    for statement in statements::forget(backend, ids) {
        conn.execute_raw(statement).await?;
    }
    let mut full_text_rows = Vec::new();
    for source in sources {
        let tag_names = tags.remove(&source.id).unwrap_or_default();
        let words = IndexedWords {
            title: terms(&source.title),
            summary: source.summary.as_deref().map(terms).unwrap_or_default(),
            tags: tag_names.iter().flat_map(|name| terms(name)).collect(),
            body: terms(&source.body_text),
        };
        let normalized = normalize_for_phrases(&format!(
            "{}\n{}\n{}\n{}",
            source.title,
            source.summary.as_deref().unwrap_or(""),
            tag_names.join("\n"),
            source.body_text
        ));
        let stored =
            statements::store(backend, source.id, source.public_since, &normalized, &words);
        if backend == DbBackend::Postgres {
            conn.execute_raw(stored).await?;
        } else {
            let rowid: i64 = conn
                .query_one_raw(stored)
                .await?
                .ok_or_else(|| AppError::Internal("a search document got no id".to_owned()))?
                .try_get("", "id")?;
            full_text_rows.push((rowid, words));
        }
    }
    if let Some(statement) = statements::fts5_rows(&full_text_rows) {
        conn.execute_raw(statement).await?;
    }
    Ok(())
}

/// Whether the stored index was made by this build ([`index_version`]).
pub async fn is_current(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(shared_settings::get(db, VERSION_SETTING).await?.as_deref()
        == Some(index_version(db.get_database_backend())))
}

/// Marks the index as made by this build, inside the caller's
/// transaction (after a load that indexed everything it wrote).
pub async fn mark_current<C: ConnectionTrait>(conn: &C) -> AppResult<()> {
    shared_settings::set(
        conn,
        VERSION_SETTING,
        index_version(conn.get_database_backend()),
    )
    .await
}

/// What a [`rebuild`] does when the database refuses it a write for now
/// ([`AppError::Unavailable`]: on SQLite, another writer kept the turn past
/// its patience).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenRefused {
    /// Fail: someone is waiting for the answer (`newsroom reindex`, a
    /// server that rebuilds before it serves).
    Fail,
    /// Wait, a pause doubling from a second to a minute, and go on with
    /// the same batch: a background rebuild of a large site, which would
    /// otherwise start again from its first article.
    Wait,
}

/// The first pause of a [`WhenRefused::Wait`] rebuild after a refusal.
const FIRST_PAUSE: Duration = Duration::from_secs(1);

/// The longest pause of a [`WhenRefused::Wait`] rebuild.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// Indexes every article again, [`REBUILD_BATCH`] per transaction, oldest
/// first, telling `progress` how many are done; returns how many there
/// were. Searches go on meanwhile (an article not yet reached keeps its
/// old document), and so do writes. A refused write fails the rebuild or
/// waits, as `when_refused` says; waiting, it resumes where it stopped.
pub async fn rebuild(
    db: &DatabaseConnection,
    when_refused: WhenRefused,
    mut progress: impl FnMut(usize),
) -> AppResult<usize> {
    let mut done = 0;
    let mut last: Option<Uuid> = None;
    loop {
        let mut next = article::Entity::find()
            .select_only()
            .column(article::Column::Id)
            .order_by_asc(article::Column::Id)
            .limit(REBUILD_BATCH as u64);
        if let Some(last) = last {
            next = next.filter(article::Column::Id.gt(last));
        }
        let ids: Vec<Uuid> = next.into_tuple().all(db).await?;
        let Some(&newest) = ids.last() else { break };
        unless_refused(when_refused, || async {
            let txn = crate::database::begin_write(db).await?;
            index(&txn, &ids).await?;
            txn.commit().await
        })
        .await?;
        done += ids.len();
        progress(done);
        last = Some(newest);
    }
    unless_refused(when_refused, || async {
        let txn = crate::database::begin_write(db).await?;
        // Documents of articles deleted meanwhile by a build without this
        // index leave with their articles (PostgreSQL's foreign key); on
        // SQLite a document whose article is gone is dropped here.
        if db.get_database_backend() != DbBackend::Postgres {
            txn.execute_unprepared(
                r#"DELETE FROM "search_terms" WHERE rowid IN (SELECT "id" FROM "search_documents" WHERE "article_id" NOT IN (SELECT "id" FROM "articles"))"#,
            )
            .await?;
            txn.execute_unprepared(
                r#"DELETE FROM "search_documents" WHERE "article_id" NOT IN (SELECT "id" FROM "articles")"#,
            )
            .await?;
        }
        // Every server drops the searches it cached from the old index.
        mark_current(&txn).await?;
        crate::content::writes::change::record(
            &*txn,
            crate::content::now(),
            &[("search.reindexed", Uuid::nil(), vec![Key::Lists])],
        )
        .await?;
        txn.commit().await
    })
    .await?;
    count_the_words(db).await;
    Ok(done)
}

/// Has PostgreSQL gather the rebuilt documents' statistics now. Searches
/// choose how to find their ranking's bound from the words' shares that
/// `ANALYZE` records ([`crate::content::search::shares`]); without them a
/// search for a word one article in a hundred holds walked a million
/// articles (BENCHMARKS.md, "Statistics after a rebuild"), and autovacuum,
/// when it is on at all, gets to a table in its own time. A failure is
/// logged and left to autovacuum: the index itself is complete.
async fn count_the_words(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    if let Err(error) = db.execute_unprepared("ANALYZE search_documents").await {
        tracing::warn!(
            error = %AppError::from(error).log_message(),
            "could not gather the search documents' statistics after the rebuild"
        );
    }
}

/// Runs `write` once, or, with [`WhenRefused::Wait`], again after each
/// refusal until it is let through (each wait logged).
async fn unless_refused<Write, Written>(
    when_refused: WhenRefused,
    mut write: Write,
) -> AppResult<()>
where
    Write: FnMut() -> Written,
    Written: std::future::Future<Output = AppResult<()>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        match write().await {
            Err(error @ AppError::Unavailable { .. }) if when_refused == WhenRefused::Wait => {
                tracing::warn!(
                    error = %error.log_message(),
                    retry_in = ?pause,
                    "rebuilding the search index waits for the database"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            other => return other,
        }
    }
}
