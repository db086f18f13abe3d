//! Every operation of the public read contract, sent unchanged over HTTP
//! against the demo site, with the meaning the contract gives it.

use crate::common;

use common::{TestApp, edge_slugs};
use serde_json::{Value, json};

#[tokio::test]
async fn the_home_page_lists_top_sections_in_order_with_latest_and_popular() {
    let app = TestApp::spawn().await;

    let data = app
        .contract_data("home.graphql", "HomePage", json!({}))
        .await;

    let sections: Vec<&str> = data["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["technology", "news", "finance", "innovation"]);
    let technology = &data["categories"][0];
    assert_eq!(technology["name"], "科技");
    let children: Vec<&str> = technology["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["ai", "mobile"]);
    for section in data["categories"].as_array().unwrap() {
        assert_eq!(section["articles"]["edges"].as_array().unwrap().len(), 3);
    }

    let latest = &data["latest"]["edges"];
    assert_eq!(latest.as_array().unwrap().len(), 10);
    let dates: Vec<&str> = latest
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["publishedAt"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "latest is newest first");
    assert_eq!(
        latest[0]["node"]["slug"], "open-source-llm-lab-shenzhen",
        "the newest published demo article leads"
    );
    assert_eq!(latest[0]["node"]["category"]["slug"], "ai");
    assert_eq!(latest[0]["node"]["publishedAt"], "2026-05-08T09:30:00Z");

    let views: Vec<i64> = data["popular"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["viewCount"].as_i64().unwrap())
        .collect();
    assert_eq!(views, [534, 421, 402, 390, 356]);
}

#[tokio::test]
async fn the_article_page_has_breadcrumb_tags_related_and_approved_comments() {
    let app = TestApp::spawn().await;

    let data = app
        .contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "open-source-llm-lab-shenzhen" }),
        )
        .await;

    let article = &data["article"];
    assert_eq!(
        article["title"],
        "深圳开源大模型实验室发布首个中文基准 CLUE-Next"
    );
    assert_eq!(article["viewCount"], 56);
    assert_eq!(article["commentCount"], 3);
    assert_eq!(article["category"]["slug"], "ai");
    let crumbs: Vec<&str> = article["category"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["technology"]);
    let tags: Vec<&str> = article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 2);
    assert!(tags.contains(&"ai") && tags.contains(&"open-source"));
    assert!(article["body"].as_str().unwrap().starts_with("<p>5月8日"));
    let summary = article["summary"].as_str().unwrap();
    assert!(summary.ends_with('…'), "{summary}");
    assert!(summary.chars().count() <= 120);

    let related = article["related"].as_array().unwrap();
    assert_eq!(related.len(), 5);
    let related_slugs: Vec<&str> = related
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert!(!related_slugs.contains(&"open-source-llm-lab-shenzhen"));
    let mut unique = related_slugs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), related_slugs.len(), "no duplicates");

    let comments = &article["comments"];
    assert_eq!(comments["totalCount"], 3);
    assert_eq!(comments["pageInfo"]["hasNextPage"], false);
    let created: Vec<&str> = comments["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["createdAt"].as_str().unwrap())
        .collect();
    let mut newest_first = created.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, newest_first);
    assert_eq!(comments["edges"][0]["node"]["authorName"], "小周");
}

#[tokio::test]
async fn more_comments_continues_after_the_cursor() {
    let app = TestApp::spawn().await;
    let id = app.article_id("open-source-llm-lab-shenzhen").await;

    let first = app
        .contract_data(
            "article-page.graphql",
            "MoreComments",
            json!({ "articleId": id, "first": 2 }),
        )
        .await;
    let page = &first["article"]["comments"];
    assert_eq!(page["edges"].as_array().unwrap().len(), 2);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);

    let second = app
        .contract_data(
            "article-page.graphql",
            "MoreComments",
            json!({ "articleId": id, "first": 2, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &second["article"]["comments"];
    assert_eq!(rest["edges"].as_array().unwrap().len(), 1);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["edges"][0]["node"]["authorName"], "王磊");
}

#[tokio::test]
async fn the_category_page_holds_its_sub_sections_articles_newest_first() {
    let app = TestApp::spawn().await;

    let data = app
        .contract_data(
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "technology", "first": 4 }),
        )
        .await;

    let category = &data["category"];
    assert_eq!(category["name"], "科技");
    assert_eq!(category["ancestors"], json!([]));
    assert_eq!(category["children"][0]["slug"], "ai");
    let articles = &category["articles"];
    // Technology holds 3 public articles of its own, 4 in ai and 3 in mobile.
    assert_eq!(articles["totalCount"], 10);
    assert_eq!(
        edge_slugs(articles),
        [
            "open-source-llm-lab-shenzhen",
            "chip-packaging-breakthrough",
            "5g-rural-clinics",
            "ev-battery-swap-highway"
        ]
    );
    assert_eq!(articles["pageInfo"]["hasNextPage"], true);

    let sub = app
        .contract_data(
            "category-page.graphql",
            "CategoryPage",
            json!({ "slug": "ai" }),
        )
        .await;
    let crumbs: Vec<&str> = sub["category"]["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(crumbs, ["technology"]);
    assert_eq!(sub["category"]["articles"]["totalCount"], 4);
}

#[tokio::test]
async fn the_tag_page_lists_articles_carrying_the_tag() {
    let app = TestApp::spawn().await;

    let data = app
        .contract_data(
            "category-page.graphql",
            "TagPage",
            json!({ "tag": "open-source" }),
        )
        .await;

    assert_eq!(data["articles"]["totalCount"], 2);
    assert_eq!(
        edge_slugs(&data["articles"]),
        ["open-source-llm-lab-shenzhen", "open-source-maintainers"]
    );
}

#[tokio::test]
async fn record_view_adds_one_and_the_article_page_sees_it_at_once() {
    let app = TestApp::spawn().await;
    let id = app.article_id("open-source-llm-lab-shenzhen").await;

    let data = app
        .contract_data(
            "reader-mutations.graphql",
            "RecordView",
            json!({ "articleId": id }),
        )
        .await;
    assert_eq!(data["recordView"]["viewCount"], 57);
    assert_eq!(data["recordView"]["articleId"], id.to_string());

    let page = app
        .contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "open-source-llm-lab-shenzhen" }),
        )
        .await;
    assert_eq!(page["article"]["viewCount"], 57);
}

#[tokio::test]
async fn add_comment_stores_a_pending_comment_that_is_not_yet_public() {
    let app = TestApp::spawn().await;
    let id = app.article_id("city-night-bus").await;

    let data = app
        .contract_data(
            "reader-mutations.graphql",
            "AddComment",
            json!({ "input": {
                "articleId": id,
                "authorName": "  夜班护士 ",
                "authorEmail": "nurse@example.com",
                "body": "终于不用打车了！Thanks."
            }}),
        )
        .await;
    let comment = &data["addComment"]["comment"];
    assert_eq!(comment["status"], "PENDING");
    assert_eq!(comment["authorName"], "夜班护士");
    assert_eq!(comment["body"], "终于不用打车了！Thanks.");

    let page: Value = app
        .contract_data(
            "article-page.graphql",
            "ArticlePage",
            json!({ "slug": "city-night-bus" }),
        )
        .await;
    assert_eq!(page["article"]["commentCount"], 0);
    assert_eq!(page["article"]["comments"]["totalCount"], 0);
    assert_eq!(page["article"]["comments"]["edges"], json!([]));
}
