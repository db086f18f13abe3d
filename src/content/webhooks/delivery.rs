//! Sending webhooks' events, at least once, from the change feed. Every
//! server process runs [`run`]; the database makes them one sender:
//!
//! - **Queuing.** Each webhook keeps the feed's number up to which its
//!   events were queued. A process locks the webhook's row (PostgreSQL:
//!   `FOR UPDATE SKIP LOCKED`, so others pass on; SQLite has one writer),
//!   queues a delivery for each later public change of the kinds it asked
//!   for and moves the number, in one transaction: each event is queued
//!   once per webhook, whichever processes run.
//! - **Sending.** A process claims the deliveries that are due (locked the
//!   same way) by moving their next attempt past the time one send may
//!   take, commits, sends, and records the outcome: done on a 2xx answer,
//!   else due again after a growing, jittered delay
//!   ([`super::retry_at`]) until it is given up after about a day. A
//!   process stopped mid-send leaves its claim to expire; one stopped
//!   between retries leaves them in the table, for whichever process runs
//!   next.
//!
//! Requests time out, follow no redirects and connect only to the address
//! checked as public ([`super::endpoint`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{webhook, webhook_delivery};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{LockBehavior, LockType},
};
use serde_json::json;
use uuid::Uuid;

use crate::content::writes::{
    change::{self, Change},
    listeners::ChangeListeners,
};
use crate::content::{cache::surrogate, webhooks::CACHE_PURGE};
use crate::error::{AppError, AppResult};

/// How webhooks are sent, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Whether addresses on private networks and this machine may be used.
    pub allow_private: bool,
    /// The first retry's delay; later ones grow threefold.
    pub retry_base: Duration,
    /// How long one request may take.
    pub timeout: Duration,
}

/// How often a process looks for work when it hears of no change.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// How many changes one queuing reads.
const CHANGES_AT_ONCE: u64 = 500;

/// How many deliveries one process claims at once.
const CLAIMED_AT_ONCE: u64 = 20;

/// The statuses of a delivery.
pub const PENDING: &str = "pending";
/// Answered with a 2xx status.
pub const SUCCEEDED: &str = "succeeded";
/// Given up after about a day of retries.
pub const FAILED: &str = "failed";

/// A new delivery of `payload` (a change of kind `event`) to `webhook_id`,
/// due at `now`.
pub fn queued(
    webhook_id: Uuid,
    event: &str,
    payload: String,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        webhook_id: Set(webhook_id),
        event: Set(event.to_owned()),
        payload: Set(payload),
        status: Set(PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        response_code: Set(None),
        latency_ms: Set(None),
        error: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    }
}

/// Queues and sends webhooks' events until the task is aborted: when this
/// process hears of changes, and every second.
pub async fn run(db: DatabaseConnection, listeners: ChangeListeners, settings: WebhookSettings) {
    let mut heard = listeners.listen();
    let mut pruned = tokio::time::Instant::now();
    loop {
        if pruned.elapsed() >= PRUNE_EVERY {
            pruned = tokio::time::Instant::now();
            if let Err(error) = prune(&db).await {
                tracing::warn!(error = %error.log_message(), "cannot prune old webhook deliveries");
            }
        }
        if let Err(error) = queue_new(&db).await {
            tracing::warn!(error = %error.log_message(), "cannot queue webhook events; trying again");
        }
        match send_due(&db, &settings).await {
            // A full claim: more may be due at once.
            Ok(sent) if sent as u64 == CLAIMED_AT_ONCE => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error.log_message(), "cannot send webhooks; trying again");
            }
        }
        let _ = tokio::time::timeout(LOOK_EVERY, heard.recv()).await;
    }
}

/// How often finished deliveries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// How long a finished delivery is kept, for admins to look at.
const KEPT_FOR_DAYS: i64 = 30;

/// Deletes deliveries that finished more than [`KEPT_FOR_DAYS`] ago.
async fn prune(db: &DatabaseConnection) -> AppResult<u64> {
    let before = crate::content::now() - chrono::Duration::days(KEPT_FOR_DAYS);
    Ok(webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::Status.ne(PENDING))
        .filter(webhook_delivery::Column::FinishedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

/// Whether a webhook that asked for `events` hears of `change`.
fn wants(events: &str, change: &Change) -> bool {
    change.is_public()
        && (events == "*" || events.split_whitespace().any(|event| event == change.kind))
}

/// Whether a webhook that asked for `events` hears of the purge `change`
/// calls for.
fn wants_purge(events: &str, change: &Change) -> bool {
    change.is_public() && events.split_whitespace().any(|event| event == CACHE_PURGE)
}

/// The body of a `cache.purge` event for `change`: the cache tags to purge
/// (`Surrogate-Key` / `Cache-Tag` values, [`surrogate::purge_keys`]), and
/// the change that calls for it.
fn purge_payload(change: &Change) -> String {
    json!({
        "type": CACHE_PURGE,
        "timestamp": change.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "keys": surrogate::purge_keys(&change.keys),
            "change": change.kind,
            "id": change.entity_id,
            "seq": change.seq,
        },
    })
    .to_string()
}

/// Queues, for every webhook, the changes after the last one queued for it.
/// Returns how many deliveries were queued.
pub async fn queue_new(db: &DatabaseConnection) -> AppResult<usize> {
    // Only webhooks behind the feed, looked for without a write.
    let latest = change::latest(db).await?;
    let ids: Vec<Uuid> = webhook::Entity::find()
        .filter(webhook::Column::QueuedUntil.lt(latest))
        .select_only()
        .column(webhook::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut queued_in_all = 0;
    for id in ids {
        let txn = crate::database::begin_write(db).await?;
        let mut find = webhook::Entity::find_by_id(id);
        if txn.get_database_backend() == DbBackend::Postgres {
            find = find.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        // Gone, or another process is queuing for it.
        let Some(webhook) = find.one(&txn).await? else {
            continue;
        };
        let changes = change::after(&txn, webhook.queued_until, CHANGES_AT_ONCE).await?;
        let Some(last) = changes.last().map(|change| change.seq) else {
            continue;
        };
        let now = crate::content::now();
        for change in &changes {
            if wants(&webhook.events, change) {
                let payload = payload_of(&txn, change, now).await?;
                queued(webhook.id, &change.kind, payload, now)
                    .insert(&txn)
                    .await?;
                queued_in_all += 1;
            }
            if wants_purge(&webhook.events, change) {
                queued(webhook.id, CACHE_PURGE, purge_payload(change), now)
                    .insert(&txn)
                    .await?;
                queued_in_all += 1;
            }
        }
        let mut active: webhook::ActiveModel = webhook.into();
        active.queued_until = Set(last);
        active.update(&txn).await?;
        txn.commit().await?;
    }
    Ok(queued_in_all)
}

/// The JSON body for `change`, as the Standard Webhooks specification
/// shapes it (`type`, `timestamp`, `data`): the entity's id, the cache keys
/// the change touches, and an article's slug and title while it is public.
async fn payload_of<C: ConnectionTrait>(
    conn: &C,
    change: &Change,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let mut data = json!({ "id": change.entity_id, "keys": change.keys, "seq": change.seq });
    if change.kind.starts_with("article.") {
        let public = crate::content::articles::public_by_id(conn, change.entity_id, now).await?;
        if let Some(article) = public {
            data["slug"] = json!(article.slug);
            data["title"] = json!(article.title);
        }
    }
    Ok(json!({
        "type": change.kind,
        "timestamp": change.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string())
}

/// Claims the deliveries due and sends them; returns how many were claimed.
pub async fn send_due(db: &DatabaseConnection, settings: &WebhookSettings) -> AppResult<usize> {
    let now = crate::content::now();
    // Whether anything is due, looked for without a write.
    let any_due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .select_only()
        .column(webhook_delivery::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    if any_due.is_none() {
        return Ok(0);
    }
    let txn = crate::database::begin_write(db).await?;
    let mut due = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(CLAIMED_AT_ONCE);
    if txn.get_database_backend() == DbBackend::Postgres {
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let claimed = due.all(&txn).await?;
    // Past the time a send may take: a process stopped mid-send leaves the
    // delivery due again afterwards.
    let lease = chrono::Duration::from_std(settings.timeout * 2 + Duration::from_secs(5))
        .map_err(|_| AppError::Internal("the webhook timeout is too long".to_owned()))?;
    for delivery in &claimed {
        let mut active: webhook_delivery::ActiveModel = delivery.clone().into();
        active.next_attempt_at = Set(now + lease);
        active.update(&txn).await?;
    }
    txn.commit().await?;
    let count = claimed.len();
    let sends = claimed
        .into_iter()
        .map(|delivery| attempt(db, delivery, settings));
    for outcome in futures_util::future::join_all(sends).await {
        outcome?;
    }
    Ok(count)
}

/// What one attempt got: the status it was answered with, and why it
/// failed when it did.
struct Attempted {
    response_code: Option<u16>,
    error: Option<String>,
    took: Duration,
}

/// Sends one claimed delivery and records how it went.
async fn attempt(
    db: &DatabaseConnection,
    delivery: webhook_delivery::Model,
    settings: &WebhookSettings,
) -> AppResult<()> {
    let Some(webhook) = webhook::Entity::find_by_id(delivery.webhook_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let attempted = match post(&webhook, &delivery, settings).await {
        Ok(code) if (200..300).contains(&code) => Attempted {
            response_code: Some(code),
            error: None,
            took: started.elapsed(),
        },
        Ok(code) => Attempted {
            response_code: Some(code),
            error: Some(format!("answered {code}")),
            took: started.elapsed(),
        },
        Err(error) => Attempted {
            response_code: None,
            error: Some(error),
            took: started.elapsed(),
        },
    };
    let now = crate::content::now();
    let attempts = delivery.attempts + 1;
    let mut active: webhook_delivery::ActiveModel = delivery.into();
    active.attempts = Set(attempts);
    active.response_code = Set(attempted.response_code.map(i32::from));
    active.latency_ms = Set(Some(
        i32::try_from(attempted.took.as_millis()).unwrap_or(i32::MAX),
    ));
    if attempted.error.is_none() {
        active.status = Set(SUCCEEDED.to_owned());
        active.finished_at = Set(Some(now));
    } else {
        match super::retry_at(now, attempts, settings.retry_base) {
            Some(again) => active.next_attempt_at = Set(again),
            None => {
                active.status = Set(FAILED.to_owned());
                active.finished_at = Set(Some(now));
            }
        }
    }
    active.error = Set(attempted.error);
    active.update(db).await?;
    crate::metrics::webhook_attempt(
        attempted
            .response_code
            .is_some_and(|code| (200..300).contains(&code)),
    );
    Ok(())
}

/// POSTs the delivery, signed; the status it was answered with, or why
/// nothing answered.
async fn post(
    webhook: &webhook::Model,
    delivery: &webhook_delivery::Model,
    settings: &WebhookSettings,
) -> Result<u16, String> {
    let url = reqwest::Url::parse(&webhook.url).map_err(|error| error.to_string())?;
    let addresses = super::endpoint::addresses(&url, settings.allow_private)
        .await
        .map_err(|error| error.client_message())?;
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .user_agent("newsroom-webhooks");
    if let (Some(host), Some(address)) = (url.host_str(), addresses.first()) {
        // Connect to the address just checked, not to a second lookup's.
        client = client.resolve(host, *address);
    }
    let client = client.build().map_err(|error| error.to_string())?;
    let id = delivery.id.to_string();
    let timestamp = crate::content::now().timestamp();
    let signature = super::sign(&webhook.secret, &id, timestamp, &delivery.payload)
        .map_err(|error| error.log_message())?;
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|error| {
            if error.is_timeout() {
                "timed out".to_owned()
            } else if error.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }
        })?;
    Ok(response.status().as_u16())
}
