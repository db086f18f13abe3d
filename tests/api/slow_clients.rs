//! Slow and idle clients cannot take the server down: a client dribbling
//! its headers and a kept-alive connection left idle are closed after their
//! timeouts, and thousands of such connections, more than the server has
//! descriptors for, still leave room for a normal request.

use crate::common;

use std::time::{Duration, Instant};

use common::{Options, TestApp, process::Server};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A server with short limits, so the test need not wait long.
async fn impatient_app() -> TestApp {
    TestApp::spawn_with(Options {
        tweak: |config| {
            config.header_read_timeout = Duration::from_millis(500);
            config.idle_timeout = Duration::from_millis(1500);
            config.max_connections = 100;
        },
        ..Options::default()
    })
    .await
}

/// How long until the server closes `stream` (reads to the end).
async fn time_until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut sink)).await;
    started.elapsed()
}

/// Reads one `/healthz` answer (its body is `ok`) from `stream`.
async fn health_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.ends_with(b"\r\n\r\nok") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(
            read > 0,
            "closed early: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A connection that has sent part of a request's headers.
async fn dribbling(address: std::net::SocketAddr) -> Option<TcpStream> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
        .await
        .ok()?;
    Some(stream)
}

#[tokio::test]
async fn a_client_dribbling_its_headers_is_cut_off_after_the_header_timeout() {
    let app = impatient_app().await;
    let mut slow = dribbling(app.address).await.unwrap();

    let waited = time_until_closed(&mut slow).await;

    assert!(waited < Duration::from_secs(5), "held for {waited:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout_but_not_before() {
    let app = impatient_app().await;
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n";
    stream.write_all(request).await.unwrap();
    assert!(health_answer(&mut stream).await.starts_with("HTTP/1.1 200"));

    // Idle for less than the timeout: still served.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stream.write_all(request).await.unwrap();
    assert!(health_answer(&mut stream).await.starts_with("HTTP/1.1 200"));

    let waited = time_until_closed(&mut stream).await;
    assert!(
        waited >= Duration::from_millis(1000),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(6), "held for {waited:?}");
}

#[tokio::test]
async fn more_slow_connections_than_the_cap_still_leave_room_for_a_normal_request() {
    let app = impatient_app().await;
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Some(stream) = dribbling(app.address).await {
            held.push(stream);
        }
    }

    let started = Instant::now();
    let answer = app.graphql("{ categories { slug } }", json!({})).await;

    assert_eq!(answer["data"]["categories"][0]["slug"], "technology");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    drop(held);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_slow_connections_against_1024_descriptors_leave_health_and_queries_answered()
 {
    // This side holds the 3,000 connections: make room for them here.
    rlimit::increase_nofile_limit(8_192).unwrap();
    let app = TestApp::spawn().await;
    let server = Server::start_with_open_files(&app.database_url, 1024, &[]);
    let url = server.graphql_url.clone();
    let address: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .parse()
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..3000 {
        if let Some(stream) = dribbling(address).await {
            held.push(stream);
        }
    }
    assert!(held.len() >= 2900, "only {} connections opened", held.len());

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let health = client
        .get(url.replace("/graphql", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let answer = common::post_graphql(
        &client,
        &url,
        &json!({ "query": "{ categories { slug } }" }),
    )
    .await;
    assert_eq!(
        answer["data"]["categories"][0]["slug"], "technology",
        "{answer}"
    );
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn a_request_over_its_time_gets_a_graphql_error_with_a_code() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.request_timeout = Duration::from_nanos(1),
        ..Options::default()
    })
    .await;
    let response = app
        .client
        .post(app.graphql_url())
        // Enough statements that the answer cannot beat the timer's
        // millisecond tick (a one-statement count sometimes did).
        .json(&json!({ "query": "{ articles(first: 50) { totalCount edges { node { body related(first: 5) { title } comments(first: 5) { totalCount } } } } }" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "REQUEST_TIMEOUT",
        "{body}"
    );
}
