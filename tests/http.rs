//! GraphQL over HTTP: POST and GET, mutations refused over GET, the GraphiQL
//! explorer and its self-hosted assets, and errors that always carry a code.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed test, which is what we want

mod common;

use common::{TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn a_get_request_runs_a_query() {
    let app = TestApp::spawn().await;

    let response: Value = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "{ categories { slug } }")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(response["data"]["categories"][0]["slug"], "technology");
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_and_counts_nothing() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let mutation = format!(r#"mutation {{ recordView(articleId: "{id}") {{ viewCount }} }}"#);

    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", mutation.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 405);
    let page = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { viewCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(page["data"]["article"]["viewCount"], 145);
}

#[tokio::test]
async fn a_browser_gets_graphiql_with_every_asset_from_this_server() {
    let app = TestApp::spawn_empty().await;

    let page = app
        .client
        .get(app.graphql_url())
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("graphiql"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));

    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "start.js",
        "page.css",
    ] {
        assert!(
            html.contains(&format!("/graphiql/{asset}")),
            "{asset} not linked"
        );
        let response = app
            .client
            .get(format!("http://{}/graphiql/{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(
            response.bytes().await.unwrap().len() > 20,
            "{asset} is empty"
        );
    }
    let missing = app
        .client
        .get(format!("http://{}/graphiql/../Cargo.toml", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn syntax_and_validation_errors_carry_a_code() {
    let app = TestApp::spawn_empty().await;
    for query in [
        "{ articles { ",
        "{ noSuchField }",
        "{ articles(first: \"ten\") { totalCount } }",
        "{ article(slug: \"a\", id: \"b\") { id } }",
    ] {
        let response = app.graphql(query, json!({})).await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{query}: {response}"
        );
    }
}

#[tokio::test]
async fn a_malformed_body_is_a_client_error_not_a_crash() {
    let app = TestApp::spawn_empty().await;

    let response = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body("{ this is not json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());

    let health = app
        .client
        .get(format!("http://{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
