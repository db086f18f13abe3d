//! `cargo bench`: builds a synthetic site, starts the real `newsroom` binary
//! on it, and drives concurrent HTTP clients at each contract operation and
//! at `recordView` — the article page three ways: slugs drawn from every
//! article by a Zipf law, slugs drawn uniformly from 1,000 articles, and one
//! hot article — reporting requests per second, p50 and p99 latency and the
//! server's peak memory. In the same run, a minimal axum endpoint answering a
//! precomputed body of the ArticlePage's size measures what this machine can
//! do at all; every operation is also given as a fraction of it.
//!
//! Settings (environment): `BENCH_ARTICLES` (10000), `BENCH_SECONDS` per
//! operation (5), `BENCH_CONNECTIONS` (32), `BENCH_CACHE_MAX_AGE`,
//! `BENCH_ONLY` (a comma-separated list of operations to measure),
//! `BENCH_READ_CACHE_MB` (the server's read cache; 0 measures it off),
//! `BENCH_RESPONSE_CACHE_MB` (its response cache; the server's default
//! unless set),
//! `BENCH_SERVER` (the path of another build of `newsroom` to measure),
//! `BENCH_SERVER_CPUS` and `BENCH_CLIENT_CPUS` (pin the server, with every
//! PostgreSQL process of this machine, and the benchmark's own clients to
//! these CPUs, as `taskset -c` names them; unpinned unless set); with
//! `DATABASE_URL=postgres://…` the site is built in a new database there,
//! otherwise in a SQLite file (kept in `BENCH_DIR` when that is set).
//! `BENCH_SITE=<database URL>` measures a site an earlier run built (each
//! run prints its site's URL) instead of building one: a 1,000,000-article
//! site takes most of an hour to build and index, its measurements minutes.
//! `BENCH_WARM_SECONDS` (0) sends each operation's traffic for that long,
//! unmeasured, before measuring it: a warm run then measures the steady
//! state a site's caches reach, not the minutes after a restart.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark: a panic is a failed run

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{Duration as Days, Utc};
use entity::{
    article::{self, ArticleStatus},
    article_tag, category,
    comment::{self, CommentStatus},
    tag,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const WORDS_ZH: &[&str] = &[
    "人工智能",
    "芯片",
    "新能源",
    "开源",
    "城市",
    "教育",
    "市场",
    "研究",
    "数据",
    "平台",
    "创新",
    "团队",
    "用户",
    "政策",
    "技术",
    "发布",
    "合作",
    "网络",
    "服务",
    "增长",
];
const WORDS_EN: &[&str] = &[
    "open", "source", "model", "chip", "battery", "market", "cloud", "data", "startup", "research",
    "policy", "network",
];

/// Deterministic text of `sentences` sentences, Chinese with English mixed in.
fn text(seed: u64, sentences: usize) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let mut out = String::new();
    for _ in 0..sentences {
        for _ in 0..(6 + next(6)) {
            out.push_str(WORDS_ZH[next(WORDS_ZH.len())]);
            if next(5) == 0 {
                out.push(' ');
                out.push_str(WORDS_EN[next(WORDS_EN.len())]);
                out.push(' ');
            }
        }
        out.push('。');
    }
    out
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
            // Keep the URL's settings (`?sslmode=…`), change only the name.
            let (address, settings) = match url.split_once('?') {
                Some((address, settings)) => (address, format!("?{settings}")),
                None => (url.as_str(), String::new()),
            };
            let base = address.rsplit_once('/').unwrap().0;
            format!("{base}/{name}{settings}")
        }
        _ => {
            // A kept folder holds the previous run's site: start afresh.
            let file = folder.join("bench.db");
            for stale in ["bench.db", "bench.db-wal", "bench.db-shm"] {
                let _ = std::fs::remove_file(folder.join(stale));
            }
            format!("sqlite://{}", file.display())
        }
    }
}

/// Builds the site: 8 sections with 4 sub-sections each, 200 tags,
/// `articles` articles of about 20 paragraphs, 3 tags and ~10 comments each.
async fn build_site(db: &DatabaseConnection, articles: u64) {
    let now = Utc::now();
    let mut leaves = Vec::new();
    let mut sections = Vec::new();
    for s in 0..8 {
        let id = Uuid::now_v7();
        sections.push(category::ActiveModel {
            id: Set(id),
            slug: Set(format!("section-{s}")),
            name: Set(format!("栏目{s}")),
            description: Set(text(s, 1)),
            parent_id: Set(None),
            position: Set(s as i32),
            created_at: Set(now),
            updated_at: Set(now),
        });
        for c in 0..4 {
            let child = Uuid::now_v7();
            leaves.push(child);
            sections.push(category::ActiveModel {
                id: Set(child),
                slug: Set(format!("section-{s}-{c}")),
                name: Set(format!("子栏目{s}-{c}")),
                description: Set(String::new()),
                parent_id: Set(Some(id)),
                position: Set(c),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    // Parents first: insert top sections, then the rest.
    let (tops, subs): (Vec<_>, Vec<_>) = sections
        .into_iter()
        .partition(|s| matches!(&s.parent_id, sea_orm::ActiveValue::Set(None)));
    category::Entity::insert_many(tops).exec(db).await.unwrap();
    category::Entity::insert_many(subs).exec(db).await.unwrap();

    let tags: Vec<Uuid> = (0..200).map(|_| Uuid::now_v7()).collect();
    tag::Entity::insert_many(tags.iter().enumerate().map(|(i, id)| tag::ActiveModel {
        id: Set(*id),
        slug: Set(format!("tag-{i}")),
        name: Set(format!("标签{i}")),
        created_at: Set(now),
    }))
    .exec(db)
    .await
    .unwrap();

    let chunk = 200;
    for start in (0..articles).step_by(chunk) {
        let mut rows = Vec::new();
        let mut links = Vec::new();
        let mut comments = Vec::new();
        for n in start..(start + chunk as u64).min(articles) {
            let id = Uuid::now_v7();
            let paragraphs: Vec<String> = (0..20)
                .map(|p| format!("<p>{}</p>", text(n * 31 + p, 3)))
                .collect();
            let html = paragraphs.concat();
            let published = now - Days::minutes((articles - n) as i64);
            rows.push(article::ActiveModel {
                id: Set(id),
                slug: Set(format!("article-{n}")),
                title: Set(format!(
                    "{} {n}",
                    text(n, 1).chars().take(24).collect::<String>()
                )),
                summary: Set(None),
                body_text: Set(newsroom::content::text::body::plain_text(&html)),
                body: Set(html),
                cover_image_url: Set(Some(format!("/media/{n}.jpg"))),
                cover_image_alt: Set(None),
                author: Set("记者".to_owned()),
                source: Set(None),
                status: Set(ArticleStatus::Published),
                published_at: Set(Some(published)),
                created_at: Set(published),
                updated_at: Set(published),
                category_id: Set(leaves[(n as usize) % leaves.len()]),
                view_count: Set((n * 7919 % 5000) as i64),
                comment_count: Set(10),
                version: Set(1),
                comments_closed: Set(false),
            });
            for t in 0..3 {
                links.push(article_tag::ActiveModel {
                    article_id: Set(id),
                    tag_id: Set(tags[((n * 3 + t * 67) as usize) % tags.len()]),
                });
            }
            for c in 0..10 {
                comments.push(comment::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    article_id: Set(id),
                    author_name: Set(format!("读者{c}")),
                    author_email: Set(format!("reader{c}@example.com")),
                    body: Set(text(n * 11 + c, 2)),
                    status: Set(CommentStatus::Approved),
                    created_at: Set(published + Days::minutes(c as i64 + 1)),
                    client_fingerprint: Set(None),
                });
            }
        }
        article::Entity::insert_many(rows).exec(db).await.unwrap();
        article_tag::Entity::insert_many(links)
            .exec(db)
            .await
            .unwrap();
        for part in comments.chunks(500) {
            comment::Entity::insert_many(part.to_vec())
                .exec(db)
                .await
                .unwrap();
        }
    }
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

/// Pins this process's threads (the clients and the static endpoint) to
/// `BENCH_CLIENT_CPUS` and, on PostgreSQL, every `postgres` process of this
/// machine to `BENCH_SERVER_CPUS` (new connections' processes inherit it
/// from the postmaster), so that server and database share the server's
/// CPUs and the clients never take theirs. PostgreSQL gets its own CPUs
/// back when the returned guard is dropped.
fn pin_for_benchmark(database_url: &str) -> Pinned {
    let affinity = |pid: &str| -> String {
        let shown = Command::new("taskset")
            .args(["-c", "-p", pid])
            .output()
            .unwrap();
        let shown = String::from_utf8(shown.stdout).unwrap();
        shown.rsplit(": ").next().unwrap().trim().to_owned()
    };
    if let Ok(cpus) = std::env::var("BENCH_CLIENT_CPUS") {
        let pid = std::process::id().to_string();
        // A thread of this process ending while taskset walks them fails
        // the whole call: the next try finds it gone.
        assert!(
            (0..5).any(|_| set_affinity(&cpus, &pid, Threads::All)),
            "cannot pin the clients"
        );
    }
    let mut database = Vec::new();
    if let (Ok(cpus), true) = (
        std::env::var("BENCH_SERVER_CPUS"),
        database_url.starts_with("postgres"),
    ) {
        let found = Command::new("pgrep")
            .arg("-x")
            .arg("postgres")
            .output()
            .unwrap();
        let pids = String::from_utf8(found.stdout).unwrap();
        assert!(!pids.trim().is_empty(), "no postgres process to pin");
        for pid in pids.split_whitespace() {
            // A connection's process may end between pgrep and taskset.
            let had = affinity(pid);
            if set_affinity(&cpus, pid, Threads::All) {
                database.push((pid.to_owned(), had));
            }
        }
        assert!(!database.is_empty(), "no postgres process could be pinned");
    }
    Pinned { database }
}

/// Which threads [`set_affinity`] pins.
#[derive(Clone, Copy, PartialEq)]
enum Threads {
    /// Every thread of the process.
    All,
    /// The one thread named.
    One,
}

/// Pins `task` (a process, or one thread) to `cpus`; whether taskset could.
fn set_affinity(cpus: &str, task: &str, threads: Threads) -> bool {
    let mut taskset = Command::new("taskset");
    if threads == Threads::All {
        taskset.arg("-a");
    }
    taskset
        .args(["-p", "-c", cpus, task])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// PostgreSQL's processes as they were before [`pin_for_benchmark`], with
/// the CPUs each had: given back on drop.
struct Pinned {
    database: Vec<(String, String)>,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        for (pid, cpus) in &self.database {
            // A connection's process may have ended meanwhile.
            set_affinity(cpus, pid, Threads::All);
        }
    }
}

fn start_server(database_url: &str, cache_max_age: u64) -> Server {
    // BENCH_SERVER runs another build of the server (an A/B comparison).
    let binary =
        std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_newsroom").to_owned());
    // BENCH_SERVER_CPUS pins the server to some CPUs (through taskset).
    let mut command = match std::env::var("BENCH_SERVER_CPUS") {
        Ok(cpus) => {
            let mut pinned = Command::new("taskset");
            pinned.args(["-c", &cpus, &binary]);
            pinned
        }
        Err(_) => Command::new(binary),
    };
    let mut process = command
        .env("DATABASE_URL", database_url)
        .env("NEWSROOM_LISTEN", "127.0.0.1:0")
        .env("NEWSROOM_NO_DEMO", "true")
        .env("NEWSROOM_LOG", "warn,newsroom=info")
        // BENCH_VIEW_WINDOW: how long a reader's repeated view counts once
        // (off unless set, so `recordView` measures counting alone).
        .env(
            "NEWSROOM_VIEW_WINDOW",
            std::env::var("BENCH_VIEW_WINDOW").unwrap_or_else(|_| "0s".to_owned()),
        )
        .env("NEWSROOM_TRUSTED_PROXY_HEADER", "x-forwarded-for")
        .env("NEWSROOM_MAX_CONCURRENT_REQUESTS", "4096")
        .env("NEWSROOM_CACHE_MAX_AGE", format!("{cache_max_age}s"))
        .env(
            "NEWSROOM_READ_CACHE_MB",
            std::env::var("BENCH_READ_CACHE_MB").unwrap_or_else(|_| "64".to_owned()),
        )
        // BENCH_RESPONSE_CACHE_MB: the response cache (the server's default
        // unless set; 0 with a read cache of 0 measures a cold page).
        .envs(std::env::var("BENCH_RESPONSE_CACHE_MB").map(|mb| ("NEWSROOM_RESPONSE_CACHE_MB", mb)))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = process.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut rebuilding = false;
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        rebuilding |= line.contains("rebuilding it while serving");
        // Not the first address in the log: a slow statement logged while
        // the server starts may quote one.
        if let Some(at) = line.find("GraphiQL at http://") {
            let at = at + "GraphiQL at ".len();
            break line[at..].split_whitespace().next().unwrap().to_owned();
        }
    };
    // Another build's server indexes the site for search in the
    // background as it starts: measured meanwhile, it would pay for that.
    if rebuilding {
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.contains("the search index is rebuilt") {
                break;
            }
            // A failed rebuild never says it is done: waiting on would hang.
            assert!(
                !line.contains("rebuilding the search index failed"),
                "the server could not rebuild the search index: {line}"
            );
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server { process, url }
}

/// The server's peak resident memory, from /proc (Linux).
fn peak_memory_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Measured {
    /// Requests answered without an error.
    succeeded: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// Which article slugs a run asks for, one drawn per request.
enum Slugs {
    /// `article-0` … `article-{n-1}`, each as likely.
    Uniform(u64),
    /// All articles by a Zipf law (s = 1): the rank-k article is asked for
    /// in proportion to 1/k. Ranks are spread over the ids by a fixed
    /// stride, so the popular articles are not the newest ones only.
    Zipf {
        /// Cumulative probability of ranks 1..=k.
        cumulative: Vec<f64>,
        /// The stride from ranks to article numbers (coprime with n).
        stride: u64,
    },
    /// `numbers`' draws counted from `first` on.
    From { first: u64, numbers: Box<Slugs> },
}

impl Slugs {
    fn zipf(articles: u64) -> Self {
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = (1..=articles)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect();
        for c in &mut cumulative {
            *c /= total;
        }
        // A large prime that does not divide the count.
        let stride = [7_919u64, 104_729, 1_299_709]
            .into_iter()
            .find(|p| !articles.is_multiple_of(*p))
            .unwrap();
        Self::Zipf { cumulative, stride }
    }

    /// The article number for one request.
    fn draw(&self, rng: &mut impl rand::Rng) -> u64 {
        match self {
            Self::From { first, numbers } => first + numbers.draw(rng),
            Self::Uniform(n) => rng.random_range(0..*n),
            Self::Zipf { cumulative, stride } => {
                let u: f64 = rng.random();
                let rank = cumulative.partition_point(|c| *c < u) as u64;
                (rank * stride) % cumulative.len() as u64
            }
        }
    }
}

/// What every request of a run sends.
#[derive(Clone)]
enum Body {
    /// A GET of the URL.
    Get,
    /// The same JSON request every time.
    Fixed(bytes::Bytes),
    /// The same JSON request every time, each from another reader: a
    /// distinct `x-forwarded-for` address per request.
    FromEveryone(bytes::Bytes),
    /// A JSON request whose `article-N` slug is drawn per request:
    /// `before`, the number, `after`.
    Drawn {
        before: Arc<String>,
        after: Arc<String>,
        slugs: Arc<Slugs>,
    },
    /// One of several fixed requests, drawn per request.
    Among {
        requests: Arc<Vec<bytes::Bytes>>,
        draw: Arc<Slugs>,
    },
}

impl Body {
    /// The same request every time; encoded once, as a load generator
    /// sends fixed bytes: the client's JSON encoding is not the server's
    /// work.
    fn fixed(request: &Value) -> Self {
        Self::Fixed(bytes::Bytes::from(serde_json::to_vec(request).unwrap()))
    }

    /// The same request every time, each from another reader.
    fn from_everyone(request: &Value) -> Self {
        Self::FromEveryone(bytes::Bytes::from(serde_json::to_vec(request).unwrap()))
    }

    /// `request` (whose variables hold the slug `article-SLUG`) with the
    /// slug drawn from `slugs` per request.
    fn drawn(request: &Value, slugs: Slugs) -> Self {
        Self::drawn_at(request, "article-SLUG", "article-", slugs)
    }

    /// `request` with `marker` in its text replaced per request by
    /// `prefix` and a number drawn from `numbers`.
    fn drawn_at(request: &Value, marker: &str, prefix: &str, numbers: Slugs) -> Self {
        let text = serde_json::to_string(request).unwrap();
        let (before, after) = text.split_once(marker).unwrap();
        Self::Drawn {
            before: Arc::new(format!("{before}{prefix}")),
            after: Arc::new(after.to_owned()),
            slugs: Arc::new(numbers),
        }
    }

    /// One of `requests` per request, drawn by a Zipf law (the first
    /// most often).
    fn among(requests: &[Value]) -> Self {
        Self::Among {
            requests: Arc::new(
                requests
                    .iter()
                    .map(|r| bytes::Bytes::from(serde_json::to_vec(r).unwrap()))
                    .collect(),
            ),
            draw: Arc::new(Slugs::zipf(requests.len() as u64)),
        }
    }
}

/// Sends `body` from `connections` clients for `seconds`.
async fn drive(url: &str, body: Body, connections: u64, seconds: u64) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections as usize)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections {
        let client = client.clone();
        let url = url.to_owned();
        let body = body.clone();
        let stop = Arc::clone(&stop);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_rng(&mut rand::rng());
            let mut sent_here = 0u32;
            while !stop.load(Ordering::Relaxed) {
                sent_here += 1;
                let sent = Instant::now();
                let json = |bytes| {
                    client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(bytes)
                };
                let request = match &body {
                    Body::Fixed(bytes) => json(bytes.clone()),
                    Body::FromEveryone(bytes) => {
                        // 10.w.x.y: the worker and its request number, so
                        // no address comes twice in a run.
                        let reader = std::net::Ipv4Addr::from(
                            (10u32 << 24) | ((worker as u32) << 18) | (sent_here & 0x3ffff),
                        );
                        json(bytes.clone()).header("x-forwarded-for", reader.to_string())
                    }
                    Body::Drawn {
                        before,
                        after,
                        slugs,
                    } => json(bytes::Bytes::from(format!(
                        "{before}{}{after}",
                        slugs.draw(&mut rng)
                    ))),
                    Body::Among { requests, draw } => {
                        json(requests[draw.draw(&mut rng) as usize].clone())
                    }
                    Body::Get => client.get(&url),
                };
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        let bytes = response.bytes().await;
                        if bytes.map(|b| b.is_empty()).unwrap_or(true) {
                            errors += 1;
                        }
                    }
                    _ => errors += 1,
                }
                latencies.push(sent.elapsed().as_micros() as u64);
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (latencies, failed) = worker.await.unwrap();
        all.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Measured {
        succeeded: all.len() as u64 - errors,
        rps: all.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        errors,
    }
}

/// A search page: ten results with highlights and how many there are.
const SEARCH_QUERY: &str = "query Search($query: String!) { search(query: $query, first: 10) { totalCount edges { score node { id slug title } highlights { title excerpt } } } }";

/// Indexes the built site for search, timing it, timing one article's
/// refresh (what indexing adds to a publish), and reporting the index's
/// size.
async fn index_for_search(db: &DatabaseConnection, database_url: &str) {
    use newsroom::content::search::index;
    let size = || async {
        if database_url.starts_with("postgres") {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_total_relation_size('search_documents')::bigint AS bytes",
                ))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "bytes").unwrap() as f64
        } else {
            db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
            let file = database_url.trim_start_matches("sqlite://");
            std::fs::metadata(file.split('?').next().unwrap())
                .unwrap()
                .len() as f64
        }
    };
    let before = if database_url.starts_with("postgres") {
        0.0
    } else {
        size().await
    };
    let started = Instant::now();
    let indexed = index::rebuild(db, index::WhenRefused::Fail, |_| {})
        .await
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    if database_url.starts_with("postgres") {
        db.execute_unprepared("VACUUM ANALYZE search_documents")
            .await
            .unwrap();
    }
    let bytes = size().await - before;
    let ids: Vec<Uuid> = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .limit(200)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let one = Instant::now();
    for id in &ids {
        let txn = newsroom::database::begin_write(db).await.unwrap();
        index::refresh(&*txn, &[*id]).await.unwrap();
        txn.commit().await.unwrap();
    }
    let per_article = one.elapsed().as_secs_f64() * 1000.0 / ids.len() as f64;
    eprintln!(
        "indexed {indexed} articles for search in {seconds:.1} s ({:.2} ms each); index {:.1} MB ({:.1} MB per 10,000 articles); one article's refresh in its own transaction {per_article:.2} ms",
        seconds * 1000.0 / indexed as f64,
        bytes / 1e6,
        bytes / 1e6 * 10_000.0 / indexed as f64
    );
}

/// Makes the schema (the measured build's own, see `BENCH_SERVER`), builds
/// a site of `articles` articles and indexes it for search.
async fn build_and_index(db: &DatabaseConnection, database_url: &str, articles: u64) {
    let built = Instant::now();
    match std::env::var("BENCH_SERVER") {
        // An older build refuses a schema with migrations it does not know:
        // it makes the schema itself (the site's rows fit both builds as
        // long as the entities did not change between them).
        Ok(other) => {
            let migrated = Command::new(other)
                .arg("migrate")
                .env("DATABASE_URL", database_url)
                .env("NEWSROOM_LOG", "warn")
                .status()
                .unwrap();
            assert!(migrated.success(), "BENCH_SERVER migrate failed");
        }
        Err(_) => newsroom::database::migrate(db).await.unwrap(),
    }
    build_site(db, articles).await;
    // A database in steady state has planner statistics and a visibility
    // map: PostgreSQL's autovacuum makes both after a bulk load (without the
    // map no index-only scan pays off), the server gathers SQLite's.
    if database_url.starts_with("postgres") {
        db.execute_unprepared("VACUUM ANALYZE").await.unwrap();
    }
    eprintln!(
        "built a site of {articles} articles in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    if std::env::var("BENCH_SERVER").is_err() {
        index_for_search(db, database_url).await;
    }
    eprintln!("the site is {database_url}: BENCH_SITE={database_url} measures it again");
}

/// A site an earlier run built (`BENCH_SITE`): how many articles it has.
async fn articles_built_before(db: &DatabaseConnection) -> u64 {
    use sea_orm::PaginatorTrait;
    let articles = article::Entity::find().count(db).await.unwrap();
    eprintln!("measuring a site built before, of {articles} articles");
    articles
}

fn contract(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/contract/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::main]
async fn main() {
    // `cargo test` also runs benches' mains in test mode with --bench absent;
    // do the work only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let articles = setting("BENCH_ARTICLES", 10_000);
    let seconds = setting("BENCH_SECONDS", 5);
    let connections = setting("BENCH_CONNECTIONS", 32);
    let cache_max_age = setting("BENCH_CACHE_MAX_AGE", 30);
    let warm_seconds = setting("BENCH_WARM_SECONDS", 0);
    let folder = tempfile::tempdir().unwrap();
    // BENCH_DIR keeps the SQLite site afterwards, for looking at query plans.
    let kept = std::env::var("BENCH_DIR")
        .ok()
        .map(std::path::PathBuf::from);
    let reused = std::env::var("BENCH_SITE").ok();
    let database_url = match &reused {
        Some(url) => url.clone(),
        None => fresh_database(kept.as_deref().unwrap_or(folder.path())).await,
    };
    let config = newsroom::config::Config::for_database(database_url.clone());
    let db = newsroom::database::connect(&config.database_url, config.database_connections())
        .await
        .unwrap();
    let articles = match reused {
        Some(_) => articles_built_before(&db).await,
        None => {
            build_and_index(&db, &database_url, articles).await;
            articles
        }
    };
    let article_id = article::Entity::find().one(&db).await.unwrap().unwrap().id;
    drop(db);

    let _pinned = pin_for_benchmark(&database_url);
    let server = start_server(&database_url, cache_max_age);
    let article_page = json!({
        "query": contract("article-page.graphql"), "operationName": "ArticlePage",
        "variables": { "slug": format!("article-{}", articles / 2) },
    });
    let drawn_page = json!({
        "query": contract("article-page.graphql"), "operationName": "ArticlePage",
        "variables": { "slug": "article-SLUG" },
    });
    let search = |query: &str| {
        json!({
            "query": SEARCH_QUERY, "operationName": "Search",
            "variables": { "query": query },
        })
    };
    let common_words: Vec<Value> = WORDS_ZH
        .iter()
        .chain(WORDS_EN)
        .map(|word| search(word))
        .chain(
            WORDS_ZH
                .iter()
                .zip(WORDS_EN.iter().cycle())
                .take(10)
                .map(|(zh, en)| search(&format!("{zh} {en}"))),
        )
        .collect();
    let record_view = json!({ "query": contract("reader-mutations.graphql"), "operationName": "RecordView", "variables": { "articleId": article_id } });
    let operations: Vec<(&str, Body)> = vec![
        // Readers spread over the site: every article by a Zipf law, and
        // 1,000 articles each as likely (issue 19).
        (
            "ArticlePage zipf",
            Body::drawn(&drawn_page, Slugs::zipf(articles)),
        ),
        (
            "ArticlePage uniform 1000",
            Body::drawn(&drawn_page, Slugs::Uniform(articles.min(1_000))),
        ),
        // One slug over and over: what a single breaking story does.
        ("ArticlePage hot article", Body::fixed(&article_page)),
        (
            "HomePage",
            Body::fixed(&json!({ "query": contract("home.graphql"), "operationName": "HomePage" })),
        ),
        (
            "CategoryPage",
            Body::fixed(
                &json!({ "query": contract("category-page.graphql"), "operationName": "CategoryPage", "variables": { "slug": "section-3" } }),
            ),
        ),
        (
            "TagPage",
            Body::fixed(
                &json!({ "query": contract("category-page.graphql"), "operationName": "TagPage", "variables": { "tag": "tag-7" } }),
            ),
        ),
        // A search box: words every article holds (the most work a query
        // can ask for: each scores every article) and one article's title
        // number (Zipf over all articles: the index finds one).
        ("search common words", Body::among(&common_words)),
        // A tag's name (标签37 reads 标签 37): each of the 200 tags is on
        // 1.5% of the articles, so a few hundred matches at 10,000.
        (
            "search tag name",
            Body::drawn_at(&search("标签NUMBER"), "NUMBER", "", Slugs::zipf(200)),
        ),
        // Numbers from 200 on: the tags' names hold 0 to 199.
        (
            "search one article",
            Body::drawn_at(
                &search("NUMBER"),
                "NUMBER",
                "",
                Slugs::From {
                    first: 200,
                    numbers: Box::new(Slugs::zipf(articles.saturating_sub(200).max(1))),
                },
            ),
        ),
        ("recordView", Body::fixed(&record_view)),
        (
            "recordView from distinct readers",
            Body::from_everyone(&record_view),
        ),
    ];

    // The machine's limit: a precomputed body of the ArticlePage's size.
    let sample = reqwest::Client::new()
        .post(&server.url)
        .json(&article_page)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let size = sample.len();
    let static_body = bytes::Bytes::from(vec![b'x'; size]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let static_url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let body = static_body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    // The static endpoint runs where the server runs (its own runtime, on
    // BENCH_SERVER_CPUS when set): the limit it measures is that of the
    // server's CPUs, not of the clients'.
    std::thread::spawn(move || {
        if let Ok(cpus) = std::env::var("BENCH_SERVER_CPUS") {
            let thread = std::fs::read_link("/proc/thread-self").unwrap();
            let tid = thread.file_name().unwrap().to_str().unwrap();
            assert!(
                set_affinity(&cpus, tid, Threads::One),
                "cannot pin the static endpoint"
            );
        }
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await
        })
    });

    let backend = if database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let read_cache = match std::env::var("BENCH_READ_CACHE_MB").as_deref() {
        Ok("0") => "read cache off".to_owned(),
        Ok(mb) => format!("read cache {mb} MB"),
        Err(_) => "read cache 64 MB".to_owned(),
    };
    let read_cache = match std::env::var("BENCH_RESPONSE_CACHE_MB").as_deref() {
        Ok("0") => format!("{read_cache}, response cache off"),
        Ok(mb) => format!("{read_cache}, response cache {mb} MB"),
        Err(_) => format!("{read_cache}, response cache on"),
    };
    let pinned = match (
        std::env::var("BENCH_CLIENT_CPUS"),
        std::env::var("BENCH_SERVER_CPUS"),
    ) {
        (Ok(clients), Ok(server)) => format!(", clients on CPU {clients}, server on CPU {server}"),
        _ => String::new(),
    };
    let warmed = match warm_seconds {
        0 => String::new(),
        s => format!(", each after {s} s unmeasured"),
    };
    println!(
        "\n{backend}, {articles} articles, {connections} connections, {seconds} s each{warmed}, {read_cache}{pinned}, ArticlePage response {size} bytes\n"
    );
    println!("| operation | req/s | p50 ms | p99 ms | errors | of the static limit |");
    println!("|---|---:|---:|---:|---:|---:|");
    let limit = drive(&static_url, Body::Get, connections, seconds).await;
    println!(
        "| static {size} B (limit) | {:.0} | {:.2} | {:.2} | {} | 100% |",
        limit.rps, limit.p50_ms, limit.p99_ms, limit.errors
    );
    // BENCH_ONLY=ArticlePage,recordView measures just those operations.
    let only = std::env::var("BENCH_ONLY").ok();
    // An entry names an operation, or all that start with it
    // (`ArticlePage` selects the three article page runs).
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|w| name.starts_with(w.trim())))
    };
    let stored_views = || async {
        let db = newsroom::database::connect(&database_url, 1).await.unwrap();
        let views = article::Entity::find_by_id(article_id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .view_count;
        db.close().await.unwrap();
        views
    };
    for (name, body) in operations.into_iter().filter(|(name, _)| wanted(name)) {
        let counting = name.starts_with("recordView");
        if let Body::Among { requests, .. } = &body {
            // Each distinct request once, alone, before the run: what an
            // uncached search costs, and a cache warm as a site's is.
            let client = reqwest::Client::new();
            let mut each = Vec::new();
            for request in requests.iter() {
                let sent = Instant::now();
                let response = client
                    .post(&server.url)
                    .header("content-type", "application/json")
                    .body(request.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
                each.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            each.sort_by(f64::total_cmp);
            eprintln!(
                "{name}: {} distinct requests, uncached alone: median {:.1} ms, max {:.1} ms",
                each.len(),
                each[each.len() / 2],
                each[each.len() - 1]
            );
        }
        if warm_seconds > 0 {
            let warming = drive(&server.url, body.clone(), connections, warm_seconds).await;
            eprintln!(
                "{name}: warmed for {warm_seconds} s ({:.0} req/s, p99 {:.1} ms, unmeasured)",
                warming.rps, warming.p99_ms
            );
            if counting {
                // The warm-up's views are stored before counting starts.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        let before = if counting { stored_views().await } else { 0 };
        let measured = drive(&server.url, body, connections, seconds).await;
        if counting {
            // Every acknowledged view is stored within a flush or two.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let stored = stored_views().await - before;
            let window = std::env::var("BENCH_VIEW_WINDOW").unwrap_or_default();
            eprintln!(
                "{name}: {} views acknowledged, {stored} stored (view window {window:?})",
                measured.succeeded
            );
        }
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {} | {:.2}% |",
            measured.rps,
            measured.p50_ms,
            measured.p99_ms,
            measured.errors,
            100.0 * measured.rps / limit.rps
        );
    }
    if let Some(peak) = peak_memory_mb(server.process.id()) {
        println!("\nserver peak memory (VmHWM): {peak:.0} MB");
    }
}
