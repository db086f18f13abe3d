//! View counting: exact under real concurrency, and only for public articles.

use crate::common;

use common::{Options, TestApp, error_code};
use serde_json::json;
use uuid::Uuid;

const CALLS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_simultaneous_views_add_exactly_a_thousand() {
    // Every view counts: this test is about exactness, not deduplication.
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::ZERO,
        ..Options::default()
    })
    .await;
    thousand_views(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_simultaneous_writes_through_never_fail_as_locked() {
    // Unbuffered, each view is its own UPDATE: on SQLite a thousand
    // concurrent writers must wait their turn (WAL and a busy timeout), never
    // fail with "database is locked".
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::ZERO,
        tweak: |config| config.view_flush_interval = std::time::Duration::ZERO,
        ..Options::default()
    })
    .await;
    thousand_views(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn views_stay_exact_while_pages_teach_the_counter_stored_counts() {
    // Pages read stored counts along with articles and lists, and the
    // counter learns them; with flushes every few milliseconds, a count read
    // across a flush must never be learnt. A stale one would make some
    // recordView repeat a total, a doubled one skip one.
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::ZERO,
        tweak: |config| {
            config.read_cache_mb = 0;
            config.view_flush_interval = std::time::Duration::from_millis(3);
        },
        ..Options::default()
    })
    .await;
    // A few readers, one page after another, for as long as the views last.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|reader| {
            let client = app.client.clone();
            let url = app.graphql_url();
            let done = std::sync::Arc::clone(&done);
            let (file, name, variables) = if reader % 2 == 0 {
                (
                    "article-page.graphql",
                    "ArticlePage",
                    json!({ "slug": "city-night-bus" }),
                )
            } else {
                ("home.graphql", "HomePage", json!({}))
            };
            let query = common::contract_document(file);
            tokio::spawn(async move {
                let mut pages = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let body =
                        json!({ "query": query, "operationName": name, "variables": variables });
                    let response = common::post_graphql(&client, &url, &body).await;
                    assert!(response.get("errors").is_none(), "{response}");
                    pages += 1;
                }
                pages
            })
        })
        .collect();
    thousand_views(&app).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
}

#[tokio::test]
async fn a_count_read_across_a_flush_is_not_learnt() {
    // No background flush: this test flushes by hand.
    let app = TestApp::spawn_with(Options::views_flushed_by_hand()).await;
    let id = app.article_id("city-night-bus").await;
    let views = &app.state.views;
    let now = chrono::Utc::now();
    let before = views.current(id, now).await.unwrap();
    for _ in 0..3 {
        views.record(id, None, now).await.unwrap();
    }

    // A page's statement reads the stored count, then a flush writes the
    // three pending views before the page hands the count over.
    views.forget_stored();
    let steady = views.steady();
    assert!(steady.is_some());
    assert_eq!(views.flush().await.unwrap(), 3);
    views.learn(steady, [(id, before)]);
    assert_eq!(views.current(id, now).await.unwrap(), before + 3);

    // Read with no flush in between, the count is learnt: the next total
    // costs no statement.
    views.forget_stored();
    let steady = views.steady();
    views.learn(steady, [(id, before + 3)]);
    let (statements, total) = app.statements_during(views.current(id, now)).await;
    assert_eq!(total.unwrap(), before + 3);
    assert_eq!(statements, 0);
}

/// Sends a thousand simultaneous views of one article and checks that they
/// add exactly a thousand, in the answers and in the database.
async fn thousand_views(app: &TestApp) {
    let id = app.article_id("city-night-bus").await;
    let before = 145;
    let query = "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }";

    let calls = (0..CALLS).map(|_| {
        let client = app.client.clone();
        let url = app.graphql_url();
        tokio::spawn(async move {
            let body = json!({ "query": query, "variables": { "id": id } });
            // As the README tells clients: a `SERVICE_UNAVAILABLE` stored
            // nothing and may be sent again (a thousand writers queued on a
            // busy machine can outwait their turn). Any other error fails.
            for _ in 0..20 {
                let response = common::post_graphql(&client, &url, &body).await;
                if response["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE" {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    continue;
                }
                assert!(response.get("errors").is_none(), "{response}");
                return response["data"]["recordView"]["viewCount"]
                    .as_i64()
                    .unwrap();
            }
            panic!("a view was refused as busy twenty times");
        })
    });
    let mut totals = Vec::with_capacity(CALLS);
    for call in futures::future::join_all(calls).await {
        totals.push(call.unwrap());
    }

    // Every call saw a distinct total, and together they cover exactly the
    // thousand values after the starting count.
    totals.sort_unstable();
    let expected: Vec<i64> = (before + 1..=before + CALLS as i64).collect();
    assert_eq!(totals, expected);
    let page = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { viewCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(page["data"]["article"]["viewCount"], before + CALLS as i64);

    // Within a flush interval (250 ms by default) the buffered views are in
    // the database too.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    use sea_orm::EntityTrait;
    let stored = entity::article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(stored, before + CALLS as i64);
}

#[tokio::test]
async fn viewing_an_unknown_article_is_not_found_and_a_bad_id_is_bad_input() {
    let app = TestApp::spawn().await;

    let unknown = app
        .contract(
            "reader-mutations.graphql",
            "RecordView",
            json!({ "articleId": Uuid::now_v7() }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");

    let malformed = app
        .contract(
            "reader-mutations.graphql",
            "RecordView",
            json!({ "articleId": "1; DROP TABLE articles" }),
        )
        .await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    assert_eq!(malformed["errors"][0]["extensions"]["field"], "articleId");
}

#[tokio::test]
async fn a_clients_repeated_views_count_once_within_the_window() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let query = "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }";

    let mut totals = Vec::new();
    for _ in 0..3 {
        let response = app.graphql(query, json!({ "id": id })).await;
        totals.push(response["data"]["recordView"]["viewCount"].clone());
    }
    assert_eq!(totals, [json!(146), json!(146), json!(146)]);
}

#[tokio::test]
async fn views_from_known_bots_are_not_counted() {
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::ZERO,
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;
    let send = |agent: &'static str| {
        let request = app
            .client
            .post(app.graphql_url())
            .header("user-agent", agent)
            .json(&json!({
                "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
                "variables": { "id": id },
            }));
        async move {
            let response: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
            response["data"]["recordView"]["viewCount"].clone()
        }
    };

    assert_eq!(
        send("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").await,
        145
    );
    assert_eq!(send("Baiduspider").await, 145);
    assert_eq!(
        send("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/126.0").await,
        146
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_is_counted_once_or_not_marked() {
    // Views written at once, so each waits for its write transaction: a
    // client hanging up mid-way is likely to catch one between its "seen"
    // mark and its count.
    let app = TestApp::spawn_with(Options {
        view_window: std::time::Duration::from_secs(30 * 60),
        tweak: |config| {
            config.view_flush_interval = std::time::Duration::ZERO;
            config.trusted_proxy_header = Some("x-forwarded-for".to_owned());
        },
        ..Options::default()
    })
    .await;
    let id = app.article_id("city-night-bus").await;
    let stored = || common::stored_views(&app.db, id);
    let before = stored().await;
    let clients: Vec<String> = (0..100).map(|n| format!("198.51.100.{}", n + 1)).collect();
    let view = |address: String, timeout: std::time::Duration| {
        let client = app.client.clone();
        let url = app.graphql_url();
        async move {
            client
                .post(url)
                .timeout(timeout)
                .header("x-forwarded-for", address)
                .json(&json!({
                    "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
                    "variables": { "id": id },
                }))
                .send()
                .await
                .ok()
        }
    };

    // Every client hangs up a moment after asking.
    let hung_up = clients
        .iter()
        .map(|address| tokio::spawn(view(address.clone(), std::time::Duration::from_millis(2))));
    for call in futures::future::join_all(hung_up).await {
        call.unwrap();
    }
    // What the server went on with settles.
    let mut settled = stored().await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = stored().await;
        if now == settled {
            break;
        }
        settled = now;
    }
    // Then each asks again and waits: a client marked as seen was counted,
    // one not counted was not marked. Each counts once in all.
    for address in &clients {
        let answer = view(address.clone(), std::time::Duration::from_secs(10))
            .await
            .expect("an answer");
        assert!(answer.status().is_success());
    }
    assert_eq!(stored().await, before + clients.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn views_are_counted_and_answered_while_a_flush_waits_on_the_database() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn_with(Options::views_flushed_by_hand()).await;
    let id = app.article_id("city-night-bus").await;
    let client = reqwest::Client::new();
    let url = app.graphql_url();
    let before = common::stored_views(&app.db, id).await;
    assert_eq!(
        common::record_view(&client, &url, id, None).await,
        before + 1
    );

    // Another writer holds the article's row (PostgreSQL) or the whole
    // database (SQLite): the flush's write waits for it.
    let blocker = app.db.begin().await.unwrap();
    blocker
        .execute_unprepared(&format!(
            "UPDATE articles SET view_count = view_count WHERE id = {}",
            match app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => format!("'{id}'"),
                _ => format!("X'{}'", id.simple()),
            }
        ))
        .await
        .unwrap();
    let views = std::sync::Arc::clone(&app.state.views);
    let flush = tokio::spawn(async move { views.flush().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!flush.is_finished(), "the flush waits on the database");

    // Readers and writers of counts go on, exactly, without waiting for it.
    let answered = tokio::time::timeout(std::time::Duration::from_secs(3), async {
        let counted = common::record_view(&client, &url, id, None).await;
        let shown = app
            .data(
                "query($slug: String!) { article(slug: $slug) { viewCount } }",
                json!({ "slug": "city-night-bus" }),
            )
            .await;
        (counted, shown["article"]["viewCount"].clone())
    })
    .await
    .expect("a view and a count are answered while the flush waits");
    assert_eq!(answered, (before + 2, json!(before + 2)));

    blocker.rollback().await.unwrap();
    // On SQLite the flush may have given up on its busy timeout; its views
    // went back to pending. Either way one more flush stores them all.
    let _ = flush.await.unwrap();
    app.state.views.flush().await.unwrap();
    assert_eq!(common::stored_views(&app.db, id).await, before + 2);
    assert_eq!(app.state.views.pending(id), 0);
}
