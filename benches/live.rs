//! `cargo bench --bench live`: how many idle live subscribers one server
//! process holds, in how much memory, and how fast one event reaches all of
//! them. Starts the real `newsroom` binary on the demo site, opens
//! `BENCH_SUBSCRIBERS` WebSocket connections (10,000; each speaks
//! `graphql-transport-ws` and subscribes to `commentAdded` on one article),
//! reads the server's resident memory, then posts `BENCH_EVENTS` comments
//! (5; published at once) and measures, for each, the time from sending
//! `addComment` to each subscriber's `next` message: p50, p99 and the
//! slowest, and how many arrived. With `DATABASE_URL=postgres://…` the
//! server runs on a new database there, otherwise on a SQLite file.
//!
//! The client runs in this process and shares the machine's cores with the
//! server, so latencies include its own reading of 10,000 sockets.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark: a panic is a failed run

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::{Barrier, mpsc};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use uuid::Uuid;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    process: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status();
        let _ = self.process.wait();
    }
}

/// A database URL for the run: a new PostgreSQL database beside
/// `DATABASE_URL`'s, or a new SQLite file in `folder`.
async fn fresh_database(folder: &std::path::Path) -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let admin = Database::connect(&url).await.unwrap();
            let name = format!("nr_bench_{}", Uuid::now_v7().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = url.split('?').next().unwrap().rsplit_once('/').unwrap().0;
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", folder.join("live.db").display()),
    }
}

fn start_server(database_url: &str, subscribers: u64) -> Server {
    let binary =
        std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_newsroom").to_owned());
    let room = (subscribers + 100).to_string();
    let mut process = Command::new(binary)
        .env("DATABASE_URL", database_url)
        .env("NEWSROOM_LISTEN", "127.0.0.1:0")
        .env("NEWSROOM_LOG", "warn,newsroom=info")
        .env("NEWSROOM_COMMENT_POLICY", "publish")
        .env("NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE", "0")
        .env("NEWSROOM_COMMENTS_PER_ARTICLE_PER_MINUTE", "0")
        .env("NEWSROOM_LIVE_MAX_CONNECTIONS", &room)
        .env("NEWSROOM_LIVE_CONNECTIONS_PER_CLIENT", &room)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = process.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { process, url }
}

/// A line of `/proc/<pid>/status` in MB (`VmRSS:`, `VmHWM:`).
fn memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> Value {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// One subscriber: connects, subscribes, reports ready, then reports the
/// moment of each `next` it receives.
async fn subscriber(
    url: String,
    article: String,
    opening: tokio::sync::OwnedSemaphorePermit,
    ready: Arc<Barrier>,
    arrivals: mpsc::UnboundedSender<Instant>,
) {
    let mut request = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init" })))
        .await
        .unwrap();
    loop {
        if let Some(Ok(Message::Text(text))) = socket.next().await
            && text.contains("connection_ack")
        {
            break;
        }
    }
    socket
        .send(send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": "subscription($id: ID!) { commentAdded(articleId: $id) { id body } }",
                "variables": { "id": article },
            },
        })))
        .await
        .unwrap();
    drop(opening);
    ready.wait().await;
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) if text.contains("\"next\"") => {
                let _ = arrivals.send(Instant::now());
            }
            Ok(Message::Close(_)) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let subscribers = setting("BENCH_SUBSCRIBERS", 10_000);
    let events = setting("BENCH_EVENTS", 5);
    let folder = tempfile::tempdir().unwrap();
    let database_url = fresh_database(folder.path()).await;
    let server = start_server(&database_url, subscribers);
    let pid = server.process.id();
    let graphql = server.url.clone();
    let http = reqwest::Client::new();
    let listed = post(
        &http,
        &graphql,
        json!({ "query": "{ articles(first: 1) { edges { node { id } } } }" }),
    )
    .await;
    let article = listed["data"]["articles"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let idle_mb = memory_mb(pid, "VmRSS:");

    println!(
        "live: {subscribers} subscribers on {}",
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let ready = Arc::new(Barrier::new(subscribers as usize + 1));
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let opening = Instant::now();
    let opened = Arc::new(tokio::sync::Semaphore::new(256));
    for _ in 0..subscribers {
        let permit = Arc::clone(&opened).acquire_owned().await.unwrap();
        let (url, article, ready, arrivals) = (
            graphql.clone(),
            article.clone(),
            Arc::clone(&ready),
            arrivals.clone(),
        );
        // The permit bounds how many handshakes run at once.
        tokio::spawn(subscriber(url, article, permit, ready, arrivals));
    }
    ready.wait().await;
    // Subscribed is not yet listening: give the last probes a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held_mb = memory_mb(pid, "VmRSS:");
    println!(
        "  opened and subscribed in {:.1} s; server RSS {idle_mb:.0} MB before, {held_mb:.0} MB with them ({:.1} KB each)",
        opening.elapsed().as_secs_f64(),
        (held_mb - idle_mb) * 1024.0 / subscribers as f64
    );

    for event in 0..events {
        let sent = Instant::now();
        let added = post(
            &http,
            &graphql,
            json!({
                "query": "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"基准\", authorEmail: \"bench@example.com\", body: $body }) { comment { status } } }",
                "variables": { "id": article, "body": format!("第 {event} 条评论") },
            }),
        )
        .await;
        assert_eq!(
            added["data"]["addComment"]["comment"]["status"], "APPROVED",
            "{added}"
        );
        let mut latencies = Vec::with_capacity(subscribers as usize);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while (latencies.len() as u64) < subscribers {
            match tokio::time::timeout_at(deadline, arrived.recv()).await {
                Ok(Some(at)) => latencies.push((at - sent).as_secs_f64() * 1000.0),
                _ => break,
            }
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "  event {event}: {} of {subscribers} arrived; p50 {:.0} ms, p99 {:.0} ms, slowest {:.0} ms",
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("  server peak RSS {:.0} MB", memory_mb(pid, "VmHWM:"));
    drop(server);
}
