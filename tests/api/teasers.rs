//! Teasers in lists are read without their bodies (a home page shows forty
//! of them); a client that asks one for its body, text or summary still
//! gets exactly what the article itself says, in every list that has them.

use crate::common;

use common::{TestApp, past};
use entity::article::ArticleStatus;
use newsroom::content::articles::TEASER_TEXT_CHARS;
use serde_json::{Value, json};

const FIELDS: &str = "slug summary body bodyText";

/// A body far longer than a teaser's share of text, with a summary that is
/// cut from it (no editor's summary).
fn long_text(name: &str) -> String {
    let paragraph = format!("{name} 的第一段新闻正文，English words mixed in here. ");
    let mut text = String::new();
    for line in 0..60 {
        text.push_str(&format!("{line}. {}\n", paragraph.repeat(3)));
    }
    assert!(text.chars().count() > 3 * TEASER_TEXT_CHARS as usize);
    text
}

/// A site of one section with one published article, `slug`.
async fn one_published_article(slug: &str) -> (TestApp, uuid::Uuid) {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let section = arrange.category("section", None, 0).await;
    let id = arrange
        .article(slug, section, ArticleStatus::Published, past(1))
        .await;
    (app, id)
}

#[tokio::test]
async fn a_teaser_asked_for_its_body_gets_the_whole_article() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let section = arrange.category("section", None, 0).await;
    let topic = arrange.tag("topic").await;
    for (slug, days) in [("first", 3), ("second", 2), ("third", 1)] {
        let id = arrange
            .article(slug, section, ArticleStatus::Published, past(days))
            .await;
        arrange.tag_article(id, topic).await;
        arrange.set_text(id, &long_text(slug)).await;
    }

    let whole = |slug: &'static str| {
        let app = &app;
        async move {
            app.graphql(
                &format!(r#"{{ article(slug: "{slug}") {{ {FIELDS} }} }}"#),
                json!({}),
            )
            .await["data"]["article"]
                .clone()
        }
    };
    let articles: Vec<Value> = vec![
        whole("third").await,
        whole("second").await,
        whole("first").await,
    ];
    for article in &articles {
        let text = article["bodyText"].as_str().unwrap();
        assert!(text.chars().count() > 3 * TEASER_TEXT_CHARS as usize);
        assert!(article["summary"].as_str().unwrap().ends_with('…'));
    }

    let lists = app
        .graphql(
            &format!(
                r#"{{
                    articles {{ edges {{ node {{ {FIELDS} }} }} }}
                    tagged: articles(filter: {{ tag: "topic" }}) {{ edges {{ node {{ {FIELDS} }} }} }}
                    categories {{ articles(first: 5) {{ edges {{ node {{ {FIELDS} }} }} }} }}
                    article(slug: "first") {{ related(first: 2) {{ {FIELDS} }} }}
                }}"#
            ),
            json!({}),
        )
        .await;
    assert_eq!(lists["errors"], Value::Null, "{lists}");
    let nodes = |connection: &Value| -> Vec<Value> {
        connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    };
    let data = &lists["data"];
    assert_eq!(nodes(&data["articles"]), articles, "the newest articles");
    assert_eq!(nodes(&data["tagged"]), articles, "a tag's articles");
    assert_eq!(
        nodes(&data["categories"][0]["articles"]),
        articles,
        "a section's first page"
    );
    assert_eq!(
        data["article"]["related"],
        json!(articles[..2]),
        "related teasers"
    );
}

/// An article's own page reads only the start of the plain text unless it
/// asks for `bodyText`: its summary is the same, and a later request for
/// the text (served from the read cache's copy) still gets all of it.
#[tokio::test]
async fn an_article_page_reads_its_whole_text_only_when_it_shows_it() {
    let (app, id) = one_published_article("long").await;
    let text = long_text("long");
    app.arrange().set_text(id, &text).await;

    let page = |fields: &'static str| {
        let app = &app;
        async move {
            app.graphql(
                &format!(r#"{{ article(slug: "long") {{ {fields} }} }}"#),
                json!({}),
            )
            .await["data"]["article"]
                .clone()
        }
    };
    let without = page("summary body").await;
    let with = page("summary body bodyText").await;
    assert_eq!(without["summary"], with["summary"]);
    assert!(without["summary"].as_str().unwrap().ends_with('…'));
    assert_eq!(without["body"], with["body"]);
    assert!(
        with["bodyText"].as_str() == Some(text.as_str()),
        "the whole text, not its start"
    );
}

#[tokio::test]
async fn the_database_keeps_the_start_of_the_text_whoever_writes_it() {
    use sea_orm::{ConnectionTrait, Statement};
    let (app, id) = one_published_article("scripted").await;
    let backend = app.db.get_database_backend();

    // A script writes the text behind the server's back, as SQL.
    let text = long_text("scripted");
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE articles SET body_text = $1 WHERE id = $2",
            [text.clone().into(), id.into()],
        ))
        .await
        .unwrap();
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT teaser_text FROM articles WHERE id = $1",
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let kept: String = row.try_get("", "teaser_text").unwrap();
    let start: String = text.chars().take(TEASER_TEXT_CHARS as usize).collect();
    assert_eq!(kept, start);

    // Lists read that start, and cut the same summary from it as the page
    // cuts from the whole text.
    app.state.content_changed();
    let read = app
        .graphql(
            r#"{ article(slug: "scripted") { summary bodyText }
                 articles { edges { node { summary } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(read["data"]["article"]["bodyText"], text.as_str());
    assert_eq!(
        read["data"]["articles"]["edges"][0]["node"]["summary"],
        read["data"]["article"]["summary"]
    );
}
