//! One shape for every audited write: an [`Edit`] is a write transaction
//! that also carries who acts and what was done. Its commit stores the
//! audit entries with the change, in the same transaction, so the log and
//! the data never disagree, and returns what the write touched, by kind and
//! id: what caches drop, and what the change feed will publish.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::audit::{self, Actor};
use crate::{
    database::{WriteTransaction, begin_write},
    error::AppResult,
};

/// What a write touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An article.
    Article(Uuid),
    /// A section.
    Section(Uuid),
    /// A tag.
    Tag(Uuid),
    /// A comment.
    Comment(Uuid),
    /// An API token.
    Token(Uuid),
}

impl Subject {
    /// The kind, as the audit log names it.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Article(_) => "article",
            Self::Section(_) => "category",
            Self::Tag(_) => "tag",
            Self::Comment(_) => "comment",
            Self::Token(_) => "token",
        }
    }

    /// The id.
    pub fn id(self) -> Uuid {
        match self {
            Self::Article(id)
            | Self::Section(id)
            | Self::Tag(id)
            | Self::Comment(id)
            | Self::Token(id) => id,
        }
    }
}

/// One action of an edit, as the audit log keeps it.
struct Done {
    action: &'static str,
    subject: Subject,
    detail: String,
}

/// An audited write in progress: use it as the connection for the write's
/// statements, say what was done with [`Edit::did`], then [`Edit::commit`].
/// Dropped without a commit, nothing is stored.
pub struct Edit<'a> {
    txn: WriteTransaction,
    actor: &'a Actor,
    now: DateTime<Utc>,
    done: Vec<Done>,
}

impl<'a> Edit<'a> {
    /// Starts an edit by `actor` at `now` (see [`begin_write`]).
    pub async fn begin(
        db: &DatabaseConnection,
        actor: &'a Actor,
        now: DateTime<Utc>,
    ) -> AppResult<Self> {
        Ok(Self {
            txn: begin_write(db).await?,
            actor,
            now,
            done: Vec::new(),
        })
    }

    /// The transaction, for the write's statements.
    pub fn txn(&self) -> &WriteTransaction {
        &self.txn
    }

    /// Records that `action` (like `article.update`) was done to `subject`;
    /// `detail` is a short note for the log (a title, a count).
    pub fn did(&mut self, action: &'static str, subject: Subject, detail: impl Into<String>) {
        self.done.push(Done {
            action,
            subject,
            detail: detail.into(),
        });
    }

    /// Stores the audit entries and commits with them; returns what the
    /// write touched, in the order it was done.
    pub async fn commit(self) -> AppResult<Vec<Subject>> {
        for done in &self.done {
            audit::record(
                &self.txn,
                self.actor,
                done.action,
                done.subject.kind(),
                done.subject.id(),
                done.detail.as_str(),
                self.now,
            )
            .await?;
        }
        self.txn.commit().await?;
        Ok(self.done.into_iter().map(|done| done.subject).collect())
    }
}
