//! Keyset pagination: paging through a list while others write to it never
//! repeats or skips an item that existed when paging began, ties in the sort
//! key included; `first` is bounded and bad cursors are refused.

use crate::common;

use std::collections::HashSet;

use chrono::{SubsecRound, Utc};
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

/// Walks a whole list backward from its end, `page_size` items at a time,
/// calling `between` after each page; returns every slug seen, in the
/// list's order, and each page's (`hasPreviousPage`, `hasNextPage`).
async fn walk_backward<F, Fut>(
    app: &TestApp,
    order: &str,
    page_size: i32,
    mut between: F,
) -> (Vec<String>, Vec<(Value, Value)>)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let query = format!(
        "query($last: Int, $before: String) {{ articles(last: $last, before: $before, orderBy: {order}) {{
            pageInfo {{ hasPreviousPage hasNextPage startCursor endCursor }} edges {{ cursor node {{ slug }} }} }} }}"
    );
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut flags = Vec::new();
    let mut before = Value::Null;
    for page in 0.. {
        let response = app
            .graphql(&query, json!({ "last": page_size, "before": before }))
            .await;
        let connection = &response["data"]["articles"];
        let info = &connection["pageInfo"];
        flags.push((info["hasPreviousPage"].clone(), info["hasNextPage"].clone()));
        let slugs = edge_slugs(connection);
        let cursors: Vec<Value> = connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["cursor"].clone())
            .collect();
        assert_eq!(
            info["startCursor"],
            cursors.first().cloned().unwrap_or(Value::Null)
        );
        assert_eq!(
            info["endCursor"],
            cursors.last().cloned().unwrap_or(Value::Null)
        );
        pages.push(slugs);
        if info["hasPreviousPage"] != json!(true) {
            break;
        }
        before = info["startCursor"].clone();
        between(page).await;
    }
    pages.reverse();
    (pages.concat(), flags)
}

#[tokio::test]
async fn paging_backward_sees_the_list_forward_paging_sees() {
    let app = TestApp::spawn_empty().await;
    arrange_ties(&app).await;

    for order in ["NEWEST", "OLDEST", "MOST_VIEWED", "MOST_COMMENTED"] {
        let forward = walk(&app, order, 5, |_| async {}).await;
        let (backward, flags) = walk_backward(&app, order, 5, |_| async {}).await;
        assert_eq!(backward, forward, "{order}");
        // 12 items in pages of 5 from the end: 5, 5, then 2.
        assert_eq!(
            flags,
            vec![
                (json!(true), json!(false)),
                (json!(true), json!(true)),
                (json!(false), json!(true)),
            ],
            "{order}"
        );
    }

    // Forward pages say truthfully whether items precede them.
    let query = "query($after: String) { articles(first: 5, after: $after) { pageInfo { hasPreviousPage endCursor } } }";
    let first = app.graphql(query, json!({ "after": null })).await;
    assert_eq!(
        first["data"]["articles"]["pageInfo"]["hasPreviousPage"],
        false
    );
    let cursor = first["data"]["articles"]["pageInfo"]["endCursor"].clone();
    let second = app.graphql(query, json!({ "after": cursor })).await;
    assert_eq!(
        second["data"]["articles"]["pageInfo"]["hasPreviousPage"],
        true
    );
}

#[tokio::test]
async fn articles_published_while_paging_backward_do_not_disturb_the_walk() {
    let app = TestApp::spawn_empty().await;
    let slugs = arrange_ties(&app).await;
    let section = app.arrange().category("late", None, 1).await;

    let (seen, _) = walk_backward(&app, "NEWEST", 4, |page| {
        let arrange = app.arrange();
        async move {
            // One newer article, and one tying with what is being paged.
            arrange
                .article(
                    &format!("new-{page}"),
                    section,
                    ArticleStatus::Published,
                    // As the server stamps times: to the microsecond.
                    Utc::now().trunc_subsecs(6),
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
    let old: Vec<&String> = seen.iter().filter(|slug| slugs.contains(slug)).collect();
    assert_eq!(old.len(), 12, "{seen:?}");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "repeated: {seen:?}");
}

#[tokio::test]
async fn comments_page_backward_too() {
    let app = TestApp::spawn_empty().await;
    let section = app.arrange().category("s", None, 0).await;
    let article = app
        .arrange()
        .article("talked-about", section, ArticleStatus::Published, past(1))
        .await;
    for index in 0..7 {
        // Ties in pairs.
        app.arrange()
            .approved_comment(article, &format!("c{index}"), past(index / 2))
            .await;
    }
    let query = "query($first: Int, $after: String, $last: Int, $before: String) {
        article(slug: \"talked-about\") { comments(first: $first, after: $after, last: $last, before: $before) {
            pageInfo { hasPreviousPage hasNextPage startCursor } edges { node { body } } } } }";
    let bodies = |response: &Value| -> Vec<String> {
        response["data"]["article"]["comments"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.graphql(query, json!({ "first": 100 })).await;
    let forward = bodies(&all);
    assert_eq!(forward.len(), 7);

    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut before = Value::Null;
    loop {
        let page = app
            .graphql(query, json!({ "last": 3, "before": before }))
            .await;
        seen.push(bodies(&page));
        let info = &page["data"]["article"]["comments"]["pageInfo"];
        if info["hasPreviousPage"] != json!(true) {
            break;
        }
        before = info["startCursor"].clone();
    }
    seen.reverse();
    assert_eq!(seen.concat(), forward);
}

#[tokio::test]
async fn mixed_directions_and_foreign_cursors_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let newest = app
        .graphql(
            "{ articles(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = newest["data"]["articles"]["pageInfo"]["endCursor"].clone();
    for (query, variables, field) in [
        (
            "{ articles(first: 2, last: 2) { totalCount } }",
            json!({}),
            "first",
        ),
        (
            "query($c: String) { articles(after: $c, last: 2) { totalCount } }",
            json!({ "c": cursor }),
            "after",
        ),
        (
            "query($c: String) { articles(last: 2, before: $c, orderBy: OLDEST) { totalCount } }",
            json!({ "c": cursor }),
            "before",
        ),
        ("{ articles(last: 101) { totalCount } }", json!({}), "last"),
        ("{ articles(last: -1) { totalCount } }", json!({}), "last"),
    ] {
        let response = app.graphql(query, variables).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{query}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{query}"
        );
    }

    // Neither `first` nor `last`, or an explicit null: twenty, as documented.
    for query in [
        "{ articles { edges { cursor } } }",
        "query($n: Int) { articles(first: $n) { edges { cursor } } }",
    ] {
        let response = app.graphql(query, json!({ "n": null })).await;
        let count = response["data"]["articles"]["edges"]
            .as_array()
            .unwrap()
            .len();
        let total = app.graphql("{ articles { totalCount } }", json!({})).await["data"]["articles"]
            ["totalCount"]
            .as_u64()
            .unwrap();
        assert_eq!(count as u64, total.min(20), "{query}");
    }
}

/// A tag's list in publication order is read from the tag's links (their
/// copy of each article's public time), a small tag's list in another
/// order from its articles read by id: paged either way, through ties, it
/// holds what the whole list holds of the tag's articles, in its order.
#[tokio::test]
async fn a_tags_list_pages_as_the_whole_list_orders_it() {
    let app = TestApp::spawn_empty().await;
    let slugs = arrange_ties(&app).await;
    let arrange = app.arrange();
    let tag = arrange.tag("t").await;
    let tagged: Vec<&String> = slugs.iter().filter(|slug| !slug.ends_with('1')).collect();
    for slug in &tagged {
        arrange.tag_article(app.article_id(slug).await, tag).await;
    }
    let section = app.arrange().category("hidden", None, 1).await;
    let draft = arrange
        .article("draft", section, ArticleStatus::Draft, past(0))
        .await;
    arrange.tag_article(draft, tag).await;

    // Publication orders from the links' index; the others (a tag this
    // small) from the tagged articles read by id.
    let orders = [
        "NEWEST",
        "OLDEST",
        "MOST_VIEWED",
        "MOST_COMMENTED",
        "RECENTLY_UPDATED",
    ];
    for order in orders {
        let whole = walk(&app, order, 100, |_| async {}).await;
        let expected: Vec<String> = whole
            .into_iter()
            .filter(|slug| tagged.contains(&slug))
            .collect();
        assert_eq!(expected.len(), 10, "{order}");
        // The list's arguments follow `orderBy` in the helpers' queries.
        let tag_list = format!(r#"{order}, filter: {{ tag: "t" }}"#);
        let forward = walk(&app, &tag_list, 3, |_| async {}).await;
        assert_eq!(forward, expected, "{order} forward");
        let (backward, _) = walk_backward(&app, &tag_list, 3, |_| async {}).await;
        assert_eq!(backward, expected, "{order} backward");
    }

    // Two tags' first pages in one request are read in one batch.
    let other = arrange.tag("u").await;
    for slug in ["tie-00", "tie-01", "tie-05", "tie-09"] {
        arrange.tag_article(app.article_id(slug).await, other).await;
    }
    let newest = walk(&app, "NEWEST", 100, |_| async {}).await;
    let first_three = |tag_slugs: &[&str]| -> Vec<String> {
        newest
            .iter()
            .filter(|slug| tag_slugs.contains(&slug.as_str()))
            .take(3)
            .cloned()
            .collect()
    };
    let both = app
        .data(
            r#"{ t: tag(slug: "t") { articles(first: 3) { edges { node { slug } } } }
                 u: tag(slug: "u") { articles(first: 3) { edges { node { slug } } } } }"#,
            json!({}),
        )
        .await;
    let tagged_t: Vec<&str> = tagged.iter().map(|slug| slug.as_str()).collect();
    assert_eq!(edge_slugs(&both["t"]["articles"]), first_three(&tagged_t));
    assert_eq!(
        edge_slugs(&both["u"]["articles"]),
        first_three(&["tie-00", "tie-01", "tie-05", "tie-09"])
    );
}
