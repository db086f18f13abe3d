//! Comment spam: per-client and per-article rate limits that never block
//! other clients, duplicates refused, link-heavy comments held, and the
//! honeypot field that only bots fill in.

use crate::common;

use common::{Options, TestApp, error_code};
use entity::comment;
use newsroom::config::CommentPolicy;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const ADD: &str =
    r#"mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id status } } }"#;

fn input(article: impl ToString, body: &str) -> Value {
    json!({ "input": {
        "articleId": article.to_string(), "authorName": "读者",
        "authorEmail": "reader@example.com", "body": body,
    }})
}

/// Sends a comment as the client at `address`, behind the trusted proxy.
async fn add_from(app: &TestApp, address: &str, variables: Value) -> Value {
    app.client
        .post(app.graphql_url())
        .header("x-forwarded-for", format!("203.0.113.9, {address}"))
        .json(&json!({ "query": ADD, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn stored(app: &TestApp) -> u64 {
    comment::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_client_over_its_rate_is_refused_with_a_hint_and_others_go_on() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| {
            config.trusted_proxy_header = Some("x-forwarded-for".to_owned());
            config.comments_per_client_per_minute = 2;
        },
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;

    for n in 0..2 {
        let accepted = add_from(&app, "198.51.100.1", input(id, &format!("第{n}条"))).await;
        assert!(accepted.get("errors").is_none(), "{accepted}");
    }
    let before = stored(&app).await;
    let limited = add_from(&app, "198.51.100.1", input(id, "第三条")).await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    let retry = limited["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&retry), "{limited}");
    assert_eq!(stored(&app).await, before, "nothing stored");

    let other = add_from(&app, "198.51.100.2", input(id, "另一位读者")).await;
    assert!(
        other.get("errors").is_none(),
        "another client is not blocked: {other}"
    );
}

#[tokio::test]
async fn the_same_comment_twice_is_refused_as_a_duplicate() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;

    let first = app.graphql(ADD, input(id, "重复的评论")).await;
    assert!(first.get("errors").is_none(), "{first}");
    let again = app.graphql(ADD, input(id, "  重复的评论 ")).await;
    assert_eq!(error_code(&again), "BAD_USER_INPUT");
    assert_eq!(again["errors"][0]["extensions"]["field"], "body");
}

#[tokio::test]
async fn a_comment_with_many_links_waits_for_a_moderator_even_when_publishing_at_once() {
    let app = TestApp::spawn_with(Options {
        comment_policy: CommentPolicy::Publish,
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;

    let plain = app.graphql(ADD, input(id, "见 https://example.com")).await;
    assert_eq!(plain["data"]["addComment"]["comment"]["status"], "APPROVED");
    let linky = app
        .graphql(
            ADD,
            input(id, "便宜 https://a.example https://b.example www.c.example"),
        )
        .await;
    assert_eq!(linky["data"]["addComment"]["comment"]["status"], "PENDING");
}

#[tokio::test]
async fn a_filled_honeypot_is_dropped_quietly() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = stored(&app).await;
    let mut variables = input(id, "我是机器人");
    variables["input"]["website"] = json!("https://spam.example");

    let response = app.graphql(ADD, variables).await;

    assert_eq!(
        response["data"]["addComment"]["comment"]["status"],
        "PENDING"
    );
    assert_eq!(stored(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn a_forwarded_address_from_outside_the_trusted_networks_is_not_believed() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| {
            config.trusted_proxy_header = Some("x-forwarded-for".to_owned());
            // The test client connects from 127.0.0.1, which is not here.
            config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
            config.comments_per_client_per_minute = 1;
        },
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;

    let first = add_from(&app, "198.51.100.1", input(id, "第一条")).await;
    assert!(first.get("errors").is_none(), "{first}");
    let forged = add_from(&app, "198.51.100.2", input(id, "换个地址再来")).await;

    assert_eq!(error_code(&forged), "RATE_LIMITED", "{forged}");
}

#[tokio::test]
async fn a_honeypot_holding_only_a_space_is_still_a_bot() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = stored(&app).await;
    let mut variables = input(id, "空格机器人");
    variables["input"]["website"] = json!(" ");

    let response = app.graphql(ADD, variables).await;

    assert_eq!(
        response["data"]["addComment"]["comment"]["status"],
        "PENDING"
    );
    assert_eq!(stored(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn a_duplicate_in_other_case_and_spacing_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let first = app.graphql(ADD, input(id, "Great Article, 写得好")).await;
    assert!(first.get("errors").is_none(), "{first}");
    let mut again = input(id, "great   ARTICLE,\n写得好");
    again["input"]["authorEmail"] = json!("Reader@Example.COM");

    let refused = app.graphql(ADD, again).await;

    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "body");
}

#[tokio::test]
async fn a_name_with_a_text_direction_override_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let mut variables = input(id, "正常的评论");
    variables["input"]["authorName"] = json!("管理员\u{202E}gnp.exe");

    let refused = app.graphql(ADD, variables).await;

    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "authorName");
}
