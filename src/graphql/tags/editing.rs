//! Editors' tag mutations: create, rename, merge, delete.

use async_graphql::{Context, ID, Object, SimpleObject};

use crate::content::{tags, tokens::Permission};
use crate::graphql::{
    articles::editing::DeletePayload,
    connection::parse_id,
    context::{authorized, written},
    tags::Tag,
};

/// What a tag mutation returns.
#[derive(SimpleObject)]
pub struct TagPayload {
    /// The tag as it is now.
    tag: Tag,
}

/// Editors' tag mutations.
#[derive(Default)]
pub struct TagEditingMutation;

#[Object]
impl TagEditingMutation {
    /// Creates a tag; the slug is derived from the name when left out.
    /// Editors only.
    async fn create_tag(
        &self,
        ctx: &Context<'_>,
        name: String,
        slug: Option<String>,
    ) -> async_graphql::Result<TagPayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let tag = written(
            state,
            tags::editor::create(&state.db, &actor, &name, slug.as_deref(), request.now),
        )
        .await?;
        Ok(TagPayload { tag: Tag(tag) })
    }

    /// Renames a tag or changes its slug. Editors only.
    async fn update_tag(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        slug: Option<String>,
    ) -> async_graphql::Result<TagPayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let tag = written(
            state,
            tags::editor::update(
                &state.db,
                &actor,
                id,
                name.as_deref(),
                slug.as_deref(),
                request.now,
            ),
        )
        .await?;
        Ok(TagPayload { tag: Tag(tag) })
    }

    /// Moves every article of the `sourceIds` tags to `targetId` and
    /// deletes the sources. Editors only.
    async fn merge_tags(
        &self,
        ctx: &Context<'_>,
        source_ids: Vec<ID>,
        target_id: ID,
    ) -> async_graphql::Result<TagPayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let sources = source_ids
            .iter()
            .map(|s| parse_id(s, "sourceIds"))
            .collect::<Result<Vec<_>, _>>()?;
        let target = parse_id(&target_id, "targetId")?;
        let tag = written(
            state,
            tags::editor::merge(&state.db, &actor, &sources, target, request.now),
        )
        .await?;
        Ok(TagPayload { tag: Tag(tag) })
    }

    /// Deletes a tag; its articles lose it. Editors only.
    async fn delete_tag(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DeletePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let uuid = parse_id(&id, "id")?;
        written(
            state,
            tags::editor::delete(&state.db, &actor, uuid, request.now),
        )
        .await?;
        Ok(DeletePayload::new(id))
    }
}
