//! Related teasers: the most related first — shared tags, then the same
//! section, then recency — drawn from the newest articles of each tag, never
//! the article itself, never a duplicate, never a hidden article; and the
//! copies on tag links that make that fast, kept true by every edit.

use crate::common;

use common::{TestApp, past};
use entity::{api_token::Role, article::ArticleStatus};
use newsroom::content::articles::RELATED_CANDIDATES_PER_TAG;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

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

#[tokio::test]
async fn related_teasers_come_from_the_newest_articles_of_each_tag() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let home = arrange.category("home", None, 0).await;
    let away = arrange.category("away", None, 1).await;
    let topic = arrange.tag("topic").await;

    let subject = arrange
        .article("subject", home, ArticleStatus::Published, past(1_000))
        .await;
    arrange.tag_article(subject, topic).await;
    // Shares the tag and the section: the best match, were it a candidate.
    let old_neighbour = arrange
        .article("old-neighbour", home, ArticleStatus::Published, past(900))
        .await;
    arrange.tag_article(old_neighbour, topic).await;
    // Newer articles on the tag fill its whole candidate window.
    for day in 1..=RELATED_CANDIDATES_PER_TAG {
        let newer = arrange
            .article(
                &format!("newer-{day}"),
                away,
                ArticleStatus::Published,
                past(day as i64),
            )
            .await;
        arrange.tag_article(newer, topic).await;
    }

    let related = |response: Value| -> Vec<String> {
        response["data"]["article"]["related"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["slug"].as_str().unwrap().to_owned())
            .collect()
    };
    let query = r#"{ article(slug: "subject") { related(first: 3) { slug } } }"#;
    assert_eq!(
        related(app.graphql(query, json!({})).await),
        ["newer-1", "newer-2", "newer-3"],
        "the old neighbour is past the tag's newest {RELATED_CANDIDATES_PER_TAG}"
    );

    // What GraphiQL's docs pane tells clients matches the window.
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap()
        .replace("\n\t", " ");
    assert!(
        docs.contains(&format!(
            "the newest {RELATED_CANDIDATES_PER_TAG} articles of each of its tags"
        )),
        "the `related` field's description names the window"
    );

    // One newer article taken down: the old neighbour is in the window again,
    // and first.
    let newest = app.article_id("newer-1").await;
    app.arrange().take_down(newest).await;
    assert_eq!(
        related(app.graphql(query, json!({})).await),
        ["old-neighbour", "newer-2", "newer-3"]
    );
}

/// What every tag link's copies must be: its article's publication time
/// when published (else nothing) and its article's section.
async fn stale_copies(app: &TestApp) -> Vec<(String, String)> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT a.slug, t.slug AS tag FROM article_tags l
             JOIN articles a ON a.id = l.article_id
             JOIN tags t ON t.id = l.tag_id
             WHERE l.category_id IS NULL OR l.category_id <> a.category_id
                OR (a.status = 'published' AND (l.public_since IS NULL OR l.public_since <> a.published_at))
                OR (a.status <> 'published' AND l.public_since IS NOT NULL)",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get::<String>("", "slug").unwrap(),
                row.try_get::<String>("", "tag").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_edit_keeps_the_tag_links_copies_of_visibility_and_section() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let section = |slug: &'static str| {
        let app = &app;
        async move {
            app.graphql(
                "query($s: String) { category(slug: $s) { id } }",
                json!({ "s": slug }),
            )
            .await["data"]["category"]["id"]
                .clone()
        }
    };
    let (technology, finance) = (section("technology").await, section("finance").await);
    assert!(technology.is_string() && finance.is_string());
    assert_eq!(stale_copies(&app).await, [], "the demo site, as loaded");

    let edit = |query: &'static str, variables: Value| {
        let (app, editor) = (&app, &editor);
        async move {
            app.data_as(editor, query, variables).await;
            stale_copies(app).await
        }
    };
    let created = app
        .data_as(
            &editor,
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id version } } }",
            json!({ "input": {
                "title": "Copies test 副本",
                "body": "<p>正文</p>",
                "categoryId": technology,
                "tags": ["chips", "新标签"],
            }}),
        )
        .await;
    let id = created["createArticle"]["article"]["id"].clone();
    assert_eq!(stale_copies(&app).await, [], "a new draft's links");

    let steps: [(&str, &str, Value); 7] = [
        (
            "published",
            "mutation($id: ID!) { publishArticle(id: $id) { article { id } } }",
            json!({ "id": id }),
        ),
        (
            "moved to another section",
            "mutation($id: ID!, $c: ID) { updateArticle(id: $id, version: 1, input: { categoryId: $c }) { article { id } } }",
            json!({ "id": id, "c": finance }),
        ),
        (
            "retagged",
            r#"mutation($id: ID!) { setArticleTags(id: $id, tags: ["chips", "另一个"]) { article { id } } }"#,
            json!({ "id": id }),
        ),
        (
            "scheduled",
            "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { article { id } } }",
            json!({ "id": id, "at": "2099-01-01T00:00:00Z" }),
        ),
        (
            "unpublished",
            "mutation($id: ID!) { unpublishArticle(id: $id) { article { id } } }",
            json!({ "id": id }),
        ),
        (
            "published again",
            "mutation($id: ID!) { publishArticle(id: $id) { article { id } } }",
            json!({ "id": id }),
        ),
        (
            "archived",
            "mutation($id: ID!) { archiveArticle(id: $id) { article { id } } }",
            json!({ "id": id }),
        ),
    ];
    for (what, mutation, variables) in steps {
        assert_eq!(edit(mutation, variables).await, [], "after being {what}");
    }

    // Merging moves links onto another tag: the new links get copies too.
    let tags = app.graphql("{ tags { id name slug } }", json!({})).await;
    let tag_id = |field: &str, value: &str| {
        tags["data"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|tag| tag[field] == value)
            .unwrap()["id"]
            .clone()
    };
    let (source, target) = (tag_id("name", "另一个"), tag_id("slug", "climate"));
    let merge = "mutation($from: [ID!]!, $to: ID!) { mergeTags(sourceIds: $from, targetId: $to) { tag { id } } }";
    assert_eq!(
        edit(merge, json!({ "from": [source], "to": target })).await,
        [],
        "after a tag merge"
    );
}

/// The article page reads its first comments and its related teasers in the
/// article's own statement; a teaser in a list has them read on their own.
/// Both must give the same answer, for every article of the demo site.
#[tokio::test]
async fn what_the_article_statement_reads_along_is_what_the_fields_read_alone() {
    let app = TestApp::spawn_with(common::Options {
        tweak: |config| config.read_cache_mb = 0,
        ..common::Options::default()
    })
    .await;
    const FIELDS: &str = "slug related(first: 4) { slug title summary } \
        comments(first: 2) { totalCount pageInfo { hasNextPage endCursor } \
        edges { cursor node { id authorName body createdAt } } }";
    let list = app
        .graphql(
            &format!("{{ articles(first: 100) {{ edges {{ node {{ {FIELDS} }} }} }} }}"),
            json!({}),
        )
        .await;
    let nodes = list["data"]["articles"]["edges"].as_array().unwrap();
    assert!(nodes.len() > 5, "the demo site has articles");
    let mut with_comments = 0;
    for edge in nodes {
        let alone = &edge["node"];
        let slug = alone["slug"].as_str().unwrap();
        let page = app
            .graphql(
                &format!("query($slug: String!) {{ article(slug: $slug) {{ {FIELDS} }} }}"),
                json!({ "slug": slug }),
            )
            .await;
        assert_eq!(&page["data"]["article"], alone, "{slug}");
        if alone["comments"]["pageInfo"]["hasNextPage"] == true {
            with_comments += 1;
        }
    }
    assert!(with_comments > 0, "some article has a second comment page");
}

/// Only a first page is read along: a page after a cursor, asked for
/// beside it under another name, is the next page.
#[tokio::test]
async fn a_comment_page_after_a_cursor_is_never_the_one_read_along() {
    let app = TestApp::spawn_empty().await;
    let arrange = app.arrange();
    let home = arrange.category("home", None, 0).await;
    let article = arrange
        .article("subject", home, ArticleStatus::Published, past(5))
        .await;
    for n in 0..5 {
        arrange
            .approved_comment(
                article,
                &format!("c{n}"),
                past(4) + chrono::Duration::minutes(n),
            )
            .await;
    }
    let query = "query($after: String) { article(slug: \"subject\") { \
        first: comments(first: 2) { edges { cursor node { body } } } \
        next: comments(first: 2, after: $after) { edges { node { body } } } } }";
    let bodies = |page: &Value, name: &str| -> Vec<String> {
        page["data"]["article"][name]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let start = app.graphql(query, json!({ "after": null })).await;
    assert_eq!(bodies(&start, "first"), ["c4", "c3"]);
    assert_eq!(bodies(&start, "next"), ["c4", "c3"]);

    let cursor = start["data"]["article"]["first"]["edges"][1]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let then = app.graphql(query, json!({ "after": cursor })).await;
    assert_eq!(bodies(&then, "first"), ["c4", "c3"]);
    assert_eq!(bodies(&then, "next"), ["c2", "c1"]);
}

#[tokio::test]
async fn related_on_every_item_of_a_list_is_what_each_page_shows() {
    let app = TestApp::spawn().await;
    let arrange = app.arrange();
    // Articles with no tags, whose teasers come from their section or,
    // in a section of their own, from the newest of all.
    let alone = arrange.category("alone", None, 99).await;
    arrange
        .article("untagged-alone", alone, ArticleStatus::Published, past(1))
        .await;
    let small = arrange.category("small", None, 98).await;
    for (slug, days) in [("untagged-small-1", 2), ("untagged-small-2", 3)] {
        arrange
            .article(slug, small, ArticleStatus::Published, past(days))
            .await;
    }

    let list = app
        .data(
            "{ articles(first: 100) { edges { node { slug related(first: 4) { id } } } } }",
            json!({}),
        )
        .await;
    let edges = list["articles"]["edges"].as_array().unwrap();
    assert!(edges.len() > 10, "the demo site and the two untagged");
    let mut checked = 0;
    for edge in edges {
        let slug = &edge["node"]["slug"];
        let alone = app
            .data(
                "query($slug: String!) { article(slug: $slug) { related(first: 4) { id } } }",
                json!({ "slug": slug }),
            )
            .await;
        assert_eq!(
            edge["node"]["related"], alone["article"]["related"],
            "{slug}: in a list and on its own page"
        );
        assert_eq!(
            edge["node"]["related"].as_array().unwrap().len(),
            4,
            "{slug}"
        );
        checked += 1;
    }
    assert_eq!(checked, edges.len());
}

/// A cold read ranks an article's related teasers once and keeps the
/// ranking; later cold reads use it (fewer statements), until a write
/// changes one of the article's tags' articles: a publication on the tag,
/// a move between sections, a deleted tag. Each is seen by the next read,
/// though no cache is cleared: the write marks the tags it touches.
#[tokio::test]
async fn a_kept_ranking_serves_cold_reads_until_a_write_touches_its_tags() {
    let app = TestApp::spawn_with(common::Options {
        demo: false,
        tweak: |config| config.read_cache_mb = 0,
        ..common::Options::default()
    })
    .await;
    let arrange = app.arrange();
    let home = arrange.category("home", None, 0).await;
    let away = arrange.category("away", None, 1).await;
    let (t, u) = (arrange.tag("t").await, arrange.tag("u").await);
    let published = ArticleStatus::Published;
    let subject = arrange.article("subject", home, published, past(100)).await;
    let both = arrange.article("both", away, published, past(60)).await;
    let a1 = arrange.article("a1", away, published, past(50)).await;
    let a2 = arrange.article("a2", away, published, past(40)).await;
    let a3 = arrange.article("a3", home, published, past(30)).await;
    for (article, tag) in [
        (subject, t),
        (subject, u),
        (both, t),
        (both, u),
        (a1, t),
        (a2, u),
        (a3, t),
    ] {
        arrange.tag_article(article, tag).await;
    }
    let read = || async {
        let (statements, response) = app
            .statements_during(app.graphql(
                r#"{ article(slug: "subject") { related(first: 4) { slug } } }"#,
                json!({}),
            ))
            .await;
        let slugs: Vec<String> = response["data"]["article"]["related"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"))
            .iter()
            .map(|teaser| teaser["slug"].as_str().unwrap().to_owned())
            .collect();
        (statements, slugs)
    };

    let (ranked, first) = read().await;
    assert_eq!(first, ["both", "a3", "a2", "a1"]);
    let kept = entity::related_kept::Entity::find_by_id(subject)
        .one(&app.db)
        .await
        .unwrap()
        .expect("the ranking is kept");
    assert_eq!(kept.asked, 4);
    let (from_kept, again) = read().await;
    assert_eq!(again, first);
    assert!(
        from_kept < ranked,
        "a kept ranking costs less: {from_kept} statements, ranking {ranked}"
    );

    let editor = app.token(Role::Editor).await;
    let created = app
        .data_as(
            &editor,
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
            json!({ "input": { "title": "新", "slug": "new", "body": "<p>新</p>",
                "categoryId": away, "tags": ["t"] } }),
        )
        .await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { status } } }",
        json!({ "id": created["createArticle"]["article"]["id"] }),
    )
    .await;
    assert_eq!(read().await.1, ["both", "a3", "new", "a2"], "a publication");

    app.data_as(
        &editor,
        "mutation($id: ID!, $c: ID!) { updateArticle(id: $id, version: 1, input: { categoryId: $c }) { article { id } } }",
        json!({ "id": a1, "c": home }),
    )
    .await;
    assert_eq!(read().await.1, ["both", "a3", "a1", "new"], "a move");

    app.data_as(
        &editor,
        "mutation($id: ID!) { deleteTag(id: $id) { deletedId } }",
        json!({ "id": u }),
    )
    .await;
    assert_eq!(
        read().await.1,
        ["a3", "a1", "new", "both"],
        "a deleted tag: both shares one tag now, a2 none"
    );
}
