//! `/metrics` on its own listener: Prometheus text whose counters move with
//! the requests a client sends, and nothing of it on the public listener.

use crate::common;

use common::{TestApp, process::Server};
use serde_json::json;

/// The metrics page, parsed as Prometheus parses it.
async fn scrape(client: &reqwest::Client, url: &str) -> prometheus_parse::Scrape {
    let text = client.get(url).send().await.unwrap().text().await.unwrap();
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap()
}

/// The value of the sample `name` whose labels include `labels`; 0 when
/// there is none yet.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == name)
        .filter(|sample| {
            labels
                .iter()
                .all(|(key, want)| sample.labels.get(key) == Some(*want))
        })
        .map(|sample| match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_the_requests_a_client_sends() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let mut server = Server::start(
        &app.database_url,
        &[
            ("NEWSROOM_METRICS_LISTEN", "127.0.0.1:0"),
            ("NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE", "1"),
        ],
    );
    let metrics_url = server.wait_for_url("/metrics");
    let client = reqwest::Client::new();
    let before = scrape(&client, &metrics_url).await;

    for _ in 0..3 {
        client
            .post(&server.graphql_url)
            .json(&json!({ "query": "query MetricsProbe { categories { slug } }" }))
            .send()
            .await
            .unwrap();
    }
    client
        .post(&server.graphql_url)
        .json(&json!({ "query": "query MetricsProbe { article(slug: 1) { id } }" }))
        .send()
        .await
        .unwrap();
    client
        .post(&server.graphql_url)
        .json(&json!({ "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }", "variables": { "id": id } }))
        .send()
        .await
        .unwrap();
    for n in 0..2 {
        client
            .post(&server.graphql_url)
            .json(&json!({
                "query": "mutation($input: AddCommentInput!) { addComment(input: $input) { comment { id } } }",
                "variables": { "input": { "articleId": id, "authorName": "读者", "authorEmail": "m@example.com", "body": format!("指标 {n}") } },
            }))
            .send()
            .await
            .unwrap();
    }
    let after = scrape(&client, &metrics_url).await;

    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(
        moved(
            "newsroom_graphql_requests_total",
            &[("operation", "MetricsProbe"), ("outcome", "ok")]
        ),
        3.0
    );
    assert_eq!(
        moved(
            "newsroom_graphql_requests_total",
            &[("operation", "MetricsProbe"), ("outcome", "BAD_USER_INPUT")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "newsroom_graphql_request_duration_seconds_count",
            &[("operation", "MetricsProbe")]
        ),
        4.0
    );
    assert_eq!(
        moved("newsroom_rate_limited_total", &[("limit", "client")]),
        1.0
    );
    assert!(value(&after, "newsroom_view_buffer_pending", &[]) >= 1.0);
    assert!(value(&after, "newsroom_db_pool_connections", &[("state", "open")]) >= 1.0);
    assert!(
        value(&after, "newsroom_read_cache_lookups_total", &[])
            > value(&before, "newsroom_read_cache_lookups_total", &[])
    );

    let public = client
        .get(server.graphql_url.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "the public listener shows no metrics");
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_how_far_a_process_is_behind_the_change_feed() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let editor = app.token(entity::api_token::Role::Moderator).await;
    // It looks at the table only hourly: on SQLite, a write made by another
    // process waits for the next write made through this one.
    let mut server = Server::start(
        &app.database_url,
        &[
            ("NEWSROOM_METRICS_LISTEN", "127.0.0.1:0"),
            ("NEWSROOM_CHANGE_POLL_INTERVAL", "1h"),
        ],
    );
    let metrics_url = server.wait_for_url("/metrics");
    let client = reqwest::Client::new();
    let lag = |scrape: &prometheus_parse::Scrape| value(scrape, "newsroom_change_feed_lag", &[]);

    newsroom::content::comments::moderation::set_comments_closed(
        &app.db,
        &newsroom::content::writes::audit::Actor::command_line(),
        id,
        true,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let behind = scrape(&client, &metrics_url).await;
    let on_postgres = app.database_url.starts_with("postgres");
    if !on_postgres {
        assert_eq!(
            lag(&behind),
            1.0,
            "one change made elsewhere, not applied: {:?}",
            behind
                .samples
                .iter()
                .filter(|s| s.metric.contains("change"))
                .collect::<Vec<_>>()
        );
    }

    let written = client
        .post(&server.graphql_url)
        .bearer_auth(&editor)
        .json(&json!({ "query": "mutation($id: ID!) { setCommentsClosed(articleId: $id, closed: false) { article { id } } }", "variables": { "id": id } }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!written.contains("errors"), "{written}");
    let caught_up = scrape(&client, &metrics_url).await;
    assert_eq!(lag(&caught_up), 0.0);
    let latest = newsroom::content::writes::change::latest(&app.db)
        .await
        .unwrap();
    assert_eq!(
        value(&caught_up, "newsroom_change_feed_applied", &[]),
        latest as f64
    );
    server.stop().await;
}
