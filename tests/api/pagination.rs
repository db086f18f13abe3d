//! Keyset pagination: paging through a list while others write to it never
//! repeats or skips an item that existed when paging began, ties in the sort
//! key included; `first` is bounded and bad cursors are refused.

use crate::common;

use std::collections::HashSet;

use chrono::Utc;
use common::{TestApp, edge_slugs, error_code, past};
use entity::article::ArticleStatus;
use serde_json::{Value, json};

/// Walks a whole list `page_size` items at a time, calling `between` after
/// each page, and returns every slug seen in order.
async fn walk<F, Fut>(app: &TestApp, order: &str, page_size: i32, mut between: F) -> Vec<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let query = format!(
        "query($first: Int!, $after: String) {{ articles(first: $first, after: $after, orderBy: {order}) {{
            pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ slug }} }} }} }}"
    );
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for page in 0.. {
        let response = app
            .graphql(&query, json!({ "first": page_size, "after": after }))
            .await;
        let connection = &response["data"]["articles"];
        seen.extend(edge_slugs(connection));
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
        between(page).await;
    }
    seen
}

/// Twelve articles whose publication times tie in threes.
async fn arrange_ties(app: &TestApp) -> Vec<String> {
    let section = app.arrange().category("s", None, 0).await;
    let mut slugs = Vec::new();
    for index in 0..12 {
        let slug = format!("tie-{index:02}");
        app.arrange()
            .article(&slug, section, ArticleStatus::Published, past(index / 3))
            .await;
        slugs.push(slug);
    }
    slugs
}

#[tokio::test]
async fn paging_through_ties_neither_repeats_nor_skips() {
    let app = TestApp::spawn_empty().await;
    let slugs = arrange_ties(&app).await;

    for order in ["NEWEST", "OLDEST", "MOST_VIEWED", "MOST_COMMENTED"] {
        let seen = walk(&app, order, 5, |_| async {}).await;
        assert_eq!(seen.len(), 12, "{order}: {seen:?}");
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 12, "{order} repeated an item: {seen:?}");
        assert!(slugs.iter().all(|s| unique.contains(s)), "{order} skipped");
    }
}

#[tokio::test]
async fn articles_published_between_pages_do_not_disturb_the_walk() {
    let app = TestApp::spawn_empty().await;
    let slugs = arrange_ties(&app).await;
    let section = app.arrange().category("late", None, 1).await;

    let seen = walk(&app, "NEWEST", 4, |page| {
        let arrange = app.arrange();
        async move {
            // One newer article, and one tying with what is being paged.
            arrange
                .article(
                    &format!("new-{page}"),
                    section,
                    ArticleStatus::Published,
                    Utc::now(),
                )
                .await;
            arrange
                .article(
                    &format!("tie-new-{page}"),
                    section,
                    ArticleStatus::Published,
                    past(1),
                )
                .await;
        }
    })
    .await;

    let original: Vec<&String> = seen
        .iter()
        .filter(|s| s.starts_with("tie-0") || s.starts_with("tie-1"))
        .collect();
    assert_eq!(original.len(), 12, "{seen:?}");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an item repeated: {seen:?}");
    assert!(
        slugs.iter().all(|s| unique.contains(s)),
        "an item was skipped"
    );
}

#[tokio::test]
async fn comments_page_through_ties_and_new_arrivals_cleanly() {
    let app = TestApp::spawn_empty().await;
    let section = app.arrange().category("s", None, 0).await;
    let article = app
        .arrange()
        .article("a", section, ArticleStatus::Published, past(10))
        .await;
    for index in 0..9 {
        app.arrange()
            .approved_comment(article, &format!("c{index}"), past(index / 3))
            .await;
    }
    let query = r#"query($id: ID!, $after: String) { article(id: $id) {
        comments(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { body } } } } }"#;
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = app
            .graphql(query, json!({ "id": article, "after": after }))
            .await;
        let comments = &response["data"]["article"]["comments"];
        for edge in comments["edges"].as_array().unwrap() {
            seen.push(edge["node"]["body"].as_str().unwrap().to_owned());
        }
        app.arrange()
            .approved_comment(article, "late", Utc::now())
            .await;
        if comments["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = comments["pageInfo"]["endCursor"].clone();
    }
    let originals: HashSet<_> = seen.iter().filter(|b| b.starts_with('c')).collect();
    assert_eq!(originals.len(), 9, "{seen:?}");
    assert_eq!(seen.iter().filter(|b| b.starts_with('c')).count(), 9);
}

#[tokio::test]
async fn more_than_a_hundred_items_per_page_is_an_error_not_a_cut() {
    let app = TestApp::spawn().await;
    for query in [
        "{ articles(first: 101) { totalCount } }",
        "{ articles(first: -1) { totalCount } }",
        r#"{ category(slug: "news") { articles(first: 500) { totalCount } } }"#,
        r#"{ article(slug: "city-night-bus") { comments(first: 1000) { totalCount } } }"#,
        r#"{ article(slug: "city-night-bus") { related(first: 101) { slug } } }"#,
    ] {
        let response = app.graphql(query, json!({})).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{query}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], "first",
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_forged_or_foreign_cursor_is_bad_input() {
    let app = TestApp::spawn().await;
    let newest = app
        .graphql(
            "{ articles(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = newest["data"]["articles"]["pageInfo"]["endCursor"].clone();

    for (query, after) in [
        (
            "query($a: String) { articles(after: $a) { totalCount } }",
            json!("not-a-cursor"),
        ),
        (
            "query($a: String) { articles(after: $a) { totalCount } }",
            json!(""),
        ),
        (
            "query($a: String) { articles(after: $a, orderBy: MOST_VIEWED) { totalCount } }",
            cursor.clone(),
        ),
        (
            r#"query($a: String) { article(slug: "city-night-bus") { comments(after: $a) { totalCount } } }"#,
            cursor,
        ),
    ] {
        let response = app.graphql(query, json!({ "a": after })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{query} {after}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "after");
    }
}
