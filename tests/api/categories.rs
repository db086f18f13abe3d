//! The section tree: top-level sections and children in display order,
//! ancestors from the root down, and a section's list holding every
//! sub-section's articles at any depth.

use crate::common;

use common::{TestApp, edge_slugs, past};
use entity::article::ArticleStatus;
use serde_json::{Value, json};

fn slugs(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn sections_come_in_display_order_not_creation_order() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let b = arrange.category("second", None, 2).await;
    arrange.category("first", None, 1).await;
    arrange.category("child-late", Some(b), 9).await;
    arrange.category("child-early", Some(b), 0).await;

    let response = app
        .graphql("{ categories { slug children { slug } } }", json!({}))
        .await;

    let top = &response["data"]["categories"];
    assert_eq!(slugs(top), ["first", "second"]);
    assert_eq!(slugs(&top[1]["children"]), ["child-early", "child-late"]);
    assert_eq!(top[0]["children"], json!([]));
}

#[tokio::test]
async fn ancestors_run_from_the_root_and_lists_include_every_depth() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let root = arrange.category("root", None, 0).await;
    let middle = arrange.category("middle", Some(root), 0).await;
    let leaf = arrange.category("leaf", Some(middle), 0).await;
    let elsewhere = arrange.category("elsewhere", None, 1).await;
    arrange
        .article("in-root", root, ArticleStatus::Published, past(3))
        .await;
    arrange
        .article("in-middle", middle, ArticleStatus::Published, past(2))
        .await;
    arrange
        .article("in-leaf", leaf, ArticleStatus::Published, past(1))
        .await;
    arrange
        .article("in-elsewhere", elsewhere, ArticleStatus::Published, past(0))
        .await;

    let response = app
        .graphql(
            r#"{
              leaf: category(slug: "leaf") { ancestors { slug } parent { slug } }
              root: category(slug: "root") { ancestors { slug } parent { slug }
                articles { totalCount edges { node { slug } } } }
              middle: category(slug: "middle") { articles { totalCount edges { node { slug } } } }
              filtered: articles(filter: { category: "middle" }) { totalCount edges { node { slug } } }
              none: category(slug: "no-such-section") { slug }
            }"#,
            json!({}),
        )
        .await;
    let data = &response["data"];

    assert_eq!(slugs(&data["leaf"]["ancestors"]), ["root", "middle"]);
    assert_eq!(data["leaf"]["parent"]["slug"], "middle");
    assert_eq!(data["root"]["ancestors"], json!([]));
    assert_eq!(data["root"]["parent"], json!(null));
    assert_eq!(
        edge_slugs(&data["root"]["articles"]),
        ["in-leaf", "in-middle", "in-root"]
    );
    assert_eq!(data["root"]["articles"]["totalCount"], 3);
    assert_eq!(
        edge_slugs(&data["middle"]["articles"]),
        ["in-leaf", "in-middle"]
    );
    assert_eq!(edge_slugs(&data["filtered"]), ["in-leaf", "in-middle"]);
    assert_eq!(data["none"], json!(null));
}

#[tokio::test]
async fn a_section_can_be_fetched_by_id_and_a_bad_id_is_bad_input() {
    let app = TestApp::spawn().await;
    let listed = app.graphql("{ categories { id slug } }", json!({})).await;
    let id = listed["data"]["categories"][1]["id"].clone();

    let by_id = app
        .graphql(
            "query($id: ID) { category(id: $id) { slug } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(by_id["data"]["category"]["slug"], "news");

    let bad = app
        .graphql(r#"{ category(id: "nope") { slug } }"#, json!({}))
        .await;
    assert_eq!(common::error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "id");
}
