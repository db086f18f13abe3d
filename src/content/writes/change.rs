//! The change feed: every write of content stores, in its own transaction,
//! what it changed (`article.published`, `comment.approved`, …) and the keys
//! it touches, numbered by a sequence. Each server process follows the feed
//! in sequence order ([`crate::content::writes::feed::Feed`]) and drops what it cached of a change, so
//! a fleet of processes on one database serves one truth. A pending comment
//! or a draft saved changes nothing a reader sees; their changes say so
//! ([`Change::is_public`]).
//!
//! On PostgreSQL the writers of changes take turns on an advisory lock held
//! to commit, so sequence numbers become visible in order (a follower that
//! has seen `n` never later finds a committed `m < n`), and `NOTIFY` tells
//! every process at commit. On SQLite there is one writer at a time anyway.

use std::fmt;

use chrono::{DateTime, Utc};
use entity::change;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::{Expr, Func},
};
use uuid::Uuid;

use crate::content::writes::Subject;
use crate::error::AppResult;

/// The PostgreSQL channel that announces new changes.
pub const CHANNEL: &str = "newsroom_changes";

/// The turn writers of changes take ([`crate::database::take_turn`]).
const SEQUENCE_TURN: &str = "newsroom change feed";

/// What a change touches: the keys caches and subscribers are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// One article: its page, and its teaser wherever it is listed.
    Article(Uuid),
    /// One section: its page and the lists filed under it.
    Section(Uuid),
    /// One tag: its page and the lists that carry it.
    Tag(Uuid),
    /// The lists of articles (home page, newest, most viewed, …).
    Lists,
    /// One API token.
    Token(Uuid),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Article(id) => write!(f, "article:{id}"),
            Self::Section(id) => write!(f, "section:{id}"),
            Self::Tag(id) => write!(f, "tag:{id}"),
            Self::Lists => f.write_str("lists"),
            Self::Token(id) => write!(f, "token:{id}"),
        }
    }
}

/// One change, as written to the feed and read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its place in the feed (0 until stored).
    pub seq: i64,
    /// When it was committed (the edit's clock).
    pub at: DateTime<Utc>,
    /// What happened, like `article.published`.
    pub kind: String,
    /// The entity changed.
    pub entity_id: Uuid,
    /// What it touches, like `article:<id> section:<id> lists`.
    pub keys: Vec<String>,
}

impl Change {
    /// Whether readers can see the difference: anything but tokens,
    /// drafts created unseen and comments waiting for a moderator.
    pub fn is_public(&self) -> bool {
        !self.kind.starts_with("token.")
            && self.kind != "article.drafted"
            && self.kind != "comment.pending"
    }
}

impl From<change::Model> for Change {
    fn from(row: change::Model) -> Self {
        Self {
            seq: row.seq,
            at: row.at,
            kind: row.kind,
            entity_id: row.entity_id,
            keys: row.keys.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

/// The change an audited action makes, by the action's audit name; `None`
/// for actions the feed has no kind for.
pub fn kind_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "article.create" => "article.drafted",
        "article.publish" => "article.published",
        "article.schedule" => "article.scheduled",
        "article.update" | "article.tags" | "article.restore" | "comments.open"
        | "comments.close" => "article.updated",
        "article.move" => "article.moved",
        "article.unpublish" | "article.archive" => "article.unpublished",
        "article.delete" => "article.deleted",
        "category.create" | "category.update" | "category.delete" => "section.changed",
        "tag.create" | "tag.update" | "tag.merge" | "tag.delete" => "tag.changed",
        "comment.approve" => "comment.approved",
        "comment.reject" | "comment.spam" | "comment.delete" => "comment.removed",
        "token.create" => "token.created",
        "token.revoke" => "token.revoked",
        "site.import" => "site.imported",
        _ => return None,
    })
}

/// The keys a change to `subject` touches before the writer adds more.
pub fn keys_of(subject: Subject) -> Vec<Key> {
    match subject {
        // Lists only when the writer says the article joins, leaves or
        // moves among them (publication, tags, section, slug).
        Subject::Article(id) => vec![Key::Article(id)],
        Subject::Section(id) => vec![Key::Section(id), Key::Lists],
        Subject::Tag(id) => vec![Key::Tag(id), Key::Lists],
        Subject::Comment(_) => Vec::new(),
        Subject::Token(id) => vec![Key::Token(id)],
        Subject::Webhook(_) => Vec::new(),
    }
}

/// Stores `changes` in `txn`, numbered in commit order, and has every
/// listening process told at commit (PostgreSQL).
pub async fn record<C: ConnectionTrait>(
    txn: &C,
    at: DateTime<Utc>,
    changes: &[(&'static str, Uuid, Vec<Key>)],
) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    lock_sequence(txn).await?;
    let mut last = 0;
    for (kind, entity_id, keys) in changes {
        last = change::ActiveModel {
            at: Set(at),
            kind: Set((*kind).to_owned()),
            entity_id: Set(*entity_id),
            keys: Set(keys
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")),
            ..Default::default()
        }
        .insert(txn)
        .await?
        .seq;
    }
    tick_tags(txn, changes, last).await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {CHANNEL}"),
        ))
        .await?;
    }
    Ok(())
}

/// The shared setting holding the publication time up to which scheduled
/// articles coming due have been announced.
const ANNOUNCED_UNTIL: &str = "published_announced_until";

/// Announces the scheduled articles that came due since the last
/// announcement, up to `now`: an `article.published` change each, once for
/// the whole fleet (the announcing transaction takes the feed's turn and
/// moves the mark). `since` is where this process last saw the mark; when
/// no article came due after it, nothing is written. Returns the new mark.
pub async fn announce_due(
    db: &DatabaseConnection,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    use entity::article::{self, ArticleStatus};
    let due_between = |from: DateTime<Utc>| {
        article::Entity::find()
            .filter(article::Column::Status.eq(ArticleStatus::Published))
            .filter(article::Column::PublishedAt.gt(from))
            .filter(article::Column::PublishedAt.lte(now))
    };
    if let Some(since) = since
        && due_between(since).one(db).await?.is_none()
    {
        return Ok(since);
    }
    let txn = crate::database::begin_write(db).await?;
    lock_sequence(&txn).await?;
    let stored = crate::content::shared_settings::get(&txn, ANNOUNCED_UNTIL)
        .await?
        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| at.with_timezone(&Utc));
    let Some(from) = stored else {
        // The first process ever to look announces nothing from the past.
        crate::content::shared_settings::set(&txn, ANNOUNCED_UNTIL, &now.to_rfc3339()).await?;
        txn.commit().await?;
        return Ok(now);
    };
    if from >= now {
        txn.commit().await?;
        return Ok(from);
    }
    let due: Vec<(Uuid, Uuid)> = due_between(from)
        .select_only()
        .column(article::Column::Id)
        .column(article::Column::CategoryId)
        .into_tuple()
        .all(&txn)
        .await?;
    // Their tags too: a purge by these keys reaches the pages of articles
    // sharing them, whose related teasers they may join.
    let tagged: Vec<(Uuid, Uuid)> = entity::article_tag::Entity::find()
        .filter(entity::article_tag::Column::ArticleId.is_in(due.iter().map(|(id, _)| *id)))
        .select_only()
        .column(entity::article_tag::Column::ArticleId)
        .column(entity::article_tag::Column::TagId)
        .into_tuple()
        .all(&txn)
        .await?;
    let changes: Vec<_> = due
        .iter()
        .map(|(id, section)| {
            let mut keys = vec![Key::Article(*id), Key::Section(*section), Key::Lists];
            keys.extend(
                tagged
                    .iter()
                    .filter(|(article, _)| article == id)
                    .map(|(_, tag)| Key::Tag(*tag)),
            );
            ("article.published", *id, keys)
        })
        .collect();
    record(&txn, now, &changes).await?;
    crate::content::shared_settings::set(&txn, ANNOUNCED_UNTIL, &now.to_rfc3339()).await?;
    txn.commit().await?;
    Ok(now)
}

/// Marks, with the number `seq` of the last of `changes`, each tag whose
/// articles they change (the tags their keys name; every tag on a site
/// import), so that kept rankings of related teasers reading those tags are
/// no longer trusted ([`crate::content::articles::kept_related`]). Written
/// under the feed's turn, like the changes: a reader that has not seen
/// change `seq` cannot have seen this mark either.
async fn tick_tags<C: ConnectionTrait>(
    txn: &C,
    changes: &[(&'static str, Uuid, Vec<Key>)],
    seq: i64,
) -> AppResult<()> {
    use entity::related_tick;
    use sea_orm::sea_query::OnConflict;
    if changes.iter().any(|(kind, _, _)| *kind == "site.imported") {
        let backend = txn.get_database_backend();
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO related_ticks (tag_id, tick) SELECT id, $1 FROM tags WHERE true \
             ON CONFLICT (tag_id) DO UPDATE SET tick = excluded.tick",
            [seq.into()],
        ))
        .await?;
        return Ok(());
    }
    let mut tags: Vec<Uuid> = changes
        .iter()
        .flat_map(|(_, _, keys)| keys)
        .filter_map(|key| match key {
            Key::Tag(id) => Some(*id),
            _ => None,
        })
        .collect();
    tags.sort_unstable();
    tags.dedup();
    if tags.is_empty() {
        return Ok(());
    }
    related_tick::Entity::insert_many(tags.into_iter().map(|tag_id| related_tick::ActiveModel {
        tag_id: Set(tag_id),
        tick: Set(seq),
    }))
    .on_conflict(
        OnConflict::column(related_tick::Column::TagId)
            .update_column(related_tick::Column::Tick)
            .to_owned(),
    )
    .exec(txn)
    .await?;
    Ok(())
}

/// Takes the feed's turn (PostgreSQL): held to commit, so changes become
/// visible in sequence order.
async fn lock_sequence<C: ConnectionTrait>(txn: &C) -> AppResult<()> {
    crate::database::take_turn(txn, SEQUENCE_TURN).await
}

/// The changes after `seq`, oldest first, at most `limit`.
pub async fn after<C: ConnectionTrait>(db: &C, seq: i64, limit: u64) -> AppResult<Vec<Change>> {
    Ok(change::Entity::find()
        .filter(change::Column::Seq.gt(seq))
        .order_by_asc(change::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Change::from)
        .collect())
}

/// The last change's number, 0 when there is none.
pub async fn latest(db: &DatabaseConnection) -> AppResult<i64> {
    latest_in(db).await
}

/// [`latest`], read through `conn` (a transaction).
pub async fn latest_in<C: ConnectionTrait>(db: &C) -> AppResult<i64> {
    let latest: Option<Option<i64>> = change::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(change::Column::Seq)))
        .into_tuple()
        .one(db)
        .await?;
    Ok(latest.flatten().unwrap_or(0))
}

/// Deletes changes older than `before`, but never the newest; returns how
/// many. The audit log keeps the history; the feed only needs to outlast a
/// process's absence. The newest stays so the feed's latest number never
/// goes back to 0: kept related rankings are dated by it.
pub async fn prune(db: &DatabaseConnection, before: DateTime<Utc>) -> AppResult<u64> {
    let newest = latest(db).await?;
    Ok(change::Entity::delete_many()
        .filter(change::Column::At.lt(before))
        .filter(change::Column::Seq.lt(newest))
        .exec(db)
        .await?
        .rows_affected)
}
