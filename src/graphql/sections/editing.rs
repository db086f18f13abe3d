//! Editors' section mutations: create, rename, move, reorder, delete.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use crate::content::{
    sections::editor::{self, CategoryChanges, NewCategory},
    tokens::Permission,
};
use crate::graphql::{
    articles::editing::DeletePayload,
    connection::parse_id,
    context::{authorized, written},
    sections::Category,
};

/// A new section.
#[derive(InputObject)]
pub struct CreateCategoryInput {
    /// The display name.
    name: String,
    /// The slug; derived from the name when left out.
    slug: Option<String>,
    /// A line or two about it.
    #[graphql(default)]
    description: String,
    /// The enclosing section; left out for a top-level one.
    parent_id: Option<ID>,
    /// Display order among its siblings; after the last when left out.
    position: Option<i32>,
}

/// Changes to a section; fields left out stay as they are.
#[derive(InputObject)]
pub struct UpdateCategoryInput {
    /// A new name.
    name: Option<String>,
    /// A new slug.
    slug: Option<String>,
    /// A new description.
    description: Option<String>,
    /// Another enclosing section, or `null` for the top level. Moving a
    /// section into itself or below itself is refused.
    parent_id: MaybeUndefined<ID>,
    /// A new display position among its siblings.
    position: Option<i32>,
}

/// What a section mutation returns.
#[derive(SimpleObject)]
pub struct CategoryPayload {
    /// The section as it is now.
    category: Category,
}

/// Editors' section mutations.
#[derive(Default)]
pub struct CategoryEditingMutation;

#[Object]
impl CategoryEditingMutation {
    /// Creates a section. Editors only.
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CreateCategoryInput,
    ) -> async_graphql::Result<CategoryPayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let new = NewCategory {
            name: input.name,
            slug: input.slug,
            description: input.description,
            parent_id: input
                .parent_id
                .map(|p| parse_id(&p, "parentId"))
                .transpose()?,
            position: input.position,
        };
        let category = written(state, editor::create(&state.db, &actor, new, request.now)).await?;
        Ok(CategoryPayload {
            category: Category(category),
        })
    }

    /// Renames, moves or reorders a section. Editors only.
    async fn update_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCategoryInput,
    ) -> async_graphql::Result<CategoryPayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let id = parse_id(&id, "id")?;
        let parent_id = match input.parent_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(parent) => Some(Some(parse_id(&parent, "parentId")?)),
        };
        let changes = CategoryChanges {
            name: input.name,
            slug: input.slug,
            description: input.description,
            parent_id,
            position: input.position,
        };
        let category = written(
            state,
            editor::update(&state.db, &actor, id, changes, request.now),
        )
        .await?;
        Ok(CategoryPayload {
            category: Category(category),
        })
    }

    /// Deletes a section. While it holds articles or sub-sections this is
    /// refused unless `moveTo` names the section that takes them over.
    /// Editors only.
    async fn delete_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        move_to: Option<ID>,
    ) -> async_graphql::Result<DeletePayload> {
        let (state, request, actor) = authorized(ctx, Permission::EditContent).await?;
        let uuid = parse_id(&id, "id")?;
        let move_to = move_to.map(|m| parse_id(&m, "moveTo")).transpose()?;
        written(
            state,
            editor::delete(&state.db, &actor, uuid, move_to, request.now),
        )
        .await?;
        Ok(DeletePayload::new(id))
    }
}
