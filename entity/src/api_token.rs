//! An API token that lets editors, moderators and admins write through the
//! GraphQL API. Only a hash of its secret is stored.

use sea_orm::entity::prelude::*;

/// What a token may do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Everything, including managing tokens and reading the audit log.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Writes articles, sections and tags.
    #[sea_orm(string_value = "editor")]
    Editor,
    /// Handles comments.
    #[sea_orm(string_value = "moderator")]
    Moderator,
}

/// One row of `api_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// UUID v7; also the public part of the token string.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// A label saying whose or what the token is.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// SHA-256 of the secret, hex; the secret itself is never stored.
    pub secret_hash: String,
    /// When the token was made.
    pub created_at: DateTimeUtc,
    /// When the token stops working, if ever.
    pub expires_at: Option<DateTimeUtc>,
    /// When the token was revoked, if it was.
    pub revoked_at: Option<DateTimeUtc>,
    /// When the token was last used.
    pub last_used_at: Option<DateTimeUtc>,
}

/// Tokens relate to nothing else.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
