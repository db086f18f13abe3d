//! A response's fields come in the query's order, every time: snapshot
//! tests compare bodies, and caches compare ETags of identical requests.

use crate::common;

use common::TestApp;

const QUERY: &str = r#"{ article(slug: "city-night-bus") { viewCount slug comments(first: 1) { totalCount } title tags { slug id } id } }"#;

#[tokio::test]
async fn fields_come_in_the_querys_order() {
    let app = TestApp::spawn().await;

    let body = app
        .client
        .post(app.graphql_url())
        .json(&serde_json::json!({ "query": QUERY }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let at = |key: &str| {
        body.find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("{key} in {body}"))
    };
    assert!(at("viewCount") < at("slug"), "{body}");
    assert!(at("slug") < at("comments"), "{body}");
    assert!(at("comments") < at("title"), "{body}");
    assert!(at("title") < at("tags"), "{body}");
}

#[tokio::test]
async fn twenty_identical_requests_get_one_body_and_one_etag() {
    let app = TestApp::spawn().await;
    let mut bodies = std::collections::HashSet::new();
    let mut etags = std::collections::HashSet::new();

    for _ in 0..20 {
        let response = app
            .client
            .get(app.graphql_url())
            .query(&[("query", QUERY)])
            .send()
            .await
            .unwrap();
        etags.insert(
            response
                .headers()
                .get("etag")
                .map(|etag| etag.to_str().unwrap().to_owned()),
        );
        bodies.insert(response.text().await.unwrap());
    }

    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(etags.len(), 1, "{etags:?}");
    assert!(etags.iter().all(Option::is_some));
}
