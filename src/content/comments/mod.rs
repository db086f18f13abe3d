//! Readers' comments: a new one is checked field by field before anything is
//! stored, and only approved ones are ever listed publicly.

pub mod abuse;
pub mod moderation;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    article,
    comment::{self, CommentStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set, Statement,
    sea_query::{Expr, ExprTrait, Func},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::content::{
    Page,
    articles::visible,
    comments,
    cursor::{self, Cursor, Window, keyset_after},
    time_from_micros,
};
use crate::error::{AppError, AppResult};

/// The longest name a commenter may give, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest message, in characters.
pub const MAX_BODY_CHARS: usize = 5_000;
/// The longest email address (RFC 5321's limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// A comment with more links than this waits for a moderator even when the
/// site publishes comments at once.
pub const MAX_LINKS_PUBLISHED_AT_ONCE: usize = 2;
/// The same message from the same sender on the same article within this
/// many minutes is refused as a duplicate.
pub const DUPLICATE_WINDOW_MINUTES: i64 = 10;

/// A comment that has passed every check and may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    /// The article commented on.
    pub article_id: Uuid,
    /// The commenter's name, trimmed.
    pub author_name: String,
    /// The commenter's email, trimmed.
    pub author_email: String,
    /// The message, trimmed, with line breaks as `\n`.
    pub body: String,
    /// What a retry of this same comment is recognised by: the client's
    /// idempotency key hashed with the sender's email (so two senders who
    /// pick the same key never see each other's comment).
    pub request_key: Option<String>,
}

impl NewComment {
    /// Checks a reader's form; the first broken rule comes back as
    /// `BAD_USER_INPUT` naming its field.
    pub fn parse(article_id: &str, name: &str, email: &str, body: &str) -> AppResult<Self> {
        let article_id = Uuid::try_parse(article_id.trim())
            .map_err(|_| AppError::bad_input("articleId", "`articleId` is not a valid ID"))?;

        let author_name = name.trim();
        check_length("authorName", "Your name", author_name, MAX_NAME_CHARS)?;
        if author_name
            .chars()
            .any(|c| c.is_control() || is_bidi_control(c))
        {
            return Err(AppError::bad_input(
                "authorName",
                "Your name may not contain control or text-direction characters",
            ));
        }

        let author_email = email.trim();
        if author_email.chars().count() > MAX_EMAIL_CHARS
            || author_email
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
            || !email_address::EmailAddress::is_valid(author_email)
        {
            return Err(AppError::bad_input(
                "authorEmail",
                "Please give a valid email address, like name@example.com",
            ));
        }

        let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
        let body = normalized.trim();
        check_length("body", "Your message", body, MAX_BODY_CHARS)?;
        if body
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(AppError::bad_input(
                "body",
                "Your message may not contain control characters",
            ));
        }

        Ok(Self {
            article_id,
            author_name: author_name.to_owned(),
            author_email: author_email.to_owned(),
            body: body.to_owned(),
            request_key: None,
        })
    }

    /// The comment with the client's idempotency key: 1 to
    /// [`MAX_IDEMPOTENCY_KEY_CHARS`] visible characters, such as a UUID the
    /// form made when it was opened.
    pub fn with_idempotency_key(mut self, key: Option<&str>) -> AppResult<Self> {
        let Some(key) = key else {
            return Ok(self);
        };
        let length = key.chars().count();
        if length == 0
            || length > MAX_IDEMPOTENCY_KEY_CHARS
            || key.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(AppError::bad_input(
                "idempotencyKey",
                format!(
                    "`idempotencyKey` must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible characters, like a UUID"
                ),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(self.author_email.to_lowercase().as_bytes());
        self.request_key = Some(hex::encode(hasher.finalize()));
        Ok(self)
    }
}

/// The longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// The comment an earlier request with the same idempotency key stored, if
/// any. One that was for another article or another message is the
/// client's mistake: `BAD_USER_INPUT` on `idempotencyKey`.
pub async fn stored_for_request(
    db: &impl ConnectionTrait,
    new: &NewComment,
) -> AppResult<Option<comment::Model>> {
    let Some(request_key) = &new.request_key else {
        return Ok(None);
    };
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT comment_id FROM comment_requests WHERE request_key = $1",
        _ => "SELECT comment_id FROM comment_requests WHERE request_key = ?",
    };
    let Some(row) = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [request_key.clone().into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let comment_id: String = row.try_get("", "comment_id")?;
    let comment_id = Uuid::try_parse(&comment_id)
        .map_err(|_| AppError::Internal(format!("comment_requests holds {comment_id:?}")))?;
    let Some(stored) = comment::Entity::find_by_id(comment_id).one(db).await? else {
        return Ok(None);
    };
    if stored.article_id != new.article_id || comparable(&stored.body) != comparable(&new.body) {
        return Err(AppError::bad_input(
            "idempotencyKey",
            "This idempotency key was used for another comment; make a new key for each comment",
        ));
    }
    Ok(Some(stored))
}

fn check_length(field: &'static str, label: &str, value: &str, max: usize) -> AppResult<()> {
    let length = value.chars().count();
    if length == 0 {
        return Err(AppError::bad_input(
            field,
            format!("{label} may not be empty"),
        ));
    }
    if length > max {
        return Err(AppError::bad_input(
            field,
            format!("{label} is {length} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

/// What `addComment` does with a new comment: the site's choice, read from
/// the configuration at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentPolicy {
    /// Keep it pending until a moderator approves it.
    Moderate,
    /// Approve it at once.
    Publish,
}

/// Comment rate limits that the database enforces, for a fleet of
/// processes on one PostgreSQL database: at most this many comments in any
/// 60 seconds, counted from the stored comments themselves; 0 turns a
/// limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedLimits {
    /// Per client (by the fingerprint of its address).
    pub per_client: u32,
    /// Per article, across clients.
    pub per_article: u32,
}

/// The window [`SharedLimits`] count over.
const LIMIT_WINDOW_SECONDS: i64 = 60;

/// Refuses the comment with `RATE_LIMITED` when `limits` are reached,
/// counting the comments stored in the last minute. Takes turns per client
/// and per article (advisory locks held to commit, always in that order),
/// so processes commenting at once cannot both take the last place.
async fn check_shared_limits<C: ConnectionTrait>(
    txn: &C,
    limits: SharedLimits,
    article_id: Uuid,
    client_fingerprint: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let since = now - chrono::Duration::seconds(LIMIT_WINDOW_SECONDS);
    let mut checks: Vec<(String, Condition, u32, &'static str, &str)> = Vec::new();
    if let Some(fingerprint) = client_fingerprint
        && limits.per_client > 0
    {
        checks.push((
            format!("comments by client {fingerprint}"),
            Condition::all().add(comment::Column::ClientFingerprint.eq(fingerprint)),
            limits.per_client,
            "client",
            "You are sending comments too quickly",
        ));
    }
    if limits.per_article > 0 {
        checks.push((
            format!("comments on article {article_id}"),
            Condition::all().add(comment::Column::ArticleId.eq(article_id)),
            limits.per_article,
            "article",
            "This article is receiving too many comments; try again shortly",
        ));
    }
    for (lock, matching, limit, which, message) in checks {
        crate::database::take_turn(txn, &lock).await?;
        let recent: Vec<DateTime<Utc>> = comment::Entity::find()
            .filter(matching)
            .filter(comment::Column::CreatedAt.gt(since))
            .select_only()
            .column(comment::Column::CreatedAt)
            .order_by_desc(comment::Column::CreatedAt)
            .limit(u64::from(limit))
            .into_tuple()
            .all(txn)
            .await?;
        if recent.len() >= limit as usize {
            let oldest = recent.last().copied().unwrap_or(now);
            let free_at = oldest + chrono::Duration::seconds(LIMIT_WINDOW_SECONDS);
            crate::metrics::rate_limited(which);
            return Err(AppError::RateLimited {
                message: message.to_owned(),
                retry_after: (free_at - now).to_std().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

/// Stores a checked comment under a public article: pending, or approved
/// at once (counted on the article in the same transaction) when the policy
/// says so. An unknown or unpublished article is `NOT_FOUND`; one whose
/// comments are closed is `FORBIDDEN`. With `shared_limits` (PostgreSQL),
/// the database enforces the rate limits for every process at once.
pub async fn add(
    db: &DatabaseConnection,
    policy: CommentPolicy,
    new: NewComment,
    client_fingerprint: Option<String>,
    shared_limits: Option<SharedLimits>,
    now: DateTime<Utc>,
) -> AppResult<comment::Model> {
    let status = match policy {
        CommentPolicy::Publish
            if comments::abuse::link_count(&new.body) <= MAX_LINKS_PUBLISHED_AT_ONCE =>
        {
            CommentStatus::Approved
        }
        _ => CommentStatus::Pending,
    };
    let txn = crate::database::begin_write(db).await?;
    if let Some(request_key) = &new.request_key {
        // Retries of one comment racing take turns here, so the later ones
        // find the first's comment below.
        crate::database::take_turn(&txn, request_key).await?;
    }
    if let Some(stored) = stored_for_request(&txn, &new).await? {
        return Ok(stored);
    }
    if let Some(limits) = shared_limits
        && txn.get_database_backend() == DbBackend::Postgres
    {
        check_shared_limits(
            &txn,
            limits,
            new.article_id,
            client_fingerprint.as_deref(),
            now,
        )
        .await?;
    }
    let closed = article::Entity::find_by_id(new.article_id)
        .filter(visible(now))
        .select_only()
        .column(article::Column::CommentsClosed)
        .into_tuple::<bool>()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No published article has this id".to_owned()))?;
    if closed {
        return Err(AppError::Forbidden(
            "Comments on this article are closed".to_owned(),
        ));
    }
    let since = now - chrono::Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    let mut same_sender = Condition::any().add(
        Expr::expr(Func::lower(Expr::col(comment::Column::AuthorEmail)))
            .eq(new.author_email.to_lowercase()),
    );
    if let Some(fingerprint) = &client_fingerprint {
        same_sender = same_sender.add(comment::Column::ClientFingerprint.eq(fingerprint));
    }
    let recent_bodies: Vec<String> = comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(new.article_id))
        .filter(comment::Column::CreatedAt.gte(since))
        .filter(same_sender)
        .select_only()
        .column(comment::Column::Body)
        .into_tuple()
        .all(&txn)
        .await?;
    let this_body = comparable(&new.body);
    if recent_bodies
        .iter()
        .any(|body| comparable(body) == this_body)
    {
        return Err(AppError::bad_input(
            "body",
            "You sent this same comment a moment ago",
        ));
    }
    let request_key = new.request_key.clone();
    let stored = comment::ActiveModel {
        id: Set(Uuid::now_v7()),
        article_id: Set(new.article_id),
        author_name: Set(new.author_name),
        author_email: Set(new.author_email),
        body: Set(new.body),
        status: Set(status),
        created_at: Set(now),
        client_fingerprint: Set(client_fingerprint),
    }
    .insert(&txn)
    .await?;
    if let Some(request_key) = request_key {
        let backend = txn.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO comment_requests (request_key, comment_id) VALUES ($1, $2)"
            }
            _ => "INSERT INTO comment_requests (request_key, comment_id) VALUES (?, ?)",
        };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [request_key.into(), stored.id.to_string().into()],
        ))
        .await?;
    }
    if status == CommentStatus::Approved {
        article::Entity::update_many()
            .col_expr(
                article::Column::CommentCount,
                Expr::col(article::Column::CommentCount).add(1),
            )
            .filter(article::Column::Id.eq(new.article_id))
            .exec(&txn)
            .await?;
    }
    // Public at once: the feed tells every process, as an approval would.
    // A pending comment changes nothing a reader sees, but moderators
    // watching the queue hear of it (`comment.pending` is not public).
    let kind = if status == CommentStatus::Approved {
        "comment.approved"
    } else {
        "comment.pending"
    };
    crate::content::writes::change::record(
        &txn,
        now,
        &[(
            kind,
            stored.id,
            vec![crate::content::writes::change::Key::Article(new.article_id)],
        )],
    )
    .await?;
    txn.commit().await?;
    Ok(stored)
}

/// A message as duplicates are compared: case-folded, with every run of
/// white space made one space, so that changing the case or the spacing does
/// not make a repeated comment new.
fn comparable(body: &str) -> String {
    body.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Characters that reorder how text around them is shown (bidirectional
/// overrides, embeddings, isolates and marks): in a name they can make it
/// read as something else, so names may not hold them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What `addComment` answers for a comment it drops unseen (a bot's): it
/// looks like any pending comment, but nothing was stored.
pub fn unsaved(new: NewComment, now: DateTime<Utc>) -> comment::Model {
    comment::Model {
        id: Uuid::now_v7(),
        article_id: new.article_id,
        author_name: new.author_name,
        author_email: String::new(),
        body: new.body,
        status: CommentStatus::Pending,
        created_at: now,
        client_fingerprint: None,
    }
}

/// The cursor tag of an article's public comment list.
const COMMENT_LIST: char = 'm';

/// Where `comment` stands in its article's list, as a cursor.
pub fn cursor_of(comment: &comment::Model) -> Cursor {
    Cursor {
        list: COMMENT_LIST,
        key: comment.created_at.timestamp_micros(),
        id: comment.id,
    }
}

/// Reads a client's `after` for a comment list.
pub fn parse_cursor(text: &str) -> AppResult<Cursor> {
    cursor::parse_after(text, COMMENT_LIST)
}

/// The page of a comment list that Relay's arguments ask for (see
/// [`Window::from_arguments`]).
pub fn window(
    first: Option<i32>,
    after: Option<&str>,
    last: Option<i32>,
    before: Option<&str>,
    default_size: i32,
) -> AppResult<Window> {
    Window::from_arguments(first, after, last, before, default_size, COMMENT_LIST)
}

/// The approved comment with `id`, if its article is public at `now`: what
/// a reader may refetch by id.
pub async fn public_by_id(
    db: &DatabaseConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<comment::Model>> {
    let public_articles = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .filter(visible(now))
        .into_query();
    Ok(comment::Entity::find_by_id(id)
        .filter(comment::Column::Status.eq(CommentStatus::Approved))
        .filter(comment::Column::ArticleId.in_subquery(public_articles))
        .one(db)
        .await?)
}

/// The page `window` asks for of an article's approved comments, newest
/// first.
pub async fn list_approved(
    db: &DatabaseConnection,
    article_id: Uuid,
    window: &Window,
) -> AppResult<Page<comment::Model>> {
    if window.size == 0 {
        return Ok(Page::default());
    }
    let mut select = comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(article_id))
        .filter(comment::Column::Status.eq(CommentStatus::Approved));
    // Newest first; a backward page reads the list in reverse.
    let descending = !window.backward;
    if let Some(cursor) = &window.cursor {
        select = select.filter(keyset_after(
            comment::Column::CreatedAt,
            time_from_micros(cursor.key)?,
            comment::Column::Id,
            cursor.id,
            descending,
        ));
    }
    let direction = if descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let rows = select
        .order_by(comment::Column::CreatedAt, direction.clone())
        .order_by(comment::Column::Id, direction)
        .limit(window.size + 1)
        .all(db)
        .await?;
    Ok(Page::for_window(rows, window))
}

/// The first pages (`size` comments each) of the approved comments of
/// many articles, newest first, in one statement per page size.
pub async fn first_pages_approved(
    db: &DatabaseConnection,
    keys: &[(Uuid, u64)],
) -> AppResult<HashMap<(Uuid, u64), Page<comment::Model>>> {
    use sea_orm::{ConnectionTrait, FromQueryResult};
    let mut pages = HashMap::with_capacity(keys.len());
    for (size, group) in crate::content::by_size(keys, |(_, size)| *size) {
        let articles: Vec<Uuid> = group.into_iter().map(|(article, _)| *article).collect();
        let mut rows: HashMap<Uuid, Vec<comment::Model>> = HashMap::new();
        if size > 0 {
            let statement = crate::content::sql::comment_pages::first_approved(
                db.get_database_backend(),
                &articles,
                size + 1,
            );
            for row in db.query_all_raw(statement).await? {
                let comment = comment::Model::from_query_result(&row, "")?;
                rows.entry(comment.article_id).or_default().push(comment);
            }
        }
        for article in articles {
            let found = rows.remove(&article).unwrap_or_default();
            pages.insert((article, size), Page::from_overfetch(found, size));
        }
    }
    Ok(pages)
}

impl crate::content::reads::Reads<'_> {
    /// The page of `article_id`'s approved comments that `window` asks for,
    /// through the read cache.
    pub async fn approved_comments(
        &self,
        article_id: Uuid,
        window: Window,
    ) -> AppResult<std::sync::Arc<Page<comment::Model>>> {
        let lookup = crate::content::cache::Lookup::Comments {
            article: article_id,
            window,
        };
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                list_approved(self.db, article_id, &window)
                    .await
                    .map(std::sync::Arc::new)
            })
            .await
    }

    /// The first pages (`size` comments each) of many articles' approved
    /// comments: cached ones from the read cache, the rest at once (see
    /// [`first_pages_approved`]).
    pub async fn first_comment_pages(
        &self,
        keys: &[(Uuid, u64)],
    ) -> AppResult<HashMap<(Uuid, u64), std::sync::Arc<Page<comment::Model>>>> {
        self.cache
            .get_or_load_many(
                self.db,
                self.now,
                keys,
                |(article, size)| crate::content::cache::Lookup::Comments {
                    article: *article,
                    window: Window::first(*size),
                },
                |missing| async move {
                    Ok(first_pages_approved(self.db, &missing)
                        .await?
                        .into_iter()
                        .map(|(key, page)| (key, std::sync::Arc::new(page)))
                        .collect())
                },
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190a0b0-0000-7000-8000-000000000000";

    fn field_of(result: AppResult<NewComment>) -> Option<String> {
        match result {
            Err(AppError::BadInput { field, .. }) => Some(field.into_owned()),
            _ => None,
        }
    }

    #[test]
    fn a_good_comment_is_trimmed_and_accepted() {
        let comment = NewComment::parse(ID, "  李雷 ", " li@example.com ", " 写得好！\r\nGreat. ");
        let comment = comment.ok();
        assert_eq!(
            comment.map(|c| (c.author_name, c.author_email, c.body)),
            Some((
                "李雷".to_owned(),
                "li@example.com".to_owned(),
                "写得好！\nGreat.".to_owned()
            ))
        );
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let long_name = "名".repeat(65);
        let long_body = "字".repeat(5_001);
        let cases = [
            ("not-an-id", "a", "a@example.com", "b", "articleId"),
            (ID, "   ", "a@example.com", "b", "authorName"),
            (ID, &long_name, "a@example.com", "b", "authorName"),
            (ID, "a\u{7}b", "a@example.com", "b", "authorName"),
            (
                ID,
                "evil\u{202E}gnp.exe",
                "a@example.com",
                "b",
                "authorName",
            ),
            (ID, "a\u{2066}b", "a@example.com", "b", "authorName"),
            (ID, "a", "not an email", "b", "authorEmail"),
            (ID, "a", "a@", "b", "authorEmail"),
            (ID, "a", "a@example.com", " \n ", "body"),
            (ID, "a", "a@example.com", &long_body, "body"),
            (ID, "a", "a@example.com", "nul\u{0}byte", "body"),
        ];
        for (id, name, email, body, field) in cases {
            assert_eq!(
                field_of(NewComment::parse(id, name, email, body)).as_deref(),
                Some(field),
                "{name:?} {email:?} {body:?}"
            );
        }
    }

    #[test]
    fn duplicates_are_compared_without_case_or_spacing() {
        assert_eq!(
            comparable("Great  Article!\n\tThanks"),
            comparable("great article! thanks")
        );
        assert_ne!(comparable("great article"), comparable("great articles"));
    }

    #[test]
    fn the_limits_themselves_are_allowed() {
        let name = "名".repeat(64);
        let body = "字".repeat(5_000);
        assert!(NewComment::parse(ID, &name, "a@example.com", &body).is_ok());
    }
}
