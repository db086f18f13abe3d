//! Related teasers: the most related first — shared tags, then the same
//! section, then recency — never the article itself, never a duplicate,
//! never a hidden article.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed test, which is what we want

mod common;

use common::{TestApp, past};
use entity::article::ArticleStatus;
use serde_json::json;

#[tokio::test]
async fn related_ranks_shared_tags_then_section_then_recency() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let home = arrange.category("home", None, 0).await;
    let away = arrange.category("away", None, 1).await;
    let (t1, t2) = (arrange.tag("t1").await, arrange.tag("t2").await);

    let subject = arrange
        .article("subject", home, ArticleStatus::Published, past(50))
        .await;
    arrange.tag_article(subject, t1).await;
    arrange.tag_article(subject, t2).await;

    let two_tags = arrange
        .article("two-tags-away", away, ArticleStatus::Published, past(40))
        .await;
    arrange.tag_article(two_tags, t1).await;
    arrange.tag_article(two_tags, t2).await;
    let one_tag_home = arrange
        .article("one-tag-home", home, ArticleStatus::Published, past(30))
        .await;
    arrange.tag_article(one_tag_home, t1).await;
    let one_tag_away = arrange
        .article("one-tag-away", away, ArticleStatus::Published, past(20))
        .await;
    arrange.tag_article(one_tag_away, t2).await;
    arrange
        .article("home-untagged", home, ArticleStatus::Published, past(10))
        .await;
    arrange
        .article("away-newest", away, ArticleStatus::Published, past(1))
        .await;
    arrange
        .article("away-older", away, ArticleStatus::Published, past(5))
        .await;
    let draft = arrange
        .article("draft-two-tags", home, ArticleStatus::Draft, past(2))
        .await;
    arrange.tag_article(draft, t1).await;
    arrange.tag_article(draft, t2).await;

    let response = app
        .graphql(
            r#"{ article(slug: "subject") { all: related(first: 100) { slug } three: related(first: 3) { slug } } }"#,
            json!({}),
        )
        .await;
    let slugs = |key: &str| -> Vec<String> {
        response["data"]["article"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["slug"].as_str().unwrap().to_owned())
            .collect()
    };

    assert_eq!(
        slugs("all"),
        [
            "two-tags-away",
            "one-tag-home",
            "one-tag-away",
            "home-untagged",
            "away-newest",
            "away-older"
        ]
    );
    assert_eq!(
        slugs("three"),
        ["two-tags-away", "one-tag-home", "one-tag-away"]
    );
}

#[tokio::test]
async fn an_article_with_no_tags_and_no_neighbours_gets_the_newest_others() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let lonely = arrange.category("lonely", None, 0).await;
    let other = arrange.category("other", None, 1).await;
    arrange
        .article("alone", lonely, ArticleStatus::Published, past(9))
        .await;
    arrange
        .article("older", other, ArticleStatus::Published, past(8))
        .await;
    arrange
        .article("newer", other, ArticleStatus::Published, past(2))
        .await;

    let response = app
        .graphql(
            r#"{ article(slug: "alone") { related { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        response["data"]["article"]["related"],
        json!([{ "slug": "newer" }, { "slug": "older" }])
    );
}
