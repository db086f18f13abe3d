//! The `newsroom` binary: reads the configuration, sets up logging, and
//! serves the API, runs the migrations, or prints the schema.

use clap::Parser;
use newsroom::{
    config::{Cli, Command, LogFormat},
    database, graphql, http,
};
use std::io::IsTerminal;

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// The server allocates and frees many short-lived text buffers (article
/// bodies as rows bring them, response bodies): a fifth of its CPU under
/// glibc's allocator. With mimalloc, warm home and section pages are served
/// much faster (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Err(error) = start_logging(&cli.config) {
        eprintln!("newsroom: {error}");
        return std::process::ExitCode::FAILURE;
    }
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr with the configured filter and format; a filter that
/// does not parse is an error, not a silent `info`. Colours only on a
/// terminal.
fn start_logging(config: &newsroom::config::Config) -> Result<(), String> {
    let filter = EnvFilter::try_new(&config.log)
        .map_err(|error| format!("the log filter {:?} does not parse: {error}", config.log))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", graphql::sdl());
        }
        Command::Migrate => {
            migrated(&config).await?;
            tracing::info!("the database schema is up to date");
        }
        Command::Token { action } => {
            let db = migrated(&config).await?;
            newsroom::cli::token(&db, action, &mut std::io::stdout())
                .await
                .map_err(|error| error.log_message())?;
        }
        Command::Changes { since, limit } => {
            let db = migrated(&config).await?;
            newsroom::cli::changes(&db, since, limit, &mut std::io::stdout())
                .await
                .map_err(|error| error.log_message())?;
        }
        Command::Export { file } => {
            let db = migrated(&config).await?;
            let summary = newsroom::cli::export(&db, &file)
                .await
                .map_err(|error| error.log_message())?;
            tracing::info!("{summary}");
        }
        Command::Reindex => {
            let db = migrated(&config).await?;
            let started = std::time::Instant::now();
            use newsroom::content::search::index::{WhenRefused, rebuild};
            let indexed = rebuild(&db, WhenRefused::Fail, |done| {
                if done % 10_000 == 0 {
                    tracing::info!(done, "indexed for search");
                }
            })
            .await
            .map_err(|error| error.log_message())?;
            tracing::info!(
                indexed,
                seconds = started.elapsed().as_secs_f64(),
                "the search index is rebuilt"
            );
        }
        Command::Import { file } => {
            let db = migrated(&config).await?;
            let summary = newsroom::cli::import(&db, &file)
                .await
                .map_err(|error| error.log_message())?;
            database::optimize(&db)
                .await
                .map_err(|error| error.log_message())?;
            tracing::info!("{summary}");
        }
        Command::Serve => {
            let state = newsroom::prepare(&config)
                .await
                .map_err(|error| error.log_message())?;
            let schema = graphql::build_schema(
                state.clone(),
                !config.no_introspection,
                config.query_limits(),
            );
            let listener = TcpListener::bind(config.listen)
                .await
                .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
            let address = listener
                .local_addr()
                .map_err(|error| format!("cannot read the listening address: {error}"))?;
            let stop_signal = shutdown_signal();
            tracing::info!("newsroom is serving GraphQL and GraphiQL at http://{address}/graphql");
            let background = newsroom::spawn_background(&state, &config);
            if let Some(metrics_address) = config.metrics_listen {
                let handle = newsroom::metrics::install()?;
                let metrics_listener = TcpListener::bind(metrics_address)
                    .await
                    .map_err(|error| format!("cannot listen on {metrics_address}: {error}"))?;
                let bound = metrics_listener
                    .local_addr()
                    .map_err(|error| format!("cannot read the metrics address: {error}"))?;
                tracing::info!("metrics at http://{bound}/metrics");
                let router = http::metrics_router(handle, state.clone());
                tokio::spawn(async move {
                    if let Err(error) = axum::serve(metrics_listener, router).await {
                        tracing::error!(%error, "the metrics listener stopped");
                    }
                });
            }
            let router = http::router(schema, state.clone(), &http::HttpSettings::from(&config));
            let limits = http::ConnectionLimits {
                max_connections: connections_that_fit(config.max_connections),
                ..http::ConnectionLimits::from(&config)
            };
            serve_until_stopped(
                listener,
                router,
                limits,
                config.shutdown_timeout,
                stop_signal,
                std::sync::Arc::clone(&state.stopping),
            )
            .await?;
            background.abort();
            let deadline = tokio::time::Instant::now() + config.shutdown_timeout;
            match state.views.flush_before(deadline).await {
                Ok(written) => tracing::info!(written, "wrote the buffered view counts"),
                Err((error, left)) => {
                    let spills = config.view_spill_folder();
                    match spills.write(&left) {
                        Ok(path) => tracing::warn!(
                            error = %error.log_message(),
                            file = %path.display(),
                            "could not write the buffered view counts; kept them for the next start"
                        ),
                        Err(spill_error) => {
                            return Err(format!(
                                "could not write the buffered view counts ({}) nor keep them in {}: {spill_error}",
                                error.log_message(),
                                spills.folder().display()
                            ));
                        }
                    }
                }
            }
            tracing::info!("newsroom stopped");
        }
    }
    Ok(())
}

/// Serves until Ctrl-C or SIGTERM, then stops accepting connections and
/// gives requests in flight `deadline` to finish; WebSocket connections are
/// told to close (`live`) and waited for within the same deadline.
async fn serve_until_stopped(
    listener: TcpListener,
    router: axum::Router,
    limits: http::ConnectionLimits,
    deadline: std::time::Duration,
    stop_signal: impl std::future::Future<Output = ()> + Send + 'static,
    live: std::sync::Arc<newsroom::state::Stopping>,
) -> Result<(), String> {
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = std::sync::Arc::clone(&stopping);
    let live_told = std::sync::Arc::clone(&live);
    let server = http::serve_with_limits(listener, router, limits, async move {
        stop_signal.await;
        live_told.begin();
        signal.notify_one();
    });
    tokio::pin!(server);
    let served = tokio::select! {
        served = &mut server => served,
        () = stopping.notified() => match tokio::time::timeout(deadline, &mut server).await {
            Ok(served) => served,
            Err(_) => {
                tracing::warn!("requests were still running after the shutdown deadline");
                Ok(())
            }
        },
    };
    if !live.all_closed_within(deadline).await {
        tracing::warn!("live connections were still open after the shutdown deadline");
    }
    served.map_err(|error| format!("the server stopped on an error: {error}"))
}

/// Descriptors kept for the database, files and the listener itself.
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft open-files limit to the hard one, and returns how many
/// client connections fit under it (at most `wanted`): running out of
/// descriptors would stop the server accepting anything, health checks
/// included, where the cap refuses cleanly.
fn connections_that_fit(wanted: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let fit =
        usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)).unwrap_or(usize::MAX);
    if fit < wanted {
        tracing::info!(
            open_files = limit,
            connections = fit,
            "the open-files limit allows fewer client connections than configured"
        );
    }
    wanted.min(fit)
}

/// A connection to a database whose schema is up to date.
async fn migrated(
    config: &newsroom::config::Config,
) -> Result<sea_orm::DatabaseConnection, String> {
    let db = database::connect(&config.database_url, config.database_connections())
        .await
        .map_err(|error| error.log_message())?;
    database::migrate(&db)
        .await
        .map_err(|error| error.log_message())?;
    Ok(db)
}

/// Completes on Ctrl-C or SIGTERM. The handlers are in place when this
/// returns, before the future is first polled: a SIGTERM that arrives right
/// after the server said it is serving is a clean shutdown, not the
/// default action's abrupt exit.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (mut terminate, mut interrupt) = signals;
            let terminated = async {
                match terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupted = async {
                match interrupt.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = terminated => {},
                () = interrupted => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
