//! The exported SDL and the contract copy stay true.

use crate::common;

use std::path::PathBuf;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn schema_graphql_equals_the_running_schema() {
    let committed = std::fs::read_to_string(repo_file("schema.graphql")).unwrap();
    let running = newsroom::graphql::sdl();
    assert!(
        committed == running,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn the_served_schema_is_the_exported_one() {
    let app = common::TestApp::spawn_empty().await;
    let response = app
        .graphql(
            "{ __type(name: \"Article\") { fields { name } } }",
            serde_json::json!({}),
        )
        .await;
    let fields: Vec<&str> = response["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let sdl = newsroom::graphql::sdl();
    for field in fields {
        assert!(
            sdl.contains(&format!("\t{field}")),
            "{field} missing from the SDL"
        );
    }
}

/// The contract lives in ../shared/contract; tests read a copy under
/// tests/contract so they run on a machine without it. Where the original is
/// present, the copy must match it byte for byte.
#[test]
fn the_contract_copy_matches_the_shared_contract_where_present() {
    let shared = repo_file("../shared/contract");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        eprintln!("no ../shared/contract here; the copy is checked where it exists");
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(&path).unwrap();
        let copy = std::fs::read(repo_file(&format!("tests/contract/{name}")))
            .unwrap_or_else(|_| panic!("tests/contract/{name} is missing"));
        assert!(
            original == copy,
            "tests/contract/{name} differs from the shared contract"
        );
    }
}
