//! A clean shutdown loses nothing: views still buffered in memory are written
//! when the server stops on SIGTERM, and it exits by itself.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed test, which is what we want

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use common::TestApp;
use entity::article;
use sea_orm::EntityTrait;
use serde_json::json;

#[cfg(unix)]
#[tokio::test]
async fn views_buffered_at_sigterm_are_written_before_exit() {
    // A database with the demo site; the process under test serves it.
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;

    let mut server = Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .env("DATABASE_URL", &app.database_url)
        .env("NEWSROOM_LISTEN", "127.0.0.1:0")
        .env("NEWSROOM_LOG", "info")
        // Only the shutdown flush can write these views.
        .env("NEWSROOM_VIEW_FLUSH_INTERVAL", "1h")
        .env("NEWSROOM_VIEW_WINDOW", "0s")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let url = loop {
        let line = received.recv_timeout(Duration::from_secs(30)).unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };

    let client = reqwest::Client::new();
    let mut last = 0;
    for _ in 0..50 {
        let response: serde_json::Value = client
            .post(&url)
            .json(&json!({
                "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }",
                "variables": { "id": id },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        last = response["data"]["recordView"]["viewCount"]
            .as_i64()
            .unwrap();
    }
    assert_eq!(
        last,
        before + 50,
        "the answer counts what is still buffered"
    );
    let stored = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(
        stored, before,
        "nothing written yet: the views are buffered"
    );

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");

    let after = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(after, before + 50);
}
