//! Admins' webhooks: register an endpoint (its signing secret is shown
//! once), change or delete it, list them with their recent deliveries, and
//! send a delivery again.

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::{webhook, webhook_delivery};

use super::{
    articles::editing::DeletePayload,
    connection::parse_id,
    context::{authorized, scope},
    scalars::DateTime,
};
use crate::content::{tokens::Permission, webhooks};

/// An endpoint that hears of changes by a signed HTTP POST.
pub struct Webhook(webhook::Model);

/// An endpoint that hears of changes: each event is POSTed as JSON, signed
/// as the Standard Webhooks specification says (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`).
#[Object]
impl Webhook {
    /// The webhook's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The events it hears, like `article.published`; `*` for all.
    async fn events(&self) -> Vec<&str> {
        self.0.events.split_whitespace().collect()
    }
    /// What the admin wrote about it.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// Its latest deliveries, newest first (10 unless asked otherwise, at
    /// most 100).
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let (state, _) = scope(ctx)?;
        let most = u64::try_from(first)
            .ok()
            .filter(|first| (1..=100).contains(first))
            .ok_or_else(|| crate::error::AppError::bad_input("first", "`first` is 1 to 100"))?;
        Ok(webhooks::recent_deliveries(&state.db, self.0.id, most)
            .await?
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

/// One event sent (or to be sent) to one webhook.
pub struct WebhookDelivery(webhook_delivery::Model);

/// One event for one webhook, and how sending it went.
#[Object]
impl WebhookDelivery {
    /// The delivery's id, sent as `webhook-id`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The event, like `article.published`.
    async fn event(&self) -> &str {
        &self.0.event
    }
    /// `pending` (being tried), `succeeded` or `failed` (given up after
    /// about a day of retries).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// How many times it was sent.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status the last attempt was answered with.
    async fn response_code(&self) -> Option<i32> {
        self.0.response_code
    }
    /// How long the last attempt took, in milliseconds.
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }
    /// Why the last attempt failed, if it did.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The JSON body sent.
    async fn payload(&self) -> &str {
        &self.0.payload
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it is tried next, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime> {
        (self.0.status == webhooks::delivery::PENDING).then_some(DateTime(self.0.next_attempt_at))
    }
    /// When it succeeded or was given up.
    async fn finished_at(&self) -> Option<DateTime> {
        self.0.finished_at.map(DateTime)
    }
}

/// A new webhook and its signing secret.
#[derive(SimpleObject)]
pub struct CreatedWebhook {
    /// The signing secret (`whsec_…`), to verify deliveries with. Shown
    /// this once only.
    secret: String,
    /// The webhook.
    webhook: Webhook,
}

/// Admins' webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every webhook, oldest first. Admins only.
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Webhook>> {
        let (state, _, _) = authorized(ctx, Permission::Administer).await?;
        Ok(webhooks::list(&state.db)
            .await?
            .into_iter()
            .map(Webhook)
            .collect())
    }
}

/// Admins' webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers a webhook for `events` (like `article.published`, or `*`
    /// for every change kind) at `url`; it hears of changes from now on.
    /// `cache.purge`, asked for by name, sends for each change readers can
    /// see the cache tags (`Surrogate-Key`, `Cache-Tag`) to purge. An address on
    /// a private network or this machine is refused unless the server
    /// allows it. The signing secret is in the answer and shown nowhere
    /// else. Admins only.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        events: Vec<String>,
        description: Option<String>,
    ) -> async_graphql::Result<CreatedWebhook> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let created = webhooks::create(
            &state.db,
            &actor,
            &url,
            &events,
            description.as_deref(),
            state.webhooks.allow_private,
        )
        .await?;
        Ok(CreatedWebhook {
            secret: created.secret,
            webhook: Webhook(created.webhook),
        })
    }

    /// Changes a webhook's address, events or description; what is not
    /// given stays. Admins only.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        url: Option<String>,
        events: Option<Vec<String>>,
        description: Option<String>,
    ) -> async_graphql::Result<Webhook> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let id = parse_id(&id, "id")?;
        let updated = webhooks::update(
            &state.db,
            &actor,
            id,
            url.as_deref(),
            events.as_deref(),
            description.as_deref(),
            state.webhooks.allow_private,
        )
        .await?;
        Ok(Webhook(updated))
    }

    /// Deletes a webhook and its deliveries. Admins only.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DeletePayload> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let parsed = parse_id(&id, "id")?;
        webhooks::delete(&state.db, &actor, parsed).await?;
        Ok(DeletePayload::new(id))
    }

    /// Sends a delivery's event again, as a new delivery due now. Admins
    /// only.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: ID,
    ) -> async_graphql::Result<WebhookDelivery> {
        let (state, _, actor) = authorized(ctx, Permission::Administer).await?;
        let id = parse_id(&delivery_id, "deliveryId")?;
        let again = webhooks::redeliver(&state.db, &actor, id).await?;
        Ok(WebhookDelivery(again))
    }
}
