//! One shape for every audited write: an [`Edit`] is a write transaction
//! that also carries who acts and what was done. Its commit stores the
//! audit entries and the change feed's entries with the change, in the same
//! transaction, so the log, the feed and the data never disagree; and it
//! refreshes the search index of every article the write touched, in the
//! same transaction, so search never finds words an article lost.

pub mod audit;
pub mod change;
pub mod feed;
pub mod listeners;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use uuid::Uuid;

use crate::{
    database::{WriteTransaction, begin_write},
    error::AppResult,
};
use audit::Actor;
use change::Key;

/// Whether an action may change the words search indexes for its subject:
/// an article's text or tags (an update that also moves it is
/// `article.move`), a tag's name or its articles.
fn changes_words(action: &str) -> bool {
    matches!(
        action,
        "article.create"
            | "article.update"
            | "article.move"
            | "article.tags"
            | "article.restore"
            | "article.delete"
            | "tag.update"
            | "tag.merge"
    )
}

/// Whether an action changes when, or whether, its article is published.
/// Who may find it is decided when searching, but SQLite keys an
/// article's document by its publication
/// ([`crate::content::sql::search::first_key_at`]), so there the document
/// is stored again under its new key.
fn changes_publication(action: &str) -> bool {
    matches!(
        action,
        "article.publish" | "article.schedule" | "article.unpublish" | "article.archive"
    )
}

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
    /// A webhook.
    Webhook(Uuid),
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
            Self::Webhook(_) => "webhook",
        }
    }

    /// The id.
    pub fn id(self) -> Uuid {
        match self {
            Self::Article(id)
            | Self::Section(id)
            | Self::Tag(id)
            | Self::Comment(id)
            | Self::Token(id)
            | Self::Webhook(id) => id,
        }
    }
}

/// One action of an edit, as the audit log keeps it, and the keys it
/// touches, as the change feed tells them.
struct Done {
    action: &'static str,
    subject: Subject,
    detail: String,
    keys: Vec<Key>,
    /// Whether the change feed hears of it.
    announced: bool,
}

/// An audited write in progress: use it as the connection for the write's
/// statements, say what was done with [`Edit::did`], then [`Edit::commit`].
/// Dropped without a commit, nothing is stored.
pub struct Edit<'a> {
    txn: WriteTransaction,
    actor: &'a Actor,
    now: DateTime<Utc>,
    done: Vec<Done>,
    /// Articles whose search documents must be made again beyond the
    /// subjects of what was done (those losing a deleted tag).
    search_again: Vec<Uuid>,
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
            search_again: Vec::new(),
        })
    }

    /// The transaction, for the write's statements.
    pub fn txn(&self) -> &WriteTransaction {
        &self.txn
    }

    /// Records that `action` (like `article.update`) was done to `subject`;
    /// `detail` is a short note for the log (a title, a count).
    /// The change feed hears of it with the subject's own keys; add more
    /// with [`Edit::touching`].
    pub fn did(&mut self, action: &'static str, subject: Subject, detail: impl Into<String>) {
        self.done.push(Done {
            action,
            subject,
            detail: detail.into(),
            keys: change::keys_of(subject),
            announced: true,
        });
    }

    /// Keeps the last action out of the change feed: it changed nothing
    /// anyone but the actor can see (a pending comment turned down).
    pub fn unseen(&mut self) {
        if let Some(done) = self.done.last_mut() {
            done.announced = false;
        }
    }

    /// Adds `key` to what the last action touches (the section an article
    /// is filed in, the article a comment is on).
    pub fn touching(&mut self, key: Key) -> &mut Self {
        if let Some(done) = self.done.last_mut()
            && !done.keys.contains(&key)
        {
            done.keys.push(key);
        }
        self
    }

    /// Has the search index read these articles again at commit, though
    /// no action names them (a deleted tag's articles lose its name).
    pub fn search_again(&mut self, articles: impl IntoIterator<Item = Uuid>) {
        self.search_again.extend(articles);
    }

    /// Stores the audit entries and the feed's changes, refreshes the
    /// search documents of the articles (and tags' articles) whose words
    /// changed, and commits with them; returns what the write touched, in
    /// the order it was done.
    pub async fn commit(self) -> AppResult<Vec<Subject>> {
        let mut articles = self.search_again.clone();
        let mut tags = Vec::new();
        let keyed_by_publication = self.txn.get_database_backend() != DbBackend::Postgres;
        for done in self.done.iter().filter(|done| {
            changes_words(done.action) || (keyed_by_publication && changes_publication(done.action))
        }) {
            match done.subject {
                Subject::Article(id) => articles.push(id),
                Subject::Tag(id) => tags.push(id),
                _ => {}
            }
        }
        crate::content::search::index::refresh(&self.txn, &articles).await?;
        crate::content::search::index::refresh_tagged(&self.txn, &tags).await?;
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
        let changes: Vec<_> = self
            .done
            .iter()
            .filter(|done| done.announced)
            .filter_map(|done| {
                change::kind_of(done.action)
                    .map(|kind| (kind, done.subject.id(), done.keys.clone()))
            })
            .collect();
        change::record(&self.txn, self.now, &changes).await?;
        self.txn.commit().await?;
        Ok(self.done.into_iter().map(|done| done.subject).collect())
    }
}
