//! Moderation: the queue of comments by status, oldest first, and acting on
//! one or many at once. An article's comment count is recounted from the
//! approved comments in the same transaction, so it is exact whatever
//! happens.

use chrono::{DateTime, Utc};
use entity::{
    article,
    comment::{self, CommentStatus},
};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use uuid::Uuid;

use crate::content::{
    Page,
    cursor::{self, Cursor, keyset_after},
    time_from_micros,
    writes::audit::Actor,
    writes::change::Key,
    writes::{Edit, Subject},
};
use crate::error::{AppError, AppResult};

/// What a moderator does to comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Make public.
    Approve,
    /// Refuse.
    Reject,
    /// Refuse as spam.
    Spam,
    /// Remove for good.
    Delete,
}

impl Decision {
    fn action(self) -> &'static str {
        match self {
            Self::Approve => "comment.approve",
            Self::Reject => "comment.reject",
            Self::Spam => "comment.spam",
            Self::Delete => "comment.delete",
        }
    }
}

/// The most comments one call may act on.
pub const MAX_BATCH: usize = 100;

const QUEUE_LIST: char = 'q';

/// Where a comment stands in the queue, as a cursor.
pub fn cursor_of(comment: &comment::Model) -> Cursor {
    Cursor {
        list: QUEUE_LIST,
        key: comment.created_at.timestamp_micros(),
        id: comment.id,
    }
}

/// Reads a client's `after` for the queue.
pub fn parse_cursor(text: &str) -> AppResult<Cursor> {
    cursor::parse_after(text, QUEUE_LIST)
}

/// One page of comments with `status`, oldest first.
pub async fn queue(
    db: &DatabaseConnection,
    status: CommentStatus,
    size: u64,
    after: Option<&Cursor>,
) -> AppResult<Page<comment::Model>> {
    let mut select = comment::Entity::find().filter(comment::Column::Status.eq(status));
    if let Some(cursor) = after {
        select = select.filter(keyset_after(
            comment::Column::CreatedAt,
            time_from_micros(cursor.key)?,
            comment::Column::Id,
            cursor.id,
            false,
        ));
    }
    let rows = select
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id)
        .limit(size + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, size))
}

/// Applies `decision` to every comment in `ids` (all must exist) and
/// recounts the articles they belong to. Returns the comments as they are
/// now (before deletion, for `Delete`).
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    ids: &[Uuid],
    decision: Decision,
    now: DateTime<Utc>,
) -> AppResult<Vec<comment::Model>> {
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(AppError::bad_input(
            "ids",
            format!("Name 1 to {MAX_BATCH} comments"),
        ));
    }
    let mut edit = Edit::begin(db, actor, now).await?;
    let found = comment::Entity::find()
        .filter(comment::Column::Id.is_in(ids.iter().copied()))
        .all(edit.txn())
        .await?;
    if let Some(missing) = ids.iter().find(|id| !found.iter().any(|c| c.id == **id)) {
        return Err(AppError::NotFound(format!(
            "No comment has the id {missing}"
        )));
    }
    let mut result = Vec::with_capacity(found.len());
    for comment in found {
        let id = comment.id;
        let article_id = comment.article_id;
        let was_public = comment.status == CommentStatus::Approved;
        let updated = match decision {
            Decision::Delete => {
                comment::Entity::delete_by_id(id).exec(edit.txn()).await?;
                comment
            }
            other => {
                let status = match other {
                    Decision::Approve => CommentStatus::Approved,
                    Decision::Reject => CommentStatus::Rejected,
                    _ => CommentStatus::Spam,
                };
                let mut active: comment::ActiveModel = comment.into();
                active.status = Set(status);
                active.update(edit.txn()).await?
            }
        };
        edit.did(
            decision.action(),
            Subject::Comment(id),
            format!("on article {article_id}"),
        );
        edit.touching(Key::Article(article_id));
        if !was_public && !matches!(decision, Decision::Approve) {
            edit.unseen();
        }
        result.push(updated);
    }
    let mut articles: Vec<Uuid> = result.iter().map(|c| c.article_id).collect();
    articles.sort();
    articles.dedup();
    recount(edit.txn(), &articles).await?;
    edit.commit().await?;
    Ok(result)
}

/// Sets each article's comment count to its number of approved comments.
pub async fn recount(conn: &impl ConnectionTrait, article_ids: &[Uuid]) -> AppResult<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let approved = Query::select()
        .expr(Func::count(Expr::col((
            comment::Entity,
            comment::Column::Id,
        ))))
        .from(comment::Entity)
        .and_where(
            Expr::col((comment::Entity, comment::Column::ArticleId))
                .equals((article::Entity, article::Column::Id)),
        )
        .and_where(
            Expr::col((comment::Entity, comment::Column::Status))
                .eq(CommentStatus::Approved.to_value()),
        )
        .to_owned();
    article::Entity::update_many()
        .col_expr(
            article::Column::CommentCount,
            Expr::SubQuery(None, Box::new(approved.into())),
        )
        .filter(article::Column::Id.is_in(article_ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Opens or closes an article to new comments.
pub async fn set_comments_closed(
    db: &DatabaseConnection,
    actor: &Actor,
    article_id: Uuid,
    closed: bool,
    now: DateTime<Utc>,
) -> AppResult<article::Model> {
    let mut edit = Edit::begin(db, actor, now).await?;
    let txn = edit.txn();
    let current = article::Entity::find_by_id(article_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No article has this id".to_owned()))?;
    let mut active: article::ActiveModel = current.into();
    active.comments_closed = Set(closed);
    let updated = active.update(txn).await?;
    let action = if closed {
        "comments.close"
    } else {
        "comments.open"
    };
    edit.did(action, Subject::Article(article_id), &updated.title);
    edit.commit().await?;
    Ok(updated)
}

/// The comment with `id` while it waits for a moderator; `None` once it
/// was decided (or deleted): what a moderator watching the queue is sent.
pub async fn pending_by_id(db: &DatabaseConnection, id: Uuid) -> AppResult<Option<comment::Model>> {
    Ok(comment::Entity::find_by_id(id)
        .filter(comment::Column::Status.eq(CommentStatus::Pending))
        .one(db)
        .await?)
}
