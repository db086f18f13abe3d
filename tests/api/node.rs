//! Relay's object identification: `node(id:)` and `nodes(ids:)` find every
//! type that implements `Node`, with the visibility the other queries have.

use crate::common;

use chrono::{Duration, Utc};
use common::{TestApp, error_code, past};
use entity::{api_token::Role, article::ArticleStatus};
use serde_json::{Value, json};
use uuid::Uuid;

const NODE: &str = r#"query($id: ID!) { node(id: $id) { __typename id
    ... on Article { slug commentCount }
    ... on Category { slug }
    ... on Tag { slug }
    ... on Comment { body } } }"#;

/// The `__typename` `node` gives for `id`, or `null`.
async fn typename(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    let response = match token {
        Some(token) => app.graphql_as(token, NODE, json!({ "id": id })).await,
        None => app.graphql(NODE, json!({ "id": id })).await,
    };
    assert!(response.get("errors").is_none(), "{id}: {response}");
    let node = &response["data"]["node"];
    if !node.is_null() {
        assert_eq!(node["id"], id, "{response}");
    }
    node["__typename"].clone()
}

#[tokio::test]
async fn node_finds_each_type_and_hides_what_readers_may_not_see() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let section = arrange.category("news", None, 0).await;
    let tag = arrange.tag("space").await;
    let public = arrange
        .article("public", section, ArticleStatus::Published, past(1))
        .await;
    let draft = arrange
        .article("draft", section, ArticleStatus::Draft, past(1))
        .await;
    let scheduled = arrange
        .article(
            "scheduled",
            section,
            ArticleStatus::Published,
            Utc::now() + Duration::days(1),
        )
        .await;
    let approved = arrange.approved_comment(public, "看得见", past(0)).await;
    let under_draft = arrange.approved_comment(draft, "看不见", past(0)).await;
    let editor = app.token(Role::Editor).await;

    let table: [(Uuid, Value, Value); 7] = [
        (public, json!("Article"), json!("Article")),
        (draft, Value::Null, json!("Article")),
        (scheduled, Value::Null, json!("Article")),
        (section, json!("Category"), json!("Category")),
        (tag, json!("Tag"), json!("Tag")),
        (approved, json!("Comment"), json!("Comment")),
        (under_draft, Value::Null, Value::Null),
    ];
    for (id, reader, editor_sees) in table {
        let id = id.to_string();
        assert_eq!(typename(&app, None, &id).await, reader, "reader, {id}");
        assert_eq!(
            typename(&app, Some(&editor), &id).await,
            editor_sees,
            "editor, {id}"
        );
    }
    for unknown in [Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        assert_eq!(typename(&app, None, &unknown).await, Value::Null);
    }

    // A pending comment is not public.
    let added = app
        .data(
            "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id status } } }",
            json!({ "input": { "articleId": public, "authorName": "读者", "authorEmail": "r@example.com", "body": "待审" } }),
        )
        .await;
    assert_eq!(added["addComment"]["comment"]["status"], "PENDING");
    let pending = added["addComment"]["comment"]["id"].as_str().unwrap();
    assert_eq!(typename(&app, None, pending).await, Value::Null);
}

#[tokio::test]
async fn a_refetched_article_resolves_its_page_fields_as_article_does() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let query = r#"query($id: ID!, $slug: String!) {
        node(id: $id) { ... on Article { title commentCount tags { id } related(first: 3) { id } comments(first: 2) { totalCount edges { node { id } } } } }
        article(slug: $slug) { title commentCount tags { id } related(first: 3) { id } comments(first: 2) { totalCount edges { node { id } } } } }"#;
    let data = app
        .data(query, json!({ "id": id, "slug": "city-night-bus" }))
        .await;
    assert_eq!(data["node"], data["article"]);
    assert!(!data["node"]["related"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn nodes_keeps_the_order_asked_with_nulls_in_place() {
    let app = TestApp::spawn().await;
    let bus = app.article_id("city-night-bus").await;
    let sections = app.data("{ categories { id } }", json!({})).await;
    let section = sections["categories"][0]["id"].as_str().unwrap().to_owned();
    let missing = Uuid::now_v7().to_string();
    let data = app
        .data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
            json!({ "ids": [section, missing, bus] }),
        )
        .await;
    assert_eq!(
        data["nodes"],
        json!([
            { "__typename": "Category", "id": section },
            null,
            { "__typename": "Article", "id": bus.to_string() },
        ])
    );

    let too_many: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    let refused = app
        .graphql(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": too_many }),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "ids");
}
