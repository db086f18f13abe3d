//! `cargo bench --bench propagation`: how long a write through one server
//! process takes to be served by another on the same database. Starts two
//! real `newsroom` processes on a new database with the demo site, warms the
//! second's read cache on an article, then edits its title through the
//! first `BENCH_EDITS` times (200); after each edit is acknowledged, asks the
//! second process for the article until it shows the new title, and reports
//! p50, p99 and the maximum of those waits, and the change-feed rows each
//! edit wrote. With `DATABASE_URL=postgres://…` the processes follow the
//! feed through `NOTIFY`; on SQLite (the default) through their one-second
//! look at the table.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark: a panic is a failed run

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

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

fn start_server(database_url: &str) -> Server {
    let binary =
        std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_newsroom").to_owned());
    let mut process = Command::new(binary)
        .env("DATABASE_URL", database_url)
        .env("NEWSROOM_LISTEN", "127.0.0.1:0")
        .env("NEWSROOM_LOG", "warn,newsroom=info")
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
        _ => format!("sqlite://{}", folder.join("bench.db").display()),
    }
}

async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let edits: usize = std::env::var("BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let folder = tempfile::tempdir().unwrap();
    let database_url = fresh_database(folder.path()).await;
    // The first process migrates and loads the demo site; then the second.
    let a = start_server(&database_url);
    let b = start_server(&database_url);
    let db = Database::connect(&database_url).await.unwrap();
    let token = newsroom::content::tokens::create(
        &db,
        &newsroom::content::writes::audit::Actor::command_line(),
        "propagation bench",
        entity::api_token::Role::Editor,
        None,
    )
    .await
    .unwrap()
    .secret;
    let client = reqwest::Client::new();
    let read = json!({
        "query": "query($slug: String!) { article(slug: $slug) { id title version } }",
        "variables": { "slug": "city-night-bus" },
    });
    let article = post(&client, &b.url, None, read.clone()).await["data"]["article"].clone();
    let id = article["id"].as_str().unwrap().to_owned();
    let mut version = article["version"].as_i64().unwrap();
    let changes_before = entity::change::Entity::find().count(&db).await.unwrap();

    let mut waits = Vec::with_capacity(edits);
    for n in 0..edits {
        let title = format!("夜班公交 第{n}次修改");
        let edited = post(
            &client,
            &a.url,
            Some(&token),
            json!({
                "query": "mutation($id: ID!, $v: Int!, $t: String!) { updateArticle(id: $id, version: $v, input: { title: $t }) { article { version } } }",
                "variables": { "id": id, "v": version, "t": title },
            }),
        )
        .await;
        version = edited["data"]["updateArticle"]["article"]["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("{edited}"));
        let acknowledged = Instant::now();
        loop {
            let shown = post(&client, &b.url, None, read.clone()).await;
            if shown["data"]["article"]["title"] == title.as_str() {
                waits.push(acknowledged.elapsed());
                break;
            }
            assert!(
                acknowledged.elapsed() < Duration::from_secs(30),
                "edit {n} never reached the second process"
            );
        }
    }
    let changes_after = entity::change::Entity::find().count(&db).await.unwrap();
    waits.sort();
    let database = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{database}: {edits} edits through A, served by B after p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.2} change rows per edit",
        percentile(&waits, 0.5).as_secs_f64() * 1000.0,
        percentile(&waits, 0.99).as_secs_f64() * 1000.0,
        waits.last().unwrap().as_secs_f64() * 1000.0,
        (changes_after - changes_before) as f64 / edits as f64,
    );
    drop(a);
    drop(b);
}
