//! Admins' token management: list, create (the secret is shown once), revoke.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use entity::api_token::{self, Role as DbRole};

use super::{
    connection::parse_id,
    context::{authorized, written},
    scalars::DateTime,
};
use crate::content::tokens::{self, Permission};

/// What a token may do.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Role {
    /// Everything, including tokens and the audit log.
    Admin,
    /// Articles, sections and tags.
    Editor,
    /// Comments.
    Moderator,
}

impl From<Role> for DbRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => Self::Admin,
            Role::Editor => Self::Editor,
            Role::Moderator => Self::Moderator,
        }
    }
}

impl From<DbRole> for Role {
    fn from(role: DbRole) -> Self {
        match role {
            DbRole::Admin => Self::Admin,
            DbRole::Editor => Self::Editor,
            DbRole::Moderator => Self::Moderator,
        }
    }
}

/// An API token, without its secret.
pub struct ApiToken(api_token::Model);

/// An API token, without its secret (which is never stored).
#[Object]
impl ApiToken {
    /// The token's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Whose or what the token is.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it may do.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// When it was made.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it stops working, if ever.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }
    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(DateTime)
    }
    /// When it was last used.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
}

/// A new token and its secret.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// The token to send as `Authorization: Bearer …`. Shown this once only.
    secret: String,
    /// The token's record.
    api_token: ApiToken,
}

/// Admins' token queries.
#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Every API token, newest first. Admins only.
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let (state, _, _) = authorized(ctx, Permission::Administer).await?;
        Ok(tokens::list(&state.db)
            .await?
            .into_iter()
            .map(ApiToken)
            .collect())
    }
}

/// Admins' token mutations.
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Makes a token; its secret is in the answer and nowhere else. Admins only.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: Role,
        expires_at: Option<DateTime>,
    ) -> async_graphql::Result<CreatedApiToken> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let issued = written(
            state,
            tokens::create(
                &state.db,
                &actor,
                &name,
                role.into(),
                expires_at.map(|at| at.0),
            ),
        )
        .await?;
        Ok(CreatedApiToken {
            secret: issued.secret,
            api_token: ApiToken(issued.token),
        })
    }

    /// Revokes a token at once. Admins only.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiToken> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let id = parse_id(&id, "id")?;
        let revoked = written(state, tokens::revoke(&state.db, &actor, id)).await?;
        Ok(ApiToken(revoked))
    }
}
