//! The test harness: every test gets its own server on port 0 over its own
//! fresh database — a SQLite file in a temporary folder by default, or a new
//! PostgreSQL database when `DATABASE_URL` points at a PostgreSQL server —
//! and talks to it over HTTP as a client would.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

pub mod process;
pub mod proxy;

use chrono::{DateTime, Duration, Utc};
use entity::{
    api_token::Role,
    article::{self, ArticleStatus},
    article_tag, category,
    comment::{self, CommentStatus},
    tag,
};
use newsroom::config::{CommentPolicy, Config};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};
use uuid::Uuid;

/// A running newsroom and a way to talk to it.
pub struct TestApp {
    /// Where the server listens.
    pub address: SocketAddr,
    /// A direct connection to the server's database, for arranging data and
    /// checking what was stored.
    pub db: DatabaseConnection,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The database URL the server uses, for running the CLI against it.
    pub database_url: String,
    /// The server's shared state: a test that writes to the database behind
    /// the server's back tells it through `state.content_changed()`, as
    /// every write through the API does.
    pub state: newsroom::state::AppState,
    /// How many SQL statements the server's connection has run.
    statements: Arc<AtomicUsize>,
    /// How many of them read the whole section tree.
    tree_reads: Arc<AtomicUsize>,
    _folder: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

/// How to start a test server.
pub struct Options {
    /// Load the demo site into the new database.
    pub demo: bool,
    /// What happens to new comments.
    pub comment_policy: CommentPolicy,
    /// Use SQLite even when `DATABASE_URL` names PostgreSQL.
    pub force_sqlite: bool,
    /// A client's repeated views within this window count once.
    pub view_window: std::time::Duration,
    /// Any other setting to change before the server starts.
    pub tweak: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            demo: true,
            comment_policy: CommentPolicy::Moderate,
            force_sqlite: false,
            view_window: std::time::Duration::from_secs(30 * 60),
            tweak: |_| {},
        }
    }
}

impl Options {
    /// Every view counted (no per-reader window) and flushed only when a
    /// test flushes by hand (the background flush waits an hour).
    pub fn views_flushed_by_hand() -> Self {
        Self {
            view_window: std::time::Duration::ZERO,
            tweak: |config| config.view_flush_interval = std::time::Duration::from_secs(3600),
            ..Self::default()
        }
    }
}

impl TestApp {
    /// Whether this server runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DbBackend::Postgres
    }

    /// A server over a fresh database with the demo site.
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    /// A server over a fresh, empty database.
    pub async fn spawn_empty() -> Self {
        Self::spawn_with(Options {
            demo: false,
            ..Options::default()
        })
        .await
    }

    /// A server started with `options`.
    pub async fn spawn_with(options: Options) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let sqlite_file = folder.path().join("newsroom.db");
        let database_url = if options.force_sqlite {
            format!("sqlite://{}", sqlite_file.display())
        } else {
            fresh_database_url(&sqlite_file).await
        };
        let mut config = Config::for_database(database_url.clone());
        config.no_demo = !options.demo;
        config.comment_policy = options.comment_policy;
        config.listen = "127.0.0.1:0".parse().unwrap();
        // SQLite gets the pool a server started bare gets (4 connections on
        // 2 cores), so the tests run against the pool users get; tests run
        // side by side, so PostgreSQL gets fewer than its default 16.
        config.db_max_connections = if database_url.starts_with("sqlite:") {
            None
        } else {
            Some(8)
        };
        config.view_window = options.view_window;
        // The in-process server looks at the feed for other processes'
        // writes only when told to: statement counts measure requests, not
        // a background look that may fall inside them. (Its own writes are
        // applied at once; PostgreSQL's notifications still arrive.)
        config.change_poll_interval = std::time::Duration::from_secs(3600);
        // Nor does it look for webhooks to send, unless a test asks.
        config.no_webhook_delivery = true;
        // Statement counts and the read cache are measured under whole
        // answers; the response cache's own tests turn it on.
        config.response_cache_mb = 0;
        (options.tweak)(&mut config);

        let statements = Arc::new(AtomicUsize::new(0));
        let mut connection =
            newsroom::database::connect(&config.database_url, config.database_connections())
                .await
                .unwrap();
        let counter = Arc::clone(&statements);
        let tree_reads = Arc::new(AtomicUsize::new(0));
        let tree_counter = Arc::clone(&tree_reads);
        connection.set_metric_callback(move |info| {
            if info
                .statement
                .sql
                .starts_with(r#"SELECT "categories"."id""#)
            {
                tree_counter.fetch_add(1, Ordering::SeqCst);
            }
            // SHOW_SQL=1 prints each statement's start; SHOW_SQL=0 whole.
            if let Ok(shown) = std::env::var("SHOW_SQL") {
                let chars = match shown.as_str() {
                    "0" => usize::MAX,
                    _ => 150,
                };
                eprintln!(
                    "SQL {}",
                    info.statement.sql.chars().take(chars).collect::<String>()
                );
            }
            // Following the change feed and refreshing view totals are the
            // server's background work, not the work of the request
            // measured. (A page statement also reads the feed's latest
            // number, for kept related rankings: it is the request's.)
            let sql = &info.statement.sql;
            let background = (sql.contains(r#"FROM "changes""#)
                && !sql.contains(r#"FROM "articles""#))
                || info
                    .statement
                    .sql
                    .starts_with(newsroom::content::sql::view_counts::REFRESH_LABEL);
            if !background {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let state = newsroom::prepare_connected(connection, &config)
            .await
            .unwrap();
        let db = state.db.clone();
        let background = newsroom::spawn_background(&state, &config);
        let schema = newsroom::graphql::build_schema(
            state.clone(),
            !config.no_introspection,
            config.query_limits(),
        );
        let settings = newsroom::http::HttpSettings::from(&config);
        let listener = TcpListener::bind(config.listen).await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(newsroom::http::serve_with_limits(
            listener,
            newsroom::http::router(schema, state.clone(), &settings),
            newsroom::http::ConnectionLimits::from(&config),
            async move {
                let _ = stopped.await;
                background.abort();
            },
        ));
        Self {
            address,
            db,
            client: reqwest::Client::new(),
            database_url,
            state,
            statements,
            tree_reads,
            _folder: folder,
            stop: Some(stop),
        }
    }

    /// The GraphQL endpoint's address.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.address)
    }

    /// POSTs a GraphQL request and returns the JSON response.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.post_json(json!({ "query": query, "variables": variables }))
            .await
    }

    /// `graphql`, failing the test on any error; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "{query}\n{response:#}");
        response["data"].clone()
    }

    /// POSTs any JSON body to /graphql and returns the JSON response.
    pub async fn post_json(&self, body: Value) -> Value {
        post_graphql(&self.client, &self.graphql_url(), &body).await
    }

    /// How many SQL statements `work` made the server run.
    pub async fn statements_during<F: std::future::Future>(&self, work: F) -> (usize, F::Output) {
        let before = self.statements.load(Ordering::SeqCst);
        let output = work.await;
        (self.statements.load(Ordering::SeqCst) - before, output)
    }

    /// How many times `work` made the server read the whole section tree.
    pub async fn tree_reads_during<F: std::future::Future>(&self, work: F) -> (usize, F::Output) {
        let before = self.tree_reads.load(Ordering::SeqCst);
        let output = work.await;
        (self.tree_reads.load(Ordering::SeqCst) - before, output)
    }

    /// POSTs a GraphQL request with `Authorization: Bearer token`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.graphql_url())
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// `graphql_as`, failing the test on any error; returns `data`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(token, query, variables).await;
        assert!(response.get("errors").is_none(), "{query}\n{response:#}");
        response["data"].clone()
    }

    /// A new API token with `role`, straight in the database.
    pub async fn token(&self, role: Role) -> String {
        let actor = newsroom::content::writes::audit::Actor::command_line();
        newsroom::content::tokens::create(
            &self.db,
            &actor,
            &format!("{role:?} for tests"),
            role,
            None,
        )
        .await
        .unwrap()
        .secret
    }

    /// Sends operation `name` from the contract document `file`, unchanged.
    pub async fn contract(&self, file: &str, name: &str, variables: Value) -> Value {
        let body = json!({
            "query": contract_document(file),
            "operationName": name,
            "variables": variables,
        });
        self.post_json(body).await
    }

    /// Sends a contract operation and returns its `data`, failing the test on
    /// any error.
    pub async fn contract_data(&self, file: &str, name: &str, variables: Value) -> Value {
        let response = self.contract(file, name, variables).await;
        assert!(
            response.get("errors").is_none(),
            "{name} failed: {response:#}"
        );
        response["data"].clone()
    }

    /// The id of the demo article with `slug` (whatever its status).
    pub async fn article_id(&self, slug: &str) -> Uuid {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        article::Entity::find()
            .filter(article::Column::Slug.eq(slug))
            .one(&self.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no article {slug}"))
            .id
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a server in this process on `config` as it is (no harness
/// database, no statement counting): for tests that stage faults under the
/// database. Returns its state and base URL (`http://127.0.0.1:port`).
pub async fn serve_config(config: &Config) -> (newsroom::state::AppState, String) {
    let state = newsroom::prepare(config).await.unwrap();
    let schema = newsroom::graphql::build_schema(
        state.clone(),
        !config.no_introspection,
        config.query_limits(),
    );
    let router = newsroom::http::router(
        schema,
        state.clone(),
        &newsroom::http::HttpSettings::from(config),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(newsroom::http::serve(
        listener,
        router,
        std::future::pending(),
    ));
    (state, base)
}

/// POSTs `body` to the GraphQL endpoint at `url` and returns the JSON
/// answer; for tasks spawned apart from their [`TestApp`].
pub async fn post_graphql(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    let response = client.post(url).json(body).send().await.unwrap();
    response.json().await.unwrap()
}

/// The text of a contract document, from the copy under tests/contract.
pub fn contract_document(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contract")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A database URL no other test uses: a SQLite file at `sqlite_file`, or a
/// new database on the PostgreSQL server `DATABASE_URL` names. When it names
/// one that cannot be reached, the test fails; it never falls back.
pub async fn fresh_database_url(sqlite_file: &std::path::Path) -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = Database::connect(&url)
                .await
                .unwrap_or_else(|error| panic!("cannot reach PostgreSQL at DATABASE_URL: {error}"));
            let name = format!("nr_test_{}", Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.unwrap();
            replace_database_name(&url, &name)
        }
        _ => format!("sqlite://{}", sqlite_file.display()),
    }
}

/// `url` with its database name replaced by `name`.
pub fn replace_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme| scheme + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash));
    let prefix = match authority_end {
        Some(end) => &base[..end],
        None => base,
    };
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Arranges content directly in the database, for situations the demo site
/// does not have (ties, many comments, articles arriving between pages).
/// Each write then tells the server that content changed, as the API's own
/// writes do.
pub struct Arrange<'a> {
    db: &'a DatabaseConnection,
    state: &'a newsroom::state::AppState,
}

impl TestApp {
    /// Helpers that write straight to this server's database.
    pub fn arrange(&self) -> Arrange<'_> {
        Arrange {
            db: &self.db,
            state: &self.state,
        }
    }
}

impl Arrange<'_> {
    /// A section under `parent`.
    pub async fn category(&self, slug: &str, parent: Option<Uuid>, position: i32) -> Uuid {
        let id = Uuid::now_v7();
        category::ActiveModel {
            id: Set(id),
            slug: Set(slug.to_owned()),
            name: Set(format!("分类 {slug}")),
            description: Set(String::new()),
            parent_id: Set(parent),
            position: Set(position),
            created_at: Set(Utc::now()),
            updated_at: Set(Utc::now()),
        }
        .insert(self.db)
        .await
        .unwrap();
        self.state.content_changed();
        id
    }

    /// An article in `category` with `status`, published at `published_at`.
    pub async fn article(
        &self,
        slug: &str,
        category: Uuid,
        status: ArticleStatus,
        published_at: DateTime<Utc>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let text = format!("{slug} 的正文。The body of {slug}.");
        article::ActiveModel {
            id: Set(id),
            slug: Set(slug.to_owned()),
            title: Set(format!("标题 {slug}")),
            summary: Set(None),
            body: Set(format!("<p>{text}</p>")),
            body_text: Set(text),
            cover_image_url: Set(None),
            cover_image_alt: Set(None),
            author: Set("测试".to_owned()),
            source: Set(None),
            status: Set(status),
            published_at: Set(Some(published_at)),
            created_at: Set(published_at),
            updated_at: Set(published_at),
            category_id: Set(category),
            view_count: Set(0),
            comment_count: Set(0),
            version: Set(1),
            comments_closed: Set(false),
        }
        .insert(self.db)
        .await
        .unwrap();
        self.state.content_changed();
        id
    }

    /// Two published articles in one section, `first` published before
    /// `second`: tied at no views, a list by views puts `second` (the
    /// higher id) first. `first`'s id.
    pub async fn first_and_second(&self) -> Uuid {
        let section = self.category("news", None, 0).await;
        let first = self
            .article("first", section, ArticleStatus::Published, past(2))
            .await;
        self.article("second", section, ArticleStatus::Published, past(1))
            .await;
        first
    }

    /// A tag.
    pub async fn tag(&self, slug: &str) -> Uuid {
        let id = Uuid::now_v7();
        tag::ActiveModel {
            id: Set(id),
            slug: Set(slug.to_owned()),
            name: Set(slug.to_owned()),
            created_at: Set(Utc::now()),
        }
        .insert(self.db)
        .await
        .unwrap();
        self.state.content_changed();
        id
    }

    /// Tags an article.
    pub async fn tag_article(&self, article: Uuid, tag: Uuid) {
        article_tag::ActiveModel {
            article_id: Set(article),
            tag_id: Set(tag),
        }
        .insert(self.db)
        .await
        .unwrap();
        self.state.content_changed();
    }

    /// Gives an article this plain text as its body, one paragraph per line.
    pub async fn set_text(&self, article: Uuid, text: &str) {
        let html: String = text.lines().map(|line| format!("<p>{line}</p>")).collect();
        article::ActiveModel {
            id: Set(article),
            body: Set(html),
            body_text: Set(text.to_owned()),
            ..Default::default()
        }
        .update(self.db)
        .await
        .unwrap();
        self.state.content_changed();
    }

    /// Takes an article down (archives it), as a writer behind the server's
    /// back would.
    pub async fn take_down(&self, article: Uuid) {
        article::ActiveModel {
            id: Set(article),
            status: Set(ArticleStatus::Archived),
            ..Default::default()
        }
        .update(self.db)
        .await
        .unwrap();
        self.state.content_changed();
    }

    /// An approved comment, counted on its article as moderation would.
    pub async fn approved_comment(
        &self,
        article: Uuid,
        body: &str,
        created_at: DateTime<Utc>,
    ) -> Uuid {
        use sea_orm::{
            ColumnTrait, EntityTrait, QueryFilter,
            sea_query::{Expr, ExprTrait},
        };
        let id = Uuid::now_v7();
        comment::ActiveModel {
            id: Set(id),
            article_id: Set(article),
            author_name: Set("读者".to_owned()),
            author_email: Set("reader@example.com".to_owned()),
            body: Set(body.to_owned()),
            status: Set(CommentStatus::Approved),
            created_at: Set(created_at),
            client_fingerprint: Set(None),
        }
        .insert(self.db)
        .await
        .unwrap();
        self.state.content_changed();
        article::Entity::update_many()
            .col_expr(
                article::Column::CommentCount,
                Expr::col(article::Column::CommentCount).add(1),
            )
            .filter(article::Column::Id.eq(article))
            .exec(self.db)
            .await
            .unwrap();
        self.state.content_changed();
        id
    }
}

/// A fixed time in the past, so tests can build ties and orders.
pub fn past(days_ago: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        - Duration::days(days_ago)
}

/// The `extensions.code` of the first error in a response.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response:#}"))
}

/// The slugs of the nodes in a connection's edges.
pub fn edge_slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {connection:#}"))
        .iter()
        .map(|edge| edge["node"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the section with `slug`, as the API gives it.
pub async fn section_id(app: &TestApp, slug: &str) -> serde_json::Value {
    let response = app
        .graphql(
            "query($s: String) { category(slug: $s) { id } }",
            serde_json::json!({ "s": slug }),
        )
        .await;
    response["data"]["category"]["id"].clone()
}

/// The id of the tag with `slug`, as the API gives it.
pub async fn tag_id(app: &TestApp, slug: &str) -> serde_json::Value {
    let response = app
        .graphql("{ tags { id slug } }", serde_json::json!({}))
        .await;
    response["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tag| tag["slug"] == slug)
        .unwrap_or_else(|| panic!("no tag {slug} in {response:#}"))["id"]
        .clone()
}

/// Adds a reader's comment saying `body` on `article` and has `moderator`
/// approve it, both through the API; the comment's id.
pub async fn approved_comment_through_api(
    app: &TestApp,
    moderator: &str,
    article: Uuid,
    body: &str,
) -> serde_json::Value {
    let added = app
        .graphql(
            "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"r@example.com\", body: $body }) { comment { id } } }",
            serde_json::json!({ "id": article, "body": body }),
        )
        .await;
    let comment = added["data"]["addComment"]["comment"]["id"].clone();
    assert!(comment.is_string(), "{added}");
    app.data_as(
        moderator,
        "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { id } } }",
        serde_json::json!({ "ids": [comment] }),
    )
    .await;
    comment
}

/// The views stored for article `id`.
pub async fn stored_views(db: &sea_orm::DatabaseConnection, id: Uuid) -> i64 {
    use sea_orm::EntityTrait;
    entity::article::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .view_count
}

/// Sends a view of `id` to the server at `url`, as the client at
/// `forwarded_for` behind a trusted proxy when given; the count it answers.
pub async fn record_view(
    client: &reqwest::Client,
    url: &str,
    id: Uuid,
    forwarded_for: Option<&str>,
) -> i64 {
    let mut request = client.post(url).json(&serde_json::json!({
        "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
        "variables": { "id": id },
    }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let answer: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
    answer["data"]["recordView"]["viewCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("{answer}"))
}
