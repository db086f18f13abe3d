//! A clean shutdown loses nothing: views still buffered in memory are written
//! when the server stops on SIGTERM, and it exits by itself.

use crate::common;

use common::{TestApp, process::Server};

async fn view(client: &reqwest::Client, url: &str, id: uuid::Uuid) -> i64 {
    common::record_view(client, url, id, None).await
}

#[cfg(unix)]
// Two worker threads: starting the process blocks one while the in-process
// server's background work (which may hold a write) goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_buffered_at_sigterm_are_written_before_exit() {
    // A database with the demo site; the process under test serves it.
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = common::stored_views(&app.db, id).await;

    let server = Server::start(&app.database_url, &[]);
    let url = server.graphql_url.clone();

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
    let stored = common::stored_views(&app.db, id).await;
    assert_eq!(
        stored, before,
        "nothing written yet: the views are buffered"
    );

    server.stop().await;

    let after = common::stored_views(&app.db, id).await;
    assert_eq!(after, before + 50);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_count_exactly_together() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let before = common::stored_views(&app.db, id).await;
    let first = Server::start(&app.database_url, &[]);
    let first_url = first.graphql_url.clone();
    let second = Server::start(&app.database_url, &[]);
    let second_url = second.graphql_url.clone();

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
    first.stop().await;
    second.stop().await;

    let after = common::stored_views(&app.db, id).await;
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
    let before = common::stored_views(&app.db, id).await;
    let proxy = common::proxy::Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let through_proxy = common::proxy::url_through(&app.database_url, proxy.address);
    let spills = tempfile::tempdir().unwrap();
    let spill_dir = spills.path().to_str().unwrap().to_owned();
    let settings = [
        ("NEWSROOM_VIEW_SPILL_DIR", spill_dir.as_str()),
        ("NEWSROOM_SHUTDOWN_TIMEOUT", "2s"),
    ];
    let server = Server::start(&through_proxy, &settings);
    let url = server.graphql_url.clone();
    let client = reqwest::Client::new();
    for _ in 0..50 {
        view(&client, &url, id).await;
    }

    proxy.cut().await;
    server.stop().await;
    assert_eq!(
        std::fs::read_dir(spills.path()).unwrap().count(),
        1,
        "the unwritten views were kept in one file"
    );
    proxy.restore();
    let restarted = Server::start(&through_proxy, &settings);
    restarted.stop().await;

    let after = common::stored_views(&app.db, id).await;
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
    let before = common::stored_views(&app.db, id).await;
    let folder = tempfile::tempdir().unwrap();
    let spills =
        newsroom::content::views::spill::SpillFolder::new(folder.path().into(), &app.database_url);
    let path = spills
        .write(&std::collections::HashMap::from([(id, 7)]))
        .unwrap();
    let kept = std::fs::read(&path).unwrap();

    assert_eq!(spills.apply(&app.db).await.unwrap(), 7);
    // As if the process had stopped after applying it, before removing it.
    std::fs::write(&path, kept).unwrap();
    assert_eq!(spills.apply(&app.db).await.unwrap(), 0);

    assert_eq!(common::stored_views(&app.db, id).await, before + 7);
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);
}
