//! GraphQL over HTTP: POST and GET, mutations refused over GET, the GraphiQL
//! explorer and its self-hosted assets, and errors that always carry a code.

use crate::common;

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
async fn syntax_and_validation_errors_carry_apollos_codes() {
    let app = TestApp::spawn_empty().await;
    for (query, code) in [
        ("{ articles { ", "GRAPHQL_PARSE_FAILED"),
        ("query A { a } query A { b }", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ articles { edges } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($n: Int) { tags { id } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ articles(first: \"ten\") { totalCount } }",
            "BAD_USER_INPUT",
        ),
        (
            "{ article(slug: \"a\", id: \"b\") { id } }",
            "BAD_USER_INPUT",
        ),
        (
            "query A { tags { id } } query B { tags { id } }",
            "OPERATION_RESOLUTION_FAILURE",
        ),
    ] {
        let response = app.graphql(query, json!({})).await;
        assert_eq!(error_code(&response), code, "{query}: {response}");
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains('\n'), "{query}: one line, not {message}");
        assert!(response["data"].is_null(), "{query}: {response}");
    }

    let broken = app.graphql("{\n  articles {\n    edges {", json!({})).await;
    assert_eq!(
        broken["errors"][0]["locations"],
        json!([{ "line": 3, "column": 12 }]),
        "{broken}"
    );
    assert!(
        broken["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Syntax error: expected"),
        "{broken}"
    );
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

#[tokio::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn_empty().await;

    let page = app
        .client
        .get(app.graphql_url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let headers = page.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-request-id"].to_str().unwrap().len(), 36);

    let traced = app
        .client
        .post(app.graphql_url())
        .header("x-request-id", "trace-me-42")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| config.cors_origins = vec!["https://www.example.com".to_owned()],
        ..common::Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.graphql_url())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,authorization",
            )
            .send()
    };

    let allowed = preflight("https://www.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://www.example.com"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn cors_lets_apollo_clients_headers_and_configured_ones_through() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| {
            config.cors_origins = vec!["https://www.example.com".to_owned()];
            config.cors_allow_headers = vec!["x-tenant".to_owned()];
        },
        ..common::Options::default()
    })
    .await;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.graphql_url())
        .header("origin", "https://www.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,apollographql-client-name,apollographql-client-version,x-tenant",
        )
        .send()
        .await
        .unwrap();

    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "content-type",
        "apollographql-client-name",
        "apollographql-client-version",
        "x-tenant",
    ] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
}

#[tokio::test]
async fn a_response_has_one_vary_header_naming_each_header_once() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| config.cors_origins = vec!["https://www.example.com".to_owned()],
        ..common::Options::default()
    })
    .await;

    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "{ __typename }")])
        .header("origin", "https://www.example.com")
        .send()
        .await
        .unwrap();

    let vary: Vec<&str> = response
        .headers()
        .get_all("vary")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert_eq!(vary.len(), 1, "{vary:?}");
    let names: Vec<&str> = vary[0].split(',').map(str::trim).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    assert!(
        names.contains(&"origin") && names.contains(&"accept"),
        "{names:?}"
    );
}

#[tokio::test]
async fn with_no_capacity_left_requests_are_refused_at_once_not_queued() {
    let app = TestApp::spawn_with(common::Options {
        demo: false,
        tweak: |config| config.max_concurrent_requests = 0,
        ..common::Options::default()
    })
    .await;

    let response = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.client
            .post(app.graphql_url())
            .json(&json!({ "query": "{ __typename }" }))
            .send(),
    )
    .await
    .expect("answered at once")
    .unwrap();

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
}

#[tokio::test]
async fn readiness_follows_the_database_and_introspection_can_be_turned_off() {
    let app = TestApp::spawn_with(common::Options {
        demo: false,
        tweak: |config| config.no_introspection = true,
        ..common::Options::default()
    })
    .await;
    let ready = app
        .client
        .get(format!("http://{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let introspection = app
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(
        introspection["data"]["__schema"],
        Value::Null,
        "{introspection}"
    );
    let ordinary = app.graphql("{ categories { slug } }", json!({})).await;
    assert_eq!(ordinary["data"]["categories"], json!([]));

    app.db.clone().close().await.unwrap();
    let gone = app
        .client
        .get(format!("http://{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 503);
    let health = app
        .client
        .get(format!("http://{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        200,
        "liveness does not depend on the database"
    );
}

#[tokio::test]
async fn graphql_response_json_gets_400_without_data_for_a_request_that_cannot_run() {
    let app = TestApp::spawn_empty().await;
    let send = |accept: &'static str, query: &'static str| {
        app.client
            .post(app.graphql_url())
            .header("accept", accept)
            .json(&json!({ "query": query }))
            .send()
    };

    let broken = send("application/graphql-response+json", "{ categories { ")
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert!(
        broken.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    let body: Value = broken.json().await.unwrap();
    assert!(body.get("data").is_none(), "{body}");

    // q-values count: a client that prefers JSON gets JSON (and 200), one
    // that refuses a type with q=0 never gets it.
    for accept in [
        "application/json, application/graphql-response+json;q=0.1",
        "application/graphql-response+json;q=0, application/json;q=0.5",
    ] {
        let preferred = send(accept, "{ categories { ").await.unwrap();
        assert_eq!(preferred.status(), 200, "{accept}");
        assert!(
            preferred.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{accept}"
        );
    }
    let neither = send(
        "application/json;q=0, application/graphql-response+json;q=0",
        "{ categories { slug } }",
    )
    .await
    .unwrap();
    assert_eq!(neither.status(), 406);

    let legacy = send("application/json", "{ categories { ").await.unwrap();
    assert_eq!(legacy.status(), 200);
    assert!(
        legacy.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    let fine = send(
        "application/graphql-response+json",
        "{ categories { slug } }",
    )
    .await
    .unwrap();
    assert_eq!(fine.status(), 200);

    let refused = send("text/plain", "{ categories { slug } }").await.unwrap();
    assert_eq!(refused.status(), 406);
}

#[tokio::test]
async fn a_post_without_a_json_content_type_or_query_is_refused() {
    let app = TestApp::spawn_empty().await;

    let no_type = app
        .client
        .post(app.graphql_url())
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_type.status(), 415);

    let no_query = app.post_json(json!({ "qeury": "{ __typename }" })).await;
    assert_eq!(
        no_query["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn every_demo_cover_image_is_served_and_nothing_else_is() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ articles(first: 100) { edges { node { coverImage { url } } } } }",
            json!({}),
        )
        .await;
    let urls: Vec<String> = data["articles"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|edge| {
            edge["node"]["coverImage"]["url"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(urls.len() >= 5, "{urls:?}");
    for url in &urls {
        let response = app
            .client
            .get(format!("http://{}{url}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let body = response.text().await.unwrap();
        assert!(body.starts_with("<svg"), "{url}");
    }
    for missing in [
        "/media/demo/unknown.svg",
        "/media/demo/city-night-bus.jpg",
        "/media/demo/..%2FCargo.toml",
    ] {
        let response = app
            .client
            .get(format!("http://{}{missing}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
}
