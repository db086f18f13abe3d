//! Editors at work, over HTTP: the whole life of an article as anonymous
//! readers and editors see it, slugs and their history, revisions, stale
//! updates, sections and tags.

use crate::common;

use chrono::{Duration, SecondsFormat, Utc};
use common::{TestApp, edge_slugs, error_code, section_id, tag_id};
use entity::api_token::Role;
use serde_json::{Value, json};

const CREATE: &str = r#"mutation($input: CreateArticleInput!) {
    createArticle(input: $input) { article { id slug status version body summary tags { slug } } } }"#;

async fn public_article(app: &TestApp, slug: &str) -> Value {
    app.graphql(
        "query($s: String!) { article(slug: $s) { id slug title } }",
        json!({ "s": slug }),
    )
    .await["data"]["article"]
        .clone()
}

async fn public_slugs(app: &TestApp) -> Vec<String> {
    let response = app
        .graphql(
            "{ articles(first: 100) { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    edge_slugs(&response["data"]["articles"])
}

#[tokio::test]
async fn an_article_goes_from_draft_to_scheduled_to_published_to_archived() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let technology = section_id(&app, "technology").await;

    let created = app
        .data_as(
            &editor,
            CREATE,
            json!({ "input": {
                "title": "量子通信卫星进入新阶段",
                "body": "## 背景\n\n这是 **Markdown** 正文。<script>alert(1)</script>",
                "bodyFormat": "MARKDOWN",
                "categoryId": technology,
                "tags": ["航天", "space"],
            }}),
        )
        .await;
    let article = &created["createArticle"]["article"];
    let id = article["id"].clone();
    let slug = article["slug"].as_str().unwrap().to_owned();
    assert_eq!(slug, "liang-zi-tong-xin-wei-xing-jin-ru-xin-jie-duan");
    assert_eq!(article["status"], "DRAFT");
    assert!(
        article["body"]
            .as_str()
            .unwrap()
            .contains("<strong>Markdown</strong>")
    );
    assert!(!article["body"].as_str().unwrap().contains("<script"));
    assert_eq!(
        article["summary"],
        "背景\n这是 Markdown 正文。".replace('\n', " ")
    );

    // A draft: editors preview it; readers see nothing anywhere.
    assert_eq!(public_article(&app, &slug).await, Value::Null);
    assert!(!public_slugs(&app).await.contains(&slug));
    let preview = app
        .data_as(
            &editor,
            "query($id: ID) { article(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(preview["article"]["status"], "DRAFT");

    // Scheduled for a moment from now: still invisible, until it is time.
    // Three seconds ahead: room for the calls below on a loaded machine.
    let due = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    let soon = (Utc::now() + Duration::seconds(3)).to_rfc3339_opts(SecondsFormat::Millis, true);
    app.data_as(
        &editor,
        "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { article { status } } }",
        json!({ "id": id, "at": soon }),
    )
    .await;
    assert_eq!(public_article(&app, &slug).await, Value::Null);
    tokio::time::sleep_until(due + std::time::Duration::from_millis(300)).await;
    assert_eq!(public_article(&app, &slug).await["id"], id);
    assert_eq!(public_slugs(&app).await[0], slug, "newest first");

    // Archived: gone for readers, kept for editors.
    app.data_as(
        &editor,
        "mutation($id: ID!) { archiveArticle(id: $id) { article { status } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(public_article(&app, &slug).await, Value::Null);
    assert!(!public_slugs(&app).await.contains(&slug));
    let kept = app
        .data_as(
            &editor,
            "query($id: ID) { article(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(kept["article"]["status"], "ARCHIVED");

    // Published again at once, then deleted for good.
    app.data_as(
        &editor,
        "mutation($id: ID!) { publishArticle(id: $id) { article { status } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(public_article(&app, &slug).await["id"], id);
    app.data_as(
        &editor,
        "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
        json!({ "id": id }),
    )
    .await;
    let gone = app
        .data_as(
            &editor,
            "query($id: ID) { article(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(gone["article"], Value::Null);
}

#[tokio::test]
async fn derived_slugs_get_a_suffix_and_a_given_slug_that_is_taken_is_refused() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let news = section_id(&app, "news").await;
    let input = |title: &str, slug: Option<&str>| json!({ "input": { "title": title, "slug": slug, "body": "<p>x</p>", "categoryId": news } });

    let first = app
        .data_as(&editor, CREATE, input("Hello World", None))
        .await;
    let second = app
        .data_as(&editor, CREATE, input("Hello, world!", None))
        .await;
    assert_eq!(first["createArticle"]["article"]["slug"], "hello-world");
    assert_eq!(second["createArticle"]["article"]["slug"], "hello-world-2");
    // 行 reads hang in 银行 and 行长, not xing; 重 reads chong in 重庆.
    let chinese = app
        .data_as(&editor, CREATE, input("重庆银行行长谈 AI", None))
        .await;
    assert_eq!(
        chinese["createArticle"]["article"]["slug"],
        "chong-qing-yin-hang-hang-zhang-tan-ai"
    );

    let taken = app
        .graphql_as(&editor, CREATE, input("Other", Some("city-night-bus")))
        .await;
    assert_eq!(error_code(&taken), "BAD_USER_INPUT");
    assert_eq!(taken["errors"][0]["extensions"]["field"], "slug");
    let malformed = app
        .graphql_as(&editor, CREATE, input("Other", Some("Not A Slug")))
        .await;
    assert_eq!(malformed["errors"][0]["extensions"]["field"], "slug");
    let no_section = app
        .graphql_as(
            &editor,
            CREATE,
            json!({ "input": { "title": "t", "body": "b", "categoryId": uuid::Uuid::now_v7() } }),
        )
        .await;
    assert_eq!(no_section["errors"][0]["extensions"]["field"], "categoryId");
}

#[tokio::test]
async fn a_changed_slug_keeps_working_and_says_which_is_current() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;

    let updated = app
        .data_as(
            &editor,
            r#"mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { slug: "hangzhou-night-bus" }) { article { slug version } } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        updated["updateArticle"]["article"]["slug"],
        "hangzhou-night-bus"
    );
    assert_eq!(updated["updateArticle"]["article"]["version"], 2);

    let by_old = public_article(&app, "city-night-bus").await;
    assert_eq!(
        by_old["slug"], "hangzhou-night-bus",
        "the old slug finds it and names the new"
    );
    assert_eq!(
        public_article(&app, "hangzhou-night-bus").await["id"],
        id.to_string()
    );

    // The old slug stays reserved for this article.
    let news = section_id(&app, "news").await;
    let clash = app
        .graphql_as(
            &editor,
            CREATE,
            json!({ "input": { "title": "t", "slug": "city-night-bus", "body": "b", "categoryId": news } }),
        )
        .await;
    assert_eq!(clash["errors"][0]["extensions"]["field"], "slug");
}

#[tokio::test]
async fn a_stale_update_is_a_conflict_and_overwrites_nothing() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;
    let update = r#"mutation($id: ID!, $v: Int!, $t: String) {
        updateArticle(id: $id, version: $v, input: { title: $t }) { article { title version } } }"#;

    let first = app
        .data_as(
            &editor,
            update,
            json!({ "id": id, "v": 1, "t": "第一位编辑的标题" }),
        )
        .await;
    assert_eq!(first["updateArticle"]["article"]["version"], 2);

    let stale = app
        .graphql_as(
            &editor,
            update,
            json!({ "id": id, "v": 1, "t": "第二位编辑的标题" }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    let now = app
        .data_as(
            &editor,
            "query($id: ID) { article(id: $id) { title version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(now["article"]["title"], "第一位编辑的标题");
    assert_eq!(now["article"]["version"], 2);
}

#[tokio::test]
async fn every_update_keeps_a_revision_that_can_be_restored() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let id = app.article_id("city-night-bus").await;
    let original = public_article(&app, "city-night-bus").await["title"].clone();

    app.data_as(
        &editor,
        r#"mutation($id: ID!) { updateArticle(id: $id, version: 1, input: { title: "改过的标题", body: "new body", bodyFormat: MARKDOWN }) { article { version } } }"#,
        json!({ "id": id }),
    )
    .await;
    let revisions = app
        .data_as(
            &editor,
            "query($id: ID!) { articleRevisions(articleId: $id) { id version title } }",
            json!({ "id": id }),
        )
        .await;
    let revision = &revisions["articleRevisions"][0];
    assert_eq!(revision["version"], 1);
    assert_eq!(revision["title"], original);

    let restored = app
        .data_as(
            &editor,
            "mutation($r: ID!) { restoreArticleRevision(revisionId: $r, version: 2) { article { title version body } } }",
            json!({ "r": revision["id"] }),
        )
        .await;
    let article = &restored["restoreArticleRevision"]["article"];
    assert_eq!(article["title"], original);
    assert_eq!(article["version"], 3);
    assert!(article["body"].as_str().unwrap().contains("杭州"));
    let history = app
        .data_as(
            &editor,
            "query($id: ID!) { articleRevisions(articleId: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        history["articleRevisions"],
        json!([{ "version": 2 }, { "version": 1 }])
    );
}

#[tokio::test]
async fn sections_refuse_cycles_and_deleting_what_they_hold_unless_told_where_it_goes() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let technology = section_id(&app, "technology").await;
    let ai = section_id(&app, "ai").await;
    let news = section_id(&app, "news").await;

    let cycle = app
        .graphql_as(
            &editor,
            "mutation($id: ID!, $p: ID) { updateCategory(id: $id, input: { parentId: $p }) { category { slug } } }",
            json!({ "id": technology, "p": ai }),
        )
        .await;
    assert_eq!(error_code(&cycle), "BAD_USER_INPUT");
    assert_eq!(cycle["errors"][0]["extensions"]["field"], "parentId");

    let created = app
        .data_as(
            &editor,
            "mutation($p: ID) { createCategory(input: { name: \"量子\", parentId: $p, position: 0 }) { category { id slug ancestors { slug } } } }",
            json!({ "p": ai }),
        )
        .await;
    let quantum = &created["createCategory"]["category"];
    assert_eq!(quantum["slug"], "liang-zi");
    assert_eq!(
        quantum["ancestors"],
        json!([{ "slug": "technology" }, { "slug": "ai" }])
    );

    let refused = app
        .graphql_as(
            &editor,
            "mutation($id: ID!) { deleteCategory(id: $id) { deletedId } }",
            json!({ "id": technology }),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["field"], "moveTo");
    assert!(
        section_id(&app, "technology").await.is_string(),
        "nothing deleted"
    );

    app.data_as(
        &editor,
        "mutation($id: ID!, $to: ID) { deleteCategory(id: $id, moveTo: $to) { deletedId } }",
        json!({ "id": technology, "to": news }),
    )
    .await;
    let after = app
        .graphql(
            r#"{ categories { slug } news: category(slug: "news") { children { slug } articles { totalCount } } }"#,
            json!({}),
        )
        .await;
    let tops: Vec<&str> = after["data"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tops, ["news", "finance", "innovation"]);
    assert_eq!(
        after["data"]["news"]["children"],
        json!([{ "slug": "ai" }, { "slug": "mobile" }])
    );
    // News had 3 public articles; technology's 3 of its own moved in, and
    // its sub-sections' 7 now sit below news.
    assert_eq!(after["data"]["news"]["articles"]["totalCount"], 13);
}

#[tokio::test]
async fn tags_merge_into_one_without_duplicate_links() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;

    // ai-weather-forecast carries both ai and climate.
    let merged = app
        .data_as(
            &editor,
            "mutation($from: [ID!]!, $to: ID!) { mergeTags(sourceIds: $from, targetId: $to) { tag { slug articles(first: 100) { totalCount } } } }",
            json!({ "from": [tag_id(&app, "climate").await], "to": tag_id(&app, "ai").await }),
        )
        .await;
    let ai = &merged["mergeTags"]["tag"];
    assert_eq!(ai["slug"], "ai");
    // ai had 5 public articles, climate 8, and one article had both.
    assert_eq!(ai["articles"]["totalCount"], 12);
    let gone = app
        .graphql(r#"{ tag(slug: "climate") { id } }"#, json!({}))
        .await;
    assert_eq!(gone["data"]["tag"], Value::Null);
}

#[tokio::test]
async fn a_tag_given_by_name_or_slug_reuses_the_tag_that_has_it() {
    let app = TestApp::spawn_empty().await;
    let editor = app.token(Role::Editor).await;
    let section = app.arrange().category("news", None, 0).await;
    // The editor chose an English slug for a Chinese name.
    app.data_as(
        &editor,
        r#"mutation { createTag(name: "航天", slug: "space") { tag { id } } }"#,
        json!({}),
    )
    .await;

    for tags in [json!(["航天"]), json!(["SPACE"]), json!(["航天", "space"])] {
        let created = app
            .data_as(
                &editor,
                CREATE,
                json!({ "input": { "title": "火箭发射", "body": "<p>x</p>", "categoryId": section, "tags": tags } }),
            )
            .await;
        assert_eq!(
            created["createArticle"]["article"]["tags"],
            json!([{ "slug": "space" }]),
            "{tags}"
        );
    }
    let all = app.data("{ tags { name slug } }", json!({})).await;
    assert_eq!(all["tags"], json!([{ "name": "航天", "slug": "space" }]));
}
