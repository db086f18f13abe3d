//! Hostile GraphQL documents, each answered with the right code, and the
//! server still serving afterwards: deep nesting, alias bombs, fragment
//! cycles, huge strings, invalid UTF-8, wrong variable types, oversized
//! bodies.

use crate::common;

use common::{TestApp, error_code};
use serde_json::{Value, json};

async fn still_serving(app: &TestApp) {
    let response = app.graphql("{ categories { slug } }", json!({})).await;
    assert_eq!(response["data"]["categories"][0]["slug"], "technology");
}

#[tokio::test]
async fn hostile_documents_get_the_right_code_and_the_server_keeps_serving() {
    let app = TestApp::spawn().await;
    let deep_fields = format!(
        "{{ {}slug{} }}",
        "categories { children { ".repeat(10),
        " } }".repeat(10)
    );
    let deep_brackets = format!(
        "{{ articles(filter: {}) {{ totalCount }} }}",
        "[".repeat(3000)
    );
    let alias_bomb: String = (0..200)
        .map(|i| format!(" a{i}: categories {{ slug }}"))
        .collect();
    let wide_lists = "{ articles(first: 100) { edges { node { comments(first: 100) { edges { node { body } } } related(first: 100) { slug } } } } }";
    let huge_string = format!("{{ article(slug: \"{}\") {{ id }} }}", "x".repeat(100_000));
    let cases: Vec<(String, Value, &str)> = vec![
        (deep_fields, json!({}), "QUERY_TOO_COMPLEX"),
        (deep_brackets, json!({}), "QUERY_TOO_COMPLEX"),
        (format!("{{{alias_bomb} }}"), json!({}), "QUERY_TOO_COMPLEX"),
        (wide_lists.to_owned(), json!({}), "QUERY_TOO_COMPLEX"),
        (huge_string, json!({}), "QUERY_TOO_COMPLEX"),
        (
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }".to_owned(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "query($n: Int!) { articles(first: $n) { totalCount } }".to_owned(),
            json!({ "n": "ten" }),
            "BAD_USER_INPUT",
        ),
        (
            "query($s: String!) { article(slug: $s) { id } }".to_owned(),
            json!({ "s": { "nested": [1, 2] } }),
            "BAD_USER_INPUT",
        ),
        (
            "query($n: Int!) { articles(first: $n) { totalCount } }".to_owned(),
            json!({ "n": 99_999_999_999_i64 }),
            "BAD_USER_INPUT",
        ),
        (
            "{ __typename ".to_owned(),
            json!({}),
            "GRAPHQL_PARSE_FAILED",
        ),
        ("".to_owned(), json!({}), "BAD_USER_INPUT"),
        (
            "subscription { articles { totalCount } }".to_owned(),
            json!({}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ __typename @foo }".to_owned(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "{ tag(slug: \"a\\u0000b\") { id } }".to_owned(),
            json!({}),
            "BAD_USER_INPUT",
        ),
        (
            "query($t: String!) { articles(filter: { tag: $t }) { totalCount } }".to_owned(),
            json!({ "t": "航天\u{0}" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (query, variables, code) in cases {
        let response = app.graphql(&query, variables).await;
        let shown: String = query.chars().take(80).collect();
        assert_eq!(error_code(&response), code, "{shown}: {response}");
        assert!(response["data"].is_null(), "{shown}");
        still_serving(&app).await;
    }
}

#[tokio::test]
async fn a_refused_query_names_the_figure_it_exceeded() {
    let app = TestApp::spawn().await;
    let alias_bomb: String = (0..40).map(|i| format!(" a{i}: __typename")).collect();

    let response = app.graphql(&format!("{{{alias_bomb} }}"), json!({})).await;

    let extensions = &response["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "QUERY_TOO_COMPLEX");
    assert_eq!(extensions["measure"], "aliases");
    assert_eq!(extensions["limit"], 30);
    assert!(extensions["found"].as_u64().unwrap() > 30);
}

#[tokio::test]
async fn invalid_utf8_and_oversized_bodies_are_client_errors() {
    let app = TestApp::spawn().await;

    let invalid = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body(b"{\"query\": \"{ categories { slug } }\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert!(invalid.status().is_client_error(), "{}", invalid.status());

    let oversized = app
        .client
        .post(app.graphql_url())
        .header("content-type", "application/json")
        .body(format!(
            "{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}",
            "y".repeat(3 * 1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    still_serving(&app).await;
}

#[tokio::test]
async fn an_oversized_chunked_body_is_413_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let head = "POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    // 3 MiB against the 2 MiB limit; the server may stop reading early.
    for _ in 0..48 {
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;

    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    still_serving(&app).await;
}
