//! Readers' comments: every validation failure is `BAD_USER_INPUT` naming its
//! field and stores nothing; the email is never readable; the site's policy
//! decides whether a new comment waits for a moderator.

use crate::common;

use common::{Options, TestApp, error_code};
use entity::comment;
use newsroom::config::CommentPolicy;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

fn input(article_id: impl ToString, name: &str, email: &str, body: &str) -> Value {
    json!({ "input": {
        "articleId": article_id.to_string(),
        "authorName": name,
        "authorEmail": email,
        "body": body,
    }})
}

async fn stored_comments(app: &TestApp) -> u64 {
    comment::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test]
async fn each_invalid_field_is_refused_by_name_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = stored_comments(&app).await;
    let long_name = "名".repeat(65);
    let long_body = "字".repeat(5_001);

    let cases = [
        (input("not-a-uuid", "a", "a@example.com", "b"), "articleId"),
        (input(id, "", "a@example.com", "b"), "authorName"),
        (input(id, "   ", "a@example.com", "b"), "authorName"),
        (input(id, &long_name, "a@example.com", "b"), "authorName"),
        (input(id, "bell\u{7}", "a@example.com", "b"), "authorName"),
        (input(id, "a", "", "b"), "authorEmail"),
        (input(id, "a", "not an email", "b"), "authorEmail"),
        (input(id, "a", "a@@example.com", "b"), "authorEmail"),
        (input(id, "a", "a@example.com", ""), "body"),
        (input(id, "a", "a@example.com", " \n\t "), "body"),
        (input(id, "a", "a@example.com", &long_body), "body"),
        (input(id, "a", "a@example.com", "escape \u{1b}[31m"), "body"),
    ];
    for (variables, field) in cases {
        let response = app
            .contract("reader-mutations.graphql", "AddComment", variables.clone())
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{variables}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{variables}"
        );
        assert!(
            !response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        assert_eq!(response["data"], json!(null));
    }
    assert_eq!(stored_comments(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn an_unknown_article_is_not_found_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let before = stored_comments(&app).await;

    let response = app
        .contract(
            "reader-mutations.graphql",
            "AddComment",
            input(Uuid::now_v7(), "a", "a@example.com", "b"),
        )
        .await;

    assert_eq!(error_code(&response), "NOT_FOUND");
    assert_eq!(stored_comments(&app).await, before);
}

#[tokio::test]
async fn the_commenters_email_cannot_be_read_through_the_api() {
    let app = TestApp::spawn().await;

    let direct = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { comments { edges { node { authorEmail } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&direct), "GRAPHQL_VALIDATION_FAILED");

    // The public Comment type has no email field; only ModeratedComment,
    // reachable with a moderator's token, does.
    let schema = app
        .graphql(
            r#"{ __type(name: "Comment") { fields { name } } }"#,
            json!({}),
        )
        .await;
    let text = schema["data"].to_string().to_lowercase();
    assert!(text.contains("authorname"), "{schema}");
    assert!(!text.contains("email"), "Comment exposes an email field");
    let queue = app
        .graphql(
            "{ moderationQueue { edges { node { authorEmail } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&queue), "UNAUTHENTICATED");
    assert_eq!(queue["data"], json!(null));

    let page = app
        .graphql(
            r#"{ articles(first: 100) { edges { node { comments(first: 100) { edges { node { id authorName body createdAt status } } } } } } }"#,
            json!({}),
        )
        .await;
    assert!(!page.to_string().contains("@example."), "an email leaked");
}

#[tokio::test]
async fn with_the_publish_policy_a_comment_is_approved_and_counted_at_once() {
    let app = TestApp::spawn_with(Options {
        comment_policy: CommentPolicy::Publish,
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;

    let added = app
        .contract_data(
            "reader-mutations.graphql",
            "AddComment",
            input(id, "夜班司机", "driver@example.com", "谢谢乘客们的理解。"),
        )
        .await;
    assert_eq!(added["addComment"]["comment"]["status"], "APPROVED");

    let page = app
        .contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "city-night-bus" }),
        )
        .await;
    assert_eq!(page["article"]["commentCount"], 1);
    assert_eq!(page["article"]["comments"]["totalCount"], 1);
    assert_eq!(
        page["article"]["comments"]["edges"][0]["node"]["body"],
        "谢谢乘客们的理解。"
    );
}

#[tokio::test]
async fn a_comment_keeps_a_hashed_fingerprint_never_the_raw_address() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;

    app.contract_data(
        "reader-mutations.graphql",
        "AddComment",
        input(id, "a", "a@example.com", "markup <b>stays</b> text"),
    )
    .await;

    let stored = comment::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.article_id == id)
        .unwrap();
    let fingerprint = stored.client_fingerprint.unwrap();
    assert_eq!(fingerprint.len(), 32);
    assert!(!fingerprint.contains("127.0.0.1"));
    assert_eq!(
        stored.body, "markup <b>stays</b> text",
        "stored as plain text"
    );
}
