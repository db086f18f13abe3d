//! What the seed page's frontend reaches for beyond the contract: the
//! article before and after in its section (上一篇/下一篇), date ranges, a
//! teaser of chosen length, and a "changed since" feed for sitemaps.

use crate::common;

use chrono::Duration;
use common::{TestApp, edge_slugs, error_code, past};
use entity::article::{self, ArticleStatus};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

/// The slugs of `previous` and `next` of the article with `slug`.
async fn neighbours(app: &TestApp, slug: &str) -> (Value, Value) {
    let data = app
        .data(
            "query($slug: String!) { article(slug: $slug) { previous { slug } next { slug } } }",
            json!({ "slug": slug }),
        )
        .await;
    let article = &data["article"];
    (
        article["previous"]["slug"].clone(),
        article["next"]["slug"].clone(),
    )
}

#[tokio::test]
async fn previous_and_next_stay_in_the_section_and_skip_what_is_not_public() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let news = arrange.category("news", None, 0).await;
    let sport = arrange.category("sport", None, 1).await;
    arrange
        .article("first", news, ArticleStatus::Published, past(5))
        .await;
    arrange
        .article("other-section", sport, ArticleStatus::Published, past(4))
        .await;
    arrange
        .article("draft", news, ArticleStatus::Draft, past(4))
        .await;
    arrange
        .article("middle", news, ArticleStatus::Published, past(3))
        .await;
    arrange
        .article("tie", news, ArticleStatus::Published, past(3))
        .await;
    arrange
        .article("last", news, ArticleStatus::Published, past(1))
        .await;
    arrange
        .article(
            "scheduled",
            news,
            ArticleStatus::Published,
            chrono::Utc::now() + Duration::days(2),
        )
        .await;

    // "middle" and "tie" share a time; ids (v7, made in that order) break it.
    let table = [
        ("first", Value::Null, json!("middle")),
        ("middle", json!("first"), json!("tie")),
        ("tie", json!("middle"), json!("last")),
        ("last", json!("tie"), Value::Null),
    ];
    for (slug, previous, next) in table {
        assert_eq!(neighbours(&app, slug).await, (previous, next), "{slug}");
    }
}

#[tokio::test]
async fn a_date_range_and_a_changed_since_feed_narrow_the_list() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let news = arrange.category("news", None, 0).await;
    let mut ids = Vec::new();
    for day in 0..6 {
        ids.push(
            arrange
                .article(
                    &format!("day-{day}"),
                    news,
                    ArticleStatus::Published,
                    past(day),
                )
                .await,
        );
    }
    let list = |filter: Value, order: &str| {
        let query = format!(
            "query($filter: ArticleFilter) {{ articles(filter: $filter, orderBy: {order}) {{ totalCount edges {{ node {{ slug }} }} }} }}"
        );
        let app = &app;
        async move { app.data(&query, json!({ "filter": filter })).await["articles"].clone() }
    };
    let at = |day: i64| past(day).to_rfc3339();

    // From day 4 (inclusive) to day 1 (exclusive), newest first.
    let range = list(
        json!({ "publishedAfter": at(4), "publishedBefore": at(1) }),
        "NEWEST",
    )
    .await;
    assert_eq!(edge_slugs(&range), ["day-2", "day-3", "day-4"]);
    assert_eq!(range["totalCount"], 3);

    // Editing an old article moves it to the front of the changed-since feed.
    let edited = ids[5];
    let mut row = article::Entity::find_by_id(edited)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.updated_at = Set(past(0) + Duration::hours(1));
    row.update(&app.db).await.unwrap();
    app.state.content_changed();
    let changed = list(json!({ "updatedSince": at(1) }), "RECENTLY_UPDATED").await;
    assert_eq!(edge_slugs(&changed), ["day-5", "day-0", "day-1"]);

    // A reversed range is simply empty; a malformed time is the client's error.
    let reversed = list(
        json!({ "publishedAfter": at(1), "publishedBefore": at(4) }),
        "NEWEST",
    )
    .await;
    assert_eq!(reversed["totalCount"], 0);
    let malformed = app
        .graphql(
            "{ articles(filter: { publishedAfter: \"yesterday\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_summary_takes_the_length_a_teaser_has_room_for() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ articles(first: 5) { edges { node { short: summary(length: 24) long: summary(length: 300) summary } } } }",
            json!({}),
        )
        .await;
    for edge in data["articles"]["edges"].as_array().unwrap() {
        let node = &edge["node"];
        let short = node["short"].as_str().unwrap();
        assert!(short.chars().count() <= 24, "{short}");
        let long = node["long"].as_str().unwrap();
        assert!(long.chars().count() <= 300, "{long}");
        let default = node["summary"].as_str().unwrap();
        assert!(long.chars().count() >= short.chars().count().min(default.chars().count()));
    }
    for length in [0, 301, -5] {
        let refused = app
            .graphql(
                &format!("{{ articles(first: 1) {{ edges {{ node {{ summary(length: {length}) }} }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{length}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], "length");
    }
}

/// Sends `views` views of `article` (the server counts every one: its
/// de-duplication window is off) and writes what is buffered.
async fn view(app: &TestApp, article: uuid::Uuid, views: usize) {
    send_views(app, article, views).await;
    app.state.views.flush().await.unwrap();
}

/// Sends `views` views of `article`, leaving them buffered.
async fn send_views(app: &TestApp, article: uuid::Uuid, views: usize) {
    for _ in 0..views {
        app.client
            .post(app.graphql_url())
            .json(&json!({
                "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
                "variables": { "id": article },
            }))
            .send()
            .await
            .unwrap();
    }
}

/// How long a ranking is served from the cache in the ranking test.
const RANKING_TTL: std::time::Duration = std::time::Duration::from_millis(500);

#[tokio::test]
async fn most_viewed_ranks_by_the_views_of_the_period_asked_for() {
    let app = TestApp::spawn_with(common::Options {
        demo: false,
        view_window: std::time::Duration::ZERO,
        tweak: |config| config.ranking_ttl = RANKING_TTL,
        ..common::Options::default()
    })
    .await;
    let arrange = app.arrange();
    let news = arrange.category("news", None, 0).await;
    let sport = arrange.category("sport", None, 1).await;
    let a = arrange
        .article("a", news, ArticleStatus::Published, past(3))
        .await;
    let b = arrange
        .article("b", news, ArticleStatus::Published, past(2))
        .await;
    let c = arrange
        .article("c", sport, ArticleStatus::Published, past(1))
        .await;
    let old_favourite = arrange
        .article("old", news, ArticleStatus::Published, past(40))
        .await;
    // Three articles' views written by one flush: one per-day statement.
    for (article, views) in [(a, 2), (b, 5), (c, 3)] {
        send_views(&app, article, views).await;
    }
    app.state.views.flush().await.unwrap();

    // Twelve days ago, "old" had its day: in the month, not in the week.
    use newsroom::content::views::counter::day_number;
    let twelve_days_ago = day_number(chrono::Utc::now()) - 12;
    entity::article_daily_view::Entity::insert(entity::article_daily_view::ActiveModel {
        article_id: Set(old_favourite),
        day: Set(twelve_days_ago),
        views: Set(100),
    })
    .exec(&app.db)
    .await
    .unwrap();
    app.state.content_changed();

    let ranking = |period: &'static str, category: Value| {
        let app = &app;
        async move {
            let data = app
                .data(
                    &format!("query($category: String) {{ mostViewed(period: {period}, category: $category) {{ views article {{ slug }} }} }}"),
                    json!({ "category": category }),
                )
                .await;
            data["mostViewed"]
                .as_array()
                .unwrap()
                .iter()
                .map(|ranked| {
                    (
                        ranked["article"]["slug"].as_str().unwrap().to_owned(),
                        ranked["views"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let owned = |pairs: &[(&str, i64)]| {
        pairs
            .iter()
            .map(|(s, v)| ((*s).to_owned(), *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ranking("DAY", Value::Null).await,
        owned(&[("b", 5), ("c", 3), ("a", 2)])
    );
    assert_eq!(
        ranking("WEEK", json!("news")).await,
        owned(&[("b", 5), ("a", 2)])
    );
    assert_eq!(
        ranking("MONTH", Value::Null).await,
        owned(&[("old", 100), ("b", 5), ("c", 3), ("a", 2)])
    );

    // A view written later moves the ranking once the cached ranking
    // expires, not at the flush; a taken-down article leaves it at once.
    view(&app, a, 4).await;
    assert_eq!(
        ranking("DAY", Value::Null).await,
        owned(&[("b", 5), ("c", 3), ("a", 2)])
    );
    tokio::time::sleep(RANKING_TTL + std::time::Duration::from_millis(200)).await;
    assert_eq!(
        ranking("DAY", Value::Null).await,
        owned(&[("a", 6), ("b", 5), ("c", 3)])
    );
    arrange.take_down(b).await;
    assert_eq!(
        ranking("DAY", Value::Null).await,
        owned(&[("a", 6), ("c", 3)])
    );
}

#[tokio::test]
async fn the_demo_site_ranks_most_viewed_from_its_first_start() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ day: mostViewed(period: DAY, first: 50) { views article { viewCount } }
               month: mostViewed(period: MONTH, first: 50) { views article { viewCount } } }",
            json!({}),
        )
        .await;
    let day = data["day"].as_array().unwrap();
    let month = data["month"].as_array().unwrap();
    assert!(day.len() >= 10, "{data}");
    assert_eq!(day.len(), month.len(), "{data}");
    // The demo's views were spread over the last month: all of them count
    // in the month, a thirtieth or so today.
    for ranked in month {
        assert_eq!(ranked["views"], ranked["article"]["viewCount"], "{data}");
    }
    for ranked in day {
        let views = ranked["views"].as_i64().unwrap();
        let total = ranked["article"]["viewCount"].as_i64().unwrap();
        assert!(views > 0 && views * 10 < total, "{data}");
    }
}
