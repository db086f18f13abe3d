//! Webhooks: endpoints that hear of changes by a signed HTTP POST. An admin
//! registers one ([`create`]); from then on every change of the kinds it
//! asked for is queued for it from the change feed and sent, at least once,
//! by whichever server process gets to it first ([`delivery`]), signed as
//! the Standard Webhooks specification says ([`sign`]).
//!
//! The signing secret is shown once, when the webhook is made, and kept as
//! it is: unlike an API token, which the server only compares, a secret is
//! needed to sign every delivery.

pub mod delivery;
pub mod endpoint;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use entity::{webhook, webhook_delivery};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sha2::Sha256;
use uuid::Uuid;

use crate::content::writes::{Edit, Subject, audit::Actor, change};
use crate::error::{AppError, AppResult};

/// The event a CDN adapter asks for: one per change readers can see,
/// carrying the cache tags to purge. Only sent when asked for by name (`*`
/// means every change kind, not this).
pub const CACHE_PURGE: &str = "cache.purge";

/// The events a webhook may ask for, besides `*` (every change kind).
pub const EVENTS: &[&str] = &[
    CACHE_PURGE,
    "article.published",
    "article.scheduled",
    "article.updated",
    "article.moved",
    "article.unpublished",
    "article.deleted",
    "section.changed",
    "tag.changed",
    "comment.approved",
    "comment.removed",
    "site.imported",
];

/// The most webhooks a site may have.
const MOST_WEBHOOKS: u64 = 100;

/// A webhook just made, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    /// The webhook.
    pub webhook: webhook::Model,
    /// Its signing secret.
    pub secret: String,
}

/// The kinds asked for, checked and made the stored form (space-separated,
/// `*` alone for all).
fn events_of(events: &[String]) -> AppResult<String> {
    if events.iter().any(|event| event == "*") {
        return Ok("*".to_owned());
    }
    if events.is_empty() {
        return Err(AppError::bad_input(
            "events",
            "Name at least one event, or `*` for all",
        ));
    }
    if let Some(unknown) = events
        .iter()
        .find(|event| !EVENTS.contains(&event.as_str()))
    {
        return Err(AppError::bad_input(
            "events",
            format!(
                "`{unknown}` is not an event; use one of {}",
                EVENTS.join(", ")
            ),
        ));
    }
    let mut events: Vec<&str> = events.iter().map(String::as_str).collect();
    events.sort_unstable();
    events.dedup();
    Ok(events.join(" "))
}

/// A description, checked.
fn description_of(description: Option<&str>) -> AppResult<String> {
    let description = description.unwrap_or_default().trim();
    if description.chars().count() > 500 {
        return Err(AppError::bad_input(
            "description",
            "A description is at most 500 characters",
        ));
    }
    Ok(description.to_owned())
}

/// Registers a webhook for `events` at `url`; it hears of changes from now
/// on. With `allow_private` false, an address on this machine or a private
/// network is refused (no server-side request forgery).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    url: &str,
    events: &[String],
    description: Option<&str>,
    allow_private: bool,
) -> AppResult<CreatedWebhook> {
    let events = events_of(events)?;
    let description = description_of(description)?;
    let url = endpoint::check_url(url, allow_private).await?;
    if webhook::Entity::find().count(db).await? >= MOST_WEBHOOKS {
        return Err(AppError::bad_input(
            "url",
            format!("A site has at most {MOST_WEBHOOKS} webhooks"),
        ));
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let secret = format!("whsec_{}", STANDARD.encode(key));
    let now = super::now();
    let mut edit = Edit::begin(db, actor, now).await?;
    let queued_until = change::latest_in(edit.txn()).await?;
    let id = Uuid::now_v7();
    let webhook = webhook::ActiveModel {
        id: Set(id),
        url: Set(url.clone()),
        events: Set(events),
        description: Set(description),
        secret: Set(secret.clone()),
        queued_until: Set(queued_until),
        created_at: Set(now),
    }
    .insert(edit.txn())
    .await?;
    edit.did("webhook.create", Subject::Webhook(id), url);
    edit.commit().await?;
    Ok(CreatedWebhook { webhook, secret })
}

/// Changes a webhook's address, events or description (what is `None`
/// stays).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    url: Option<&str>,
    events: Option<&[String]>,
    description: Option<&str>,
    allow_private: bool,
) -> AppResult<webhook::Model> {
    let events = events.map(events_of).transpose()?;
    let description = description
        .map(|text| description_of(Some(text)))
        .transpose()?;
    let url = match url {
        Some(url) => Some(endpoint::check_url(url, allow_private).await?),
        None => None,
    };
    let mut edit = Edit::begin(db, actor, super::now()).await?;
    let current = webhook::Entity::find_by_id(id)
        .one(edit.txn())
        .await?
        .ok_or_else(not_found)?;
    let mut active: webhook::ActiveModel = current.into();
    if let Some(url) = url {
        active.url = Set(url);
    }
    if let Some(events) = events {
        active.events = Set(events);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    let updated = active.update(edit.txn()).await?;
    edit.did("webhook.update", Subject::Webhook(id), &updated.url);
    edit.commit().await?;
    Ok(updated)
}

/// Deletes a webhook and its deliveries.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<()> {
    let mut edit = Edit::begin(db, actor, super::now()).await?;
    let current = webhook::Entity::find_by_id(id)
        .one(edit.txn())
        .await?
        .ok_or_else(not_found)?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(edit.txn())
        .await?;
    webhook::Entity::delete_by_id(id).exec(edit.txn()).await?;
    edit.did("webhook.delete", Subject::Webhook(id), &current.url);
    edit.commit().await?;
    Ok(())
}

/// Every webhook, oldest first.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::CreatedAt)
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// A webhook's `most` latest deliveries, newest first.
pub async fn recent_deliveries(
    db: &DatabaseConnection,
    webhook_id: Uuid,
    most: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(most)
        .all(db)
        .await?)
}

/// Queues a delivery's payload again, as a new delivery due now.
pub async fn redeliver(
    db: &DatabaseConnection,
    actor: &Actor,
    delivery_id: Uuid,
) -> AppResult<webhook_delivery::Model> {
    let now = super::now();
    let mut edit = Edit::begin(db, actor, now).await?;
    let earlier = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(edit.txn())
        .await?
        .ok_or_else(|| AppError::NotFound("No delivery has this id".to_owned()))?;
    let again = delivery::queued(earlier.webhook_id, &earlier.event, earlier.payload, now)
        .insert(edit.txn())
        .await?;
    edit.did(
        "webhook.redeliver",
        Subject::Webhook(earlier.webhook_id),
        delivery_id.to_string(),
    );
    edit.commit().await?;
    Ok(again)
}

fn not_found() -> AppError {
    AppError::NotFound("No webhook has this id".to_owned())
}

/// The `webhook-signature` header for `body` sent as message `id` at
/// `timestamp` (Unix seconds), with `secret` (`whsec_` and base64), as
/// the Standard Webhooks specification defines it: `v1,` and the base64 of
/// HMAC-SHA256 over `id.timestamp.body` keyed by the secret's bytes.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> AppResult<String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| AppError::Internal("a webhook secret is not base64".to_owned()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| AppError::Internal("a webhook secret cannot key HMAC".to_owned()))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// When a delivery made at `at` is due again after `attempts` attempts;
/// `None` once it has been tried for about a day (12 attempts). The delays
/// grow threefold from `base` (10 s by default: 10 s, 30 s, 1.5 min, … 6 h
/// at most), each
/// with up to a fifth taken off or added at random, so retries of many
/// deliveries spread out.
pub fn retry_at(
    at: DateTime<Utc>,
    attempts: i32,
    base: std::time::Duration,
) -> Option<DateTime<Utc>> {
    const MOST_ATTEMPTS: i32 = 12;
    const LONGEST: std::time::Duration = std::time::Duration::from_secs(6 * 60 * 60);
    if attempts >= MOST_ATTEMPTS {
        return None;
    }
    let steps = u32::try_from(attempts.max(1) - 1).unwrap_or(0);
    let delay = base.saturating_mul(3u32.saturating_pow(steps)).min(LONGEST);
    let jitter = rand::random_range(0.8..1.2);
    let delay = chrono::Duration::from_std(delay.mul_f64(jitter)).ok()?;
    Some(at + delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_those_of_the_standard_webhooks_specification() {
        // The example of the specification's reference libraries.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn retries_grow_threefold_with_jitter_and_stop_after_about_a_day() {
        let base = std::time::Duration::from_secs(10);
        let start = Utc::now();
        let mut at = start;
        for attempt in 1..12 {
            let next = retry_at(at, attempt, base).unwrap();
            let delay = (next - at).num_milliseconds() as f64 / 1000.0;
            let expected = (10.0 * 3f64.powi(attempt - 1)).min(6.0 * 3600.0);
            assert!(
                delay >= expected * 0.8 && delay <= expected * 1.2,
                "attempt {attempt}: {delay} s"
            );
            at = next;
        }
        assert!(retry_at(at, 12, base).is_none());
        let total = (at - start).num_hours();
        assert!((20..=34).contains(&total), "{total} h");
    }

    #[test]
    fn events_are_checked_and_stored_sorted() {
        let asked = [
            "comment.approved".to_owned(),
            "article.published".to_owned(),
        ];
        assert_eq!(
            events_of(&asked).unwrap(),
            "article.published comment.approved"
        );
        assert_eq!(events_of(&["*".to_owned()]).unwrap(), "*");
        assert!(events_of(&[]).is_err());
        assert!(events_of(&["token.created".to_owned()]).is_err());
    }
}
