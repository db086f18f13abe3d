//! The read cache: a warm page is served from memory, and it is never
//! stale: every write is seen by the very next read, view counts stay live,
//! and with the cache off every page reads the database again.

use crate::common;

use common::{Options, TestApp};
use entity::api_token::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const SLUG: &str = "open-source-llm-lab-shenzhen";

async fn article_page(app: &TestApp) -> Value {
    app.contract_data(
        "article-page.graphql",
        "ArticlePage",
        json!({ "slug": SLUG }),
    )
    .await
}

/// The demo site served with the read cache off.
async fn cache_off() -> TestApp {
    TestApp::spawn_with(Options {
        tweak: |config| config.read_cache_mb = 0,
        ..Options::default()
    })
    .await
}

async fn home_page(app: &TestApp) -> Value {
    app.contract_data("home.graphql", "HomePage", json!({}))
        .await
}

fn latest_titles(home: &Value) -> Vec<String> {
    home["latest"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_warm_article_page_is_served_without_the_database() {
    let app = TestApp::spawn().await;
    let (cold, first) = app.statements_during(article_page(&app)).await;
    let (warm, second) = app.statements_during(article_page(&app)).await;

    // The cache's generation, the section tree, and the article read with
    // its tags, comments and (on PostgreSQL) related teasers.
    assert!(
        cold >= 3,
        "the first read loads the page: {cold} statements"
    );
    // Only the view totals may be read again (they are trusted for a second).
    assert!(warm <= 1, "a warm page ran {warm} statements");
    assert_eq!(first, second, "the cached page is the same page");
    assert!(app.state.cache.entry_count().await > 0);
}

#[tokio::test]
async fn with_the_cache_off_every_read_goes_to_the_database() {
    let app = cache_off().await;
    let (_, first) = app.statements_during(article_page(&app)).await;
    let (again, second) = app.statements_during(article_page(&app)).await;

    // One statement reads the article with its tags, comments, related
    // teasers and the section tree's version (which says the tree read by
    // the first page is still current).
    assert!(again >= 1, "the second read ran {again} statements");
    assert_eq!(first, second);
    assert_eq!(app.state.cache.entry_count().await, 0);

    // A change the server never hears about is seen by the next read.
    app.db
        .execute_unprepared(&format!(
            "UPDATE articles SET title = '改过的标题' WHERE slug = '{SLUG}'"
        ))
        .await
        .unwrap();
    assert_eq!(article_page(&app).await["article"]["title"], "改过的标题");
}

#[tokio::test]
async fn with_the_cache_off_a_section_changed_by_anyone_is_seen_at_once() {
    let app = cache_off().await;
    let page = article_page(&app).await;
    let section = page["article"]["category"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (steady, _) = app.tree_reads_during(article_page(&app)).await;
    assert_eq!(steady, 0, "the tree read by the first page is reused");

    // Another process, or a hand-written statement: nothing this server
    // hears about. The database's trigger moves the tree's version on.
    app.db
        .execute_unprepared(&format!(
            "UPDATE categories SET name = '人工智能（改）' WHERE slug = '{section}'"
        ))
        .await
        .unwrap();
    let (reread, after) = app.tree_reads_during(article_page(&app)).await;
    assert_eq!(after["article"]["category"]["name"], "人工智能（改）");
    assert_eq!(reread, 1, "the changed tree is read again");

    let (settled, again) = app.tree_reads_during(article_page(&app)).await;
    assert_eq!(again["article"]["category"]["name"], "人工智能（改）");
    assert_eq!(settled, 0, "then reused while it is current");
}

#[tokio::test]
async fn every_write_is_seen_by_the_next_read_of_a_warm_page() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let moderator = app.token(Role::Moderator).await;
    let page = article_page(&app).await;
    let home = home_page(&app).await;
    let id = page["article"]["id"].clone();
    assert!(latest_titles(&home).contains(&page["article"]["title"].as_str().unwrap().to_owned()));

    // An edit: the article page and every list that shows it.
    app.data_as(
        &editor,
        r#"mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: "缓存之后的新标题" }) { article { version } } }"#,
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        article_page(&app).await["article"]["title"],
        "缓存之后的新标题"
    );
    assert!(latest_titles(&home_page(&app).await).contains(&"缓存之后的新标题".to_owned()));

    // A section renamed: the breadcrumb and the home page's sections.
    let section = page["article"]["category"]["id"].clone();
    app.data_as(
        &editor,
        r#"mutation($id: ID!) { updateCategory(id: $id, input: { name: "人工智能（新）" }) { category { name } } }"#,
        json!({ "id": section }),
    )
    .await;
    assert_eq!(
        article_page(&app).await["article"]["category"]["name"],
        "人工智能（新）"
    );

    // A comment approved: on the page, and counted.
    let comments_before = page["article"]["commentCount"].as_i64().unwrap();
    let added = app
        .graphql(
            r#"mutation($id: ID!) { addComment(input: { articleId: $id, authorName: "读者", authorEmail: "r@example.com", body: "缓存测试的评论" }) { comment { id status } } }"#,
            json!({ "id": id }),
        )
        .await;
    let comment = added["data"]["addComment"]["comment"]["id"].clone();
    assert_eq!(
        article_page(&app).await["article"]["commentCount"],
        comments_before,
        "a held comment is not shown"
    );
    app.data_as(
        &moderator,
        "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { status } } }",
        json!({ "ids": [comment] }),
    )
    .await;
    let after = article_page(&app).await;
    assert_eq!(after["article"]["commentCount"], comments_before + 1);
    assert_eq!(
        after["article"]["comments"]["edges"][0]["node"]["body"],
        "缓存测试的评论"
    );

    // Archived: gone from the article page and from the lists.
    app.data_as(
        &editor,
        "mutation($id: ID!) { archiveArticle(id: $id) { article { status } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(article_page(&app).await["article"], Value::Null);
    assert!(!latest_titles(&home_page(&app).await).contains(&"缓存之后的新标题".to_owned()));
}

#[tokio::test]
async fn view_counts_stay_live_under_a_warm_cache() {
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::ZERO,
        ..Options::default()
    })
    .await;
    let before = article_page(&app).await["article"]["viewCount"]
        .as_i64()
        .unwrap();
    let id = article_page(&app).await["article"]["id"].clone();
    for _ in 0..3 {
        app.graphql(
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": id }),
        )
        .await;
    }
    assert_eq!(
        article_page(&app).await["article"]["viewCount"],
        before + 3,
        "buffered views count at once"
    );
    // After the buffer is written (every 250 ms), neither lost nor doubled.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(article_page(&app).await["article"]["viewCount"], before + 3);
    // Every public article is in this list, so the viewed one must be too.
    let listed = app
        .graphql(
            "{ articles(first: 100, orderBy: MOST_VIEWED) { edges { node { id viewCount } } } }",
            json!({}),
        )
        .await;
    let shown = listed["data"]["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["id"] == id)
        .map(|edge| edge["node"]["viewCount"].clone())
        .expect("the viewed article is listed");
    assert_eq!(shown, before + 3, "teasers show the live count too");
}

#[tokio::test]
async fn written_views_reorder_a_warm_most_viewed_list() {
    let app = TestApp::spawn_with(Options {
        demo: false,
        view_window: std::time::Duration::ZERO,
        ..Options::default()
    })
    .await;
    let first = app.arrange().first_and_second().await;
    let most_viewed = || async {
        app.graphql(
            "{ articles(first: 1, orderBy: MOST_VIEWED) { edges { node { slug } } } }",
            json!({}),
        )
        .await["data"]["articles"]["edges"][0]["node"]["slug"]
            .clone()
    };
    // Tied at 0 views: the higher id (the later article) comes first.
    assert_eq!(most_viewed().await, "second");
    for _ in 0..2 {
        app.graphql(
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": first }),
        )
        .await;
    }
    // Once the buffered views are written (every 250 ms), the cached list,
    // which would otherwise live for 10 s, is read again.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(most_viewed().await, "first");
}

#[tokio::test]
async fn a_change_to_one_article_leaves_the_other_warm_pages_cached() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let moderator = app.token(Role::Moderator).await;
    let page = |slug: &'static str| {
        app.contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": slug }),
        )
    };
    let (changed, other) = ("city-night-bus", "quantum-lab-students");
    let related: Vec<Value> = page(other).await["article"]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|teaser| teaser["slug"].clone())
        .collect();
    assert!(!related.contains(&json!(changed)), "{related:?}");
    page(changed).await;
    let list = "{ articles(first: 50) { edges { node { slug title commentCount } } } }";
    app.graphql(list, json!({})).await;
    let id = app.article_id(changed).await;

    // A comment approved on one article.
    common::approved_comment_through_api(&app, &moderator, id, "终于等到").await;
    // The other page is still served from memory (at most its view total
    // is read); the commented one, and the list showing its count, are new.
    let (other_cost, _) = app.statements_during(page(other)).await;
    assert!(
        other_cost <= 1,
        "the other page ran {other_cost} statements"
    );
    let (changed_cost, shown) = app.statements_during(page(changed)).await;
    assert!(changed_cost >= 1, "the changed page was read again");
    assert!(shown.to_string().contains("终于等到"), "{shown}");
    let listed = app.graphql(list, json!({})).await;
    let teaser = listed["data"]["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|edge| edge["node"]["slug"] == changed)
        .unwrap()["node"]
        .clone();
    assert_eq!(teaser["commentCount"], shown["article"]["commentCount"]);

    // An edited title: the other page stays cached, every list shows it.
    let version = app
        .graphql(
            "query($id: ID) { article(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await["data"]["article"]["version"]
        .as_i64()
        .unwrap();
    app.data_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, version: $v, input: { title: \"夜班公交再延长\" }) { article { id } } }",
        json!({ "id": id, "v": version }),
    )
    .await;
    let (other_cost, _) = app.statements_during(page(other)).await;
    assert!(
        other_cost <= 1,
        "the other page ran {other_cost} statements"
    );
    let listed = app.graphql(list, json!({})).await;
    assert!(listed.to_string().contains("夜班公交再延长"), "{listed}");
    assert_eq!(page(changed).await["article"]["title"], "夜班公交再延长");
}

/// How long a ranking by period lives in the test below.
const RANKING_TTL: std::time::Duration = std::time::Duration::from_millis(300);

#[tokio::test]
async fn a_warm_page_outlives_the_rankings_that_views_move() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.ranking_ttl = RANKING_TTL,
        ..Options::default()
    })
    .await;
    let ranking = || async {
        app.graphql(
            "{ mostViewed(period: WEEK, first: 3) { views article { id } } }",
            json!({}),
        )
        .await
    };
    let first = article_page(&app).await;
    ranking().await;
    let (warm_ranking, _) = app.statements_during(ranking()).await;
    assert_eq!(warm_ranking, 0, "the ranking is cached");
    tokio::time::sleep(RANKING_TTL * 3).await;
    // Nothing changed: the page's entries live the read cache's time (an
    // hour by default), whatever rankings do. Only the view totals may be
    // read again.
    let (warm, second) = app.statements_during(article_page(&app)).await;
    assert!(warm <= 1, "a warm page ran {warm} statements");
    assert_eq!(first, second);
    let (recounted, _) = app.statements_during(ranking()).await;
    assert!(recounted >= 1, "the ranking is counted again");
}
