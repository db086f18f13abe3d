//! Admins' view of the audit log.

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::audit_entry;

use super::{connection::PageInfo, context::authorized, scalars::DateTime};
use crate::content::{self, tokens::Permission, writes};

/// One line of the audit log.
pub struct AuditEntry(audit_entry::Model);

/// One editorial or moderation action: who, what, when.
#[Object]
impl AuditEntry {
    /// The entry's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The token that acted; `null` for the command line.
    async fn token_id(&self) -> Option<ID> {
        self.0.token_id.map(|id| ID(id.to_string()))
    }
    /// The token's name at the time.
    async fn token_name(&self) -> &str {
        &self.0.token_name
    }
    /// What was done, like `article.update` or `comment.approve`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of thing acted on.
    async fn subject_type(&self) -> &str {
        &self.0.subject_type
    }
    /// Its id.
    async fn subject_id(&self) -> &str {
        &self.0.subject_id
    }
    /// A short note: a title, a count.
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    /// When.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// A page of the audit log.
#[derive(SimpleObject)]
pub struct AuditLog {
    /// The entries on this page, newest first.
    edges: Vec<AuditEdge>,
    /// Where this page stands in the log.
    page_info: PageInfo,
}

/// One entry, with its cursor.
#[derive(SimpleObject)]
pub struct AuditEdge {
    /// Pass as `after` to continue after this entry.
    cursor: String,
    /// The entry.
    node: AuditEntry,
}

/// Admins' audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first, `first` entries (20 when left out, at
    /// most 100) after the `after` cursor; it pages forward. Admins only.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditLog> {
        let (state, _, _) = authorized(ctx, Permission::Administer).await?;
        // 20 when left out or null, as on every list.
        let size = content::page_size(first.unwrap_or(20))?;
        let after = after
            .as_deref()
            .map(writes::audit::parse_cursor)
            .transpose()?;
        let page = writes::audit::list(&state.db, size, after.as_ref()).await?;
        let edges: Vec<AuditEdge> = page
            .items
            .into_iter()
            .map(|entry| AuditEdge {
                cursor: writes::audit::cursor_of(&entry).encode(),
                node: AuditEntry(entry),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(AuditLog {
            edges,
            page_info: PageInfo::forward(&cursors, page.has_next_page),
        })
    }
}
