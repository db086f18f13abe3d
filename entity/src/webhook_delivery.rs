//! One event for one webhook: its payload and how sending it went.

use sea_orm::entity::prelude::*;

/// One row of `webhook_deliveries`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Its id, sent as `webhook-id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The webhook it is for.
    pub webhook_id: Uuid,
    /// The change kind, like `article.published`.
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// How many times it was sent.
    pub attempts: i32,
    /// When it is due to be sent (again).
    pub next_attempt_at: DateTimeUtc,
    /// The HTTP status of the last attempt, if one answered.
    pub response_code: Option<i32>,
    /// How long the last attempt took.
    pub latency_ms: Option<i32>,
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
    /// When it was queued.
    pub created_at: DateTimeUtc,
    /// When it succeeded or was given up.
    pub finished_at: Option<DateTimeUtc>,
}

/// A delivery stands alone here.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
