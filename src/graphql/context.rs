//! What a resolver needs from the context, and the per-request scope that
//! holds the clock and the section tree, so that one request sees one moment
//! and reads the sections at most once.

use std::{net::IpAddr, sync::Arc};

use async_graphql::Context;
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::{
    content::{
        articles::page::ReadAlong,
        cache::{Cacheable, Cached, Lookup},
        sections::CategoryTree,
        tokens::{self, Permission, Principal},
    },
    error::{AppError, AppResult},
    state::AppState,
};

/// Data that lives for one request.
pub struct RequestContext {
    /// The moment the request is served at: what is "published" is decided
    /// against it, once for the whole response.
    pub now: DateTime<Utc>,
    /// The client's address, when known; only ever stored hashed.
    pub client: Option<IpAddr>,
    /// The client's `User-Agent`, to tell bots apart.
    pub user_agent: Option<String>,
    /// The API token the request carried, if any. Never logged.
    credentials: Option<String>,
    categories: OnceCell<Arc<CategoryTree>>,
    /// The section tree's version, when a statement of this request read it.
    sections_version: std::sync::OnceLock<i64>,
    principal: OnceCell<Result<Principal, String>>,
    /// What a statement of this request read along with its own data for a
    /// field resolved later (an article's first comments and its related
    /// teasers), by the lookup that field would make.
    read_along: std::sync::Mutex<Vec<(Lookup, Cached)>>,
}

impl RequestContext {
    /// A scope for a request from `client` with `user_agent`, carrying
    /// `credentials` (the bearer token), starting now.
    pub fn new(
        client: Option<IpAddr>,
        user_agent: Option<String>,
        credentials: Option<String>,
    ) -> Self {
        Self {
            now: crate::content::now(),
            client,
            user_agent,
            credentials,
            categories: OnceCell::new(),
            sections_version: std::sync::OnceLock::new(),
            principal: OnceCell::new(),
            read_along: std::sync::Mutex::default(),
        }
    }

    /// Whether the request carries no API token (a reader's).
    pub fn is_anonymous(&self) -> bool {
        self.credentials.is_none()
    }

    /// A stable, non-reversible key for the client: the hashed address.
    pub fn client_key(&self, state: &AppState) -> String {
        self.client
            .map(|ip| state.client_fingerprint(ip))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Who the request's token belongs to, checked once per request.
    async fn principal(&self, state: &AppState) -> AppResult<&Result<Principal, String>> {
        self.principal
            .get_or_try_init(|| async {
                let Some(presented) = &self.credentials else {
                    return Ok(Err(
                        "This needs an API token: send `Authorization: Bearer <token>`".to_owned(),
                    ));
                };
                match tokens::authenticate(&state.db, presented, self.now).await {
                    Ok(principal) => Ok(Ok(principal)),
                    Err(AppError::Unauthenticated(message)) => Ok(Err(message)),
                    Err(other) => Err(other),
                }
            })
            .await
    }

    /// Refuses a request whose bearer token is unknown, expired or revoked,
    /// whatever it asks: read as anonymous, an editor's draft preview would
    /// come back `null`, which looks like a missing article rather than a
    /// token to renew. A request without a token passes.
    pub async fn check_credentials(&self, state: &AppState) -> AppResult<()> {
        if self.credentials.is_none() {
            return Ok(());
        }
        match self.principal(state).await? {
            Ok(_) => Ok(()),
            Err(message) => Err(AppError::Unauthenticated(message.clone())),
        }
    }

    /// The caller, when it sent a valid token; `None` for anonymous callers.
    pub async fn viewer(&self, state: &AppState) -> AppResult<Option<Principal>> {
        Ok(self.principal(state).await?.as_ref().ok().cloned())
    }

    /// The caller, who must hold a valid token allowed to do `work`:
    /// `UNAUTHENTICATED` without one, `FORBIDDEN` with the wrong role.
    pub async fn require(&self, state: &AppState, work: Permission) -> AppResult<Principal> {
        match self.principal(state).await? {
            Err(message) => Err(AppError::Unauthenticated(message.clone())),
            Ok(principal) if principal.may(work) => Ok(principal.clone()),
            Ok(_) => Err(AppError::Forbidden(
                "This API token's role may not do this".to_owned(),
            )),
        }
    }

    /// Records the section tree's version that a statement of this request
    /// read along with its own data (the first one counts).
    pub fn saw_sections_version(&self, version: Option<i64>) {
        if let Some(version) = version {
            let _ = self.sections_version.set(version);
        }
    }

    /// Keeps what an article page's statement read along, for the fields
    /// that will look it up, and the section tree's version it saw. It
    /// serves this request only: it never enters the read cache through
    /// here, where it could outlive a write made after it was read.
    pub fn read_along_page(&self, along: ReadAlong) {
        self.saw_sections_version(along.sections_version);
        if let Ok(mut kept) = self.read_along.lock() {
            kept.extend(along.values);
        }
    }

    /// What `lookup` holds for this request without loading anything: read
    /// along with another statement of this request, or fresh in the read
    /// cache. Fields that batch their misses through a loader look here
    /// first, so a warm page never waits for a batch.
    pub async fn already_read<T: Cacheable>(
        &self,
        state: &AppState,
        lookup: Lookup,
    ) -> AppResult<Option<T>> {
        if let Some(value) = self.read_along_for(&lookup) {
            return Ok(Some(value));
        }
        state.reads(self.now).cached(lookup).await
    }

    /// What was read along for `lookup` (see [`Self::read_along_page`]).
    fn read_along_for<T: Cacheable>(&self, lookup: &Lookup) -> Option<T> {
        let kept = self.read_along.lock().ok()?;
        let (_, value) = kept.iter().find(|(key, _)| key == lookup)?;
        T::unwrap(value.clone())
    }

    /// The section tree, once per request: the server's remembered tree
    /// when this request read its version, else from the read cache or the
    /// database. The work is boxed, so that the many resolvers that only
    /// await this stay small futures (see the `graphql` module).
    pub async fn categories(&self, state: &AppState) -> AppResult<Arc<CategoryTree>> {
        Box::pin(self.categories.get_or_try_init(|| async {
            let version = self.sections_version.get().copied();
            state.reads(self.now).sections(version).await
        }))
        .await
        .cloned()
    }
}

impl RequestContext {
    /// The ids of the section with `slug` and all its sub-sections, as
    /// filters by section take them; empty when there is no such section
    /// (which then matches nothing).
    pub async fn section_and_below(
        &self,
        state: &AppState,
        slug: &str,
    ) -> AppResult<Vec<uuid::Uuid>> {
        let tree = self.categories(state).await?;
        Ok(tree
            .by_slug(slug)
            .map(|section| tree.with_descendants(section.id))
            .unwrap_or_default())
    }

    /// Every tag, through the read cache.
    pub async fn all_tags(&self, state: &AppState) -> AppResult<Arc<Vec<entity::tag::Model>>> {
        state.reads(self.now).all_tags().await
    }
}

/// The shared state, this request's scope, and the caller, who must be
/// allowed to do `work`. Every mutation that is not a reader's calls this
/// first; `tests/api/access.rs` walks the schema to prove it.
pub async fn authorized<'a>(
    ctx: &Context<'a>,
    work: Permission,
) -> async_graphql::Result<(
    &'a AppState,
    &'a RequestContext,
    crate::content::writes::audit::Actor,
)> {
    let (state, request) = scope(ctx)?;
    let principal = request.require(state, work).await?;
    Ok((state, request, (&principal).into()))
}

/// The shared state and this request's scope, from a resolver's context.
pub fn scope<'a>(ctx: &Context<'a>) -> async_graphql::Result<(&'a AppState, &'a RequestContext)> {
    Ok((ctx.data::<AppState>()?, ctx.data::<RequestContext>()?))
}

/// Runs a domain write, then applies the change feed up to it before the
/// payload's fields resolve, so that they read what was just written and
/// not what the read cache held before (a new section's ancestors, say).
pub async fn written<T>(
    state: &AppState,
    write: impl std::future::Future<Output = AppResult<T>>,
) -> AppResult<T> {
    let done = write.await?;
    if let Err(error) = state.catch_up().await {
        tracing::warn!(error = %error.log_message(), "cannot read the change feed after a write; clearing the read cache");
        state.content_changed();
    }
    Ok(done)
}
