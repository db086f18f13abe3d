//! Introspection that tools can use: the full query graphql-js builds (and
//! GraphiQL, GraphQL Code Generator and Apollo's tools send) is answered
//! under the default limits, and refused when introspection is off.

use crate::common;

use common::{Options, TestApp, error_code};
use serde_json::json;

const FULL_INTROSPECTION: &str = include_str!("../introspection/graphql-js-16-all-options.graphql");

#[tokio::test]
async fn the_full_introspection_query_is_answered_under_the_default_limits() {
    let app = TestApp::spawn().await;

    let answer = app.graphql(FULL_INTROSPECTION, json!({})).await;

    assert!(answer.get("errors").is_none(), "{answer}");
    let types = answer["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|ty| ty["name"] == "Article"));
}

#[tokio::test]
async fn with_introspection_off_the_full_query_is_refused() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.no_introspection = true,
        ..Options::default()
    })
    .await;

    let answer = app.graphql(FULL_INTROSPECTION, json!({})).await;

    assert!(answer.get("errors").is_some(), "{answer}");
    assert!(answer["data"]["__schema"].is_null(), "{answer}");
    assert_eq!(error_code(&answer), "BAD_USER_INPUT");
}

#[tokio::test]
async fn date_time_names_its_specification_for_code_generators() {
    let app = TestApp::spawn().await;

    let answer = app
        .graphql(
            r#"{ __type(name: "DateTime") { specifiedByURL } }"#,
            json!({}),
        )
        .await;

    assert_eq!(
        answer["data"]["__type"]["specifiedByURL"],
        "https://datatracker.ietf.org/doc/html/rfc3339"
    );
    assert!(newsroom::graphql::sdl().contains(
        r#"scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")"#
    ));
}
