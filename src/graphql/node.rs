//! Relay's object identification: the `Node` interface over every type a
//! client may refetch by id, and the `node` and `nodes` queries that do it
//! (`@refetchable` fragments, cache refreshes). Ids are the UUIDs the types
//! already have, unique across types, so no type prefix is needed. What a
//! caller may see is what the other queries show them.

use async_graphql::{Context, ID, Interface, Object};
use uuid::Uuid;

use super::{
    articles::{Article, find_article},
    comments::Comment,
    context::scope,
    sections::Category,
    tags::Tag,
};
use crate::graphql::shown;
use crate::{
    content::{self, cache::Lookup},
    error::AppError,
};

/// The most ids one `nodes` query takes.
const MOST_NODES: usize = 100;

/// An object with an id that `node(id:)` finds again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's unique id."))]
pub enum Node {
    /// A published article (or, for editors, any article).
    Article(Article),
    /// A section.
    Category(Category),
    /// A tag.
    Tag(Tag),
    /// An approved comment under a public article.
    Comment(Comment),
}

/// The object with `id`, if the caller may see one; an id that is not a
/// UUID finds nothing.
async fn find(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<Node>> {
    let Ok(id) = Uuid::try_parse(id.as_str()) else {
        return Ok(None);
    };
    let found = find_by_uuid(ctx, id).await?;
    if found.is_none() {
        // Published later, it is found here.
        shown::note_list(ctx);
    }
    Ok(found)
}

/// [`find`] for an id that is a UUID.
async fn find_by_uuid(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Node>> {
    let (state, request) = scope(ctx)?;
    // Sections and tags are held in memory; then articles; comments last.
    let tree = request.categories(state).await?;
    if let Some(section) = tree.get(id) {
        return Ok(Some(Node::Category(Category(section.clone()))));
    }
    let tags = request.all_tags(state).await?;
    if let Some(tag) = tags.iter().find(|tag| tag.id == id) {
        return Ok(Some(Node::Tag(Tag(tag.clone()))));
    }
    if let Some(article) = find_article(ctx, Lookup::ArticleById(id)).await? {
        return Ok(Some(Node::Article(article)));
    }
    Ok(content::comments::public_by_id(&state.db, id, request.now)
        .await?
        .map(|comment| Node::Comment(Comment(comment))))
}

/// Relay's refetch queries.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The article, section, tag or approved comment with this id; `null`
    /// when there is none or the caller may not see it (a draft, to a
    /// reader).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        Box::pin(find(ctx, &id)).await
    }

    /// The objects with these ids, in the same order, `null` where
    /// `node(id:)` would be. At most 100 ids.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MOST_NODES {
            return Err(AppError::bad_input(
                "ids",
                format!("`ids` holds at most {MOST_NODES} ids"),
            )
            .into());
        }
        Box::pin(async_graphql::futures_util::future::try_join_all(
            ids.iter().map(|id| find(ctx, id)),
        ))
        .await
    }
}
