//! Articles in the API: the `Article` type here; its lists, orders and
//! filters in [`lists`], the batch loaders in [`loaders`], the queries in
//! [`queries`], editors' queries and mutations in [`editing`] and
//! `recordView` in [`views`].

pub(super) mod editing;
mod lists;
mod loaders;
mod queries;
pub(super) mod views;

use std::{borrow::Cow, sync::Arc};

use async_graphql::{Context, ID, Object, SimpleObject, Value, dataloader::DataLoader};
use entity::article::{self as article_entity};
use entity::comment as comment_entity;
use entity::tag as tag_entity;
use uuid::Uuid;

use crate::content::writes::change::Key;
use crate::graphql::shown::{self, Shows};
use crate::graphql::{
    comments::{CommentConnection, FirstCommentPages},
    context::scope,
    scalars::DateTime,
    sections::Category,
    tags::{Tag, TagsByArticle},
};
use crate::{
    content::{
        self, Page, articles::loaded::LoadedArticle, articles::page::AlsoRead,
        articles::reads::RelatedKey, cache::Lookup,
    },
    error::{AppError, AppResult},
};

/// How many related teasers `related` gives unless asked otherwise.
const DEFAULT_RELATED_FIRST: i32 = 5;
/// How many comments `comments` gives unless asked otherwise.
const DEFAULT_COMMENTS_FIRST: i32 = 20;
/// How many articles a list gives unless asked otherwise.
const DEFAULT_ARTICLES_FIRST: i32 = 20;

/// A published news article (shared: the read cache holds the same one).
pub struct Article(pub Arc<LoadedArticle>);

impl From<article_entity::Model> for Article {
    fn from(row: article_entity::Model) -> Self {
        Self(Arc::new(LoadedArticle::new(row)))
    }
}

impl Article {
    /// The public article with `id`, read fresh (not from the read cache):
    /// what a mutation's payload returns, so that a client's normalized
    /// cache takes the counts the mutation just changed.
    pub async fn public_by_id(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Self>> {
        Ok(ctx
            .data::<DataLoader<WholeArticles>>()?
            .load_one(id)
            .await
            .map_err(AppError::from)?
            .map(Article))
    }

    /// The whole article behind a teaser (lists read teasers without their
    /// bodies), loaded by id in one batch with the page's other teasers.
    async fn whole(&self, ctx: &Context<'_>) -> async_graphql::Result<Arc<LoadedArticle>> {
        Self::public_by_id(ctx, self.0.id)
            .await?
            .map(|article| article.0)
            .ok_or_else(|| {
                AppError::NotFound("The article was taken down a moment ago".to_owned()).into()
            })
    }

    /// The article next to this one in its section (see `previous` and
    /// `next`), through the read cache.
    async fn neighbour(
        &self,
        ctx: &Context<'_>,
        newer: bool,
    ) -> async_graphql::Result<Option<Article>> {
        let (state, request) = scope(ctx)?;
        // A publication in the section may become the neighbour.
        shown::note(ctx, Key::Section(self.0.category_id));
        let found = state.reads(request.now).neighbour(&self.0, newer).await?;
        Ok(found.map(Article))
    }

    /// Notes what the `related` teasers depend on (see [`shown`]): the
    /// article's section and tags, which a publication there names; and
    /// every list when the teasers are fewer than asked for or one of them
    /// shares neither section nor tag (it came from the newest of all,
    /// where any publication may take its place).
    async fn note_related(
        &self,
        ctx: &Context<'_>,
        teasers: &[Article],
        size: u64,
    ) -> async_graphql::Result<()> {
        if !shown::is_collecting(ctx) {
            return Ok(());
        }
        shown::note(ctx, Key::Section(self.0.category_id));
        let own = self.tag_rows(ctx).await?;
        for tag in own.iter() {
            shown::note(ctx, Key::Tag(tag.id));
        }
        let elsewhere: Vec<Uuid> = teasers
            .iter()
            .filter(|teaser| teaser.0.category_id != self.0.category_id)
            .map(|teaser| teaser.0.id)
            .collect();
        let from_all = if elsewhere.is_empty() {
            false
        } else {
            let (state, request) = scope(ctx)?;
            // One call for the whole list: no loader needed.
            let theirs = state.reads(request.now).tags_of(&elsewhere).await?;
            elsewhere.iter().any(|id| {
                theirs.get(id).is_none_or(|tags| {
                    !tags
                        .iter()
                        .any(|tag| own.iter().any(|mine| mine.id == tag.id))
                })
            })
        };
        if from_all || (teasers.len() as u64) < size {
            shown::note_list(ctx);
        }
        Ok(())
    }

    /// The article's tags by name: those read with it, or else loaded in
    /// one batch with the other articles' on the page.
    async fn tag_rows(&self, ctx: &Context<'_>) -> AppResult<Arc<Vec<tag_entity::Model>>> {
        if let Some(tags) = self.0.tags() {
            return Ok(Arc::clone(tags));
        }
        let tags = ctx
            .data::<DataLoader<TagsByArticle>>()
            .map_err(|error| AppError::Internal(error.message))?
            .load_one(self.0.id)
            .await
            .map_err(AppError::from)?;
        Ok(tags.unwrap_or_default())
    }
}

/// An article's cover image.
#[derive(SimpleObject)]
pub struct CoverImage {
    /// The image's address.
    url: String,
    /// Text for readers who cannot see the image; the headline when the
    /// editor gave none.
    alt: String,
}

/// A published news article: headline, body, section, tags, counters,
/// related teasers and approved comments.
#[Object(guard = "Shows::article(self.0.id)")]
impl Article {
    /// The article's unique id (a UUID v7).
    pub(super) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The unique, URL-safe name to route by.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The headline.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The editor's summary, or else the body's first ~120 characters, cut
    /// cleanly and ending in `…` when cut. With `length` (1 to 300), at
    /// most that many characters, the editor's summary cut too: for
    /// teasers with less or more room.
    async fn summary(&self, length: Option<i32>) -> async_graphql::Result<Cow<'_, str>> {
        let Some(length) = length else {
            return Ok(Cow::Borrowed(self.0.summary()));
        };
        let most = content::articles::loaded::MAX_SUMMARY_LENGTH;
        match usize::try_from(length) {
            Ok(length) if (1..=most).contains(&length) => Ok(self.0.summary_of_length(length)),
            _ => Err(AppError::bad_input(
                "length",
                format!("`length` must be between 1 and {most}, got {length}"),
            )
            .into()),
        }
    }

    /// The published article filed in the same section just before this
    /// one (上一篇, older); `null` for the section's first.
    async fn previous(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Article>> {
        Box::pin(self.neighbour(ctx, false)).await
    }

    /// The published article filed in the same section just after this one
    /// (下一篇, newer); `null` for the section's latest.
    async fn next(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Article>> {
        Box::pin(self.neighbour(ctx, true)).await
    }

    /// The body as HTML, sanitised on the way in: safe to render as it is.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, str>> {
        if self.0.has_body() {
            return Ok(Cow::Borrowed(&self.0.body));
        }
        Ok(Cow::Owned(Box::pin(self.whole(ctx)).await?.body.clone()))
    }

    /// The body as plain text, one paragraph per line.
    async fn body_text(&self, ctx: &Context<'_>) -> async_graphql::Result<Cow<'_, str>> {
        if self.0.has_whole_text() {
            return Ok(Cow::Borrowed(&self.0.body_text));
        }
        Ok(Cow::Owned(
            Box::pin(self.whole(ctx)).await?.body_text.clone(),
        ))
    }

    /// The byline.
    async fn author(&self) -> &str {
        &self.0.author
    }

    /// Where the story came from, when not the site's own.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// The cover image, if the article has one.
    async fn cover_image(&self) -> Option<CoverImage> {
        let url = self.0.cover_image_url.clone()?;
        let alt = match &self.0.cover_image_alt {
            Some(alt) if !alt.trim().is_empty() => alt.clone(),
            _ => self.0.title.clone(),
        };
        Some(CoverImage { url, alt })
    }

    /// When the article was published.
    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }

    /// When the article was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }

    /// How many times readers have viewed the article, including a view
    /// recorded a moment ago.
    async fn view_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Box::pin(async move {
            let total = ctx
                .data::<ViewCountLoader>()?
                .load_one(self.0.id)
                .await
                .map_err(AppError::from)?;
            match total {
                Some(total) => {
                    shown::note_count(ctx, self.0.id);
                    Ok(total)
                }
                // Not public (an editor's preview): its stored count and buffer.
                None => {
                    let (state, _) = scope(ctx)?;
                    Ok(self.0.view_count + state.views.pending(self.0.id))
                }
            }
        })
        .await
    }

    /// How many approved comments the article has.
    async fn comment_count(&self) -> i32 {
        self.0.comment_count
    }

    /// Where the article stands: always `PUBLISHED` for public callers;
    /// editors also see drafts, scheduled and archived articles.
    async fn status(&self) -> ArticleStatus {
        self.0.status.into()
    }

    /// The article's edit version: send it back with `updateArticle` so that
    /// an edit made meanwhile by someone else is not overwritten.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Whether readers may no longer comment.
    async fn comments_closed(&self) -> bool {
        self.0.comments_closed
    }

    /// The section the article is filed in.
    async fn category(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Category>> {
        let (state, request) = scope(ctx)?;
        let tree = request.categories(state).await?;
        Ok(tree.get(self.0.category_id).cloned().map(Category))
    }

    /// The article's tags, by name.
    async fn tags(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tag>> {
        Box::pin(async move { Ok(self.tag_rows(ctx).await?.iter().cloned().map(Tag).collect()) })
            .await
    }

    /// Up to `first` other published articles, the most related first: of
    /// the newest 100 articles of each of its tags, those sharing the most
    /// tags, then those in the same section, then the newest; then, to fill
    /// up, the newest of its section, then the newest of all.
    async fn related(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "DEFAULT_RELATED_FIRST")] first: i32,
    ) -> async_graphql::Result<Vec<Article>> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let size = content::page_size(first)?;
            let lookup = Lookup::Related {
                article: self.0.id,
                size,
            };
            let known = request
                .already_read::<Arc<Vec<Arc<LoadedArticle>>>>(state, lookup)
                .await?;
            if let Some(related) = known {
                let teasers: Vec<Article> = related.iter().cloned().map(Article).collect();
                self.note_related(ctx, &teasers, size).await?;
                return Ok(teasers);
            }
            // Missed: batched with every other article's on the page (a
            // list whose items show their related articles).
            let key = RelatedKey {
                article: Arc::clone(&self.0),
                size,
            };
            let related = ctx
                .data::<DataLoader<RelatedTeasers>>()?
                .load_one(key)
                .await
                .map_err(AppError::from)?
                .unwrap_or_default();
            let teasers: Vec<Article> = related.iter().cloned().map(Article).collect();
            self.note_related(ctx, &teasers, size).await?;
            Ok(teasers)
        })
        .await
    }

    /// The approved comments, newest first: `first` (20 when neither
    /// `first` nor `last` is given, at most 100) after the `after` cursor,
    /// or the `last` ones before the `before` cursor.
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<CommentConnection> {
        Box::pin(async move {
            let (state, request) = scope(ctx)?;
            let window = content::comments::window(
                first,
                after.as_deref(),
                last,
                before.as_deref(),
                DEFAULT_COMMENTS_FIRST,
            )?;
            let lookup = Lookup::Comments {
                article: self.0.id,
                window,
            };
            let known = request
                .already_read::<Arc<Page<comment_entity::Model>>>(state, lookup)
                .await?;
            let page = if let Some(page) = known {
                page
            } else if window.is_first_page() {
                // Missed: batched with every other article's on the page (a
                // list whose items show their comments).
                ctx.data::<DataLoader<FirstCommentPages>>()?
                    .load_one((self.0.id, window.size))
                    .await
                    .map_err(AppError::from)?
                    .unwrap_or_default()
            } else {
                state
                    .reads(request.now)
                    .approved_comments(self.0.id, window)
                    .await?
            };
            Ok(CommentConnection::new(&page, self.0.comment_count))
        })
        .await
    }
}

/// What the selection under `article` shows that the article's own
/// statement can read along: the whole plain text when `bodyText` is
/// asked for, the first page of comments (no cursor, read forward) and the related
/// teasers, each at the size the first such field asks for.
/// A size out of range reads nothing along; the field itself then says so.
fn also_read(ctx: &Context<'_>) -> AlsoRead {
    let selection = ctx.look_ahead();
    let first_page_size = |field: &str, default: i32| {
        selection
            .field(field)
            .selection_fields()
            .into_iter()
            .filter_map(|field| field.arguments().ok())
            .find(|arguments| {
                // A forward first page: no cursor, and not counted back
                // from the end.
                arguments.iter().all(|(name, value)| {
                    !matches!(name.as_str(), "after" | "before" | "last") || *value == Value::Null
                })
            })
            .and_then(|arguments| {
                let first = match arguments.iter().find(|(name, _)| name.as_str() == "first") {
                    Some((_, Value::Number(number))) => i32::try_from(number.as_i64()?).ok()?,
                    Some((_, Value::Null)) | None => default,
                    Some(_) => return None,
                };
                content::page_size(first).ok().filter(|&size| size > 0)
            })
    };
    AlsoRead {
        whole_text: selection.field("bodyText").exists(),
        comments: first_page_size("comments", DEFAULT_COMMENTS_FIRST),
        related: first_page_size("related", DEFAULT_RELATED_FIRST),
    }
}

pub use lists::*;
pub use loaders::*;
pub use queries::*;
