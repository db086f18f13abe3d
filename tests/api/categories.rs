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

/// The home page reads many sections' lists at once, section by section,
/// and merges each list's sub-sections; each list must come out as the
/// section's own list does: newest first, ties by id, drafts and scheduled
/// articles left out, and `hasNextPage` only when more follow.
#[tokio::test]
async fn sections_read_together_list_what_each_section_lists_alone() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let news = arrange.category("news", None, 0).await;
    let local = arrange.category("local", Some(news), 0).await;
    let world = arrange.category("world", Some(news), 1).await;
    let sport = arrange.category("sport", None, 1).await;
    let football = arrange.category("football", Some(sport), 0).await;
    arrange.category("empty", None, 2).await;
    let published = ArticleStatus::Published;
    arrange.article("news-1", news, published, past(1)).await;
    arrange.article("local-2", local, published, past(2)).await;
    // Two articles at one moment in two sub-sections: the later id first.
    arrange.article("local-3", local, published, past(3)).await;
    arrange.article("world-3", world, published, past(3)).await;
    arrange.article("world-4", world, published, past(4)).await;
    arrange
        .article("world-draft", world, ArticleStatus::Draft, past(0))
        .await;
    arrange
        .article("news-scheduled", news, published, past(-400))
        .await;
    for day in 0..5 {
        arrange
            .article(&format!("football-{day}"), football, published, past(day))
            .await;
    }
    arrange.article("sport-9", sport, published, past(9)).await;

    let page = |section: &str| {
        format!(
            r#"{section}: category(slug: "{section}") {{ articles(first: 3) {{ edges {{ node {{ slug }} }} pageInfo {{ hasNextPage }} }} }}"#
        )
    };
    let together = app
        .graphql(
            "{ categories { slug articles(first: 3) { edges { node { slug } } pageInfo { hasNextPage } } } }",
            json!({}),
        )
        .await;
    let top = together["data"]["categories"]
        .as_array()
        .unwrap_or_else(|| panic!("{together:#}"));
    assert_eq!(
        slugs(&together["data"]["categories"]),
        ["news", "sport", "empty"]
    );
    assert_eq!(
        edge_slugs(&top[0]["articles"]),
        ["news-1", "local-2", "world-3"]
    );
    assert_eq!(top[0]["articles"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        edge_slugs(&top[1]["articles"]),
        ["football-0", "football-1", "football-2"]
    );
    assert_eq!(top[2]["articles"]["edges"], json!([]));
    assert_eq!(top[2]["articles"]["pageInfo"]["hasNextPage"], false);

    for (index, section) in ["news", "sport", "empty"].into_iter().enumerate() {
        let alone = app
            .graphql(&format!("{{ {} }}", page(section)), json!({}))
            .await;
        assert_eq!(
            alone["data"][section]["articles"], top[index]["articles"],
            "{section}"
        );
    }

    // Two lists of different sizes read in one statement: each keeps its
    // own size, and the shorter one still knows that more follow.
    let sizes = app
        .graphql(
            "{ categories { one: articles(first: 1) { edges { node { slug } } pageInfo { hasNextPage } } four: articles(first: 4) { edges { node { slug } } pageInfo { hasNextPage } } } }",
            json!({}),
        )
        .await;
    let news = &sizes["data"]["categories"][0];
    assert_eq!(edge_slugs(&news["one"]), ["news-1"], "{sizes:#}");
    assert_eq!(news["one"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(
        edge_slugs(&news["four"]),
        ["news-1", "local-2", "world-3", "local-3"]
    );
    assert_eq!(news["four"]["pageInfo"]["hasNextPage"], true);
    let sport = &sizes["data"]["categories"][1];
    assert_eq!(edge_slugs(&sport["one"]), ["football-0"]);
    assert_eq!(
        edge_slugs(&sport["four"]),
        ["football-0", "football-1", "football-2", "football-3"]
    );
}
