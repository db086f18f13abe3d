//! Comments in the API: the `Comment` type, an article's comment connection,
//! and the `addComment` mutation behind the form under every article.

pub(super) mod moderation;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::comment::{self as comment_entity, CommentStatus as DbStatus};

use crate::graphql::shown::Shows;
use crate::graphql::{
    articles::Article,
    connection::PageInfo,
    context::{scope, written},
    scalars::DateTime,
};
use crate::{
    content::{self, Page, comments::NewComment},
    error::AppError,
};

/// A reader's comment. The commenter's email is never readable here.
pub struct Comment(pub comment_entity::Model);

/// A reader's comment. The commenter's email is never readable here.
#[Object(guard = "Shows::article(self.0.article_id)")]
impl Comment {
    /// The comment's unique id.
    pub(super) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The name the commenter gave.
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }

    /// The message as plain text; render it escaped.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// When the comment was sent.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// Where the comment stands in moderation; public lists hold approved
    /// comments only.
    async fn status(&self) -> CommentStatus {
        self.0.status.into()
    }
}

/// Where a comment stands in moderation.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CommentStatus {
    /// Waiting for a moderator; not public yet.
    Pending,
    /// Public.
    Approved,
    /// Refused by a moderator.
    Rejected,
    /// Refused as spam.
    Spam,
}

impl From<DbStatus> for CommentStatus {
    fn from(status: DbStatus) -> Self {
        match status {
            DbStatus::Pending => Self::Pending,
            DbStatus::Approved => Self::Approved,
            DbStatus::Rejected => Self::Rejected,
            DbStatus::Spam => Self::Spam,
        }
    }
}

/// A page of an article's approved comments.
#[derive(SimpleObject)]
pub struct CommentConnection {
    /// How many approved comments the article has, across all pages.
    total_count: i32,
    /// Where this page stands in the list.
    page_info: PageInfo,
    /// The comments on this page, each with its cursor.
    edges: Vec<CommentEdge>,
}

/// One comment in a list, with the cursor that points just after it.
#[derive(SimpleObject)]
pub struct CommentEdge {
    /// Pass as `after` to continue the list after this comment.
    cursor: String,
    /// The comment.
    node: Comment,
}

impl CommentConnection {
    /// A connection over one page of comments of an article that has
    /// `total_count` approved comments.
    pub fn new(page: &Page<comment_entity::Model>, total_count: i32) -> Self {
        let edges: Vec<CommentEdge> = page
            .items
            .iter()
            .map(|comment| CommentEdge {
                cursor: content::comments::cursor_of(comment).encode(),
                node: Comment(comment.clone()),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|edge| edge.cursor.clone()).collect();
        Self {
            total_count,
            page_info: PageInfo::of_page(&cursors, page),
            edges,
        }
    }
}

/// A reader's comment, as the form under an article sends it.
#[derive(InputObject)]
pub struct AddCommentInput {
    /// The article commented on.
    article_id: ID,
    /// The commenter's name: 1 to 64 characters.
    author_name: String,
    /// The commenter's email: never shown publicly.
    author_email: String,
    /// The message, as plain text: 1 to 5,000 characters.
    body: String,
    /// Leave this out or empty. Forms render it hidden, so only bots fill
    /// it in; a comment that has it is quietly dropped.
    website: Option<String>,
    /// A key the client makes once per comment (a UUID, say) and sends
    /// again when it retries after a network error or a
    /// `SERVICE_UNAVAILABLE`: a request whose key was seen before, from the
    /// same email, answers with the comment stored then and stores nothing
    /// new. 1 to 128 visible characters.
    idempotency_key: Option<String>,
}

/// What `addComment` returns.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AddCommentPayload {
    /// The stored comment; `PENDING` until a moderator approves it, unless
    /// the site publishes comments at once.
    comment: Comment,
}

#[ComplexObject]
impl AddCommentPayload {
    /// The article commented on, as it is now: its `commentCount` counts
    /// this comment when it was public at once. Select `id` and
    /// `commentCount` here and a normalized client cache updates the count
    /// it shows; `null` if the article was taken down meanwhile.
    async fn article(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Article>> {
        Article::public_by_id(ctx, self.comment.0.article_id).await
    }
}

/// Mutations readers send about comments.
#[derive(Default)]
pub struct CommentMutation;

#[Object]
impl CommentMutation {
    /// Leaves a comment under a published article. Each invalid field is a
    /// `BAD_USER_INPUT` error naming it in `extensions.field`; an unknown or
    /// unpublished article is `NOT_FOUND`. Nothing is stored on any error.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        input: AddCommentInput,
    ) -> async_graphql::Result<AddCommentPayload> {
        let (state, request) = scope(ctx)?;
        let new = NewComment::parse(
            input.article_id.as_str(),
            &input.author_name,
            &input.author_email,
            &input.body,
        )?
        .with_idempotency_key(input.idempotency_key.as_deref())?;
        // A person never sees the field, so anything in it, even a space,
        // was typed by a program.
        if input.website.is_some_and(|value| !value.is_empty()) {
            tracing::info!("dropped a comment that filled in the honeypot field");
            return Ok(AddCommentPayload {
                comment: Comment(content::comments::unsaved(new, request.now)),
            });
        }
        if let Some(stored) = content::comments::stored_for_request(&state.db, &new).await? {
            return Ok(AddCommentPayload {
                comment: Comment(stored),
            });
        }
        let client_key = request.client_key(state);
        let article_id = new.article_id;
        // Several processes may serve PostgreSQL: its stored comments are
        // what the limits count. One process on SQLite counts in memory.
        let shared = state.db.get_database_backend() == sea_orm::DbBackend::Postgres;
        if !shared {
            state.abuse.admit_comment(&client_key, article_id)?;
        }
        let fingerprint = request.client.map(|ip| state.client_fingerprint(ip));
        let stored = written(
            state,
            content::comments::add(
                &state.db,
                state.comment_policy,
                new,
                fingerprint,
                shared.then(|| state.abuse.shared_limits()),
                request.now,
            ),
        )
        .await
        .inspect_err(|error| {
            if !shared && matches!(error, AppError::Unavailable { .. }) {
                state.abuse.refund_comment(&client_key, article_id);
            }
        })?;
        Ok(AddCommentPayload {
            comment: Comment(stored),
        })
    }
}

impl From<CommentStatus> for DbStatus {
    fn from(status: CommentStatus) -> Self {
        match status {
            CommentStatus::Pending => Self::Pending,
            CommentStatus::Approved => Self::Approved,
            CommentStatus::Rejected => Self::Rejected,
            CommentStatus::Spam => Self::Spam,
        }
    }
}

/// Loads the first comments pages of many articles at once (a list whose
/// every item shows its comments): cached ones from the read cache, the
/// rest in one statement. Keyed by article and page size.
pub struct FirstCommentPages {
    state: crate::state::AppState,
}

impl FirstCommentPages {
    /// A loader over `state`.
    pub fn new(state: crate::state::AppState) -> Self {
        Self { state }
    }
}

impl async_graphql::dataloader::Loader<(uuid::Uuid, u64)> for FirstCommentPages {
    type Value = std::sync::Arc<Page<comment_entity::Model>>;
    type Error = std::sync::Arc<AppError>;

    async fn load(
        &self,
        keys: &[(uuid::Uuid, u64)],
    ) -> Result<std::collections::HashMap<(uuid::Uuid, u64), Self::Value>, Self::Error> {
        self.state
            .reads(content::now())
            .first_comment_pages(keys)
            .await
            .map_err(std::sync::Arc::new)
    }
}
