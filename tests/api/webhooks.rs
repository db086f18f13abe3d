//! Webhooks as a receiver sees them: each publication is POSTed, signed as
//! the Standard Webhooks specification says (checked here with HMAC-SHA256
//! directly, not with the server's code), retried after failures,
//! redelivered on request, delivered once across a fleet, and still
//! delivered when every process was killed in the middle of retries.

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD};
use entity::api_token::Role;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::cache_tags::tagged;
use crate::common::{self, TestApp, process::Server};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    /// What it answered.
    answered: u16,
}

/// A local endpoint that answers 500 to its first `failures` requests and
/// 200 after.
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    failures: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts it; its URL.
    async fn start(&self) -> String {
        async fn hook(
            State(receiver): State<Receiver>,
            headers: HeaderMap,
            body: String,
        ) -> StatusCode {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let failing = receiver
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
            let status = if failing {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            receiver.hits.lock().unwrap().push(Hit {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body,
                answered: status.as_u16(),
            });
            status
        }
        let router = Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        url
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `enough` holds for the hits; fails after 20 s.
    async fn until(&self, what: &str, enough: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let hits = self.hits();
            if enough(&hits) {
                return hits;
            }
            assert!(Instant::now() < deadline, "{what}: got {hits:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether `hit` carries a valid signature made with `secret`, computed as
/// the specification says.
fn signed_with(secret: &str, hit: &Hit) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", hit.id, hit.timestamp, hit.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    hit.signature.split(' ').any(|given| given == expected)
}

/// Options for a server whose webhooks may reach this machine and retry
/// quickly.
fn quick_local_webhooks(config: &mut newsroom::config::Config) {
    config.webhooks_allow_private = true;
    config.webhook_retry_base = Duration::from_millis(200);
    config.no_webhook_delivery = false;
}

/// Registers a webhook for `events` at `url`; its id and secret.
async fn create_webhook(app: &TestApp, admin: &str, url: &str, events: Value) -> (Value, String) {
    let created = app
        .data_as(
            admin,
            "mutation($url: String!, $events: [String!]!) { createWebhook(url: $url, events: $events, description: \"测试\") { secret webhook { id url events } } }",
            json!({ "url": url, "events": events }),
        )
        .await;
    let secret = created["createWebhook"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    (created["createWebhook"]["webhook"]["id"].clone(), secret)
}

/// Creates and publishes an article in the technology section; its id.
async fn publish_new(app: &TestApp, editor: &str, title: &str) -> Value {
    publish_tagged(app, editor, title, json!([])).await
}

/// [`publish_new`] with `tags` (their names).
async fn publish_tagged(app: &TestApp, editor: &str, title: &str, tags: Value) -> Value {
    let technology = common::section_id(app, "technology").await;
    let created = app
        .data_as(
            editor,
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
            json!({ "input": { "title": title, "body": "正文", "categoryId": technology, "tags": tags } }),
        )
        .await;
    let id = created["createArticle"]["article"]["id"].clone();
    app.data_as(
        editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { id } } }",
        json!({ "id": id }),
    )
    .await;
    id
}

#[tokio::test]
async fn a_publication_is_delivered_signed_after_two_failures_and_can_be_redelivered() {
    let app = TestApp::spawn_with(common::Options {
        tweak: quick_local_webhooks,
        ..common::Options::default()
    })
    .await;
    let admin = app.token(Role::Admin).await;
    let editor = app.token(Role::Editor).await;
    let receiver = Receiver::default();
    receiver.failures.store(2, Ordering::SeqCst);
    let url = receiver.start().await;
    let (webhook, secret) = create_webhook(&app, &admin, &url, json!(["article.published"])).await;

    let article = publish_new(&app, &editor, "网络钩子：新文章").await;
    let hits = receiver
        .until("three attempts", |hits| hits.len() >= 3)
        .await;
    assert_eq!(
        hits.iter().map(|hit| hit.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    // One delivery, tried three times: the same id each time.
    assert!(hits.iter().all(|hit| hit.id == hits[0].id), "{hits:#?}");
    for hit in &hits {
        assert!(signed_with(&secret, hit), "{hit:#?}");
        assert!(!signed_with(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            hit
        ));
    }
    let body: Value = serde_json::from_str(&hits[2].body).unwrap();
    assert_eq!(body["type"], "article.published");
    assert_eq!(body["data"]["id"], article);
    assert_eq!(body["data"]["title"], "网络钩子：新文章");
    assert!(body["data"]["slug"].is_string(), "{body}");
    assert!(
        body["data"]["keys"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("article:{}", article.as_str().unwrap()))),
        "{body}"
    );
    // An edit is not what it asked for.
    let version = app
        .data_as(
            &editor,
            "query($id: ID!) { article(id: $id) { version } }",
            json!({ "id": article }),
        )
        .await["article"]["version"]
        .clone();
    app.data_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, version: $v, input: { summary: \"改\" }) { article { id } } }",
        json!({ "id": article, "v": version }),
    )
    .await;

    let listed = app
        .data_as(
            &admin,
            "{ webhooks { id events deliveries { id event status attempts responseCode latencyMs error } } }",
            json!({}),
        )
        .await;
    let hook = &listed["webhooks"][0];
    assert_eq!(hook["id"], webhook);
    assert_eq!(hook["events"], json!(["article.published"]));
    let deliveries = hook["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{listed}");
    assert_eq!(deliveries[0]["id"], hits[0].id.as_str());
    assert_eq!(deliveries[0]["status"], "succeeded");
    assert_eq!(deliveries[0]["attempts"], 3);
    assert_eq!(deliveries[0]["responseCode"], 200);
    assert!(deliveries[0]["error"].is_null());

    let again = app
        .data_as(
            &admin,
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status } }",
            json!({ "id": hits[0].id }),
        )
        .await;
    let redelivered = receiver.until("a redelivery", |hits| hits.len() >= 4).await;
    assert_eq!(
        redelivered[3].id,
        again["redeliverWebhook"]["id"].as_str().unwrap()
    );
    assert_eq!(redelivered[3].body, hits[2].body);
    assert!(signed_with(&secret, &redelivered[3]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.hits().len(), 4, "nothing else was sent");
}

#[tokio::test]
async fn webhooks_refuse_private_addresses_and_unknown_events() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    for (url, events, field) in [
        ("http://127.0.0.1:9/hook", json!(["*"]), "url"),
        (
            "http://169.254.169.254/latest/meta-data",
            json!(["*"]),
            "url",
        ),
        ("http://localhost:9/hook", json!(["*"]), "url"),
        ("file:///etc/passwd", json!(["*"]), "url"),
        (
            "https://example.com/hook",
            json!(["token.created"]),
            "events",
        ),
        ("https://example.com/hook", json!([]), "events"),
    ] {
        let answer = app
            .graphql_as(
                &admin,
                "mutation($url: String!, $events: [String!]!) { createWebhook(url: $url, events: $events) { secret } }",
                json!({ "url": url, "events": events }),
            )
            .await;
        assert_eq!(
            common::error_code(&answer),
            "BAD_USER_INPUT",
            "{url}: {answer}"
        );
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], field,
            "{answer}"
        );
    }
    let listed = app.data_as(&admin, "{ webhooks { id } }", json!({})).await;
    assert_eq!(listed["webhooks"], json!([]));
}

#[tokio::test]
async fn a_fleet_delivers_each_event_once_and_after_every_process_was_killed() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| {
            quick_local_webhooks(config);
            config.no_webhook_delivery = true;
        },
        ..common::Options::default()
    })
    .await;
    let admin = app.token(Role::Admin).await;
    let editor = app.token(Role::Editor).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    create_webhook(&app, &admin, &url, json!(["*"])).await;
    let sender = [
        ("NEWSROOM_WEBHOOKS_ALLOW_PRIVATE", "true"),
        ("NEWSROOM_WEBHOOK_RETRY_BASE", "300ms"),
        // A process killed mid-send holds its claim for twice this and 5 s.
        ("NEWSROOM_WEBHOOK_TIMEOUT", "1s"),
    ];

    // Two processes send; five publications arrive once each.
    let a = Server::start(&app.database_url, &sender);
    let b = Server::start(&app.database_url, &sender);
    for n in 0..5 {
        publish_new(&app, &editor, &format!("舰队第 {n} 篇")).await;
    }
    // Each publication is two events (drafted is not public; published is),
    // and nothing else happens.
    let hits = receiver
        .until("five publications", |hits| {
            hits.iter()
                .filter(|hit| hit.body.contains("article.published"))
                .count()
                >= 5
        })
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits_now = receiver.hits();
    let mut ids: Vec<&str> = hits_now.iter().map(|hit| hit.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        hits_now.len(),
        "an event was sent twice: {hits_now:#?}"
    );
    assert!(hits.len() <= hits_now.len());

    // Every sender is killed while a delivery is being retried; the next
    // process to start sends it.
    receiver.failures.store(usize::MAX, Ordering::SeqCst);
    let before = receiver.hits().len();
    let retried = publish_new(&app, &editor, "重试中被杀").await;
    receiver
        .until("retries", |hits| hits.len() >= before + 2)
        .await;
    drop(a);
    drop(b);
    receiver.failures.store(0, Ordering::SeqCst);
    let c = Server::start(&app.database_url, &sender);
    let delivered = receiver
        .until("the delivery after the restart", |hits| {
            hits.iter()
                .any(|hit| hit.answered == 200 && hit.body.contains(retried.as_str().unwrap()))
        })
        .await;
    let last = delivered
        .iter()
        .rfind(|hit| hit.body.contains(retried.as_str().unwrap()))
        .unwrap();
    assert_eq!(last.answered, 200);
    c.stop().await;
}

/// The keys of the `cache.purge` event for change `kind` of `article`,
/// once it arrived.
async fn purge_for(receiver: &Receiver, kind: &str, article: &Value) -> BTreeSet<String> {
    let hits = receiver
        .until(kind, |hits| hits.iter().any(|hit| hit.body.contains(kind)))
        .await;
    let hit = hits.iter().find(|hit| hit.body.contains(kind)).unwrap();
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body["type"], "cache.purge");
    assert_eq!(body["data"]["change"], kind);
    assert_eq!(&body["data"]["id"], article);
    body["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_publication_purges_the_pages_that_showed_its_lists_and_no_other() {
    let app = TestApp::spawn_with(common::Options {
        tweak: quick_local_webhooks,
        ..common::Options::default()
    })
    .await;
    let admin = app.token(Role::Admin).await;
    let editor = app.token(Role::Editor).await;
    let receiver = Receiver::default();
    let url = receiver.start().await;
    create_webhook(&app, &admin, &url, json!(["cache.purge"])).await;

    let listed = app
        .data(
            "{ articles(first: 100) { edges { node { slug tags { name slug } } } } }",
            json!({}),
        )
        .await;
    let edges = listed["articles"]["edges"].as_array().unwrap().clone();
    let tagged_article = edges
        .iter()
        .find(|edge| !edge["node"]["tags"].as_array().unwrap().is_empty())
        .unwrap();
    let tag = tagged_article["node"]["tags"][0].clone();
    let home = tagged(&app, "home.graphql", "HomePage", json!({})).await.0;
    let section = tagged(
        &app,
        "category-page.graphql",
        "CategoryPage",
        json!({ "slug": "technology" }),
    )
    .await
    .0;
    let tag_page = tagged(
        &app,
        "category-page.graphql",
        "TagPage",
        json!({ "tag": tag["slug"] }),
    )
    .await
    .0;
    let mut article_pages = Vec::new();
    for edge in &edges {
        let slug = edge["node"]["slug"].clone();
        let keys = tagged(
            &app,
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": slug }),
        )
        .await
        .0;
        article_pages.push((slug, keys));
    }

    let article = publish_tagged(&app, &editor, "清除缓存：新发布", json!([tag["name"]])).await;
    let purged = purge_for(&receiver, "article.published", &article).await;
    // The draft changed nothing a reader sees: no purge for it.
    assert_eq!(receiver.hits().len(), 1, "{:#?}", receiver.hits());
    let reaches = |keys: &BTreeSet<String>| keys.intersection(&purged).next().is_some();
    assert!(reaches(&home), "the home page: {purged:?} {home:?}");
    assert!(reaches(&section), "its section's page");
    assert!(reaches(&tag_page), "its tag's page");

    // Every article page where it is now related was purged; some page
    // that does not show it was left alone.
    let mut related_on = 0;
    let mut left_alone = 0;
    for (slug, before) in &article_pages {
        let (_, page) = tagged(
            &app,
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": slug }),
        )
        .await;
        let related = page["data"]["article"]["related"].as_array().unwrap();
        if related.iter().any(|teaser| teaser["id"] == article) {
            related_on += 1;
            assert!(reaches(before), "{slug}: {before:?} missed by {purged:?}");
        }
        if !reaches(before) {
            left_alone += 1;
        }
    }
    assert!(related_on > 0, "the new article is related somewhere");
    assert!(left_alone > 0, "a purge names pages, not the whole site");

    // A takedown purges every page that showed it: its own and the home
    // page that listed it.
    let (own_page, _) = tagged(
        &app,
        "article-page.graphql",
        "ArticlePage",
        json!({ "slug": app.data("query($id: ID!) { article(id: $id) { slug } }", json!({ "id": article })).await["article"]["slug"] }),
    )
    .await;
    let (home, shown) = tagged(&app, "home.graphql", "HomePage", json!({})).await;
    assert!(shown.to_string().contains(article.as_str().unwrap()));
    app.data_as(
        &editor,
        "mutation($id: ID!) { unpublishArticle(id: $id) { article { id } } }",
        json!({ "id": article }),
    )
    .await;
    let purged = purge_for(&receiver, "article.unpublished", &article).await;
    let article_key = format!("article:{}", article.as_str().unwrap());
    assert!(purged.contains(&article_key), "{purged:?}");
    assert!(own_page.contains(&article_key));
    assert!(home.intersection(&purged).next().is_some(), "{home:?}");
}
