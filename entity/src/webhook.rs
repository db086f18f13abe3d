//! An endpoint that hears of changes by HTTP POST, signed.

use sea_orm::entity::prelude::*;

/// One row of `webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// The change kinds it hears, space-separated; `*` for all.
    pub events: String,
    /// What the admin wrote about it.
    pub description: String,
    /// The signing secret, `whsec_` and base64 (Standard Webhooks).
    pub secret: String,
    /// The change feed's number up to which events were queued for it.
    pub queued_until: i64,
    /// When it was registered.
    pub created_at: DateTimeUtc,
}

/// A webhook stands alone here; deliveries point at it.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
