//! The response cache as a client sees it: a repeated anonymous query is
//! answered from memory (`x-newsroom-cache: hit`, no statement), a write is
//! seen by the very next read, a kept answer shows the view counts as they
//! are when it is served, and a request with a token never gets a kept
//! answer.

use std::time::Duration;

use entity::api_token::Role;
use serde_json::{Value, json};

use crate::common::{self, TestApp};

/// A server with the response cache on.
async fn spawn() -> TestApp {
    TestApp::spawn_with(common::Options {
        view_window: Duration::ZERO,
        tweak: |config| config.response_cache_mb = 8,
        ..common::Options::default()
    })
    .await
}

/// POSTs `query` as `token` (when given); whether the answer came from the
/// response cache, and its JSON.
async fn ask(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> (bool, Value) {
    let mut request = app
        .client
        .post(app.graphql_url())
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let hit = response
        .headers()
        .get("x-newsroom-cache")
        .is_some_and(|value| value == "hit");
    (hit, response.json().await.unwrap())
}

const TITLE: &str = "query($slug: String!) { article(slug: $slug) { id title } }";

#[tokio::test]
async fn a_repeated_query_is_answered_from_memory_and_a_write_is_seen_at_once() {
    let app = spawn().await;
    let editor = app.token(Role::Editor).await;
    let vars = json!({ "slug": "city-night-bus" });
    let (hit, first) = ask(&app, None, TITLE, vars.clone()).await;
    assert!(!hit);
    let (statements, (hit, again)) = app
        .statements_during(ask(&app, None, TITLE, vars.clone()))
        .await;
    assert!(hit, "the second ask is kept");
    assert_eq!(statements, 0);
    assert_eq!(again, first);
    // Other variables are another answer.
    let (hit, _) = ask(&app, None, TITLE, json!({ "slug": "ai-weather-forecast" })).await;
    assert!(!hit);

    let id = app.article_id("city-night-bus").await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: \"缓存之后的新标题\" }) { article { id } } }",
        json!({ "id": id }),
    )
    .await;
    let (hit, changed) = ask(&app, None, TITLE, vars.clone()).await;
    assert!(!hit, "a write drops every kept answer");
    assert_eq!(changed["data"]["article"]["title"], "缓存之后的新标题");
    let (hit, kept) = ask(&app, None, TITLE, vars.clone()).await;
    assert!(hit);
    assert_eq!(kept, changed);

    // A takedown: gone on the next read.
    app.data_as(
        &editor,
        "mutation($id: ID!) { unpublishArticle(id: $id) { article { id } } }",
        json!({ "id": id }),
    )
    .await;
    let (hit, gone) = ask(&app, None, TITLE, vars).await;
    assert!(!hit);
    assert!(gone["data"]["article"].is_null(), "{gone}");
}

#[tokio::test]
async fn a_kept_answer_shows_the_current_view_counts() {
    let app = spawn().await;
    let id = app.article_id("city-night-bus").await;
    let other = app.article_id("ai-weather-forecast").await;
    // The same article twice (once under an alias) and another, in a list.
    let query = "query($id: ID!) { article(id: $id) { id viewCount again: viewCount related(first: 3) { id viewCount } } }";
    let vars = json!({ "id": id });
    let (_, before) = ask(&app, None, query, vars.clone()).await;
    let count = before["data"]["article"]["viewCount"].as_i64().unwrap();
    let (hit, kept) = ask(&app, None, query, vars.clone()).await;
    assert!(hit);
    assert_eq!(kept, before);
    for article in [id, other] {
        app.data(
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": article }),
        )
        .await;
    }
    // Still the kept answer, with the counts as they are now (before any
    // flush), not as they were.
    let (hit, after) = ask(&app, None, query, vars).await;
    assert!(hit, "kept beyond a flush interval");
    let article = &after["data"]["article"];
    assert_eq!(article["viewCount"], count + 1, "{after}");
    assert_eq!(article["again"], count + 1, "{after}");
    for (teaser, was) in article["related"]
        .as_array()
        .unwrap()
        .iter()
        .zip(before["data"]["article"]["related"].as_array().unwrap())
    {
        let bump = i64::from(teaser["id"] == json!(other.to_string()));
        assert_eq!(
            teaser["viewCount"],
            was["viewCount"].as_i64().unwrap() + bump
        );
    }
}

#[tokio::test]
async fn a_request_with_a_token_never_gets_a_kept_answer() {
    let app = spawn().await;
    let editor = app.token(Role::Editor).await;
    let vars = json!({ "slug": "draft-ai-chip-roadmap" });
    // A reader's answer (no such public article) is kept ...
    ask(&app, None, TITLE, vars.clone()).await;
    let (hit, reader) = ask(&app, None, TITLE, vars.clone()).await;
    assert!(hit);
    assert!(reader["data"]["article"].is_null());
    // ... and an editor's preview of the draft is worked out for them.
    for _ in 0..2 {
        let (hit, preview) = ask(&app, Some(&editor), TITLE, vars.clone()).await;
        assert!(!hit);
        assert!(preview["data"]["article"]["title"].is_string(), "{preview}");
    }
}

#[tokio::test]
async fn a_write_drops_only_the_answers_that_show_what_it_touched() {
    let app = spawn().await;
    let editor = app.token(Role::Editor).await;
    let edited = json!({ "slug": "city-night-bus" });
    let untouched = json!({ "slug": "ai-weather-forecast" });
    ask(&app, None, TITLE, edited.clone()).await;
    ask(&app, None, TITLE, untouched.clone()).await;
    let id = app.article_id("city-night-bus").await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: \"只换这一篇\" }) { article { id } } }",
        json!({ "id": id }),
    )
    .await;
    let (hit, changed) = ask(&app, None, TITLE, edited).await;
    assert!(!hit, "the edited article's answer was dropped");
    assert_eq!(changed["data"]["article"]["title"], "只换这一篇");
    let (hit, _) = ask(&app, None, TITLE, untouched).await;
    assert!(hit, "another article's answer was kept");
}

#[tokio::test]
async fn written_views_reorder_a_kept_list_ordered_by_views() {
    let app = TestApp::spawn_with(common::Options {
        demo: false,
        view_window: Duration::ZERO,
        tweak: |config| config.response_cache_mb = 8,
        ..common::Options::default()
    })
    .await;
    let first = app.arrange().first_and_second().await;
    // No `viewCount` in it: nothing to write in as it is served.
    let list = "{ articles(first: 1, orderBy: MOST_VIEWED) { edges { node { id slug } } } }";
    let top = |answer: &Value| answer["data"]["articles"]["edges"][0]["node"]["slug"].clone();
    let (_, tied) = ask(&app, None, list, json!({})).await;
    // Tied at 0 views: the later article comes first.
    assert_eq!(top(&tied), "second");
    let (hit, _) = ask(&app, None, list, json!({})).await;
    assert!(hit, "kept until views are written");
    for _ in 0..2 {
        app.data(
            "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
            json!({ "id": first }),
        )
        .await;
    }
    // Once the views are written (every 250 ms), the list is worked out
    // again: no change in the feed says so, so the kept answer lives one
    // flush interval.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_, reordered) = ask(&app, None, list, json!({})).await;
    assert_eq!(top(&reordered), "first", "{reordered}");
}

/// How long a ranking by period lives in the ranking test.
const RANKING_TTL: Duration = Duration::from_millis(300);

#[tokio::test]
async fn a_kept_ranking_by_period_is_counted_again_while_other_answers_stay_kept() {
    let app = TestApp::spawn_with(common::Options {
        view_window: Duration::ZERO,
        tweak: |config| {
            config.response_cache_mb = 8;
            config.ranking_ttl = RANKING_TTL;
        },
        ..common::Options::default()
    })
    .await;
    let ranking = "{ mostViewed(period: WEEK, first: 3) { views article { id } } }";
    let vars = json!({ "slug": "city-night-bus" });
    for (query, variables) in [(ranking, json!({})), (TITLE, vars.clone())] {
        let (hit, _) = ask(&app, None, query, variables.clone()).await;
        assert!(!hit);
        let (hit, _) = ask(&app, None, query, variables).await;
        assert!(hit, "{query} is kept");
    }
    tokio::time::sleep(RANKING_TTL * 3).await;
    let (hit, _) = ask(&app, None, TITLE, vars.clone()).await;
    assert!(hit, "an answer no view moves lives the read cache's time");
    let (statements, (hit, counted)) = app
        .statements_during(ask(&app, None, ranking, json!({})))
        .await;
    assert!(!hit, "the ranking is counted again");
    assert!(statements >= 1, "{statements} statements");
    assert!(counted["errors"].is_null(), "{counted}");
}
