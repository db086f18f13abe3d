//! Every setting of the server, from command-line flags or environment
//! variables (flags win). No other module reads the environment.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::content::comments::CommentPolicy;

/// newsroom: a headless content API for news sites.
#[derive(Debug, Parser)]
#[command(name = "newsroom", version, about)]
pub struct Cli {
    /// What to do; with none, serve the API.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// The subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) and exit.
    Schema,
    /// Manage API tokens.
    Token {
        /// What to do with tokens.
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Write the whole site (sections, tags, articles with revisions,
    /// comments) to a JSON file.
    Export {
        /// Where to write; `-` for standard output.
        file: PathBuf,
    },
    /// Print the change feed after change number `since`, one JSON object
    /// a line, oldest first: what every server process follows.
    Changes {
        /// The last change already seen; 0 for all that are kept.
        #[arg(long, default_value_t = 0)]
        since: i64,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Index every article for search again: after changing the segmenter
    /// or its dictionary, or to check how long a rebuild takes. Servers go
    /// on serving meanwhile; each batch of articles commits on its own.
    Reindex,
    /// Read a site exported by `newsroom export` into this database. Checks
    /// everything first, writes all or nothing, and skips what is already
    /// there, so running it twice changes nothing.
    Import {
        /// The file to read; `-` for standard input.
        file: PathBuf,
    },
}

/// `newsroom token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (shown this once only).
    Create {
        /// Whose or what the token is.
        #[arg(long)]
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        role: TokenRole,
        /// How long it stays valid, like `90d` or `12h`; forever if left out.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
    },
    /// List every token (never their secrets).
    List,
    /// Revoke a token at once.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: uuid::Uuid,
    },
}

/// A token's role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenRole {
    /// Everything, including tokens and the audit log.
    Admin,
    /// Articles, sections and tags.
    Editor,
    /// Comments.
    Moderator,
}

/// Server settings.
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Where the data lives: `sqlite://path/to/file.db` (created on first
    /// start) or `postgres://user@host:port/database`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/newsroom.db",
        global = true
    )]
    pub database_url: String,

    /// The address to listen on; port 0 picks a free port (the log says which).
    #[arg(
        long,
        env = "NEWSROOM_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Log filter in `tracing` syntax, e.g. `info` or `newsroom=debug,sqlx=warn`.
    #[arg(long, env = "NEWSROOM_LOG", default_value = "info", global = true)]
    pub log: String,

    /// How log lines are written: `text` for people, `json` (one object a
    /// line) for log collectors.
    #[arg(long, env = "NEWSROOM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Where Prometheus metrics are served (`GET /metrics`), e.g.
    /// `127.0.0.1:9464`. A listener of its own, so the public one never
    /// shows them; unset, no metrics are served.
    #[arg(long, env = "NEWSROOM_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// What happens to a reader's new comment: held for a moderator, or
    /// published at once.
    #[arg(
        long,
        env = "NEWSROOM_COMMENT_POLICY",
        value_enum,
        default_value_t = CommentPolicy::Moderate,
        global = true
    )]
    pub comment_policy: CommentPolicy,

    /// Do not load the demo content into an empty database.
    #[arg(long, env = "NEWSROOM_NO_DEMO", global = true)]
    pub no_demo: bool,

    /// Secret mixed into the hash of a commenter's address, so the stored
    /// fingerprint cannot be reversed by trying every IP. Without one, a random
    /// secret is drawn at start and fingerprints do not match across restarts.
    #[arg(
        long,
        env = "NEWSROOM_FINGERPRINT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub fingerprint_secret: Option<String>,

    /// The longest query text accepted, in bytes.
    #[arg(long, env = "NEWSROOM_MAX_QUERY_BYTES", default_value_t = 16 * 1024, global = true)]
    pub max_query_bytes: usize,

    /// The deepest nesting of fields a query may have.
    #[arg(
        long,
        env = "NEWSROOM_MAX_QUERY_DEPTH",
        default_value_t = 12,
        global = true
    )]
    pub max_query_depth: usize,

    /// The most aliased fields one query may have.
    #[arg(
        long,
        env = "NEWSROOM_MAX_QUERY_ALIASES",
        default_value_t = 30,
        global = true
    )]
    pub max_query_aliases: usize,

    /// The highest estimated cost of a query: each field counts 1, and a
    /// list multiplies what it contains by its `first`.
    #[arg(
        long,
        env = "NEWSROOM_MAX_QUERY_COMPLEXITY",
        default_value_t = 5_000,
        global = true
    )]
    pub max_query_complexity: usize,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "NEWSROOM_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// How long one request may take before it is answered with 503.
    #[arg(long, env = "NEWSROOM_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub request_timeout: std::time::Duration,

    /// How long a client may take from a request's first byte to the end of
    /// its headers before the connection is closed.
    #[arg(long, env = "NEWSROOM_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub header_read_timeout: std::time::Duration,

    /// How long a kept-alive connection may sit with no request before it is
    /// closed.
    #[arg(long, env = "NEWSROOM_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration, global = true)]
    pub idle_timeout: std::time::Duration,

    /// The most open client connections. Past it a new connection replaces
    /// the longest-waiting idle one, or is refused with 503 when all are
    /// busy. At start it is lowered to fit the open-files limit.
    #[arg(
        long,
        env = "NEWSROOM_MAX_CONNECTIONS",
        default_value_t = 10_000,
        global = true
    )]
    pub max_connections: usize,

    /// The most WebSocket connections open for live subscriptions at once;
    /// more are refused with 503.
    #[arg(
        long,
        env = "NEWSROOM_LIVE_MAX_CONNECTIONS",
        default_value_t = 20_000,
        global = true
    )]
    pub live_max_connections: usize,

    /// The most live WebSocket connections one client address may hold;
    /// more are refused with 429.
    #[arg(
        long,
        env = "NEWSROOM_LIVE_CONNECTIONS_PER_CLIENT",
        default_value_t = 16,
        global = true
    )]
    pub live_connections_per_client: usize,

    /// The most subscriptions running on one WebSocket connection.
    #[arg(
        long,
        env = "NEWSROOM_LIVE_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 32,
        global = true
    )]
    pub live_subscriptions_per_connection: usize,

    /// How long a new WebSocket connection may take to send
    /// `connection_init` before it is closed (4408).
    #[arg(long, env = "NEWSROOM_LIVE_INIT_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub live_init_timeout: std::time::Duration,

    /// How often a WebSocket connection is pinged; one silent for two of
    /// these is closed.
    #[arg(long, env = "NEWSROOM_LIVE_KEEPALIVE", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub live_keepalive: std::time::Duration,

    /// The largest WebSocket message a client may send, in bytes.
    #[arg(long, env = "NEWSROOM_LIVE_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024, global = true)]
    pub live_max_message_bytes: usize,

    /// How many batches of changes may wait for a busy subscription; one
    /// that falls further behind reads what it missed back from the
    /// database's change feed.
    #[arg(
        long,
        env = "NEWSROOM_LIVE_BACKLOG",
        default_value_t = 1024,
        global = true
    )]
    pub live_backlog: usize,

    /// Let webhooks point at this machine and private networks (refused
    /// otherwise, so a webhook cannot reach the server's own network).
    #[arg(long, env = "NEWSROOM_WEBHOOKS_ALLOW_PRIVATE", global = true)]
    pub webhooks_allow_private: bool,

    /// The first delay before a failed webhook delivery is tried again;
    /// later delays grow threefold, up to 6 h, for about a day.
    #[arg(long, env = "NEWSROOM_WEBHOOK_RETRY_BASE", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub webhook_retry_base: std::time::Duration,

    /// How long one webhook request may take.
    #[arg(long, env = "NEWSROOM_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub webhook_timeout: std::time::Duration,

    /// This process sends no webhooks (others on the database do).
    #[arg(long, env = "NEWSROOM_NO_WEBHOOK_DELIVERY", global = true)]
    pub no_webhook_delivery: bool,

    /// How many requests are served at once; more are answered at once with 503.
    #[arg(
        long,
        env = "NEWSROOM_MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024,
        global = true
    )]
    pub max_concurrent_requests: usize,

    /// How long browsers and CDNs may reuse an anonymous read response
    /// (`Cache-Control: public, max-age`); `0s` sends `no-cache`.
    #[arg(long, env = "NEWSROOM_CACHE_MAX_AGE", default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    pub cache_max_age: std::time::Duration,

    /// How long a stale response may still be served while it is refreshed
    /// (`stale-while-revalidate`).
    #[arg(long, env = "NEWSROOM_CACHE_STALE_WHILE_REVALIDATE", default_value = "300s", value_parser = humantime::parse_duration, global = true)]
    pub cache_stale_while_revalidate: std::time::Duration,

    /// How long a shared cache (a CDN, Varnish) may keep an anonymous read
    /// response (`s-maxage`), when set: long once it purges by the
    /// `Surrogate-Key` / `Cache-Tag` keys a `cache.purge` webhook names.
    #[arg(long, env = "NEWSROOM_CACHE_S_MAXAGE", value_parser = humantime::parse_duration, global = true)]
    pub cache_s_maxage: Option<std::time::Duration>,

    /// Turn off schema introspection (GraphiQL's docs and autocompletion need it).
    #[arg(long, env = "NEWSROOM_NO_INTROSPECTION", global = true)]
    pub no_introspection: bool,

    /// Origins allowed to call the API from a browser (CORS), comma-separated,
    /// e.g. `https://www.example.com,https://m.example.com`; `*` allows any.
    /// Empty: only same-origin pages.
    #[arg(
        long,
        env = "NEWSROOM_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Request headers browsers may send cross-origin besides those GraphQL
    /// clients use (Content-Type, Authorization, Accept, Apollo's client
    /// name and version, and the like), comma-separated, e.g. `x-tenant`.
    #[arg(
        long,
        env = "NEWSROOM_CORS_ALLOW_HEADERS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allow_headers: Vec<String>,

    /// A header set by a trusted reverse proxy that carries the client's
    /// address, like `X-Forwarded-For` (its last entry is used). Without it,
    /// the address of the connection is the client's.
    #[arg(long, env = "NEWSROOM_TRUSTED_PROXY_HEADER", global = true)]
    pub trusted_proxy_header: Option<String>,

    /// The networks of the reverse proxies whose `--trusted-proxy-header`
    /// is believed, in CIDR notation and comma-separated, e.g.
    /// `10.0.0.0/8,192.168.1.5/32`. A connection from anywhere else is
    /// taken at its own address, whatever header it sends; entries of the
    /// header added by these proxies are skipped from the right.
    #[arg(
        long,
        env = "NEWSROOM_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1/128",
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// A client's repeated views of one article within this window count
    /// once; `0s` counts every view.
    #[arg(long, env = "NEWSROOM_VIEW_WINDOW", default_value = "30m", value_parser = humantime::parse_duration, global = true)]
    pub view_window: std::time::Duration,

    /// How often buffered view counts are written to the database; `0s`
    /// writes every view at once. A hard crash loses at most this much.
    #[arg(long, env = "NEWSROOM_VIEW_FLUSH_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration, global = true)]
    pub view_flush_interval: std::time::Duration,

    /// How often this process looks at the change feed for writes made by
    /// other processes on the same database, besides PostgreSQL's
    /// notifications: the longest a lost notification delays a change, and
    /// on SQLite how soon another process's write is heard.
    #[arg(long, env = "NEWSROOM_CHANGE_POLL_INTERVAL", default_value = "250ms", value_parser = humantime::parse_duration, global = true)]
    pub change_poll_interval: std::time::Duration,

    /// How long the change feed keeps a change (the audit log keeps the
    /// history for good): longer than any process stays away.
    #[arg(long, env = "NEWSROOM_CHANGE_RETENTION", default_value = "7d", value_parser = humantime::parse_duration, global = true)]
    pub change_retention: std::time::Duration,

    /// Where view counts that could not be written at shutdown are kept
    /// until the next start adds them. Unset: beside a SQLite file, or
    /// `data/` for PostgreSQL.
    #[arg(long, env = "NEWSROOM_VIEW_SPILL_DIR", global = true)]
    pub view_spill_dir: Option<PathBuf>,

    /// How long a shutdown waits for requests in flight, and then again for
    /// buffered view counts to be written, before exiting.
    #[arg(long, env = "NEWSROOM_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub shutdown_timeout: std::time::Duration,

    /// How many comments one client may send per minute.
    #[arg(
        long,
        env = "NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE",
        default_value_t = 5,
        global = true
    )]
    pub comments_per_client_per_minute: u32,

    /// How many comments one article may receive per minute, from everyone.
    #[arg(
        long,
        env = "NEWSROOM_COMMENTS_PER_ARTICLE_PER_MINUTE",
        default_value_t = 60,
        global = true
    )]
    pub comments_per_article_per_minute: u32,

    /// The most connections newsroom opens to the database. Unset: 16 to
    /// PostgreSQL; to a SQLite file twice the CPU cores, at least 4 and at
    /// most 16 (see [`Config::database_connections`]).
    #[arg(long, env = "NEWSROOM_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// Memory for the read cache of pages' content, in MiB; 0 switches it
    /// off. Every write through this server clears what it changed, so the
    /// cache is never stale here.
    #[arg(
        long,
        env = "NEWSROOM_READ_CACHE_MB",
        default_value_t = 64,
        global = true
    )]
    pub read_cache_mb: u64,

    /// Memory for whole answers to anonymous queries, in MiB (0: off).
    /// Every change readers can see drops them all; one that may show a
    /// view count lives one view flush interval.
    #[arg(
        long,
        env = "NEWSROOM_RESPONSE_CACHE_MB",
        default_value_t = 32,
        global = true
    )]
    pub response_cache_mb: u64,

    /// How many of a search's newest matches are ranked by relevance; older
    /// matches follow them by recency. Ranking reads every position of
    /// every matched word, so this bounds a search for a word that most
    /// articles hold.
    #[arg(
        long,
        env = "NEWSROOM_SEARCH_RANKED_MATCHES",
        default_value_t = 1_000,
        global = true
    )]
    pub search_ranked_matches: u64,

    /// How many matches a search's `totalCount` counts at most; past it,
    /// `totalCountIsExact` is false. Counting reads every match, so this
    /// bounds the count of a word that most articles hold.
    #[arg(
        long,
        env = "NEWSROOM_SEARCH_COUNTED_MATCHES",
        default_value_t = 10_000,
        global = true
    )]
    pub search_counted_matches: u64,

    /// How long one search statement may run before it is cancelled
    /// (PostgreSQL) or interrupted (SQLite) and the reader asked to narrow
    /// the search: it never holds a pooled connection past its request.
    #[arg(long, env = "NEWSROOM_SEARCH_TIMEOUT", default_value = "3s", value_parser = humantime::parse_duration, global = true)]
    pub search_timeout: std::time::Duration,

    /// How long a read cache entry, or a kept answer, lives at most. Writes
    /// through any newsroom process reach every process's caches through
    /// the change feed, so this bounds only memory and how long a change
    /// made behind newsroom's back (SQL by hand) goes unseen. Short lives
    /// make a warm site read the database again for pages nobody changed.
    #[arg(long, env = "NEWSROOM_READ_CACHE_TTL", default_value = "1h", value_parser = humantime::parse_duration, global = true)]
    pub read_cache_ttl: std::time::Duration,

    /// How long a ranking by period (`mostViewed`), and a kept answer that
    /// shows one, is served before it is counted again: written views move
    /// it without a change in the feed, and counting a month of daily
    /// views is the costliest read there is.
    #[arg(long, env = "NEWSROOM_RANKING_TTL", default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub ranking_ttl: std::time::Duration,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only on a terminal.
    Text,
    /// One JSON object a line.
    Json,
}

/// The comment domain's policy, read from the command line as `moderate`
/// or `publish`: the domain type knows nothing of clap.
impl ValueEnum for CommentPolicy {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Moderate, Self::Publish]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            Self::Moderate => clap::builder::PossibleValue::new("moderate")
                .help("Keep it pending until a moderator approves it"),
            Self::Publish => {
                clap::builder::PossibleValue::new("publish").help("Approve it at once")
            }
        })
    }
}

impl Config {
    /// The shared state's settings, as plain values, with where the process
    /// starts in the change feed and the secret its clients are hashed with.
    pub fn state_settings(
        &self,
        feed_start: crate::content::writes::feed::Start,
        fingerprint_secret: String,
    ) -> crate::state::Settings {
        crate::state::Settings {
            comment_policy: self.comment_policy,
            read_cache_bytes: self.read_cache_mb.saturating_mul(1024 * 1024),
            response_cache_bytes: self.response_cache_mb.saturating_mul(1024 * 1024),
            read_cache_ttl: self.read_cache_ttl,
            ranking_ttl: self.ranking_ttl,
            view_flush_interval: self.view_flush_interval,
            view_window: self.view_window,
            comments_per_client_per_minute: self.comments_per_client_per_minute,
            comments_per_article_per_minute: self.comments_per_article_per_minute,
            feed_start,
            fingerprint_secret,
            webhooks: self.webhook_settings(),
            live_backlog: self.live_backlog,
            search: crate::content::search::SearchSettings {
                ranked_matches: self.search_ranked_matches.clamp(1, i64::MAX as u64),
                counted_matches: self.search_counted_matches.clamp(1, i64::MAX as u64 - 1),
                statement_timeout: self.search_timeout,
            },
        }
    }

    /// How webhooks are sent.
    pub fn webhook_settings(&self) -> crate::content::webhooks::delivery::WebhookSettings {
        crate::content::webhooks::delivery::WebhookSettings {
            allow_private: self.webhooks_allow_private,
            retry_base: self.webhook_retry_base,
            timeout: self.webhook_timeout,
        }
    }

    /// The query limits these settings describe.
    pub fn query_limits(&self) -> crate::graphql::execution::limits::QueryLimits {
        crate::graphql::execution::limits::QueryLimits {
            max_bytes: self.max_query_bytes,
            max_depth: self.max_query_depth,
            max_aliases: self.max_query_aliases,
            max_complexity: self.max_query_complexity,
        }
    }

    /// Where this database's unwritten view counts are kept at shutdown.
    pub fn view_spill_folder(&self) -> crate::content::views::spill::SpillFolder {
        let folder = self.view_spill_dir.clone().unwrap_or_else(|| {
            let sqlite_folder = self
                .database_url
                .strip_prefix("sqlite://")
                .or_else(|| self.database_url.strip_prefix("sqlite:"))
                .and_then(|path| std::path::Path::new(path.split('?').next()?).parent())
                .filter(|parent| !parent.as_os_str().is_empty());
            sqlite_folder.map_or_else(|| PathBuf::from("data"), std::path::Path::to_path_buf)
        });
        crate::content::views::spill::SpillFolder::new(folder, &self.database_url)
    }

    /// Settings for tests and embedding: the defaults, with the given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Self::parse_from(["newsroom"]);
        config.database_url = database_url.into();
        config
    }

    /// The size of the connection pool: the one configured, else one that
    /// suits the database. A PostgreSQL connection waits on another process,
    /// so a pool larger than the cores keeps that process busy. A SQLite
    /// connection is a worker thread of this process that runs its
    /// statements itself (see [`sqlite_connections_for`]).
    pub fn database_connections(&self) -> u32 {
        if let Some(configured) = self.db_max_connections {
            return configured;
        }
        if self.database_url.starts_with("sqlite:") {
            sqlite_connections_for(std::thread::available_parallelism().map_or(1, |n| n.get()))
        } else {
            16
        }
    }
}

/// The SQLite pool on a machine of `cores`: twice the cores, 4 to 16. More
/// worker threads than the cores can run only take turns: on 2 cores, 4
/// connections served cold article pages as fast as 16 with a lower p99
/// (BENCHMARKS.md).
/// SQLite runs one writer at a time whatever the pool.
fn sqlite_connections_for(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(4, 16)
}

#[cfg(test)]
mod tests {
    use super::{Config, sqlite_connections_for};

    #[test]
    fn a_configured_pool_size_wins_over_the_database_default() {
        let mut config = Config::for_database("sqlite://data/x.db");
        config.db_max_connections = Some(7);
        assert_eq!(config.database_connections(), 7);
    }

    #[test]
    fn postgresql_gets_sixteen_connections_unless_configured() {
        let mut config = Config::for_database("postgres://postgres@127.0.0.1/test");
        config.db_max_connections = None;
        assert_eq!(config.database_connections(), 16);
    }

    #[test]
    fn cached_pages_live_an_hour_and_rankings_by_period_ten_seconds() {
        // Writes reach the caches through the change feed: a short life
        // would only make a warm site read pages nobody changed again.
        let config = Config::for_database("sqlite://data/x.db");
        assert_eq!(config.read_cache_ttl, std::time::Duration::from_secs(3600));
        assert_eq!(config.ranking_ttl, std::time::Duration::from_secs(10));
    }

    #[test]
    fn sqlite_gets_twice_the_cores_between_four_and_sixteen() {
        let pools: Vec<u32> = [1, 2, 3, 4, 8, 9, 64, usize::MAX]
            .into_iter()
            .map(sqlite_connections_for)
            .collect();
        assert_eq!(pools, [4, 4, 6, 8, 16, 16, 16, 16]);
    }
}
