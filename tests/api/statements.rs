//! No N+1: each contract page issues a fixed, small number of SQL statements
//! however much data it shows. The bounds are in the tests; keep them small.

use crate::common;

use chrono::Utc;
use common::{Options, TestApp, past};
use entity::article::ArticleStatus;
use serde_json::json;

/// A site of `sections` top sections, each with a sub-section, and
/// `per_section` articles in each sub-section, all tagged. The read cache is
/// off: these bounds are what a page costs when nothing is cached
/// (`tests/api/read_cache.rs` shows a warm page costs nothing).
async fn site(sections: usize, per_section: usize) -> TestApp {
    let app = TestApp::spawn_with(Options {
        demo: false,
        tweak: |config| config.read_cache_mb = 0,
        ..Options::default()
    })
    .await;
    let arrange = app.arrange();
    let tag = arrange.tag("t").await;
    for s in 0..sections {
        let top = arrange.category(&format!("s{s}"), None, s as i32).await;
        let sub = arrange.category(&format!("s{s}-sub"), Some(top), 0).await;
        for a in 0..per_section {
            let id = arrange
                .article(
                    &format!("a{s}-{a}"),
                    sub,
                    ArticleStatus::Published,
                    past((a % 50) as i64),
                )
                .await;
            arrange.tag_article(id, tag).await;
        }
    }
    app
}

#[tokio::test]
async fn the_home_page_costs_the_same_for_4_by_3_and_40_by_20() {
    let small = site(4, 3).await;
    let large = site(40, 20).await;

    let (small_count, small_page) = small
        .statements_during(small.contract_data("home.graphql", "HomePage", json!({})))
        .await;
    let (large_count, large_page) = large
        .statements_during(large.contract_data(
            "home.graphql",
            "HomePage",
            json!({ "perSection": 20 }),
        ))
        .await;

    assert_eq!(small_page["categories"].as_array().unwrap().len(), 4);
    assert_eq!(large_page["categories"].as_array().unwrap().len(), 40);
    assert_eq!(
        large_page["categories"][39]["articles"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(small_count, large_count);
    // Sections, the batched first pages (one statement for every
    // section's teasers), latest and popular. The view totals come from the
    // rows those read: the view counter learns their stored counts.
    assert!(small_count <= 4, "{small_count} statements");
}

#[tokio::test]
async fn the_category_page_costs_the_same_for_5_and_100_articles() {
    let app = site(2, 120).await;

    let (five, _) = app
        .statements_during(app.contract_data(
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "s0", "first": 5 }),
        ))
        .await;
    let (hundred, page) = app
        .statements_during(app.contract_data(
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "s0", "first": 100 }),
        ))
        .await;

    assert_eq!(
        page["category"]["articles"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(five, hundred);
    // Sections, the page (with its stored view counts) and its count.
    assert!(five <= 3, "{five} statements");
}

#[tokio::test]
async fn the_article_page_costs_the_same_with_2_and_200_comments() {
    let app = site(2, 10).await;
    let few = app.article_id("a0-1").await;
    let many = app.article_id("a0-2").await;
    for n in 0..2 {
        app.arrange()
            .approved_comment(few, &format!("c{n}"), Utc::now())
            .await;
    }
    for n in 0..200 {
        app.arrange()
            .approved_comment(many, &format!("c{n}"), Utc::now())
            .await;
    }

    // The first page reads the section tree; later ones learn from the
    // article statement that it is unchanged (tests/api/read_cache.rs).
    app.contract_data(
        "article-page.graphql",
        "ArticlePage",
        json!({ "slug": "a0-3" }),
    )
    .await;
    let (two, _) = app
        .statements_during(app.contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "a0-1", "commentsFirst": 100 }),
        ))
        .await;
    let (two_hundred, page) = app
        .statements_during(app.contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "a0-2", "commentsFirst": 100 }),
        ))
        .await;

    assert_eq!(
        page["article"]["comments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(page["article"]["comments"]["totalCount"], 200);
    assert_eq!(two, two_hundred);
    // One statement for the article with its tags, the section tree's
    // version, its first comments and its stored view count (which the
    // view counter learns); these are first reads, so one more ranks the
    // related teasers and one keeps the ranking for the next cold read.
    assert!(two <= 3, "{two} statements");
}

#[tokio::test]
async fn a_view_flush_costs_the_same_for_3_and_30_articles() {
    // Buffered for an hour: only the flushes below write.
    let app = TestApp::spawn_with(Options {
        demo: false,
        ..Options::views_flushed_by_hand()
    })
    .await;
    let arrange = app.arrange();
    let section = arrange.category("news", None, 0).await;
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(
            arrange
                .article(&format!("a{n}"), section, ArticleStatus::Published, past(1))
                .await,
        );
    }
    let app = &app;
    let ids = &ids;
    let flush_of = |count: usize| async move {
        let views = &app.state.views;
        for id in &ids[..count] {
            views.record(*id, None, Utc::now()).await.unwrap();
        }
        let (statements, written) = app.statements_during(views.flush()).await;
        assert_eq!(written.unwrap(), count as i64);
        statements
    };
    let three = flush_of(3).await;
    let thirty = flush_of(30).await;
    assert_eq!(
        three, thirty,
        "one statement for all the articles, not one each"
    );
    // Begin, the counts, the per-day counts, reading the totals back, commit.
    assert!(three <= 5, "{three} statements");
}

/// How many statements `query` costs with `$first` items, on a warm-up
/// request's heels (the section tree read once).
async fn list_cost(app: &TestApp, query: &str, first: i64) -> (usize, serde_json::Value) {
    app.data(query, json!({ "first": 1 })).await;
    app.statements_during(app.data(query, json!({ "first": first })))
        .await
}

#[tokio::test]
async fn comments_and_related_on_every_item_of_a_list_cost_the_same_for_5_and_20() {
    let app = site(2, 10).await;
    for slug in (0..2).flat_map(|s| (0..10).map(move |a| format!("a{s}-{a}"))) {
        let id = app.article_id(&slug).await;
        for n in 0..3 {
            app.arrange()
                .approved_comment(id, &format!("{slug} c{n}"), Utc::now())
                .await;
        }
    }
    let comments = "query($first: Int!) { articles(first: $first) { edges { node { id comments(first: 2) { edges { node { id body } } } } } } }";
    let (five, _) = list_cost(&app, comments, 5).await;
    let (twenty, page) = list_cost(&app, comments, 20).await;
    let edges = page["articles"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 20);
    for edge in edges {
        assert_eq!(
            edge["node"]["comments"]["edges"].as_array().unwrap().len(),
            2,
            "{edge}"
        );
    }
    assert_eq!(five, twenty, "comments: 5 items {five}, 20 items {twenty}");
    // The list, then every item's first comments in one statement.
    assert!(twenty <= 2, "{twenty} statements");

    let related = "query($first: Int!) { articles(first: $first) { edges { node { id related(first: 3) { id } } } } }";
    let (five, _) = list_cost(&app, related, 5).await;
    let (twenty, page) = list_cost(&app, related, 20).await;
    for edge in page["articles"]["edges"].as_array().unwrap() {
        let related = edge["node"]["related"].as_array().unwrap();
        assert_eq!(related.len(), 3, "{edge}");
        assert!(
            related
                .iter()
                .all(|teaser| teaser["id"] != edge["node"]["id"])
        );
    }
    assert_eq!(five, twenty, "related: 5 items {five}, 20 items {twenty}");
}

#[tokio::test]
async fn every_tags_articles_cost_the_same_for_5_and_20_tags() {
    let cost = |tags: usize| async move {
        let app = site(1, 6).await;
        for t in 0..tags {
            let tag = app.arrange().tag(&format!("tag{t}")).await;
            for a in 0..3 {
                let id = app.article_id(&format!("a0-{}", (t + a) % 6)).await;
                app.arrange().tag_article(id, tag).await;
            }
        }
        let query = "query($first: Int!) { tags { id slug articles(first: $first) { edges { node { id } } } } }";
        let (count, data) = list_cost(&app, query, 3).await;
        let tags_shown = data["tags"].as_array().unwrap();
        assert_eq!(tags_shown.len(), tags + 1);
        for tag in tags_shown.iter().filter(|tag| tag["slug"] != "t") {
            assert_eq!(
                tag["articles"]["edges"].as_array().unwrap().len(),
                3,
                "{tag}"
            );
        }
        count
    };
    let (five, twenty) = (cost(5).await, cost(20).await);
    assert_eq!(five, twenty, "5 tags {five}, 20 tags {twenty}");
    // The tags, then their first pages batched (ids, then rows).
    assert!(twenty <= 3, "{twenty} statements");
}
