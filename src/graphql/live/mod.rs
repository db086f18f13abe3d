//! Live subscriptions: the `Subscription` root a WebSocket client asks for.
//!
//! A subscription does not hold a request open with an old clock and old
//! caches. It is run once when it starts (the *probe*: arguments, rights,
//! and what it listens for, as an [`Interest`]), and then once more for
//! each change of the feed it listens for, as a new request at that moment
//! with the change in hand ([`delivery`]). So what it sends follows the
//! rules queries follow at the moment of the change: a draft never reaches
//! a public subscriber, a revoked token stops an editor's subscription, and
//! a scheduled article is sent when it comes due, on every server process,
//! whichever process it was written through.

pub mod delivery;

use std::sync::{Arc, Mutex};

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, stream};
use uuid::Uuid;

use crate::{
    content::{
        self, cache::Lookup, tokens::Permission, writes::change::Change, writes::change::Key,
    },
    error::AppError,
    graphql::{
        articles::{Article, find_article, find_public_article},
        comments::{Comment, moderation::ModeratedComment},
        connection::parse_id,
        context::scope,
    },
};

/// What one run of a subscription is for, given to its resolver as data.
pub enum LiveEvent {
    /// The first run: check the arguments and the caller, and say what to
    /// listen for in the slot; nothing is sent.
    Probe(Arc<Mutex<Option<Interest>>>),
    /// A change of the feed the subscription listens for.
    Change(Change),
    /// The clock of a subscription that looks again on an interval (view
    /// counts, which change without a change of the feed).
    Tick,
}

/// What a subscription listens for: changes of some kinds, about one key,
/// and whether it also looks again on an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    /// The kinds of change, like `comment.approved`; empty for any kind.
    kinds: &'static [&'static str],
    /// A key the change must touch, like `article:<id>`.
    about: Option<String>,
    /// Whether it runs on every tick of the clock.
    ticks: bool,
}

impl Interest {
    /// Changes of these kinds (any kind when empty).
    fn changes(kinds: &'static [&'static str]) -> Self {
        Self {
            kinds,
            about: None,
            ticks: false,
        }
    }

    /// Only the clock.
    fn ticks() -> Self {
        Self {
            kinds: &[],
            about: None,
            ticks: true,
        }
    }

    /// Only changes touching `key`.
    fn about(mut self, key: Key) -> Self {
        self.about = Some(key.to_string());
        self
    }

    /// Whether `change` is one to run the subscription for.
    pub fn wants(&self, change: &Change) -> bool {
        if self.ticks && self.kinds.is_empty() {
            return false;
        }
        (self.kinds.is_empty() || self.kinds.contains(&change.kind.as_str()))
            && self
                .about
                .as_ref()
                .is_none_or(|key| change.keys.iter().any(|touched| touched == key))
    }

    /// Whether it runs on the clock.
    pub fn on_ticks(&self) -> bool {
        self.ticks
    }
}

/// What the resolver of a subscription was run for: on the probe, records
/// `interest` and answers `None`; otherwise the change (`None` for a tick).
fn heard<'a>(ctx: &Context<'a>, interest: Interest) -> async_graphql::Result<Option<&'a Change>> {
    match ctx.data::<LiveEvent>()? {
        LiveEvent::Probe(slot) => {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(interest);
            }
            Ok(None)
        }
        LiveEvent::Change(change) => Ok(interest.wants(change).then_some(change)),
        LiveEvent::Tick => Ok(None),
    }
}

/// Whether this run is the probe.
fn probing(ctx: &Context<'_>) -> bool {
    matches!(ctx.data::<LiveEvent>(), Ok(LiveEvent::Probe(_)))
}

/// The public article `id` as readers see it now, or `NOT_FOUND`.
async fn public_article(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Article> {
    find_public_article(ctx, Lookup::ArticleById(id))
        .await?
        .ok_or_else(|| AppError::NotFound("No published article has this id".to_owned()).into())
}

/// Everything a client may subscribe to over `/graphql`'s WebSocket
/// (the `graphql-transport-ws` protocol). The last two need a token, sent
/// in the `connection_init` payload as `{"Authorization": "Bearer …"}`.
#[derive(Default)]
pub struct LiveSubscription;

#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Comments on the article with this id, each as it becomes visible to
    /// readers (approved by a moderator, or at once where comments need no
    /// moderation). The article must be published.
    async fn comment_added(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Comment>> {
        let article = parse_id(&article_id, "articleId")?;
        if probing(ctx) {
            public_article(ctx, article).await?;
        }
        let interest = Interest::changes(&["comment.approved"]).about(Key::Article(article));
        let Some(change) = heard(ctx, interest)? else {
            return Ok(stream::iter(None));
        };
        let (state, request) = scope(ctx)?;
        let comment = content::comments::public_by_id(&state.db, change.entity_id, request.now)
            .await?
            .filter(|comment| comment.article_id == article);
        Ok(stream::iter(comment.map(Comment)))
    }

    /// The article with this id a second after subscribing, then each time
    /// its view count changed: select `viewCount` (and `id`, for a client
    /// cache). Looked at once a second (or per view flush, when flushes are
    /// rarer), so at most that often.
    async fn view_count_changed(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Article>> {
        let article = parse_id(&article_id, "articleId")?;
        let _ = heard(ctx, Interest::ticks())?;
        // On the probe, a check that the article is there; on the clock,
        // the article as it is now (sent only when it differs).
        let found = public_article(ctx, article).await;
        if probing(ctx) {
            found?;
            return Ok(stream::iter(None));
        }
        Ok(stream::iter(found.ok()))
    }

    /// Teasers of articles as they become public: published, or scheduled
    /// and come due. Only those filed under the section with slug
    /// `category` or its sub-sections, when given.
    async fn article_published(
        &self,
        ctx: &Context<'_>,
        category: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Article>> {
        let (state, request) = scope(ctx)?;
        let sections = match &category {
            Some(slug) => {
                let sections = request.section_and_below(state, slug).await?;
                if sections.is_empty() {
                    return Err(AppError::bad_input("category", "No section has this slug").into());
                }
                Some(sections)
            }
            None => None,
        };
        let Some(change) = heard(ctx, Interest::changes(&["article.published"]))? else {
            return Ok(stream::iter(None));
        };
        let article = find_public_article(ctx, Lookup::ArticleById(change.entity_id))
            .await?
            .filter(|article| {
                sections
                    .as_ref()
                    .is_none_or(|sections| sections.contains(&article.0.category_id))
            });
        Ok(stream::iter(article))
    }

    /// Comments as they arrive in the moderation queue. Needs a
    /// moderator's (or an admin's) token.
    async fn comment_pending(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = ModeratedComment>> {
        let (state, request) = scope(ctx)?;
        request.require(state, Permission::Moderate).await?;
        let Some(change) = heard(ctx, Interest::changes(&["comment.pending"]))? else {
            return Ok(stream::iter(None));
        };
        let comment =
            content::comments::moderation::pending_by_id(&state.db, change.entity_id).await?;
        Ok(stream::iter(comment.map(ModeratedComment)))
    }

    /// The article with this id after each change to it or its comments,
    /// drafts included: for an editor's open form. `null` once it is
    /// deleted. Needs an editor's (or an admin's) token.
    async fn article_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = Option<Article>>> {
        let article = parse_id(&id, "id")?;
        let (state, request) = scope(ctx)?;
        request.require(state, Permission::EditContent).await?;
        if probing(ctx)
            && find_article(ctx, Lookup::ArticleById(article))
                .await?
                .is_none()
        {
            return Err(AppError::NotFound("No article has this id".to_owned()).into());
        }
        let Some(change) = heard(ctx, Interest::changes(&[]).about(Key::Article(article)))? else {
            return Ok(stream::iter(None));
        };
        if change.kind == "article.deleted" {
            return Ok(stream::iter(Some(None)));
        }
        let found = find_article(ctx, Lookup::ArticleById(article)).await?;
        Ok(stream::iter(Some(found)))
    }
}
