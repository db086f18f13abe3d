//! Moderators at work: the queue with private fields, decisions that move
//! comments in and out of public view with exact counts, closing an article
//! to comments, and the audit log that records it all.

use crate::common;

use common::{TestApp, error_code};
use entity::api_token::Role;
use serde_json::{Value, json};

const ADD: &str = r#"mutation($id: ID!, $n: String!, $b: String!) { addComment(input: {
    articleId: $id, authorName: $n, authorEmail: "reader@example.org", body: $b }) { comment { id } } }"#;
const QUEUE: &str = "query($s: CommentStatus) { moderationQueue(status: $s) { edges { node { id body authorEmail clientFingerprint status } } } }";
const DECIDE: &str = "mutation($ids: [ID!]!, $d: ModerationDecision!) { moderateComments(ids: $ids, decision: $d) { comments { id status } } }";

async fn counts(app: &TestApp) -> (Value, Value, usize) {
    let page = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { commentCount comments(first: 100) { totalCount edges { node { body } } } } }"#,
            json!({}),
        )
        .await;
    let article = &page["data"]["article"];
    (
        article["commentCount"].clone(),
        article["comments"]["totalCount"].clone(),
        article["comments"]["edges"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn decisions_move_comments_in_and_out_of_view_and_counts_stay_exact() {
    let app = TestApp::spawn().await;
    let moderator = app.token(Role::Moderator).await;
    let id = app.article_id("city-night-bus").await;
    let mut ids = Vec::new();
    for (name, body) in [("甲", "第一条"), ("乙", "第二条"), ("丙", "第三条")] {
        let added = app
            .graphql(ADD, json!({ "id": id, "n": name, "b": body }))
            .await;
        ids.push(added["data"]["addComment"]["comment"]["id"].clone());
    }

    let queue = app.data_as(&moderator, QUEUE, json!({})).await;
    let pending = queue["moderationQueue"]["edges"].as_array().unwrap();
    let bodies: Vec<&str> = pending
        .iter()
        .map(|e| e["node"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["第一条", "第二条", "第三条"], "oldest first");
    assert_eq!(pending[0]["node"]["authorEmail"], "reader@example.org");
    assert_eq!(
        pending[0]["node"]["clientFingerprint"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    assert_eq!(counts(&app).await, (json!(0), json!(0), 0));

    app.data_as(&moderator, DECIDE, json!({ "ids": ids, "d": "APPROVE" }))
        .await;
    assert_eq!(counts(&app).await, (json!(3), json!(3), 3));

    app.data_as(&moderator, DECIDE, json!({ "ids": [ids[0]], "d": "SPAM" }))
        .await;
    app.data_as(
        &moderator,
        DECIDE,
        json!({ "ids": [ids[1]], "d": "REJECT" }),
    )
    .await;
    assert_eq!(counts(&app).await, (json!(1), json!(1), 1));

    // Approving twice counts once.
    app.data_as(
        &moderator,
        DECIDE,
        json!({ "ids": [ids[2], ids[2]], "d": "APPROVE" }),
    )
    .await;
    assert_eq!(counts(&app).await, (json!(1), json!(1), 1));

    app.data_as(
        &moderator,
        DECIDE,
        json!({ "ids": [ids[2]], "d": "DELETE" }),
    )
    .await;
    assert_eq!(counts(&app).await, (json!(0), json!(0), 0));
    let spam = app.data_as(&moderator, QUEUE, json!({ "s": "SPAM" })).await;
    assert_eq!(
        spam["moderationQueue"]["edges"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn an_unknown_comment_in_a_batch_changes_nothing() {
    let app = TestApp::spawn().await;
    let moderator = app.token(Role::Moderator).await;
    let id = app.article_id("city-night-bus").await;
    let added = app
        .graphql(ADD, json!({ "id": id, "n": "甲", "b": "一条" }))
        .await;
    let real = added["data"]["addComment"]["comment"]["id"].clone();

    let response = app
        .graphql_as(
            &moderator,
            DECIDE,
            json!({ "ids": [real, uuid::Uuid::now_v7()], "d": "APPROVE" }),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    assert_eq!(counts(&app).await, (json!(0), json!(0), 0));
}

#[tokio::test]
async fn a_closed_article_refuses_new_comments() {
    let app = TestApp::spawn().await;
    let moderator = app.token(Role::Moderator).await;
    let id = app.article_id("city-night-bus").await;

    app.data_as(
        &moderator,
        "mutation($id: ID!) { setCommentsClosed(articleId: $id, closed: true) { article { commentsClosed } } }",
        json!({ "id": id }),
    )
    .await;
    let refused = app
        .graphql(ADD, json!({ "id": id, "n": "甲", "b": "还能评论吗" }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    app.data_as(
        &moderator,
        "mutation($id: ID!) { setCommentsClosed(articleId: $id, closed: false) { article { commentsClosed } } }",
        json!({ "id": id }),
    )
    .await;
    let accepted = app
        .graphql(ADD, json!({ "id": id, "n": "甲", "b": "可以了" }))
        .await;
    assert!(accepted.get("errors").is_none(), "{accepted}");
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_and_only_admins_read_it() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;

    app.data_as(
        &editor,
        "mutation($id: ID!) { archiveArticle(id: $id) { article { status } } }",
        json!({ "id": id }),
    )
    .await;
    app.data_as(
        &admin,
        r#"mutation { createTag(name: "审计") { tag { id } } }"#,
        json!({}),
    )
    .await;

    let log = app
        .data_as(
            &admin,
            "{ auditLog { edges { node { tokenName action subjectType subjectId } } } }",
            json!({}),
        )
        .await;
    let entries: Vec<(String, String)> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["tokenName"].as_str().unwrap().to_owned(),
                e["node"]["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("Admin for tests".to_owned(), "tag.create".to_owned()),
            ("Editor for tests".to_owned(), "article.archive".to_owned()),
            // The test's two tokens, made as the command line makes them:
            // a token is audited in the transaction that stores it.
            ("command line".to_owned(), "token.create".to_owned()),
            ("command line".to_owned(), "token.create".to_owned()),
        ]
    );
    assert_eq!(
        log["auditLog"]["edges"][1]["node"]["subjectId"],
        id.to_string()
    );

    let refused = app
        .graphql_as(&editor, "{ auditLog { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}
