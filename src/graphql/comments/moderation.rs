//! Moderators' API: the comment queue (with the email and fingerprint the
//! public never sees), decisions on one or many comments, and closing an
//! article to new comments.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use entity::comment as comment_entity;

use crate::content::{
    self,
    comments::moderation::{self, Decision},
    tokens::Permission,
};
use crate::graphql::{
    articles::Article,
    articles::editing::ArticlePayload,
    comments::CommentStatus,
    connection::{PageInfo, parse_id},
    context::{authorized, written},
    scalars::DateTime,
};

/// A comment as a moderator sees it, private fields included.
pub struct ModeratedComment(pub(in crate::graphql) comment_entity::Model);

/// A comment as a moderator sees it: with the commenter's email and the
/// hashed fingerprint of their address. Only reachable with a moderator's token.
#[Object]
impl ModeratedComment {
    /// The comment's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The article commented on.
    async fn article_id(&self) -> ID {
        ID(self.0.article_id.to_string())
    }
    /// The name the commenter gave.
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }
    /// The email the commenter gave.
    async fn author_email(&self) -> &str {
        &self.0.author_email
    }
    /// A keyed hash of the sender's address: equal hashes, same sender.
    async fn client_fingerprint(&self) -> Option<&str> {
        self.0.client_fingerprint.as_deref()
    }
    /// The message as plain text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// When it was sent.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// Where it stands in moderation.
    async fn status(&self) -> CommentStatus {
        self.0.status.into()
    }
}

/// A page of the moderation queue.
#[derive(SimpleObject)]
pub struct ModerationQueue {
    /// The comments on this page, oldest first.
    edges: Vec<ModerationEdge>,
    /// Where this page stands in the queue.
    page_info: PageInfo,
}

/// One comment in the queue, with its cursor.
#[derive(SimpleObject)]
pub struct ModerationEdge {
    /// Pass as `after` to continue after this comment.
    cursor: String,
    /// The comment.
    node: ModeratedComment,
}

/// What a moderator decides about comments.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ModerationDecision {
    /// Make public.
    Approve,
    /// Refuse.
    Reject,
    /// Refuse as spam.
    Spam,
    /// Remove for good.
    Delete,
}

impl From<ModerationDecision> for Decision {
    fn from(decision: ModerationDecision) -> Self {
        match decision {
            ModerationDecision::Approve => Self::Approve,
            ModerationDecision::Reject => Self::Reject,
            ModerationDecision::Spam => Self::Spam,
            ModerationDecision::Delete => Self::Delete,
        }
    }
}

/// What `moderateComments` returns.
#[derive(SimpleObject)]
pub struct ModerationPayload {
    /// The comments acted on, as they are now (as they were, when deleted).
    comments: Vec<ModeratedComment>,
}

/// Moderators' queries.
#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// Comments with `status` (`PENDING` when left out), oldest first,
    /// `first` of them (20 when left out, at most 100) after the `after`
    /// cursor; the queue pages forward. Moderators only.
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        status: Option<CommentStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ModerationQueue> {
        let (state, _, _) = authorized(ctx, Permission::Moderate).await?;
        // 20 when left out or null, as on every list.
        let size = content::page_size(first.unwrap_or(20))?;
        let after = after.as_deref().map(moderation::parse_cursor).transpose()?;
        let status = status.unwrap_or(CommentStatus::Pending);
        let page = moderation::queue(&state.db, status.into(), size, after.as_ref()).await?;
        let edges: Vec<ModerationEdge> = page
            .items
            .into_iter()
            .map(|comment| ModerationEdge {
                cursor: moderation::cursor_of(&comment).encode(),
                node: ModeratedComment(comment),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|e| e.cursor.clone()).collect();
        Ok(ModerationQueue {
            edges,
            page_info: PageInfo::forward(&cursors, page.has_next_page),
        })
    }
}

/// Moderators' mutations.
#[derive(Default)]
pub struct ModerationMutation;

#[Object]
impl ModerationMutation {
    /// Approves, rejects, marks as spam or deletes 1 to 100 comments at once;
    /// the articles' comment counts follow exactly. Moderators only.
    async fn moderate_comments(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        decision: ModerationDecision,
    ) -> async_graphql::Result<ModerationPayload> {
        let (state, request, actor) = authorized(ctx, Permission::Moderate).await?;
        let ids = ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<Result<Vec<_>, _>>()?;
        let comments = written(
            state,
            moderation::decide(&state.db, &actor, &ids, decision.into(), request.now),
        )
        .await?;
        Ok(ModerationPayload {
            comments: comments.into_iter().map(ModeratedComment).collect(),
        })
    }

    /// Closes an article to new comments, or opens it again; `addComment`
    /// on a closed article is `FORBIDDEN`. Moderators only.
    async fn set_comments_closed(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
        closed: bool,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::Moderate).await?;
        let id = parse_id(&article_id, "articleId")?;
        let article = written(
            state,
            moderation::set_comments_closed(&state.db, &actor, id, closed, request.now),
        )
        .await?;
        Ok(ArticlePayload::new(Article::from(article)))
    }
}
