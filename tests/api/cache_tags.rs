//! Cache tags as a CDN sees them: every anonymous answer of a contract
//! operation carries in `Surrogate-Key` and `Cache-Tag` the keys of exactly
//! the articles, sections and tags it shows (comments stand for their
//! article), an editor's answer carries none, and a response listing more
//! than a header holds names a coarse key instead.

use std::collections::BTreeSet;

use entity::{api_token::Role, article::ArticleStatus};
use serde_json::{Value, json};

use crate::common::{self, TestApp};

/// The cache tags and JSON of an anonymous POST of contract operation
/// `name` from `file`.
pub async fn tagged(
    app: &TestApp,
    file: &str,
    name: &str,
    variables: Value,
) -> (BTreeSet<String>, Value) {
    let response = app
        .client
        .post(app.graphql_url())
        .json(&json!({
            "query": common::contract_document(file),
            "operationName": name,
            "variables": variables,
        }))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let surrogate = header("surrogate-key").unwrap_or_default();
    let cache_tag = header("cache-tag").unwrap_or_default();
    let keys: BTreeSet<String> = surrogate.split(' ').map(str::to_owned).collect();
    let tags: BTreeSet<String> = cache_tag.split(',').map(str::to_owned).collect();
    assert_eq!(keys, tags, "both headers name the same keys");
    let body: Value = response.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{name}: {body:#}");
    (keys, body)
}

/// Every `id` in `value`, with whether it sits under a `comments` field.
fn ids_in(value: &Value, under_comments: bool, found: &mut Vec<(String, bool)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                if name == "id"
                    && let Some(id) = field.as_str()
                {
                    found.push((id.to_owned(), under_comments));
                }
                ids_in(field, under_comments || name == "comments", found);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| ids_in(item, under_comments, found)),
        _ => {}
    }
}

/// The keys naming the objects of `data`, asked of the server by id with
/// `nodes` (their type is not in the contract's answers): `article:<id>`,
/// `section:<id>`, `tag:<id>`; comments are left out.
async fn keys_of_shown(app: &TestApp, editor: &str, data: &Value) -> BTreeSet<String> {
    let mut found = Vec::new();
    ids_in(data, false, &mut found);
    let ids: BTreeSet<String> = found
        .into_iter()
        .filter(|(_, under_comments)| !under_comments)
        .map(|(id, _)| id)
        .collect();
    let ids: Vec<String> = ids.into_iter().collect();
    let mut keys = BTreeSet::new();
    for chunk in ids.chunks(100) {
        let typed = app
            .data_as(
                editor,
                "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
                json!({ "ids": chunk }),
            )
            .await;
        for node in typed["nodes"].as_array().unwrap() {
            let kind = match node["__typename"].as_str().unwrap() {
                "Article" => "article",
                "Category" => "section",
                "Tag" => "tag",
                other => panic!("unexpected {other}"),
            };
            keys.insert(format!("{kind}:{}", node["id"].as_str().unwrap()));
        }
    }
    keys
}

/// The keys of `keys` naming one object (not lists nor coarse keys).
fn object_keys(keys: &BTreeSet<String>) -> BTreeSet<String> {
    keys.iter()
        .filter(|key| key.contains(':'))
        .cloned()
        .collect()
}

#[tokio::test]
async fn each_contract_operation_names_exactly_the_objects_it_shows() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let tag = app.data("{ tags { slug } }", json!({})).await["tags"][0]["slug"].clone();
    let article = app.article_id("city-night-bus").await;
    let operations = [
        ("home.graphql", "HomePage", json!({})),
        (
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "technology" }),
        ),
        ("category-page.graphql", "TagPage", json!({ "tag": tag })),
        (
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "city-night-bus" }),
        ),
        (
            "article-page.graphql",
            "MoreComments",
            json!({ "articleId": article }),
        ),
    ];
    for (file, name, variables) in operations {
        let (keys, body) = tagged(&app, file, name, variables).await;
        let shown = keys_of_shown(&app, &editor, &body["data"]).await;
        assert!(!shown.is_empty(), "{name}");
        assert_eq!(object_keys(&keys), shown, "{name}: {keys:?}");
        let joined: Vec<&str> = keys.iter().map(String::as_str).collect();
        assert!(
            joined.join(" ").len() <= 2048,
            "{name}: within the header budget"
        );
        // Every list a publication could lengthen says so.
        if ["HomePage", "CategoryPage", "TagPage"].contains(&name) {
            assert!(keys.contains("lists"), "{name}: {keys:?}");
        }
    }

    // An editor's answer is nobody's to cache: no tags.
    let response = app
        .client
        .post(app.graphql_url())
        .bearer_auth(&editor)
        .json(&json!({ "query": "{ categories { id } }" }))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("surrogate-key").is_none());
    assert!(response.headers().get("cache-tag").is_none());
}

#[tokio::test]
async fn a_response_listing_more_than_a_header_holds_names_the_coarse_key() {
    let app = TestApp::spawn().await;
    let arrange = app.arrange();
    let section = arrange.category("crowded", None, 99).await;
    for index in 0..60 {
        arrange
            .article(
                &format!("crowded-{index}"),
                section,
                ArticleStatus::Published,
                common::past(1),
            )
            .await;
    }
    let response = app
        .client
        .get(app.graphql_url())
        .query(&[(
            "query",
            "{ articles(first: 60, filter: { category: \"crowded\" }) { edges { node { id title category { id } } } } }",
        )])
        .send()
        .await
        .unwrap();
    let keys = response.headers()["surrogate-key"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(keys.len() <= 2048, "{keys}");
    let keys: BTreeSet<&str> = keys.split(' ').collect();
    assert!(keys.contains("all-articles"), "{keys:?}");
    assert!(
        keys.contains(format!("section:{section}").as_str()),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|key| key.starts_with("article:")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_shared_cache_may_keep_answers_as_long_as_configured() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| config.cache_s_maxage = Some(std::time::Duration::from_secs(600)),
        ..common::Options::default()
    })
    .await;
    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "{ categories { id } }")])
        .send()
        .await
        .unwrap();
    let cache_control = response.headers()["cache-control"].to_str().unwrap();
    assert!(cache_control.contains("s-maxage=600"), "{cache_control}");
    assert!(
        cache_control.starts_with("public, max-age="),
        "{cache_control}"
    );
}
