//! newsroom: a headless content API for news sites.
//!
//! How the crate is laid out, from the outside in:
//!
//! - [`config`]: every setting, from flags and environment variables.
//! - [`database`]: connecting to SQLite or PostgreSQL, migrating, and the
//!   write transactions every change goes through.
//! - [`content`]: the domain — articles, sections, tags, comments and view
//!   counts as plain async functions over the database.
//! - [`graphql`]: the API — types, queries and mutations over the domain.
//! - [`http`]: the axum router that carries GraphQL and serves GraphiQL.
//! - [`error`]: the one error type, and what each variant shows a client.
//! - [`fault`]: what kind of trouble a database error is (the client's,
//!   passing, lasting), for the error type and the metrics alike.
//! - [`metrics`]: the Prometheus counters an operator watches.
//! - [`state`]: what every request shares.
//! - [`cli`]: the operator's subcommands (tokens, export, import).
//!
//! [`prepare`] ties them together for `main` and for the tests, which start
//! the same server on port 0.

pub mod cli;
pub mod config;
pub mod content;
pub mod database;
pub mod error;
pub mod fault;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod state;

use config::Config;
use error::AppResult;
use state::AppState;

/// Connects to the configured database, brings its schema up to date and,
/// unless turned off, loads the demo content into an empty database.
pub async fn prepare(config: &Config) -> AppResult<AppState> {
    prepare_connected(
        database::connect(&config.database_url, config.database_connections()).await?,
        config,
    )
    .await
}

/// [`prepare`] over a connection made by the caller (who may, say, have set
/// a metric callback on it).
pub async fn prepare_connected(
    db: sea_orm::DatabaseConnection,
    config: &Config,
) -> AppResult<AppState> {
    database::migrate(&db).await?;
    if !config.no_demo && content::transfer::demo::load_if_empty(&db).await? {
        tracing::info!("loaded the demo content into the empty database");
    }
    bring_search_index_up_to_date(&db).await?;
    let spills = config.view_spill_folder();
    let added = spills.apply(&db).await?;
    if added > 0 {
        tracing::info!(added, folder = %spills.folder().display(), "added the view counts left at the last shutdown");
    }
    // Statistics help the planner but are no reason not to serve: a busy
    // file (a search index rebuilding) gets them at the next start.
    match database::optimize(&db).await {
        Ok(()) => {}
        Err(error @ error::AppError::Unavailable { .. }) => {
            tracing::warn!(error = %error.log_message(), "the planner statistics were not gathered");
        }
        Err(error) => return Err(error),
    }
    let feed_start = content::writes::change::latest(&db).await?;
    // Where announcing scheduled publications starts, set before serving,
    // so the background's first look is a read, not a write.
    let announced = content::writes::change::announce_due(&db, None, content::now()).await?;
    let fingerprint_secret = match &config.fingerprint_secret {
        Some(secret) => secret.clone(),
        None => content::shared_settings::fingerprint_secret(&db).await?,
    };
    let feed_start = content::writes::feed::Start {
        applied: feed_start,
        announced,
    };
    Ok(AppState::new(
        db,
        config.state_settings(feed_start, fingerprint_secret),
    ))
}

/// Sites up to this many articles have a search index an older build made
/// rebuilt before the server serves; larger ones while it serves.
const REINDEX_BEFORE_SERVING: u64 = 2_000;

/// Rebuilds the search index when an older build (or none) made it: at
/// once on a small site, in the background on a large one (searches find
/// the articles not yet reached by their old documents, or not at all).
async fn bring_search_index_up_to_date(db: &sea_orm::DatabaseConnection) -> AppResult<()> {
    use content::search::index;
    use sea_orm::{EntityTrait, PaginatorTrait};
    if index::is_current(db).await? {
        return Ok(());
    }
    let articles = entity::article::Entity::find().count(db).await?;
    if articles <= REINDEX_BEFORE_SERVING {
        index::rebuild(db, index::WhenRefused::Fail, |_| {}).await?;
        return Ok(());
    }
    tracing::warn!(
        articles,
        "the search index was made by another build; rebuilding it while serving"
    );
    let db = db.clone();
    tokio::spawn(async move {
        // A busy database (on SQLite, the statistics the server gathers as
        // it starts take the writers' turn for minutes on a large file) is
        // waited out: given up, the index would stay stale until a restart.
        match index::rebuild(&db, index::WhenRefused::Wait, |_| {}).await {
            Ok(indexed) => tracing::info!(indexed, "the search index is rebuilt"),
            Err(error) => {
                tracing::error!(error = %error.log_message(), "rebuilding the search index failed");
            }
        }
    });
    Ok(())
}

/// Starts the background work a serving process does: writing buffered
/// view counts every interval, following the change feed, and sending
/// webhooks (unless told not to). Abort the
/// handle at shutdown, then flush once more.
pub fn spawn_background(state: &AppState, config: &Config) -> tokio::task::JoinHandle<()> {
    let views = std::sync::Arc::clone(&state.views);
    let interval = config.view_flush_interval;
    let feed = std::sync::Arc::clone(&state.feed);
    let poll = config.change_poll_interval;
    let retention = config.change_retention;
    let webhooks = (!config.no_webhook_delivery).then(|| {
        crate::content::webhooks::delivery::run(
            state.db.clone(),
            state.listeners.clone(),
            state.webhooks,
        )
    });
    tokio::spawn(async move {
        let webhooks = async {
            if let Some(webhooks) = webhooks {
                webhooks.await;
            }
        };
        tokio::join!(
            views.flush_every(interval),
            feed.follow(poll, retention),
            webhooks
        );
    })
}
