//! Export and import: a site exported from one database and imported into an
//! empty database of the other kind answers every query identically; a second
//! import changes nothing; a broken document writes nothing.
//!
//! With `DATABASE_URL` pointing at PostgreSQL the site moves from SQLite to
//! PostgreSQL and back; without it, from one SQLite file to another.

use crate::common;

use common::{Options, TestApp};
use entity::api_token::Role;
use newsroom::content::transfer;
use serde_json::{Value, json};

/// Every public page of the site, plus an editor's view of revisions.
async fn snapshot(app: &TestApp) -> Value {
    let listing = app
        .graphql(
            "{ articles(first: 100) { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    let mut pages = vec![
        app.contract_data("home.graphql", "HomePage", json!({}))
            .await,
        app.contract_data(
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "technology" }),
        )
        .await,
        app.contract_data("category-page.graphql", "TagPage", json!({ "tag": "ai" }))
            .await,
        app.graphql("{ tags { id slug name } }", json!({})).await,
    ];
    for edge in listing["data"]["articles"]["edges"].as_array().unwrap() {
        let slug = edge["node"]["slug"].clone();
        pages.push(
            app.contract_data(
                "article-page.graphql",
                "ArticlePage",
                json!({ "slug": slug }),
            )
            .await,
        );
    }
    // An old slug still resolves after the move.
    pages.push(
        app.graphql(
            r#"{ article(slug: "city-night-bus") { slug version } }"#,
            json!({}),
        )
        .await,
    );
    Value::Array(pages)
}

/// Edits that give the site revisions, slug history and moderated comments.
async fn make_history(app: &TestApp) {
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;
    app.data_as(
        &editor,
        r#"mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { slug: "hangzhou-night-bus", title: "杭州夜班公交" }) { article { id } } }"#,
        json!({ "id": id }),
    )
    .await;
}

async fn moved(from: &TestApp, to: &TestApp) {
    let site = transfer::export(&from.db).await.unwrap();
    let text = serde_json::to_string(&site).unwrap();
    let parsed: transfer::SiteExport = serde_json::from_str(&text).unwrap();
    let first = transfer::import(&to.db, &parsed).await.unwrap();
    assert!(first.written > 50, "{first:?}");
    assert_eq!(first.skipped, 0);

    assert_eq!(snapshot(from).await, snapshot(to).await);

    let again = transfer::import(&to.db, &parsed).await.unwrap();
    assert_eq!(again.written, 0, "a second import changes nothing");
    assert_eq!(again.skipped, first.written);
    assert_eq!(snapshot(from).await, snapshot(to).await);
}

#[tokio::test]
async fn a_site_moves_to_an_empty_database_of_the_other_kind_unchanged() {
    let sqlite = TestApp::spawn_with(Options {
        force_sqlite: true,
        ..Options::default()
    })
    .await;
    make_history(&sqlite).await;
    // The configured database: PostgreSQL in CI's second run.
    let other = TestApp::spawn_empty().await;
    moved(&sqlite, &other).await;

    if other.database_url.starts_with("postgres") {
        let back = TestApp::spawn_with(Options {
            demo: false,
            force_sqlite: true,
            ..Options::default()
        })
        .await;
        moved(&other, &back).await;
    }
}

#[tokio::test]
async fn a_broken_document_is_refused_and_writes_nothing() {
    let source = TestApp::spawn().await;
    let target = TestApp::spawn_empty().await;
    let mut site = transfer::export(&source.db).await.unwrap();
    let last = site.comments.len() - 1;
    site.comments[last].article_id = uuid::Uuid::now_v7();

    let refused = transfer::import(&target.db, &site).await;
    assert!(refused.is_err());
    let empty = transfer::export(&target.db).await.unwrap();
    assert!(empty.categories.is_empty() && empty.articles.is_empty() && empty.tags.is_empty());

    let mut wrong_version = transfer::export(&source.db).await.unwrap();
    wrong_version.version = 99;
    assert!(transfer::import(&target.db, &wrong_version).await.is_err());
}

#[tokio::test]
async fn the_cli_exports_and_imports_through_a_file() {
    let source = TestApp::spawn().await;
    make_history(&source).await;
    let target = TestApp::spawn_empty().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("site.json");
    let run = |database_url: &str, args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_newsroom"))
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("NEWSROOM_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&source.database_url, &["export", file.to_str().unwrap()]);
    run(&target.database_url, &["import", file.to_str().unwrap()]);
    assert_eq!(snapshot(&source).await, snapshot(&target).await);
    // Imported articles are found by search at once.
    let search = "{ search(query: \"人工智能\", first: 10) { edges { node { slug } } } }";
    let found = target.data(search, serde_json::json!({})).await;
    assert_eq!(found, source.data(search, serde_json::json!({})).await);
    assert_eq!(found["search"]["edges"].as_array().unwrap().len(), 5);
}
