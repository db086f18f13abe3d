//! Editors' article mutations: create, update (with a version check), publish
//! now or later, unpublish, archive, delete, tag, and revisions.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::article_revision;

use crate::content::{
    articles::editor::{self, ArticleChanges, NewArticle},
    text::body::BodyFormat as DomainFormat,
    tokens::Permission,
};
use crate::graphql::{
    articles::Article,
    connection::parse_id,
    context::{authorized, written},
    scalars::DateTime,
};

/// How an article's body is written.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum BodyFormat {
    /// HTML; sanitised on the way in.
    #[default]
    Html,
    /// CommonMark Markdown; rendered to HTML and sanitised.
    Markdown,
}

impl From<BodyFormat> for DomainFormat {
    fn from(format: BodyFormat) -> Self {
        match format {
            BodyFormat::Html => Self::Html,
            BodyFormat::Markdown => Self::Markdown,
        }
    }
}

/// A new article; it starts as a draft.
#[derive(InputObject)]
pub struct CreateArticleInput {
    /// The headline: 1 to 300 characters.
    title: String,
    /// The slug; derived from the title when left out (pinyin for Chinese).
    slug: Option<String>,
    /// The editor's summary; teasers fall back to an excerpt when left out.
    summary: Option<String>,
    /// The body, in `bodyFormat`.
    body: String,
    /// How the body is written.
    #[graphql(default)]
    body_format: BodyFormat,
    /// The section.
    category_id: ID,
    /// Tag names or slugs; unknown ones are created.
    #[graphql(default)]
    tags: Vec<String>,
    /// The byline.
    #[graphql(default)]
    author: String,
    /// Where the story came from.
    source: Option<String>,
    /// The cover image's address (https://, http:// or a path).
    cover_image_url: Option<String>,
    /// The cover image's alt text.
    cover_image_alt: Option<String>,
}

/// Changes to an article; fields left out stay as they are, and `null`
/// clears an optional one.
#[derive(InputObject)]
pub struct UpdateArticleInput {
    /// A new headline.
    title: Option<String>,
    /// A new slug; the old one keeps finding the article.
    slug: Option<String>,
    /// A new summary, or `null` to fall back to an excerpt.
    summary: MaybeUndefined<String>,
    /// A new body, in `bodyFormat`.
    body: Option<String>,
    /// How the new body is written.
    #[graphql(default)]
    body_format: BodyFormat,
    /// Another section.
    category_id: Option<ID>,
    /// A new set of tags (names or slugs).
    tags: Option<Vec<String>>,
    /// A new byline.
    author: Option<String>,
    /// A new source, or `null`.
    source: MaybeUndefined<String>,
    /// A new cover image address, or `null`.
    cover_image_url: MaybeUndefined<String>,
    /// A new alt text, or `null`.
    cover_image_alt: MaybeUndefined<String>,
}

fn patch(value: MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// What an article mutation returns.
#[derive(SimpleObject)]
pub struct ArticlePayload {
    /// The article as it is now.
    article: Article,
}

impl ArticlePayload {
    /// The payload for `article`.
    pub fn new(article: Article) -> Self {
        Self { article }
    }
}

/// What a delete returns.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The id of what was deleted.
    deleted_id: ID,
}

impl DeletePayload {
    /// The payload for deleting `id`.
    pub fn new(id: ID) -> Self {
        Self { deleted_id: id }
    }
}

/// An earlier version of an article.
pub struct ArticleRevision(article_revision::Model);

/// An earlier version of an article, kept when it was replaced.
#[Object]
impl ArticleRevision {
    /// The revision's id; pass it to `restoreArticleRevision`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The article's version this revision holds.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The slug then.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The headline then.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The summary then.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The body then, as sanitised HTML.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// When this version was replaced.
    async fn replaced_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// Editors' queries.
#[derive(Default)]
pub struct ArticleEditingQuery;

#[Object]
impl ArticleEditingQuery {
    /// An article's earlier versions, newest first. Editors only.
    async fn article_revisions(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
    ) -> async_graphql::Result<Vec<ArticleRevision>> {
        let (state, _, _) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&article_id, "articleId")?;
        Ok(editor::revisions(&state.db, id)
            .await?
            .into_iter()
            .map(ArticleRevision)
            .collect())
    }
}

/// Editors' article mutations.
#[derive(Default)]
pub struct ArticleEditingMutation;

#[Object]
impl ArticleEditingMutation {
    /// Creates a draft. Editors only.
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleInput,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let new = NewArticle {
            title: input.title,
            slug: input.slug,
            summary: input.summary,
            body: input.body,
            body_format: input.body_format.into(),
            category_id: parse_id(&input.category_id, "categoryId")?,
            tags: input.tags,
            author: input.author,
            source: input.source,
            cover_image_url: input.cover_image_url,
            cover_image_alt: input.cover_image_alt,
        };
        let article = written(state, editor::create(&state.db, &actor, new, request.now)).await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Changes an article. `version` is the version you loaded; if someone
    /// saved in between, this is `CONFLICT` and nothing changes. The version
    /// replaced is kept as a revision. Editors only.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: UpdateArticleInput,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let format = DomainFormat::from(input.body_format);
        let changes = ArticleChanges {
            title: input.title,
            slug: input.slug,
            summary: patch(input.summary),
            body: input.body.map(|body| (body, format)),
            category_id: input
                .category_id
                .map(|c| parse_id(&c, "categoryId"))
                .transpose()?,
            tags: input.tags,
            author: input.author,
            source: patch(input.source),
            cover_image_url: patch(input.cover_image_url),
            cover_image_alt: patch(input.cover_image_alt),
        };
        let article = written(
            state,
            editor::update(&state.db, &actor, id, version, changes, request.now),
        )
        .await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Publishes an article now, or at `at` when that lies ahead (it stays
    /// invisible until then). Editors only.
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at: Option<DateTime>,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let at = at.map(|at| at.0);
        let article = written(
            state,
            editor::publish(&state.db, &actor, id, at, request.now),
        )
        .await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Takes an article back to draft. Editors only.
    async fn unpublish_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let article = written(state, editor::unpublish(&state.db, &actor, id, request.now)).await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Archives an article: kept, never public. Editors only.
    async fn archive_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let article = written(state, editor::archive(&state.db, &actor, id, request.now)).await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Deletes an article with its comments and revisions. Editors only.
    async fn delete_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeletePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let uuid = parse_id(&id, "id")?;
        written(state, editor::delete(&state.db, &actor, uuid, request.now)).await?;
        Ok(DeletePayload::new(id))
    }

    /// Replaces an article's tags (names or slugs; unknown ones are
    /// created). Editors only.
    async fn set_article_tags(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tags: Vec<String>,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let article = written(
            state,
            editor::set_tags(&state.db, &actor, id, &tags, request.now),
        )
        .await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }

    /// Brings back an earlier version's content as the newest version.
    /// `version` is the article's version you loaded. Editors only.
    async fn restore_article_revision(
        &self,
        ctx: &Context<'_>,
        revision_id: ID,
        version: i32,
    ) -> async_graphql::Result<ArticlePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let revision_id = parse_id(&revision_id, "revisionId")?;
        let article = written(
            state,
            editor::restore(&state.db, &actor, revision_id, version, request.now),
        )
        .await?;
        Ok(ArticlePayload {
            article: Article::from(article),
        })
    }
}
