//! Mutation payloads that update a client's normalized cache: the article
//! a reader's mutation changed comes back with its new counts, under its
//! `id`, so Apollo's, urql's and Relay's caches show what the server stored.

use crate::common;

use common::{Options, TestApp};
use newsroom::config::CommentPolicy;
use serde_json::json;

const RECORD_VIEW: &str = "mutation($id: ID!) { recordView(articleId: $id) { articleId viewCount article { id viewCount } } }";

const ADD_COMMENT: &str = "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id status } article { id commentCount } } }";

#[tokio::test]
async fn record_view_returns_the_article_with_the_count_it_just_stored() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let shown = |response: &serde_json::Value| response["article"]["viewCount"].clone();

    let first = app.data(RECORD_VIEW, json!({ "id": id })).await["recordView"].clone();
    assert_eq!(first["article"]["id"], id.to_string());
    assert_eq!(shown(&first), first["viewCount"], "{first}");

    // The same reader again, not counted twice within the window: the
    // payload's article still shows the total the payload gives.
    let second = app.data(RECORD_VIEW, json!({ "id": id })).await["recordView"].clone();
    assert_eq!(second["viewCount"], first["viewCount"], "{second}");
    assert_eq!(shown(&second), second["viewCount"], "{second}");

    // And the page a reader loads next agrees with the payload.
    let page = app
        .data(
            r#"{ article(slug: "city-night-bus") { viewCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(page["article"]["viewCount"], shown(&second));
}

#[tokio::test]
async fn add_comment_returns_the_article_with_its_new_comment_count() {
    for (policy, counted) in [(CommentPolicy::Publish, 1), (CommentPolicy::Moderate, 0)] {
        let app = TestApp::spawn_with(Options {
            comment_policy: policy,
            ..Options::default()
        })
        .await;
        let id = app.article_id("city-night-bus").await;
        let before = app
            .data(
                r#"{ article(slug: "city-night-bus") { commentCount } }"#,
                json!({}),
            )
            .await["article"]["commentCount"]
            .as_i64()
            .unwrap();

        let added = app
            .data(
                ADD_COMMENT,
                json!({ "input": {
                    "articleId": id,
                    "authorName": "读者",
                    "authorEmail": "reader@example.com",
                    "body": "缓存里的评论数应当跟着变。",
                } }),
            )
            .await["addComment"]
            .clone();
        assert_eq!(added["article"]["id"], id.to_string());
        assert_eq!(
            added["article"]["commentCount"],
            before + counted,
            "{policy:?}: {added}"
        );
    }
}
