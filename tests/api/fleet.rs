//! Several server processes on one database behave as one server: a write
//! through one is served by the others within two seconds (they follow the
//! change feed: PostgreSQL's notifications, or a look at the table every
//! quarter of a second on SQLite), also while readers keep them busy; a cut
//! listening connection loses nothing, and a pending comment leaves every
//! read cache as it was.

use std::time::{Duration, Instant};

use entity::api_token::Role;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::common::{self, TestApp, process::Server};

/// How long another process may serve a stale answer.
const PROPAGATION_LIMIT: Duration = Duration::from_secs(2);

/// Sends `query` to `url` with `token` (when given); the JSON answer.
async fn call(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends a mutation and checks it succeeded; its data.
async fn write(url: &str, token: &str, query: &str, variables: Value) -> Value {
    let answer = call(url, Some(token), query, variables).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"].clone()
}

/// Asks `url` for `query` until `seen` holds for the answer; how long that
/// took. Fails when it takes longer than [`PROPAGATION_LIMIT`].
async fn served_within(
    url: &str,
    query: &str,
    variables: Value,
    seen: impl Fn(&Value) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let answer = call(url, None, query, variables.clone()).await;
        if seen(&answer) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PROPAGATION_LIMIT,
            "still stale after {:?}: {answer}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const ARTICLE: &str = "query($slug: String!) { article(slug: $slug) { id title version category { slug name } tags { name } commentCount comments(first: 10) { edges { node { body } } } } }";

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_process_is_served_by_the_other_within_two_seconds() {
    let app = TestApp::spawn_with(common::Options {
        comment_policy: newsroom::config::CommentPolicy::Moderate,
        ..common::Options::default()
    })
    .await;
    let editor = app.token(Role::Editor).await;
    let moderator = app.token(Role::Moderator).await;
    let id = app.article_id("city-night-bus").await;
    let a = Server::start(&app.database_url, &[]);
    let b = Server::start(&app.database_url, &[]);
    let slug = json!({ "slug": "city-night-bus" });
    let page = |url: &str| {
        let url = url.to_owned();
        async move { call(&url, None, ARTICLE, json!({ "slug": "city-night-bus" })).await }
    };
    // B has the page cached before each write.
    let before = page(&b.graphql_url).await;
    let article = &before["data"]["article"];
    let version = article["version"].as_i64().unwrap();
    let mut waits = Vec::new();

    // An edited title.
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, version: $v, input: { title: \"夜班公交延长运营\" }) { article { id } } }",
        json!({ "id": id, "v": version }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["title"] == "夜班公交延长运营"
        })
        .await,
    );

    // Its section renamed.
    let section = article["category"]["slug"].as_str().unwrap().to_owned();
    let section_id = common::section_id(&app, &section).await;
    page(&b.graphql_url).await;
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { updateCategory(id: $id, input: { name: \"城市生活\" }) { category { id } } }",
        json!({ "id": section_id }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["category"]["name"] == "城市生活"
        })
        .await,
    );

    // Moved to another section.
    let other = common::section_id(&app, "technology").await;
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!, $c: ID!) { updateArticle(id: $id, version: 2, input: { categoryId: $c }) { article { id } } }",
        json!({ "id": id, "c": other }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["category"]["slug"] == "technology"
        })
        .await,
    );

    // A tag renamed.
    let tagged = write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { setArticleTags(id: $id, tags: [\"夜班\"]) { article { tags { id } } } }",
        json!({ "id": id }),
    )
    .await;
    let tag = tagged["setArticleTags"]["article"]["tags"][0]["id"].clone();
    served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
        answer["data"]["article"]["tags"] == json!([{ "name": "夜班" }])
    })
    .await;
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { updateTag(id: $id, name: \"夜间公交\") { tag { id } } }",
        json!({ "id": tag }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["tags"] == json!([{ "name": "夜间公交" }])
        })
        .await,
    );

    // That tag merged into another.
    let policy = call(
        &b.graphql_url,
        None,
        "{ tag(slug: \"policy\") { id name } }",
        json!({}),
    )
    .await;
    let (policy_id, policy_name) = (
        policy["data"]["tag"]["id"].clone(),
        policy["data"]["tag"]["name"].clone(),
    );
    write(
        &a.graphql_url,
        &editor,
        "mutation($from: ID!, $to: ID!) { mergeTags(sourceIds: [$from], targetId: $to) { tag { id } } }",
        json!({ "from": tag, "to": policy_id }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["tags"] == json!([{ "name": policy_name }])
        })
        .await,
    );

    // A comment approved by a moderator.
    let added = call(
        &a.graphql_url,
        None,
        "mutation($id: ID!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"reader@example.com\", body: \"末班车终于晚了\" }) { comment { id } } }",
        json!({ "id": id }),
    )
    .await;
    let comment = added["data"]["addComment"]["comment"]["id"].clone();
    assert!(comment.is_string(), "{added}");
    write(
        &a.graphql_url,
        &moderator,
        "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { id } } }",
        json!({ "ids": [comment] }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"]["comments"]["edges"]
                .as_array()
                .is_some_and(|edges| edges.iter().any(|e| e["node"]["body"] == "末班车终于晚了"))
        })
        .await,
    );

    // A revoked token, at once everywhere (tokens are read per request).
    let doomed = app.token(Role::Editor).await;
    let doomed_id = newsroom::content::tokens::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .max_by_key(|token| token.created_at)
        .unwrap()
        .id;
    write(
        &a.graphql_url,
        &app.token(Role::Admin).await,
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
        json!({ "id": doomed_id }),
    )
    .await;
    let refused = call(&b.graphql_url, Some(&doomed), "{ tags { id } }", json!({})).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );

    // Taken down, then deleted.
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { unpublishArticle(id: $id) { article { id } } }",
        json!({ "id": id }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, slug.clone(), |answer| {
            answer["data"]["article"].is_null()
        })
        .await,
    );
    let other_slug = json!({ "slug": "open-source-llm-lab-shenzhen" });
    let other_id = app.article_id("open-source-llm-lab-shenzhen").await;
    call(&b.graphql_url, None, ARTICLE, other_slug.clone()).await;
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
        json!({ "id": other_id }),
    )
    .await;
    waits.push(
        served_within(&b.graphql_url, ARTICLE, other_slug, |answer| {
            answer["data"]["article"].is_null()
        })
        .await,
    );

    eprintln!("propagation to the other process: {waits:?}");
    a.stop().await;
    b.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_listening_connection_was_cut_misses_no_change() {
    if !std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("this test cuts PostgreSQL; it runs in the PostgreSQL pass");
        return;
    }
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let proxy = common::proxy::Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let through_proxy = common::proxy::url_through(&app.database_url, proxy.address);
    let b = Server::start(&through_proxy, &[]);
    let slug = json!({ "slug": "city-night-bus" });
    call(&b.graphql_url, None, ARTICLE, slug.clone()).await;

    // B loses every connection, its listener's included, while edits are
    // made directly on the database.
    proxy.cut().await;
    for (version, n) in (1..).zip(0..5) {
        newsroom::content::articles::editor::update(
            &app.db,
            &newsroom::content::writes::audit::Actor::command_line(),
            id,
            version,
            newsroom::content::articles::editor::ArticleChanges {
                title: Some(format!("第{n}次修改")),
                ..Default::default()
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();

    // Back on the database, B serves the last edit, having missed nothing.
    let started = Instant::now();
    loop {
        let answer = call(&b.graphql_url, None, ARTICLE, slug.clone()).await;
        if answer["data"]["article"]["title"] == "第4次修改" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "B still serves {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.stop().await;
}

#[tokio::test]
async fn a_pending_comment_leaves_the_read_cache_untouched() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let page = || {
        app.contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "city-night-bus" }),
        )
    };
    page().await;
    let (warm, _) = app.statements_during(page()).await;
    let added = app
        .graphql(
            "mutation($id: ID!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"r@example.com\", body: \"等审核\" }) { comment { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        added["data"]["addComment"]["comment"]["status"], "PENDING",
        "{added}"
    );
    let (after_pending, _) = app.statements_during(page()).await;
    assert_eq!(
        (warm, after_pending),
        (0, 0),
        "a warm page reads nothing, before and after"
    );

    // An approval does change the page.
    let moderator = app.token(Role::Moderator).await;
    let pending = newsroom::content::comments::moderation::queue(
        &app.db,
        entity::comment::CommentStatus::Pending,
        10,
        None,
    )
    .await
    .unwrap();
    let comment = pending.items[0].id;
    app.data_as(
        &moderator,
        "mutation($ids: [ID!]!) { moderateComments(ids: $ids, decision: APPROVE) { comments { id } } }",
        json!({ "ids": [comment] }),
    )
    .await;
    let (after_approval, _) = app.statements_during(page()).await;
    assert!(after_approval > 0, "the approved comment is read");
}

#[tokio::test]
async fn the_feed_says_what_each_write_changed_and_the_cli_prints_it() {
    let app = TestApp::spawn_with(common::Options {
        comment_policy: newsroom::config::CommentPolicy::Moderate,
        ..common::Options::default()
    })
    .await;
    let start = newsroom::content::writes::change::latest(&app.db)
        .await
        .unwrap();
    let editor = app.token(Role::Editor).await;
    let moderator = app.token(Role::Moderator).await;
    let id = app.article_id("city-night-bus").await;
    let section = common::section_id(&app, "technology").await;
    app.data_as(
        &editor,
        "mutation($id: ID!, $c: ID!) { updateArticle(id: $id, version: 1, input: { categoryId: $c }) { article { id } } }",
        json!({ "id": id, "c": section }),
    )
    .await;
    common::approved_comment_through_api(&app, &moderator, id, "好").await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .args(["changes", "--since", &start.to_string()])
        .env("DATABASE_URL", &app.database_url)
        .env("NEWSROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let changes: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // Two tokens, the move, the comment waiting (for moderators watching
    // the queue) and its approval.
    assert_eq!(
        kinds,
        [
            "token.created",
            "token.created",
            "article.moved",
            "comment.pending",
            "comment.approved"
        ],
        "{changes:?}"
    );
    let moved = &changes[2];
    assert_eq!(moved["id"], json!(id));
    let keys: Vec<&str> = moved["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(keys.contains(&format!("article:{id}").as_str()), "{keys:?}");
    assert!(
        keys.contains(&format!("section:{}", section.as_str().unwrap()).as_str()),
        "{keys:?}"
    );
    assert_eq!(changes[3]["keys"], json!([format!("article:{id}")]));
    assert_eq!(changes[4]["keys"], json!([format!("article:{id}")]));
    let seqs: Vec<i64> = changes.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");

    // Old changes are pruned; the audit log keeps them. The newest stays,
    // so the feed's latest number never goes back (kept related rankings
    // are dated by it).
    let pruned = newsroom::content::writes::change::prune(
        &app.db,
        chrono::Utc::now() + chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(pruned >= 4);
    let left = newsroom::content::writes::change::after(&app.db, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|change| change.seq).collect::<Vec<_>>(),
        [*seqs.last().unwrap()]
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_alternating_between_processes_gets_the_limit_of_one() {
    if !std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("several processes share limits on PostgreSQL; this runs in its pass");
        return;
    }
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let limits = [
        ("NEWSROOM_COMMENTS_PER_CLIENT_PER_MINUTE", "5"),
        ("NEWSROOM_COMMENTS_PER_ARTICLE_PER_MINUTE", "100"),
    ];
    let a = Server::start(&app.database_url, &limits);
    let b = Server::start(&app.database_url, &limits);
    let mut accepted = 0;
    let mut limited = 0;
    for n in 0..10 {
        let url = if n % 2 == 0 {
            &a.graphql_url
        } else {
            &b.graphql_url
        };
        let answer = call(
            url,
            None,
            "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"读者\", authorEmail: \"r@example.com\", body: $body }) { comment { id } } }",
            json!({ "id": id, "body": format!("第{n}条评论") }),
        )
        .await;
        match answer["errors"][0]["extensions"]["code"].as_str() {
            None => accepted += 1,
            Some("RATE_LIMITED") => {
                limited += 1;
                let retry = answer["errors"][0]["extensions"]["retryAfter"]
                    .as_f64()
                    .unwrap_or(0.0);
                assert!(retry > 0.0 && retry <= 60.0, "{answer}");
            }
            Some(other) => panic!("{other}: {answer}"),
        }
    }
    assert_eq!(
        (accepted, limited),
        (5, 5),
        "five per minute, wherever they land"
    );
    a.stop().await;
    b.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_clients_viewing_through_two_processes_are_counted_once() {
    if !std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        eprintln!("several processes share the view window on PostgreSQL; this runs in its pass");
        return;
    }
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let settings = [
        ("NEWSROOM_VIEW_WINDOW", "30m"),
        ("NEWSROOM_VIEW_FLUSH_INTERVAL", "100ms"),
        ("NEWSROOM_TRUSTED_PROXY_HEADER", "x-forwarded-for"),
    ];
    let a = Server::start(&app.database_url, &settings);
    let b = Server::start(&app.database_url, &settings);
    let client = reqwest::Client::new();
    let stored = || common::stored_views(&app.db, id);
    let before = stored().await;
    let addresses: Vec<String> = (0..1_000)
        .map(|n| format!("198.51.{}.{}", n / 250, n % 250 + 1))
        .collect();
    for (server, pass) in [(&a, "A"), (&b, "B")] {
        let mut calls = tokio::task::JoinSet::new();
        for chunk in addresses.chunks(100) {
            let (client, url, chunk) = (client.clone(), server.graphql_url.clone(), chunk.to_vec());
            calls.spawn(async move {
                for address in chunk {
                    common::record_view(&client, &url, id, Some(&address)).await;
                }
            });
        }
        while let Some(done) = calls.join_next().await {
            done.unwrap();
        }
        // Let the pass's views be written before the next pass starts.
        let deadline = Instant::now() + Duration::from_secs(10);
        while stored().await < before + 1_000 {
            assert!(
                Instant::now() < deadline,
                "pass {pass}: {} stored",
                stored().await - before
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        stored().await,
        before + 1_000,
        "B's repeats were taken back"
    );

    // Both processes answer the stored total, within one flush.
    let shown_by = |url: String| {
        let client = client.clone();
        async move { common::record_view(&client, &url, id, Some("198.51.0.1")).await }
    };
    assert_eq!(shown_by(a.graphql_url.clone()).await, before + 1_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(shown_by(b.graphql_url.clone()).await, before + 1_000);
    a.stop().await;
    b.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_article_is_announced_once_when_it_comes_due() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    // A second process announces too: the fleet says it once.
    let other = Server::start(&app.database_url, &[]);
    let id = app.article_id("draft-ai-chip-roadmap").await;
    let start = newsroom::content::writes::change::latest(&app.db)
        .await
        .unwrap();
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(1_500);
    app.data_as(
        &editor,
        "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { article { status } } }",
        json!({ "id": id, "at": due.to_rfc3339() }),
    )
    .await;
    let kinds = || async {
        newsroom::content::writes::change::after(&app.db, start, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|change| change.entity_id == id)
            .map(|change| (change.kind, change.at))
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds().await.len(), 1, "scheduled, not yet published");
    assert_eq!(kinds().await[0].0, "article.scheduled");
    let deadline = Instant::now() + Duration::from_secs(10);
    while kinds().await.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "never announced: {:?}",
            kinds().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both processes had time to look again.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let seen = kinds().await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].0, "article.published");
    assert!(
        seen[1].1 >= due,
        "announced when it came due, not before: {seen:?}"
    );
    other.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_counted_by_one_process_show_in_the_others_answers_within_a_flush() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    // No view window: every view below counts.
    let settings = [("NEWSROOM_VIEW_FLUSH_INTERVAL", "100ms")];
    let a = Server::start(&app.database_url, &settings);
    let b = Server::start(&app.database_url, &settings);
    let client = reqwest::Client::new();
    let query = "query($slug: String!) { article(slug: $slug) { viewCount } }";
    let variables = json!({ "slug": "city-night-bus" });
    let before = common::stored_views(&app.db, id).await;
    // B remembers the stored count, as a busy page does.
    let shown = call(&b.graphql_url, None, query, variables.clone()).await;
    assert_eq!(
        shown["data"]["article"]["viewCount"],
        json!(before),
        "{shown}"
    );

    for _ in 0..50 {
        common::record_view(&client, &a.graphql_url, id, None).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while common::stored_views(&app.db, id).await < before + 50 {
        assert!(Instant::now() < deadline, "A never wrote its views");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let written = Instant::now();
    // On PostgreSQL A's flush announces the total as it commits; on SQLite
    // B reads back what it remembers every second. The limits leave room
    // for a busy machine, and are well under how long an asked-for count
    // is otherwise remembered (10 s).
    let limit = if app.database_url.starts_with("postgres") {
        Duration::from_millis(600)
    } else {
        Duration::from_millis(2_500)
    };
    loop {
        let shown = call(&b.graphql_url, None, query, variables.clone()).await;
        if shown["data"]["article"]["viewCount"] == json!(before + 50) {
            break;
        }
        assert!(
            written.elapsed() < limit,
            "B still answers {shown} {:?} after A's views were stored",
            written.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        common::record_view(&client, &b.graphql_url, id, None).await,
        before + 51,
        "B counts on from the stored total"
    );
    a.stop().await;
    b.stop().await;
}

/// A related ranking kept by one process is given up by the other when a
/// write through the first changes one of its tags' articles: the kept
/// ranking lives in the database, the mark of the write too, and neither
/// process clears anything but what the change names.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ranking_kept_by_one_process_gives_way_to_a_publication_through_the_other() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let a = Server::start(&app.database_url, &[]);
    let b = Server::start(&app.database_url, &[]);
    const PAGE: &str = "query($slug: String!) { article(slug: $slug) { category { id } tags { slug } related(first: 3) { slug } } }";
    let slug = json!({ "slug": "city-night-bus" });
    // B ranks the article's related teasers and keeps the ranking.
    let before = call(&b.graphql_url, None, PAGE, slug.clone()).await;
    let article = &before["data"]["article"];
    let tags: Vec<Value> = article["tags"].as_array().unwrap().clone();
    assert!(!tags.is_empty(), "{before}");
    let id = app.article_id("city-night-bus").await;
    assert!(
        entity::related_kept::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .is_some(),
        "B kept its ranking"
    );

    // A publishes an article sharing every one of its tags, in its section:
    // the best related teaser there can be.
    let created = write(
        &a.graphql_url,
        &editor,
        "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
        json!({ "input": { "title": "夜班公交新线路", "slug": "night-bus-new-line",
            "body": "<p>新线路</p>", "categoryId": article["category"]["id"],
            "tags": tags.iter().map(|tag| tag["slug"].clone()).collect::<Vec<_>>() } }),
    )
    .await;
    write(
        &a.graphql_url,
        &editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { status } } }",
        json!({ "id": created["createArticle"]["article"]["id"] }),
    )
    .await;
    served_within(&b.graphql_url, PAGE, slug, |answer| {
        answer["data"]["article"]["related"][0]["slug"] == "night-bus-new-line"
    })
    .await;
}

/// Readers keep asking the second process for an article while the first
/// edits its title again and again: every edit reaches them within two
/// seconds. Applying a change once dropped kept answers before the read
/// cache's entries, and an answer worked out between the two was kept,
/// stale, for the cache's whole life (one edit in a few hundred, with one
/// reader; more readers, more often).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_edit_reaches_a_second_process_busy_with_readers() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };
    const TITLE: &str = "query($slug: String!) { article(slug: $slug) { title } }";
    const EDITS: usize = 200;
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;
    let a = Server::start(&app.database_url, &[]);
    let b = Server::start(
        &app.database_url,
        &[("NEWSROOM_CHANGE_POLL_INTERVAL", "20ms")],
    );
    let slug = json!({ "slug": "city-night-bus" });
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (url, slug, stop) = (b.graphql_url.clone(), slug.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    call(&url, None, TITLE, slug.clone()).await;
                }
            })
        })
        .collect();

    let mut version = call(
        &a.graphql_url,
        None,
        "query($id: ID!) { article(id: $id) { version } }",
        json!({ "id": id }),
    )
    .await["data"]["article"]["version"]
        .as_i64()
        .unwrap();
    for edit in 0..EDITS {
        let title = format!("夜班公交 第{edit}版");
        let edited = write(
            &a.graphql_url,
            &editor,
            "mutation($id: ID!, $v: Int!, $t: String!) { updateArticle(id: $id, version: $v, input: { title: $t }) { article { version } } }",
            json!({ "id": id, "v": version, "t": title }),
        )
        .await;
        version = edited["updateArticle"]["article"]["version"]
            .as_i64()
            .unwrap();
        served_within(&b.graphql_url, TITLE, slug.clone(), |answer| {
            answer["data"]["article"]["title"] == title.as_str()
        })
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
}
