//! A clean shutdown loses nothing: views still buffered in memory are written
//! when the server stops on SIGTERM, and it exits by itself.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed test, which is what we want

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use common::TestApp;
use entity::article;
use sea_orm::EntityTrait;
use serde_json::json;

/// Starts the real binary on `database_url` with views buffered for an hour
/// (so only the shutdown flush writes them) and every view counted; returns
/// the process and its GraphQL address.
fn start_binary(database_url: &str) -> (Child, String) {
    start_binary_with(database_url, &[])
}

/// [`start_binary`] with more environment variables.
fn start_binary_with(database_url: &str, extra: &[(&str, &str)]) -> (Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .envs(extra.iter().copied())
        .env("DATABASE_URL", database_url)
        .env("NEWSROOM_LISTEN", "127.0.0.1:0")
        .env("NEWSROOM_LOG", "info")
        .env("NEWSROOM_NO_DEMO", "true")
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
    let mut seen = Vec::new();
    let url = loop {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start:\n{}", seen.join("\n")));
        seen.push(line.clone());
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    (server, url)
}

/// Stops a server with SIGTERM and waits for it to exit cleanly; one still
/// running after 30 s is killed and fails the test.
async fn stop(mut server: Child) {
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        if std::time::Instant::now() > deadline {
            let _ = server.kill();
            panic!("the server did not exit within 30 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn view(client: &reqwest::Client, url: &str, id: uuid::Uuid) -> i64 {
    let response: serde_json::Value = client
        .post(url)
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
    response["data"]["recordView"]["viewCount"]
        .as_i64()
        .unwrap()
}

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

    let (server, url) = start_binary(&app.database_url);

    let client = reqwest::Client::new();
    let mut last = 0;
    for _ in 0..50 {
        last = view(&client, &url, id).await;
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

    stop(server).await;

    let after = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(after, before + 50);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_count_exactly_together() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    let (first, first_url) = start_binary(&app.database_url);
    let (second, second_url) = start_binary(&app.database_url);

    let client = reqwest::Client::new();
    let mut calls = Vec::new();
    for n in 0..200 {
        let client = client.clone();
        let url = if n % 2 == 0 {
            first_url.clone()
        } else {
            second_url.clone()
        };
        calls.push(tokio::spawn(async move { view(&client, &url, id).await }));
    }
    for call in calls {
        call.await.unwrap();
    }
    stop(first).await;
    stop(second).await;

    let after = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(after, before + 200);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_acknowledged_while_postgresql_is_cut_survive_sigterm_and_a_restart() {
    if !std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("this test cuts PostgreSQL; it runs in the PostgreSQL pass");
        return;
    }
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    let proxy = common::proxy::Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let through_proxy = common::proxy::url_through(&app.database_url, proxy.address);
    let spills = tempfile::tempdir().unwrap();
    let spill_dir = spills.path().to_str().unwrap().to_owned();
    let settings = [
        ("NEWSROOM_VIEW_SPILL_DIR", spill_dir.as_str()),
        ("NEWSROOM_SHUTDOWN_TIMEOUT", "2s"),
    ];
    let (server, url) = start_binary_with(&through_proxy, &settings);
    let client = reqwest::Client::new();
    for _ in 0..50 {
        view(&client, &url, id).await;
    }

    proxy.cut().await;
    stop(server).await;
    assert_eq!(
        std::fs::read_dir(spills.path()).unwrap().count(),
        1,
        "the unwritten views were kept in one file"
    );
    proxy.restore();
    let (restarted, _) = start_binary_with(&through_proxy, &settings);
    stop(restarted).await;

    let after = article::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .view_count;
    assert_eq!(
        after,
        before + 50,
        "every acknowledged view is counted once"
    );
    assert_eq!(std::fs::read_dir(spills.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_spill_file_is_counted_once_even_when_it_is_applied_again() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let stored = |db: sea_orm::DatabaseConnection| async move {
        article::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .view_count
    };
    let before = stored(app.db.clone()).await;
    let folder = tempfile::tempdir().unwrap();
    let spills =
        newsroom::content::view_spill::SpillFolder::new(folder.path().into(), &app.database_url);
    let path = spills
        .write(&std::collections::HashMap::from([(id, 7)]))
        .unwrap();
    let kept = std::fs::read(&path).unwrap();

    assert_eq!(spills.apply(&app.db).await.unwrap(), 7);
    // As if the process had stopped after applying it, before removing it.
    std::fs::write(&path, kept).unwrap();
    assert_eq!(spills.apply(&app.db).await.unwrap(), 0);

    assert_eq!(stored(app.db.clone()).await, before + 7);
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);
}
