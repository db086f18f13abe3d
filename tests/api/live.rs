//! Live subscriptions over WebSocket, spoken as the `graphql-ws` library
//! speaks `graphql-transport-ws`: events reach subscribers on another
//! server process, visibility is that of queries, editors' and moderators'
//! subscriptions need their tokens (checked again on every event), and
//! each limit is enforced with the protocol's own answer.

use std::time::Duration;

use entity::api_token::Role;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use crate::common::{self, TestApp, process::Server};

/// How long an event may take to arrive.
const ARRIVES_WITHIN: Duration = Duration::from_secs(5);

/// How long to wait before deciding that nothing more arrives.
const QUIET_FOR: Duration = Duration::from_millis(700);

/// A `graphql-transport-ws` client, as `graphql-ws` would be.
struct LiveClient {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

/// What a connection attempt got.
enum Opened {
    Socket(Box<LiveClient>),
    Refused(u16),
}

impl LiveClient {
    /// Opens a WebSocket to the GraphQL endpoint at `graphql_url`,
    /// offering the protocol.
    async fn open(graphql_url: &str) -> Opened {
        let url = graphql_url.replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, response)) => {
                assert_eq!(
                    response.headers()["sec-websocket-protocol"],
                    "graphql-transport-ws"
                );
                Opened::Socket(Box::new(Self { socket }))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Opened::Refused(response.status().as_u16())
            }
            Err(error) => panic!("cannot open a WebSocket: {error}"),
        }
    }

    /// Opens a connection and initialises it with `payload`; panics unless
    /// it is acknowledged.
    async fn connect(graphql_url: &str, payload: Value) -> Self {
        let Opened::Socket(client) = Self::open(graphql_url).await else {
            panic!("the WebSocket was refused");
        };
        let mut client = *client;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = client.next().await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        client
    }

    /// Opens a connection for an anonymous reader.
    async fn reader(graphql_url: &str) -> Self {
        Self::connect(graphql_url, json!({})).await
    }

    /// Opens a connection with `token`.
    async fn with_token(graphql_url: &str, token: &str) -> Self {
        Self::connect(
            graphql_url,
            json!({ "Authorization": format!("Bearer {token}") }),
        )
        .await
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Starts subscription `id`.
    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    /// The next protocol message within [`ARRIVES_WITHIN`] (pings are
    /// answered by the library); `None` when the connection closed.
    async fn next(&mut self) -> Option<Value> {
        self.next_within(ARRIVES_WITHIN)
            .await
            .expect("a message in time")
    }

    /// The next protocol message within `wait`: `Err` when none came,
    /// `Ok(None)` when the connection closed.
    async fn next_within(&mut self, wait: Duration) -> Result<Option<Value>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let read = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| ())?;
            match read {
                Some(Ok(Message::Text(text))) => {
                    return Ok(Some(serde_json::from_str(text.as_str()).unwrap()));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(None),
                Some(Ok(Message::Binary(_))) => panic!("a binary message"),
            }
        }
    }

    /// The close code the server ends the connection with.
    async fn close_code(&mut self) -> u16 {
        loop {
            let read = tokio::time::timeout(ARRIVES_WITHIN, self.socket.next())
                .await
                .expect("the connection to close in time");
            match read {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return 1005,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next `next` payload for subscription `id`; panics on anything
    /// else.
    async fn next_payload(&mut self, id: &str) -> Value {
        let message = self.next().await.expect("an open connection");
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], id, "{message}");
        message["payload"].clone()
    }

    /// Waits until the subscriptions sent before are running: they start in
    /// order on a connection, so an answer to a later one proves it.
    async fn is_listening(&mut self) {
        self.subscribe("ready", "{ __typename }", json!({})).await;
        assert_eq!(
            self.next_payload("ready").await["data"]["__typename"],
            "Query"
        );
        assert_eq!(self.next().await.unwrap()["type"], "complete");
    }

    /// Checks that nothing arrives for a while.
    async fn stays_quiet(&mut self) {
        if let Ok(message) = self.next_within(QUIET_FOR).await {
            panic!("expected nothing, got {message:?}");
        }
    }
}

const COMMENT_ADDED: &str =
    "subscription($id: ID!) { commentAdded(articleId: $id) { id body authorName } }";

const COMMENT_PENDING: &str =
    "subscription { commentPending { id articleId body authorEmail status } }";

const ARTICLE_PUBLISHED: &str = "subscription($in: String) { articlePublished(category: $in) { id slug title category { slug } } }";

/// Sends a reader's comment through `app`; its id.
async fn add_comment(app: &TestApp, article: uuid::Uuid, body: &str) -> Value {
    let added = app
        .data(
            "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"r@example.com\", body: $body }) { comment { id } } }",
            json!({ "id": article, "body": body }),
        )
        .await;
    added["addComment"]["comment"]["id"].clone()
}

/// Creates a draft in section `section` through `app`; its id.
async fn create_draft(app: &TestApp, editor: &str, title: &str, section: &Value) -> Value {
    let created = app
        .data_as(
            editor,
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
            json!({ "input": { "title": title, "body": "正文", "categoryId": section } }),
        )
        .await;
    created["createArticle"]["article"]["id"].clone()
}

#[tokio::test]
async fn comments_approved_through_one_server_reach_subscribers_on_another() {
    let app = TestApp::spawn_with(common::Options {
        comment_policy: newsroom::config::CommentPolicy::Moderate,
        ..common::Options::default()
    })
    .await;
    let moderator = app.token(Role::Moderator).await;
    let article = app.article_id("city-night-bus").await;
    let other_article = app.article_id("digital-yuan-small-shops").await;
    let other = Server::start(&app.database_url, &[]);
    let other_url = other.graphql_url.clone();

    let mut reader = LiveClient::reader(&other_url).await;
    reader
        .subscribe("comments", COMMENT_ADDED, json!({ "id": article }))
        .await;
    let mut queue = LiveClient::with_token(&other_url, &moderator).await;
    queue.subscribe("queue", COMMENT_PENDING, json!({})).await;
    // Subscriptions start in order on a connection; this answer proves the
    // earlier one is listening.
    for client in [&mut reader, &mut queue] {
        client.is_listening().await;
    }

    let waiting = add_comment(&app, article, "第一条，等审核").await;
    let approved = add_comment(&app, article, "第二条，会通过").await;
    let elsewhere = add_comment(&app, other_article, "别的文章").await;
    // The moderator hears every new comment, with what only moderators see.
    let mut heard = Vec::new();
    for _ in 0..3 {
        let comment = queue.next_payload("queue").await["data"]["commentPending"].clone();
        assert_eq!(comment["status"], "PENDING");
        assert_eq!(comment["authorEmail"], "r@example.com");
        heard.push(comment["id"].clone());
    }
    assert_eq!(heard, [waiting, approved.clone(), elsewhere.clone()]);
    // Readers hear nothing of pending comments.
    reader.stays_quiet().await;

    app.data_as(
        &moderator,
        "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { id } } }",
        json!({ "ids": [approved, elsewhere] }),
    )
    .await;
    let comment = reader.next_payload("comments").await["data"]["commentAdded"].clone();
    assert_eq!(comment["id"], approved);
    assert_eq!(comment["body"], "第二条，会通过");
    assert!(comment.get("authorEmail").is_none());
    // The comment on another article is not this subscription's.
    reader.stays_quiet().await;
    other.stop().await;
}

#[tokio::test]
async fn a_draft_never_reaches_a_public_subscriber_and_a_publication_reaches_its_sections() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let url = app.graphql_url();
    let technology = common::section_id(&app, "technology").await;
    let mut anywhere = LiveClient::reader(&url).await;
    anywhere
        .subscribe("all", ARTICLE_PUBLISHED, json!({ "in": null }))
        .await;
    let mut sport = LiveClient::reader(&url).await;
    sport
        .subscribe("sport", ARTICLE_PUBLISHED, json!({ "in": "finance" }))
        .await;
    let mut tech = LiveClient::reader(&url).await;
    tech.subscribe("tech", ARTICLE_PUBLISHED, json!({ "in": "technology" }))
        .await;
    // Even a subscriber with an editor's token hears only what is public.
    let mut editor_reading = LiveClient::with_token(&url, &editor).await;
    editor_reading
        .subscribe("all", ARTICLE_PUBLISHED, json!({ "in": null }))
        .await;

    let draft = create_draft(&app, &editor, "草稿：还不能看", &technology).await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: \"草稿：改了标题\" }) { article { id } } }",
        json!({ "id": draft }),
    )
    .await;
    anywhere.stays_quiet().await;
    editor_reading.stays_quiet().await;

    app.data_as(
        &editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { id } } }",
        json!({ "id": draft }),
    )
    .await;
    for (client, id) in [
        (&mut anywhere, "all"),
        (&mut tech, "tech"),
        (&mut editor_reading, "all"),
    ] {
        let article = client.next_payload(id).await["data"]["articlePublished"].clone();
        assert_eq!(article["id"], draft);
        assert_eq!(article["title"], "草稿：改了标题");
        assert_eq!(article["category"]["slug"], "technology");
    }
    sport.stays_quiet().await;
}

#[tokio::test]
async fn a_scheduled_article_is_sent_when_it_comes_due() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| config.change_poll_interval = Duration::from_millis(200),
        ..common::Options::default()
    })
    .await;
    let editor = app.token(Role::Editor).await;
    let url = app.graphql_url();
    let technology = common::section_id(&app, "technology").await;
    let mut reader = LiveClient::reader(&url).await;
    reader
        .subscribe("all", ARTICLE_PUBLISHED, json!({ "in": null }))
        .await;
    let draft = create_draft(&app, &editor, "定时发布", &technology).await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    app.data_as(
        &editor,
        "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { article { status } } }",
        json!({ "id": draft, "at": at.to_rfc3339() }),
    )
    .await;
    // Scheduled: nothing yet.
    reader.stays_quiet().await;
    let article = reader.next_payload("all").await["data"]["articlePublished"].clone();
    assert_eq!(article["id"], draft);
    assert!(chrono::Utc::now() >= at);
}

#[tokio::test]
async fn editor_and_moderator_subscriptions_need_their_tokens_on_every_event() {
    let app = TestApp::spawn().await;
    let url = app.graphql_url();
    let editor = app.token(Role::Editor).await;
    let article = app.article_id("city-night-bus").await;

    // No token: refused with the protocol's error message.
    let mut reader = LiveClient::reader(&url).await;
    reader.subscribe("queue", COMMENT_PENDING, json!({})).await;
    let refused = reader.next().await.unwrap();
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "queue");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    // The wrong role.
    let mut wrong = LiveClient::with_token(&url, &editor).await;
    wrong.subscribe("queue", COMMENT_PENDING, json!({})).await;
    let refused = wrong.next().await.unwrap();
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");
    // A token that is not one: the connection is refused (4403).
    let Opened::Socket(mut forged) = LiveClient::open(&url).await else {
        panic!("refused before connection_init");
    };
    forged
        .send(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer nr_forged" } }))
        .await;
    assert_eq!(forged.close_code().await, 4403);

    // An editor follows an article; a revoked token ends the subscription
    // at the next event.
    let admin = app.token(Role::Admin).await;
    let (token_id, token) = {
        let issued = app
            .data_as(
                &admin,
                "mutation { createApiToken(name: \"会被吊销\", role: EDITOR) { apiToken { id } secret } }",
                json!({}),
            )
            .await;
        (
            issued["createApiToken"]["apiToken"]["id"].clone(),
            issued["createApiToken"]["secret"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let mut desk = LiveClient::with_token(&url, &token).await;
    desk.subscribe(
        "form",
        "subscription($id: ID!) { articleChanged(id: $id) { id title status version } }",
        json!({ "id": article }),
    )
    .await;
    let mut public = LiveClient::reader(&url).await;
    public
        .subscribe(
            "form",
            "subscription($id: ID!) { articleChanged(id: $id) { id } }",
            json!({ "id": article }),
        )
        .await;
    assert_eq!(
        public.next().await.unwrap()["payload"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: \"改过的标题\" }) { article { id } } }",
        json!({ "id": article }),
    )
    .await;
    let changed = desk.next_payload("form").await["data"]["articleChanged"].clone();
    assert_eq!(changed["title"], "改过的标题");
    assert_eq!(changed["version"], 2);
    // Taken down: an editor still sees it, as unpublished.
    app.data_as(
        &editor,
        "mutation($id: ID!) { unpublishArticle(id: $id) { article { id } } }",
        json!({ "id": article }),
    )
    .await;
    let changed = desk.next_payload("form").await["data"]["articleChanged"].clone();
    assert_ne!(changed["status"], "PUBLISHED");

    app.data_as(
        &admin,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
        json!({ "id": token_id }),
    )
    .await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { id } } }",
        json!({ "id": article }),
    )
    .await;
    let last = desk.next().await.unwrap();
    assert_eq!(last["type"], "next", "{last}");
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{last}"
    );
    assert_eq!(desk.next().await.unwrap()["type"], "complete");
}

#[tokio::test]
async fn view_counts_are_sent_when_they_change() {
    let app = TestApp::spawn_with(common::Options {
        view_window: Duration::ZERO,
        ..common::Options::default()
    })
    .await;
    let article = app.article_id("city-night-bus").await;
    let mut reader = LiveClient::reader(&app.graphql_url()).await;
    reader
        .subscribe(
            "views",
            "subscription($id: ID!) { viewCountChanged(articleId: $id) { id viewCount } }",
            json!({ "id": article }),
        )
        .await;
    let before = app
        .data(
            "query($id: ID!) { article(id: $id) { viewCount } }",
            json!({ "id": article }),
        )
        .await["article"]["viewCount"]
        .as_i64()
        .unwrap();
    // First what it is (a view between the client's read and the start of
    // the subscription would be lost otherwise), then nothing while
    // nothing changes, though the clock ticks.
    let first = reader.next_payload("views").await["data"]["viewCountChanged"].clone();
    assert_eq!(first["viewCount"], before);
    assert!(
        reader
            .next_within(Duration::from_millis(1500))
            .await
            .is_err()
    );
    for _ in 0..3 {
        app.data(
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": article }),
        )
        .await;
    }
    let sent = reader.next_payload("views").await["data"]["viewCountChanged"].clone();
    assert_eq!(sent["id"], article.to_string());
    assert_eq!(sent["viewCount"], before + 3);
}

#[tokio::test]
async fn bad_subscriptions_get_the_protocols_answers_and_never_a_crash() {
    let app = TestApp::spawn().await;
    let url = app.graphql_url();
    let mut client = LiveClient::reader(&url).await;
    let article = app.article_id("city-night-bus").await;

    let refusals = [
        (
            "subscription { nothingHere }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("subscription {", json!({}), "GRAPHQL_PARSE_FAILED"),
        (
            COMMENT_ADDED,
            json!({ "id": "not-a-uuid" }),
            "BAD_USER_INPUT",
        ),
        (
            COMMENT_ADDED,
            json!({ "id": uuid::Uuid::now_v7() }),
            "NOT_FOUND",
        ),
        (
            ARTICLE_PUBLISHED,
            json!({ "in": "no-such-section" }),
            "BAD_USER_INPUT",
        ),
        (
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": article }),
            "BAD_USER_INPUT",
        ),
        (
            "subscription { a: commentPending { id } b: commentPending { id } }",
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ];
    for (n, (query, variables, code)) in refusals.iter().enumerate() {
        let id = format!("bad-{n}");
        client.subscribe(&id, query, variables.clone()).await;
        let answer = client.next().await.unwrap();
        assert_eq!(answer["type"], "error", "{query}: {answer}");
        assert_eq!(answer["id"], id.as_str());
        assert_eq!(
            answer["payload"][0]["extensions"]["code"], *code,
            "{query}: {answer}"
        );
    }
    // Too deep for the query limits, as over HTTP.
    let deep = format!(
        "subscription($id: ID!) {{ commentAdded(articleId: $id) {{ article {{ {}id{} }} }} }}",
        "related { ".repeat(12),
        " }".repeat(12)
    );
    client
        .subscribe("deep", &deep, json!({ "id": article }))
        .await;
    let answer = client.next().await.unwrap();
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );

    // A query runs once.
    client
        .subscribe(
            "query",
            "query($id: ID!) { article(id: $id) { id slug } }",
            json!({ "id": article }),
        )
        .await;
    let answer = client.next_payload("query").await;
    assert_eq!(answer["data"]["article"]["slug"], "city-night-bus");
    assert_eq!(client.next().await.unwrap()["type"], "complete");

    // After all that the connection still serves.
    client
        .subscribe("fine", COMMENT_ADDED, json!({ "id": article }))
        .await;
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.next().await.unwrap()["type"], "pong");
    // A subscription id in use closes the connection (4409).
    client
        .subscribe("fine", COMMENT_ADDED, json!({ "id": article }))
        .await;
    assert_eq!(client.close_code().await, 4409);

    // Broken messages close with 4400; subscribing before connection_init
    // with 4401; a second connection_init with 4429.
    let Opened::Socket(mut broken) = LiveClient::open(&url).await else {
        panic!("refused");
    };
    broken
        .socket
        .send(Message::Text("{\"type\": \"what\"}".into()))
        .await
        .unwrap();
    assert_eq!(broken.close_code().await, 4400);
    let Opened::Socket(mut early) = LiveClient::open(&url).await else {
        panic!("refused");
    };
    early
        .subscribe("early", COMMENT_ADDED, json!({ "id": article }))
        .await;
    assert_eq!(early.close_code().await, 4401);
    let mut twice = LiveClient::reader(&url).await;
    twice
        .send(json!({ "type": "connection_init", "payload": {} }))
        .await;
    assert_eq!(twice.close_code().await, 4429);

    // The server still answers over HTTP and WebSocket.
    let mut after = LiveClient::reader(&url).await;
    after
        .subscribe("fine", COMMENT_ADDED, json!({ "id": article }))
        .await;
    after.stays_quiet().await;
    assert_eq!(
        app.data("{ __typename }", json!({})).await["__typename"],
        "Query"
    );
}

#[tokio::test]
async fn every_live_limit_is_enforced() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| {
            config.live_connections_per_client = 3;
            config.live_subscriptions_per_connection = 2;
            config.live_init_timeout = Duration::from_millis(300);
            config.live_keepalive = Duration::from_millis(200);
            config.live_max_message_bytes = 4096;
        },
        ..common::Options::default()
    })
    .await;
    let url = app.graphql_url();
    let article = app.article_id("city-night-bus").await;

    // Without the subprotocol: 400.
    let plain = url.replacen("http://", "ws://", 1);
    match tokio_tungstenite::connect_async(plain).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }

    // connection_init must come in time (4408).
    let Opened::Socket(mut slow) = LiveClient::open(&url).await else {
        panic!("refused");
    };
    assert_eq!(slow.close_code().await, 4408);
    drop(slow);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Subscriptions per connection: the third is refused, the others run;
    // completing one makes room.
    let mut client = LiveClient::reader(&url).await;
    for id in ["one", "two", "three"] {
        client
            .subscribe(id, COMMENT_ADDED, json!({ "id": article }))
            .await;
    }
    let refused = client.next().await.unwrap();
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "three");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
    client
        .send(json!({ "type": "complete", "id": "one" }))
        .await;
    client
        .subscribe("four", COMMENT_ADDED, json!({ "id": article }))
        .await;
    client.stays_quiet().await;

    // Connections per client: the fourth is refused with 429 (the slow one
    // above was closed).
    let _second = LiveClient::reader(&url).await;
    let _third = LiveClient::reader(&url).await;
    assert!(matches!(LiveClient::open(&url).await, Opened::Refused(429)));

    // A message over the size limit closes the connection (1009).
    drop(_third);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut big = LiveClient::reader(&url).await;
    big.subscribe(
        "big",
        &format!(
            "subscription {{ commentPending {{ id }} }} # {}",
            "x".repeat(8000)
        ),
        json!({}),
    )
    .await;
    assert_eq!(big.close_code().await, 1009);

    // A client that answers no pings is closed; one that reads stays.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(client.close_code().await, 1011);
}

#[tokio::test]
async fn a_subscription_sent_over_http_is_told_it_runs_over_the_websocket() {
    // GraphiQL and queries over GET beside the WebSocket are tests/api/http.rs's.
    let app = TestApp::spawn().await;
    // A subscription sent over HTTP is told where to go.
    let refused = app
        .graphql("subscription { articlePublished { id } }", json!({}))
        .await;
    assert_eq!(common::error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket"),
        "{refused}"
    );
}

#[tokio::test]
async fn readers_watching_one_article_share_one_run_per_change() {
    let app = TestApp::spawn_with(common::Options {
        comment_policy: newsroom::config::CommentPolicy::Moderate,
        tweak: |config| config.live_connections_per_client = 64,
        ..common::Options::default()
    })
    .await;
    let moderator = app.token(Role::Moderator).await;
    let article = app.article_id("city-night-bus").await;
    let url = app.graphql_url();
    // Statements from an approval to its arrival at every reader.
    let mut costs = Vec::new();
    for readers in [1, 20] {
        let mut clients = Vec::new();
        for _ in 0..readers {
            let mut client = LiveClient::reader(&url).await;
            client
                .subscribe("comments", COMMENT_ADDED, json!({ "id": article }))
                .await;
            clients.push(client);
        }
        // Every subscription has started (and made its own statements)
        // before the count begins.
        for client in &mut clients {
            client.is_listening().await;
        }
        let comment = add_comment(&app, article, &format!("给 {readers} 位读者")).await;
        let (statements, ()) = app
            .statements_during(async {
                app.data_as(
                    &moderator,
                    "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { id } } }",
                    json!({ "ids": [comment] }),
                )
                .await;
                for client in &mut clients {
                    let sent = client.next_payload("comments").await;
                    assert_eq!(sent["data"]["commentAdded"]["id"], comment);
                }
            })
            .await;
        costs.push(statements);
    }
    assert_eq!(costs[0], costs[1], "statements for 1 and for 20 readers");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_reads_what_it_missed_back_from_the_feed() {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let app = TestApp::spawn().await;
    let article = app.article_id("city-night-bus").await;
    // Room for one waiting batch: a subscription busy answering one change
    // falls behind as soon as two more are applied.
    let mut server = Server::start(
        &app.database_url,
        &[
            ("NEWSROOM_LIVE_BACKLOG", "1"),
            ("NEWSROOM_METRICS_LISTEN", "127.0.0.1:0"),
            ("NEWSROOM_COMMENT_POLICY", "publish"),
            ("NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE", "0"),
            ("NEWSROOM_COMMENTS_PER_ARTICLE_PER_MINUTE", "0"),
        ],
    );
    let metrics_url = server.wait_for_url("/metrics");
    let url = server.graphql_url.clone();
    let mut reader = LiveClient::reader(&url).await;
    reader
        .subscribe("comments", COMMENT_ADDED, json!({ "id": article }))
        .await;
    reader.is_listening().await;

    // Writers through the same process: each comment is a batch of its own.
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let url = url.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut ids = Vec::new();
                for index in 0..EACH {
                    let added: Value = client
                        .post(&url)
                        .json(&json!({
                            "query": "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"r@example.com\", body: $body }) { comment { id } } }",
                            "variables": { "id": article, "body": format!("第 {writer} 位读者的第 {index} 条") },
                        }))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let id = added["data"]["addComment"]["comment"]["id"].clone();
                    assert!(id.is_string(), "{added}");
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut added = std::collections::BTreeSet::new();
    for writer in writers {
        for id in writer.await.unwrap() {
            added.insert(id.as_str().unwrap().to_owned());
        }
    }

    let mut heard = Vec::new();
    while heard.len() < added.len() {
        let Ok(Some(message)) = reader.next_within(Duration::from_secs(10)).await else {
            break;
        };
        heard.push(
            message["payload"]["data"]["commentAdded"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let heard_once: std::collections::BTreeSet<String> = heard.iter().cloned().collect();
    assert_eq!(heard.len(), heard_once.len(), "no comment twice");
    assert_eq!(heard_once, added, "every comment reached the subscriber");
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let overflowed = metrics
        .lines()
        .find(|line| line.starts_with("newsroom_live_backlog_overflows_total"))
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        overflowed > 0.0,
        "the subscriber did fall behind: {overflowed}"
    );
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_says_goodbye_with_1001_and_exits_cleanly() {
    let app = TestApp::spawn().await;
    let article = app.article_id("city-night-bus").await;
    let server = Server::start(&app.database_url, &[]);
    let mut reader = LiveClient::reader(&server.graphql_url).await;
    reader
        .subscribe("comments", COMMENT_ADDED, json!({ "id": article }))
        .await;
    reader.is_listening().await;
    // graphql-ws reconnects after 1001 ("going away"); a cut connection
    // (1006) looks like a network fault instead.
    let ((), code) = tokio::join!(server.stop(), reader.close_code());
    assert_eq!(code, 1001);
}
