//! Every setting of the server, from command-line flags or environment
//! variables (flags win). No other module reads the environment.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

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

    /// The most connections newsroom opens to the database.
    #[arg(
        long,
        env = "NEWSROOM_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,
}

/// What `addComment` does with a new comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommentPolicy {
    /// Keep it pending until a moderator approves it.
    Moderate,
    /// Approve it at once.
    Publish,
}

impl Config {
    /// Settings for tests and embedding: the defaults, with the given database.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut config = Self::parse_from(["newsroom"]);
        config.database_url = database_url.into();
        config
    }
}
