//! HTTP caching and persisted queries: anonymous reads are cacheable with an
//! ETag and answer 304 when unchanged; mutations and token-carrying requests
//! never are; a query can be sent once and then by its SHA-256 alone; and
//! responses are compressed when the client accepts it.

use crate::common;

use common::TestApp;
use entity::api_token::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const QUERY: &str = "{ categories { slug name } }";

#[tokio::test]
async fn an_anonymous_read_is_cacheable_and_a_matching_etag_gets_304() {
    let app = TestApp::spawn().await;
    let first = app
        .client
        .get(app.graphql_url())
        .query(&[("query", QUERY)])
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let cache_control = first.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
    assert!(cache_control.contains("stale-while-revalidate="));
    let etag = first.headers()["etag"].clone();

    let again = app
        .client
        .get(app.graphql_url())
        .query(&[("query", QUERY)])
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    // After an edit the content differs, and so does the tag.
    let editor = app.token(Role::Editor).await;
    app.data_as(
        &editor,
        r#"mutation { createCategory(input: { name: "体育" }) { category { id } } }"#,
        json!({}),
    )
    .await;
    let changed = app
        .client
        .get(app.graphql_url())
        .query(&[("query", QUERY)])
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}

#[tokio::test]
async fn mutations_errors_and_token_requests_are_never_cacheable() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let editor = app.token(Role::Editor).await;
    let post = |body: Value, token: Option<&str>| {
        let mut request = app.client.post(app.graphql_url()).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let mutation = post(
        json!({ "query": "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }", "variables": { "id": id } }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(mutation.headers()["cache-control"], "no-store");

    let with_token = post(json!({ "query": QUERY }), Some(&editor))
        .await
        .unwrap();
    assert_eq!(with_token.headers()["cache-control"], "no-store");
    assert!(with_token.headers().get("etag").is_none());

    let failing = post(
        json!({ "query": "{ articles(first: 500) { totalCount } }" }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(failing.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_persisted_query_is_sent_once_then_by_its_hash_even_over_get() {
    let app = TestApp::spawn().await;
    let hash = format!("{:x}", Sha256::digest(QUERY.as_bytes()));
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let unknown = app.post_json(json!({ "extensions": extensions })).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let registered = app
        .post_json(json!({ "query": QUERY, "extensions": extensions }))
        .await;
    assert_eq!(registered["data"]["categories"][0]["slug"], "technology");

    let by_hash: Value = app
        .client
        .get(app.graphql_url())
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_hash["data"], registered["data"]);

    let wrong = app
        .post_json(json!({ "query": "{ tags { slug } }", "extensions": extensions }))
        .await;
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_persisted_mutation_is_still_refused_over_get() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;
    let mutation = format!(r#"mutation {{ recordView(articleId: "{id}") {{ viewCount }} }}"#);
    let hash = format!("{:x}", Sha256::digest(mutation.as_bytes()));
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    app.post_json(json!({ "query": mutation, "extensions": extensions }))
        .await;

    let over_get = app
        .client
        .get(app.graphql_url())
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(over_get.status(), 405);
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    for encoding in ["gzip", "br", "zstd"] {
        let response = app
            .client
            .post(app.graphql_url())
            .header("accept-encoding", encoding)
            .json(&json!({ "query": "{ articles(first: 20) { edges { node { body } } } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding);
    }
}

#[tokio::test]
async fn a_remembered_validation_still_refuses_bad_variables() {
    let app = TestApp::spawn().await;
    let query = "query($first: Int!) { articles(first: $first) { edges { node { slug } } } }";
    for _ in 0..2 {
        let good = app.graphql(query, json!({ "first": 2 })).await;
        assert_eq!(
            good["data"]["articles"]["edges"].as_array().unwrap().len(),
            2
        );
        let bad = app.graphql(query, json!({ "first": "two" })).await;
        assert_eq!(bad["data"], Value::Null, "{bad}");
        assert_eq!(common::error_code(&bad), "BAD_USER_INPUT");
        let missing = app.graphql(query, json!({})).await;
        assert_eq!(common::error_code(&missing), "BAD_USER_INPUT");
        let unknown_operation = app
            .post_json(
                json!({ "query": query, "operationName": "Nope", "variables": { "first": 2 } }),
            )
            .await;
        assert_eq!(
            common::error_code(&unknown_operation),
            "OPERATION_RESOLUTION_FAILURE"
        );
    }
}

/// Mutations run on the schema that remembers validations: the same holds.
#[tokio::test]
async fn a_remembered_mutation_validation_still_refuses_bad_variables() {
    let app = TestApp::spawn().await;
    let id = app
        .article_id("open-source-llm-lab-shenzhen")
        .await
        .to_string();
    let mutation = "mutation($id: ID!) { recordView(articleId: $id) { viewCount } }";
    for _ in 0..2 {
        let good = app.graphql(mutation, json!({ "id": id })).await;
        assert!(good["data"]["recordView"]["viewCount"].is_i64(), "{good}");
        let bad = app
            .graphql(mutation, json!({ "id": { "not": "an id" } }))
            .await;
        assert_eq!(bad["data"], Value::Null, "{bad}");
        assert_eq!(common::error_code(&bad), "BAD_USER_INPUT");
        let missing = app.graphql(mutation, json!({})).await;
        assert_eq!(common::error_code(&missing), "BAD_USER_INPUT");
    }
}
