//! API tokens: made with a high-entropy random secret that is shown once,
//! stored only as a hash, checked in constant time, and revocable.
//!
//! A token reads `nr_<id>_<secret>`: the id finds the row, the secret proves
//! possession. Tokens never appear in logs.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::api_token::{self, Role};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, QueryOrder, Set};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{
    writes::audit::Actor,
    writes::{Edit, Subject},
};
use crate::error::{AppError, AppResult};

/// What a caller with a valid token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id.
    pub token_id: Uuid,
    /// The token's name, for the audit log.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// Kinds of work a role may be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Write articles, sections and tags; see drafts.
    EditContent,
    /// Handle comments.
    Moderate,
    /// Manage tokens and read the audit log.
    Administer,
}

impl Principal {
    /// Whether this caller may do `work`: admins everything, editors
    /// content, moderators comments.
    pub fn may(&self, work: Permission) -> bool {
        matches!(
            (self.role, work),
            (Role::Admin, _)
                | (Role::Editor, Permission::EditContent)
                | (Role::Moderator, Permission::Moderate)
        )
    }
}

/// A freshly made token: its row and the one-time secret string.
pub struct IssuedToken {
    /// The stored row.
    pub token: api_token::Model,
    /// The whole token string; shown once, never stored.
    pub secret: String,
}

const PREFIX: &str = "nr_";

fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Makes a token named `name` with `role`, valid until `expires_at`, as
/// `actor` (audited with it).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<IssuedToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(AppError::bad_input(
            "name",
            "A token's name must be 1 to 128 characters",
        ));
    }
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let secret = URL_SAFE_NO_PAD.encode(random);
    let id = Uuid::now_v7();
    let now = super::now();
    let mut edit = Edit::begin(db, actor, now).await?;
    let token = api_token::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        role: Set(role),
        secret_hash: Set(hash_secret(&secret)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
    }
    .insert(edit.txn())
    .await?;
    edit.did("token.create", Subject::Token(id), name);
    edit.commit().await?;
    Ok(IssuedToken {
        token,
        secret: format!("{PREFIX}{}_{secret}", id.simple()),
    })
}

/// Every token, newest first.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<api_token::Model>> {
    Ok(api_token::Entity::find()
        .order_by_desc(api_token::Column::CreatedAt)
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a token at once, as `actor` (audited with it); revoking twice
/// keeps the first time.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
) -> AppResult<api_token::Model> {
    let now = super::now();
    let mut edit = Edit::begin(db, actor, now).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(edit.txn())
        .await?
        .ok_or_else(|| AppError::NotFound("No token has this id".to_owned()))?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let name = token.name.clone();
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(now));
    let revoked = active.update(edit.txn()).await?;
    edit.did("token.revoke", Subject::Token(id), name);
    edit.commit().await?;
    Ok(revoked)
}

/// Stores when `token` was last used, in a write transaction of its own.
async fn record_use(
    db: &DatabaseConnection,
    token: api_token::Model,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut active: api_token::ActiveModel = token.into();
    active.last_used_at = Set(Some(now));
    let txn = crate::database::begin_write(db).await?;
    active.update(&txn).await?;
    txn.commit().await
}

/// Splits a presented token into its id and secret.
fn parse(presented: &str) -> Option<(Uuid, &str)> {
    let rest = presented.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    Some((Uuid::try_parse(id).ok()?, secret))
}

/// Who a presented token belongs to. A malformed, unknown or wrong token is
/// `UNAUTHENTICATED` with one message, so that a caller learns nothing
/// about which it was; the holder of a revoked or expired token (its
/// secret matched) is told which, to renew it. Records the use.
pub async fn authenticate(
    db: &DatabaseConnection,
    presented: &str,
    now: DateTime<Utc>,
) -> AppResult<Principal> {
    let refused = || AppError::Unauthenticated("The API token is not valid".to_owned());
    let (id, secret) = parse(presented).ok_or_else(refused)?;
    let token = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(refused)?;
    let matches: bool = hash_secret(secret)
        .as_bytes()
        .ct_eq(token.secret_hash.as_bytes())
        .into();
    if !matches {
        return Err(refused());
    }
    // Only the token's holder gets this far: telling them why saves a
    // support ticket.
    if token.revoked_at.is_some() {
        return Err(AppError::Unauthenticated(
            "The API token was revoked".to_owned(),
        ));
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::Unauthenticated(
            "The API token has expired".to_owned(),
        ));
    }
    let principal = Principal {
        token_id: token.id,
        name: token.name.clone(),
        role: token.role,
    };
    // Recording the use is best effort: a database that refuses writes for
    // a moment must not lock editors out of reading.
    if let Err(error) = record_use(db, token, now).await {
        tracing::warn!(error = %error.log_message(), "could not record a token's use");
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_the_issue_says() {
        let with = |role| Principal {
            token_id: Uuid::now_v7(),
            name: "t".to_owned(),
            role,
        };
        let admin = with(Role::Admin);
        let editor = with(Role::Editor);
        let moderator = with(Role::Moderator);
        for work in [
            Permission::EditContent,
            Permission::Moderate,
            Permission::Administer,
        ] {
            assert!(admin.may(work));
        }
        assert!(editor.may(Permission::EditContent));
        assert!(!editor.may(Permission::Moderate) && !editor.may(Permission::Administer));
        assert!(moderator.may(Permission::Moderate));
        assert!(!moderator.may(Permission::EditContent) && !moderator.may(Permission::Administer));
    }

    #[test]
    fn token_strings_parse_only_in_their_own_shape() {
        let id = Uuid::now_v7();
        assert_eq!(parse(&format!("nr_{}_abc", id.simple())), Some((id, "abc")));
        assert_eq!(parse("nr_nope_abc"), None);
        assert_eq!(parse("Bearer x"), None);
        assert_eq!(parse(""), None);
    }
}
