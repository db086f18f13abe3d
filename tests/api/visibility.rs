//! Drafts, archived articles and articles scheduled for later are invisible
//! to public callers: `null` from `article`, and absent from every list,
//! teaser, count and related list.

use crate::common;

use chrono::{Duration, Utc};
use common::{TestApp, edge_slugs, past};
use entity::api_token::Role;
use entity::article::{self, ArticleStatus};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;

const HIDDEN: [&str; 3] = [
    "draft-ai-chip-roadmap",
    "scheduled-new-year-outlook",
    "archived-old-notice",
];

#[tokio::test]
async fn hidden_articles_are_null_by_slug_and_by_id() {
    let app = TestApp::spawn().await;
    for slug in HIDDEN {
        let by_slug = app
            .contract_data(
                "article-page.graphql",
                "ArticlePage",
                json!({ "slug": slug }),
            )
            .await;
        assert_eq!(by_slug["article"], json!(null), "{slug}");

        let id = app.article_id(slug).await;
        let by_id = app
            .contract_data(
                "article-page.graphql",
                "MoreComments",
                json!({ "articleId": id }),
            )
            .await;
        assert_eq!(by_id["article"], json!(null), "{slug}");
    }
}

#[tokio::test]
async fn hidden_articles_are_absent_from_every_list_and_count() {
    let app = TestApp::spawn().await;
    // One list per request: together they would be over the complexity limit.
    let lists = [
        ("all", "articles(first: 100)"),
        ("oldest", "articles(first: 100, orderBy: OLDEST)"),
        ("viewed", "articles(first: 100, orderBy: MOST_VIEWED)"),
        ("commented", "articles(first: 100, orderBy: MOST_COMMENTED)"),
        (
            "tech",
            r#"articles(first: 100, filter: { category: "technology" })"#,
        ),
        ("chips", r#"articles(first: 100, filter: { tag: "chips" })"#),
    ];
    let mut data = serde_json::Map::new();
    let mut connections = Vec::new();
    for (name, list) in lists {
        let query = format!("{{ {list} {{ totalCount edges {{ node {{ slug }} }} }} }}");
        let response = app.graphql(&query, json!({})).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        data.insert(name.to_owned(), response["data"]["articles"].clone());
        connections.push(response["data"]["articles"].clone());
    }
    for query in [
        r#"{ x: category(slug: "news") { articles(first: 100) { totalCount edges { node { slug } } } } }"#,
        r#"{ x: tag(slug: "ai") { articles(first: 100) { totalCount edges { node { slug } } } } }"#,
    ] {
        let response = app.graphql(query, json!({})).await;
        connections.push(response["data"]["x"]["articles"].clone());
    }
    let sections = app
        .graphql(
            "{ categories { articles(first: 30) { totalCount edges { node { slug } } } } }",
            json!({}),
        )
        .await;
    for section in sections["data"]["categories"].as_array().unwrap() {
        connections.push(section["articles"].clone());
    }
    for connection in &connections {
        let slugs = edge_slugs(connection);
        assert_eq!(
            connection["totalCount"],
            slugs.len() as u64,
            "{connection:#}"
        );
        for hidden in HIDDEN {
            assert!(!slugs.iter().any(|s| s == hidden), "{hidden} leaked");
        }
    }
    assert_eq!(data["all"]["totalCount"], 22);
    // The chips tag is on one public article and the hidden draft/scheduled ones.
    assert_eq!(data["chips"]["totalCount"], 1);
}

#[tokio::test]
async fn hidden_articles_never_appear_as_related_teasers() {
    let app = TestApp::spawn().await;
    // chip-packaging-breakthrough shares the chips tag and its section with
    // the hidden draft and scheduled articles.
    let response = app
        .graphql(
            r#"{ article(slug: "chip-packaging-breakthrough") { related(first: 100) { slug } } }"#,
            json!({}),
        )
        .await;
    let related: Vec<&str> = response["data"]["article"]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(related.len(), 21, "every other public article");
    for hidden in HIDDEN {
        assert!(!related.contains(&hidden), "{hidden} leaked");
    }
}

#[tokio::test]
async fn a_scheduled_article_appears_once_its_time_has_come() {
    let app = TestApp::spawn_empty().await;
    let section = app.arrange().category("s", None, 0).await;
    app.arrange()
        .article(
            "soon",
            section,
            ArticleStatus::Published,
            Utc::now() + Duration::seconds(3),
        )
        .await;
    app.arrange()
        .article("old", section, ArticleStatus::Published, past(1))
        .await;

    let query = r#"{ articles { totalCount edges { node { slug } } } }"#;
    let before = app.graphql(query, json!({})).await;
    assert_eq!(edge_slugs(&before["data"]["articles"]), ["old"]);

    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let after = app.graphql(query, json!({})).await;
    assert_eq!(edge_slugs(&after["data"]["articles"]), ["soon", "old"]);
}

#[tokio::test]
async fn hidden_articles_cannot_be_viewed_or_commented() {
    let app = TestApp::spawn().await;
    let id = app.article_id("draft-ai-chip-roadmap").await;

    let view = app
        .contract(
            "reader-mutations.graphql",
            "RecordView",
            json!({ "articleId": id }),
        )
        .await;
    assert_eq!(common::error_code(&view), "NOT_FOUND");

    let comment = app
        .contract(
            "reader-mutations.graphql",
            "AddComment",
            json!({ "input": {
                "articleId": id, "authorName": "a", "authorEmail": "a@example.com", "body": "b"
            }}),
        )
        .await;
    assert_eq!(common::error_code(&comment), "NOT_FOUND");
}

/// A tag's count is read from its links' copy of when each article is
/// public: it must follow what the articles' own rows say, through a
/// takedown, a draft, a schedule and a section narrowing the list.
#[tokio::test]
async fn a_tags_count_follows_takedowns_drafts_and_schedules() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let section = arrange.category("s", None, 0).await;
    let other = arrange.category("o", None, 1).await;
    let tag = arrange.tag("t").await;
    let soon = Utc::now() + Duration::seconds(3);
    let articles = [
        ("public", section, ArticleStatus::Published, past(2)),
        ("elsewhere", other, ArticleStatus::Published, past(3)),
        ("draft", section, ArticleStatus::Draft, past(1)),
        ("soon", section, ArticleStatus::Published, soon),
        ("gone", section, ArticleStatus::Published, past(4)),
    ];
    for (slug, section, status, at) in articles {
        let id = arrange.article(slug, section, status, at).await;
        arrange.tag_article(id, tag).await;
    }
    arrange.take_down(app.article_id("gone").await).await;

    let lists = r#"{
        all: articles(first: 50, filter: { tag: "t" }) { totalCount edges { node { slug } } }
        inSection: articles(first: 50, filter: { tag: "t", category: "s" }) { totalCount edges { node { slug } } }
    }"#;
    let before = app.data(lists, json!({})).await;
    assert_eq!(edge_slugs(&before["all"]), ["public", "elsewhere"]);
    assert_eq!(before["all"]["totalCount"], 2);
    assert_eq!(edge_slugs(&before["inSection"]), ["public"]);
    assert_eq!(before["inSection"]["totalCount"], 1);

    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let after = app.data(lists, json!({})).await;
    assert_eq!(edge_slugs(&after["all"]), ["soon", "public", "elsewhere"]);
    assert_eq!(after["all"]["totalCount"], 3);
    assert_eq!(after["inSection"]["totalCount"], 2);
}

/// A section's `totalCount` comes from counts the database keeps per
/// section (scheduled articles included, the ones still to come taken
/// off at read time): it must follow every kind of write, by the API or
/// behind its back, and agree with the list it counts.
#[tokio::test]
async fn a_sections_count_follows_every_write_and_schedule() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let top = arrange.category("s", None, 0).await;
    let sub = arrange.category("s-sub", Some(top), 0).await;
    let other = arrange.category("o", None, 1).await;
    let soon = Utc::now() + Duration::seconds(3);
    let articles = [
        ("public", top, ArticleStatus::Published, past(2)),
        ("below", sub, ArticleStatus::Published, past(3)),
        ("draft", top, ArticleStatus::Draft, past(1)),
        ("soon", sub, ArticleStatus::Published, soon),
        ("gone", top, ArticleStatus::Published, past(4)),
        ("deleted", top, ArticleStatus::Published, past(5)),
        ("mover", other, ArticleStatus::Published, past(6)),
    ];
    for (slug, section, status, at) in articles {
        arrange.article(slug, section, status, at).await;
    }

    let pages = r#"{
        s: category(slug: "s") { articles(first: 50) { totalCount edges { node { slug } } } }
        o: category(slug: "o") { articles(first: 50) { totalCount edges { node { slug } } } }
        filtered: articles(first: 50, filter: { category: "s" }) { totalCount edges { node { slug } } }
    }"#;
    let counted = |data: &serde_json::Value, section: &str| {
        let list = if section == "filtered" {
            &data[section]
        } else {
            &data[section]["articles"]
        };
        let slugs = edge_slugs(list);
        assert_eq!(list["totalCount"], slugs.len(), "{section}: {list:#}");
        slugs
    };
    let before = app.data(pages, json!({})).await;
    assert_eq!(
        counted(&before, "s"),
        ["public", "below", "gone", "deleted"]
    );
    assert_eq!(counted(&before, "filtered"), counted(&before, "s"));
    assert_eq!(counted(&before, "o"), ["mover"]);

    // Behind the API's back: a takedown, a move to a sub-section, the
    // draft published; through the API: a deletion.
    arrange.take_down(app.article_id("gone").await).await;
    article::ActiveModel {
        id: Set(app.article_id("mover").await),
        category_id: Set(sub),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();
    article::ActiveModel {
        id: Set(app.article_id("draft").await),
        status: Set(ArticleStatus::Published),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();
    app.state.content_changed();
    let editor = app.token(Role::Editor).await;
    let deleted = app
        .data(r#"{ article(slug: "deleted") { id } }"#, json!({}))
        .await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
        json!({ "id": deleted["article"]["id"] }),
    )
    .await;

    let after = app.data(pages, json!({})).await;
    assert_eq!(counted(&after, "s"), ["draft", "public", "below", "mover"]);
    assert_eq!(counted(&after, "filtered"), counted(&after, "s"));
    assert!(counted(&after, "o").is_empty());

    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let later = app.data(pages, json!({})).await;
    assert_eq!(
        counted(&later, "s"),
        ["soon", "draft", "public", "below", "mover"]
    );
    assert_eq!(counted(&later, "filtered"), counted(&later, "s"));
}

/// Two writers moving published articles between the same two sections in
/// opposite directions at once both commit (PostgreSQL): the count rows
/// they change are locked in one order, so neither holds the row the other
/// waits for. A third transaction holds both rows while the two movers
/// start, so both are waiting when it lets go; locked in the order of each
/// move, each then took its first row and waited for the other's
/// (PostgreSQL failed one of them as a deadlock). SQLite runs one writer
/// at a time.
#[tokio::test]
async fn opposite_moves_between_two_sections_both_commit() {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let app = TestApp::spawn_empty().await;
    if !app.is_postgres() {
        return;
    }
    let arrange = app.arrange();
    let (east, west) = (
        arrange.category("east", None, 0).await,
        arrange.category("west", None, 1).await,
    );
    let leaving_east = arrange
        .article("leaving-east", east, ArticleStatus::Published, past(1))
        .await;
    let leaving_west = arrange
        .article("leaving-west", west, ArticleStatus::Published, past(2))
        .await;
    let statement = |sql: &str, values: Vec<sea_orm::Value>| {
        Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, values)
    };

    let holder = app.db.begin().await.unwrap();
    holder
        .execute_raw(statement(
            "SELECT 1 FROM section_counts WHERE category_id IN ($1, $2) FOR UPDATE",
            vec![east.into(), west.into()],
        ))
        .await
        .unwrap();
    let mover = |article: uuid::Uuid, to: uuid::Uuid| {
        let db = app.db.clone();
        tokio::spawn(async move {
            let txn = db.begin().await?;
            txn.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "UPDATE articles SET category_id = $1 WHERE id = $2",
                [to.into(), article.into()],
            ))
            .await?;
            txn.commit().await
        })
    };
    let moves = [mover(leaving_east, west), mover(leaving_west, east)];
    let waiting = || async {
        app.db
            .query_one_raw(statement(
                "SELECT COUNT(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                vec![],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "waiting")
            .unwrap()
    };
    let mut waited = 0;
    while waiting().await < 2 {
        waited += 1;
        assert!(waited < 500, "the movers never waited for the held rows");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    holder.commit().await.unwrap();
    for moved in moves {
        moved
            .await
            .unwrap()
            .unwrap_or_else(|error| panic!("a move failed: {error}"));
    }

    let pages = app
        .data(
            r#"{
                east: category(slug: "east") { articles(first: 5) { totalCount edges { node { slug } } } }
                west: category(slug: "west") { articles(first: 5) { totalCount edges { node { slug } } } }
            }"#,
            json!({}),
        )
        .await;
    for (section, slug) in [("east", "leaving-west"), ("west", "leaving-east")] {
        let list = &pages[section]["articles"];
        assert_eq!(edge_slugs(list), [slug], "{section}");
        assert_eq!(list["totalCount"], 1, "{section}");
    }
}
