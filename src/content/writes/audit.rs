//! The audit log: every editorial and moderation action, with the token that
//! did it. Written in the same transaction as the action itself, so the log
//! and the data never disagree.

use chrono::{DateTime, Utc};
use entity::audit_entry;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::content::{
    Page,
    cursor::{self, Cursor, keyset_after},
    time_from_micros,
    tokens::Principal,
};
use crate::error::AppResult;

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The token used; `None` for the command line.
    pub token_id: Option<Uuid>,
    /// The token's name, or `command line`.
    pub name: String,
}

impl From<&Principal> for Actor {
    fn from(principal: &Principal) -> Self {
        Self {
            token_id: Some(principal.token_id),
            name: principal.name.clone(),
        }
    }
}

impl Actor {
    /// Someone at the server's command line.
    pub fn command_line() -> Self {
        Self {
            token_id: None,
            name: "command line".to_owned(),
        }
    }
}

/// Writes one entry.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: &str,
    subject_type: &str,
    subject_id: impl ToString,
    detail: impl Into<String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_id: Set(actor.token_id),
        token_name: Set(actor.name.clone()),
        action: Set(action.to_owned()),
        subject_type: Set(subject_type.to_owned()),
        subject_id: Set(subject_id.to_string()),
        detail: Set(detail.into()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

const AUDIT_LIST: char = 'a';

/// Where an entry stands in the log, as a cursor.
pub fn cursor_of(entry: &audit_entry::Model) -> Cursor {
    Cursor {
        list: AUDIT_LIST,
        key: entry.created_at.timestamp_micros(),
        id: entry.id,
    }
}

/// Reads a client's `after` for the log.
pub fn parse_cursor(text: &str) -> AppResult<Cursor> {
    cursor::parse_after(text, AUDIT_LIST)
}

/// One page of the log, newest first.
pub async fn list(
    db: &DatabaseConnection,
    size: u64,
    after: Option<&Cursor>,
) -> AppResult<Page<audit_entry::Model>> {
    let mut select = audit_entry::Entity::find();
    if let Some(cursor) = after {
        select = select.filter(keyset_after(
            audit_entry::Column::CreatedAt,
            time_from_micros(cursor.key)?,
            audit_entry::Column::Id,
            cursor.id,
            true,
        ));
    }
    let rows = select
        .order_by_desc(audit_entry::Column::CreatedAt)
        .order_by_desc(audit_entry::Column::Id)
        .limit(size + 1)
        .all(db)
        .await?;
    Ok(Page::from_overfetch(rows, size))
}
