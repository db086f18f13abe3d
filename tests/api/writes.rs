//! Acknowledged writes under concurrency: many editors and readers writing
//! at once all succeed and every one is stored, on SQLite (one writer at a
//! time) as on PostgreSQL.

use crate::common;

use common::{Options, TestApp};
use entity::{api_token::Role, comment, tag};
use newsroom::config::CommentPolicy;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tokio::task::JoinSet;

/// A server that publishes comments at once and limits no one's rate, so
/// that only the database could refuse a write.
async fn unlimited_app() -> TestApp {
    TestApp::spawn_with(Options {
        comment_policy: CommentPolicy::Publish,
        tweak: |config| {
            config.comments_per_client_per_minute = 0;
            config.comments_per_article_per_minute = 0;
        },
        ..Options::default()
    })
    .await
}

/// Fails the test when any answer carries errors, showing the first.
fn assert_all_succeeded(answers: &[Value]) {
    let failed: Vec<&Value> = answers
        .iter()
        .filter(|answer| answer.get("errors").is_some())
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
}

/// Sends `bodies` at once; returns the answers.
async fn all_at_once(app: &TestApp, token: Option<&str>, bodies: Vec<Value>) -> Vec<Value> {
    let mut requests = JoinSet::new();
    for body in bodies {
        let mut request = app.client.post(app.graphql_url()).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        requests.spawn(async move { request.send().await.unwrap().json::<Value>().await.unwrap() });
    }
    requests.join_all().await
}

#[tokio::test]
async fn fifty_editors_creating_tags_at_once_all_succeed_and_all_are_stored() {
    let app = unlimited_app().await;
    let token = app.token(Role::Editor).await;
    let before = tag::Entity::find().count(&app.db).await.unwrap();
    let bodies = (0..50)
        .map(|n| {
            json!({
                "query": "mutation($name: String!) { createTag(name: $name) { tag { id name } } }",
                "variables": { "name": format!("并发标签 {n}") },
            })
        })
        .collect();

    let answers = all_at_once(&app, Some(&token), bodies).await;

    assert_all_succeeded(&answers);
    assert_eq!(
        tag::Entity::find().count(&app.db).await.unwrap(),
        before + 50
    );
}

#[tokio::test]
async fn a_hundred_comments_at_once_all_succeed_and_all_are_stored() {
    let app = unlimited_app().await;
    let article = app.article_id("city-night-bus").await;
    let bodies = (0..100)
        .map(|n| {
            json!({
                "query": "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id status } } }",
                "variables": { "input": {
                    "articleId": article,
                    "authorName": format!("读者{n}"),
                    "authorEmail": format!("reader{n}@example.com"),
                    "body": format!("第 {n} 条评论：写得好"),
                } },
            })
        })
        .collect();

    let answers = all_at_once(&app, None, bodies).await;

    assert_all_succeeded(&answers);
    let stored = comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(article))
        .filter(comment::Column::Body.like("第 % 条评论：写得好"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 100);
    let page = app
        .graphql(
            "{ article(slug: \"city-night-bus\") { commentCount } }",
            json!({}),
        )
        .await;
    assert!(
        page["data"]["article"]["commentCount"].as_i64().unwrap() >= 100,
        "{page}"
    );
}

/// An `addComment` request for the demo article with `key` and `body`.
fn keyed_comment(article: uuid::Uuid, key: &str, email: &str, body: &str) -> Value {
    json!({
        "query": "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id body } } }",
        "variables": { "input": {
            "articleId": article,
            "authorName": "重试的读者",
            "authorEmail": email,
            "body": body,
            "idempotencyKey": key,
        } },
    })
}

async fn stored_with_body(app: &TestApp, body: &str) -> u64 {
    comment::Entity::find()
        .filter(comment::Column::Body.eq(body))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_comment_with_its_idempotency_key_is_stored_once() {
    let app = unlimited_app().await;
    let article = app.article_id("city-night-bus").await;
    let body = "网络断了，再发一次";
    let request = keyed_comment(article, "0f8e2c1a-key", "retry@example.com", body);

    let first = app.post_json(request.clone()).await;
    let again = app.post_json(request).await;

    let id = first["data"]["addComment"]["comment"]["id"].clone();
    assert!(id.is_string(), "{first}");
    assert_eq!(again["data"]["addComment"]["comment"]["id"], id, "{again}");
    assert_eq!(stored_with_body(&app, body).await, 1);
}

#[tokio::test]
async fn retries_sent_at_once_store_one_comment() {
    let app = unlimited_app().await;
    let article = app.article_id("city-night-bus").await;
    let body = "同时重试十次";
    let request = keyed_comment(article, "burst-key", "burst@example.com", body);

    let answers = all_at_once(&app, None, vec![request; 10]).await;

    let ids: std::collections::HashSet<String> = answers
        .iter()
        .filter_map(|answer| answer["data"]["addComment"]["comment"]["id"].as_str())
        .map(str::to_owned)
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert!(
        answers.iter().all(|answer| answer.get("errors").is_none()),
        "{answers:?}"
    );
    assert_eq!(stored_with_body(&app, body).await, 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_comment_is_refused() {
    let app = unlimited_app().await;
    let article = app.article_id("city-night-bus").await;
    let first = app
        .post_json(keyed_comment(
            article,
            "same-key",
            "a@example.com",
            "第一条",
        ))
        .await;
    assert!(first.get("errors").is_none(), "{first}");

    let other_body = app
        .post_json(keyed_comment(
            article,
            "same-key",
            "a@example.com",
            "完全不同的一条",
        ))
        .await;
    let other_sender = app
        .post_json(keyed_comment(
            article,
            "same-key",
            "b@example.com",
            "另一位读者的第一条",
        ))
        .await;

    assert_eq!(
        other_body["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        other_body["errors"][0]["extensions"]["field"],
        "idempotencyKey"
    );
    assert!(other_sender.get("errors").is_none(), "{other_sender}");
    assert_ne!(
        other_sender["data"]["addComment"]["comment"]["id"],
        first["data"]["addComment"]["comment"]["id"],
        "another sender's key is their own"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_store_every_comment_sent_to_both() {
    let app = unlimited_app().await;
    let article = app.article_id("city-night-bus").await;
    let settings = [
        ("NEWSROOM_COMMENT_POLICY", "publish"),
        ("NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE", "0"),
        ("NEWSROOM_COMMENTS_PER_ARTICLE_PER_MINUTE", "0"),
    ];
    let first = common::process::Server::start(&app.database_url, &settings);
    let second = common::process::Server::start(&app.database_url, &settings);
    let mut requests = JoinSet::new();
    for n in 0..60 {
        let url = if n % 2 == 0 {
            first.graphql_url.clone()
        } else {
            second.graphql_url.clone()
        };
        let client = app.client.clone();
        requests.spawn(async move {
            let body = json!({
                "query": "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id } } }",
                "variables": { "input": {
                    "articleId": article,
                    "authorName": format!("两个进程{n}"),
                    "authorEmail": format!("two{n}@example.com"),
                    "body": format!("两个进程同时写 {n}"),
                } },
            });
            common::post_graphql(&client, &url, &body).await
        });
    }
    let answers = requests.join_all().await;
    first.stop().await;
    second.stop().await;

    assert_all_succeeded(&answers);
    let stored = comment::Entity::find()
        .filter(comment::Column::Body.like("两个进程同时写 %"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 60);
}
