//! Full-text search over HTTP (issue 22): a judged set of Chinese,
//! English and mixed queries over the demo site, scored by precision at 3
//! and nDCG at 5 and compared between SQLite and PostgreSQL; what readers
//! may find (never a draft, a scheduled or an archived article; a change
//! found at once); highlights; paging and filters; hostile queries.

use std::collections::HashSet;

use crate::common;

use common::{Options, TestApp, error_code, section_id, tag_id};
use entity::api_token::Role;
use serde_json::{Value, json};

const SEARCH: &str = r#"query Search($query: String!, $first: Int, $after: String, $filter: SearchFilter) {
    search(query: $query, first: $first, after: $after, filter: $filter) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor score node { id slug title } highlights { title excerpt } }
    } }"#;

/// A query and the demo articles a reader would want from it, the most
/// wanted first; none when nothing on the site is about it.
struct Judged {
    query: &'static str,
    relevant: &'static [&'static str],
}

const fn judged(query: &'static str, relevant: &'static [&'static str]) -> Judged {
    Judged { query, relevant }
}

/// The judged set: 36 queries over the demo site.
const JUDGED: &[Judged] = &[
    // Chinese words.
    judged("芯片", &["chip-packaging-breakthrough"]),
    judged("台风", &["ai-weather-forecast"]),
    judged("奶茶", &["startup-tea-robot"]),
    judged("换电站", &["ev-battery-swap-highway"]),
    judged("数字人民币", &["digital-yuan-small-shops"]),
    judged("绿色债券", &["green-bonds-first-quarter"]),
    judged("量子计算", &["quantum-lab-students"]),
    judged("水稻", &["space-station-experiments"]),
    judged("卫星", &["satellite-weather-farmers"]),
    judged("暴雨", &["rainstorm-city-response"]),
    judged("夜班公交", &["city-night-bus"]),
    judged("指数基金", &["small-investors-etf"]),
    judged("养老院", &["robot-elderly-care"]),
    judged("编程", &["kids-coding-classroom"]),
    judged("可维修性", &["smartphone-repairability-scores"]),
    judged(
        "机器人",
        &[
            "robot-elderly-care",
            "startup-tea-robot",
            "kids-coding-classroom",
        ],
    ),
    judged(
        "电池",
        &[
            "ev-battery-swap-highway",
            "smartphone-repairability-scores",
            "rainstorm-city-response",
        ],
    ),
    judged(
        "光伏",
        &["factory-solar-roofs", "green-bonds-first-quarter"],
    ),
    judged(
        "开源",
        &["open-source-maintainers", "open-source-llm-lab-shenzhen"],
    ),
    // A tag's name finds what it labels.
    judged(
        "人工智能",
        &[
            "ai-court-assistant",
            "ai-translation-museum",
            "ai-weather-forecast",
            "open-source-llm-lab-shenzhen",
            "robot-elderly-care",
        ],
    ),
    // English words, any case, and mixed tokens kept whole.
    judged(
        "AI",
        &[
            "ai-weather-forecast",
            "ai-court-assistant",
            "ai-translation-museum",
        ],
    ),
    judged("CLUE-Next", &["open-source-llm-lab-shenzhen"]),
    judged("clue-next", &["open-source-llm-lab-shenzhen"]),
    judged("ＣＬＵＥ－Ｎｅｘｔ", &["open-source-llm-lab-shenzhen"]),
    judged("5G", &["5g-rural-clinics"]),
    judged("Rust", &["open-source-maintainers"]),
    judged("greenwashing", &["green-bonds-first-quarter"]),
    // Several words, all of which must match.
    judged("5G 会诊", &["5g-rural-clinics"]),
    judged("博物馆 翻译", &["ai-translation-museum"]),
    judged("手机 回收", &["phone-recycling-program"]),
    // Phrases.
    judged("\"台风路径\"", &["ai-weather-forecast"]),
    judged("\"gold mine\"", &["phone-recycling-program"]),
    // Excluded words.
    judged(
        "机器人 -奶茶",
        &["robot-elderly-care", "kids-coding-classroom"],
    ),
    // Words a character-bigram index would find inside other words:
    // 银行为 reads 银行 为, 三个人 reads 三个 人.
    judged("行为", &[]),
    judged("个人", &[]),
    // Nothing on the site is about it; and drafts are never found.
    judged("区块链", &[]),
    judged("草稿", &[]),
];

/// Publishes (`true`) or unpublishes an article through the API.
async fn set_public(app: &TestApp, editor: &str, id: &Value, public: bool) {
    let mutation = if public {
        "mutation($id: ID!) { publishArticle(id: $id) { article { status } } }"
    } else {
        "mutation($id: ID!) { unpublishArticle(id: $id) { article { status } } }"
    };
    app.data_as(editor, mutation, json!({ "id": id })).await;
}

/// Creates an article from `input` (its section and format given) and
/// publishes it; its id.
async fn create_published(app: &TestApp, editor: &str, input: Value) -> Value {
    let created = app
        .graphql_as(
            editor,
            "mutation($input: CreateArticleInput!) { createArticle(input: $input) { article { id } } }",
            json!({ "input": input }),
        )
        .await;
    assert!(created["errors"].is_null(), "{:#}", created["errors"]);
    let id = created["data"]["createArticle"]["article"]["id"].clone();
    set_public(app, editor, &id, true).await;
    id
}

/// Empties the search index behind the server's back.
async fn wipe_index(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DELETE FROM search_documents")
        .await
        .unwrap();
    if !app.is_postgres() {
        app.db
            .execute_unprepared("DELETE FROM search_terms")
            .await
            .unwrap();
    }
}

async fn search(app: &TestApp, query: &str, variables: Value) -> Value {
    let mut variables = variables;
    variables["query"] = json!(query);
    app.graphql(SEARCH, variables).await
}

/// How many articles the site holds, drafts and all.
async fn article_count(app: &TestApp) -> usize {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let count = entity::article::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    usize::try_from(count).unwrap()
}

async fn found(app: &TestApp, query: &str, variables: Value) -> Vec<String> {
    let response = search(app, query, variables).await;
    let edges = response["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {response:#}"));
    edges
        .iter()
        .map(|edge| edge["node"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Precision at 3: the share of the top 3 that is relevant.
fn precision_at_3(results: &[String], relevant: &[&str]) -> f64 {
    results
        .iter()
        .take(3)
        .filter(|slug| relevant.contains(&slug.as_str()))
        .count() as f64
        / 3.0
}

/// nDCG at 5 with graded gains: the most wanted article gains 2, the
/// others 1.
fn ndcg_at_5(results: &[String], relevant: &[&str]) -> f64 {
    let gain = |slug: &str| match relevant.iter().position(|r| *r == slug) {
        Some(0) => 2.0,
        Some(_) => 1.0,
        None => 0.0,
    };
    let dcg = |gains: &[f64]| -> f64 {
        gains
            .iter()
            .enumerate()
            .map(|(rank, g)| (2f64.powf(*g) - 1.0) / ((rank + 2) as f64).log2())
            .sum()
    };
    let got: Vec<f64> = results.iter().take(5).map(|slug| gain(slug)).collect();
    let mut ideal: Vec<f64> = relevant.iter().map(|slug| gain(slug)).collect();
    ideal.truncate(5);
    if ideal.is_empty() {
        return if results.is_empty() { 1.0 } else { 0.0 };
    }
    dcg(&got) / dcg(&ideal)
}

async fn judge(app: &TestApp, label: &str) -> Vec<Vec<String>> {
    let mut tops = Vec::new();
    let (mut precision, mut reachable, mut ndcg) = (0.0, 0.0, 0.0);
    let mut judged_with_answers = 0;
    for case in JUDGED {
        let results = found(app, case.query, json!({ "first": 5 })).await;
        if case.relevant.is_empty() {
            assert!(
                results.is_empty(),
                "{label} {}: found {results:?}",
                case.query
            );
        } else {
            judged_with_answers += 1;
            precision += precision_at_3(&results, case.relevant);
            // Of what precision at 3 can reach with fewer than 3 relevant.
            reachable +=
                precision_at_3(&results, case.relevant) * 3.0 / case.relevant.len().min(3) as f64;
            assert!(
                case.relevant.contains(&results[0].as_str()),
                "{label} {}: first is {results:?}",
                case.query
            );
            // Every relevant article is found, and nothing else is.
            let got: HashSet<&str> = results.iter().map(String::as_str).collect();
            let want: HashSet<&str> = case.relevant.iter().copied().collect();
            assert_eq!(got, want, "{label} {}", case.query);
        }
        ndcg += ndcg_at_5(&results, case.relevant);
        tops.push(results);
    }
    let precision = precision / judged_with_answers as f64;
    let reachable = reachable / judged_with_answers as f64;
    let ndcg = ndcg / JUDGED.len() as f64;
    eprintln!(
        "{label}: {} judged queries, mean precision at 3 {precision:.3} ({reachable:.3} of what \
         the relevant articles allow), mean nDCG at 5 {ndcg:.3}",
        JUDGED.len()
    );
    assert!(ndcg >= 0.9, "{label}: mean nDCG at 5 is {ndcg:.3}");
    tops
}

#[tokio::test]
async fn the_judged_queries_find_the_right_articles_first() {
    assert!(JUDGED.len() >= 30);
    let app = TestApp::spawn().await;
    let label = if app.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let tops = judge(&app, label).await;
    if app.is_postgres() {
        // The same judged set on SQLite, to compare the rankings.
        let sqlite = TestApp::spawn_with(Options {
            force_sqlite: true,
            ..Options::default()
        })
        .await;
        let sqlite_tops = judge(&sqlite, "SQLite").await;
        let mut same = 0;
        for ((case, postgres), sqlite) in JUDGED.iter().zip(&tops).zip(&sqlite_tops) {
            if postgres == sqlite {
                same += 1;
            } else {
                eprintln!("{}: PostgreSQL {postgres:?}, SQLite {sqlite:?}", case.query);
            }
        }
        eprintln!(
            "{same} of {} judged queries rank alike on both",
            JUDGED.len()
        );
    }
}

#[tokio::test]
async fn readers_never_find_drafts_scheduled_or_archived_articles() {
    let app = TestApp::spawn().await;
    for query in [
        "草稿",
        "定时发布",
        "已归档",
        "draft",
        "Scheduled",
        "archived",
        "路线图",
    ] {
        assert!(found(&app, query, json!({})).await.is_empty(), "{query}");
    }
}

#[tokio::test]
async fn a_change_is_found_at_once_and_a_takedown_is_gone_at_once() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let id = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { id version } }"#,
            json!({}),
        )
        .await["data"]["article"]
        .clone();

    // A new title's words are found by the next search, the old ones not.
    let updated = app
        .data_as(
            &editor,
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, version: $v, input: { title: \"杭州通宵巴士满月\" }) { article { version } } }",
            json!({ "id": id["id"], "v": id["version"] }),
        )
        .await;
    assert_eq!(updated["updateArticle"]["article"]["version"], 2);
    assert_eq!(found(&app, "通宵巴士", json!({})).await, ["city-night-bus"]);
    let response = search(&app, "通宵巴士", json!({})).await;
    let title = &response["data"]["search"]["edges"][0]["highlights"]["title"];
    assert!(title.as_str().unwrap().contains("<mark>通宵"), "{title}");
    // Renamed again: the words only the last title had are gone with it.
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateArticle(id: $id, version: 2, input: { title: \"杭州夜间线路满月\" }) { article { version } } }",
        json!({ "id": id["id"] }),
    )
    .await;
    assert!(found(&app, "通宵巴士", json!({})).await.is_empty());
    assert_eq!(found(&app, "夜间线路", json!({})).await, ["city-night-bus"]);

    // Taken down: gone from the very next search; back when published.
    set_public(&app, &editor, &id["id"], false).await;
    assert!(found(&app, "夜间线路", json!({})).await.is_empty());
    let response = search(&app, "夜间线路", json!({})).await;
    assert_eq!(response["data"]["search"]["totalCount"], 0);
    set_public(&app, &editor, &id["id"], true).await;
    assert_eq!(found(&app, "夜间线路", json!({})).await, ["city-night-bus"]);

    // Deleted: no document is left behind.
    app.data_as(
        &editor,
        "mutation($id: ID!) { deleteArticle(id: $id) { deletedId } }",
        json!({ "id": id["id"] }),
    )
    .await;
    assert!(found(&app, "夜间线路", json!({})).await.is_empty());
}

/// The documents whose publication differs from their article's: a
/// published article's time, `NULL` for any other status.
async fn stale_stamps(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    app.db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            r#"SELECT a.slug FROM search_documents d JOIN articles a ON a.id = d.article_id
               WHERE (a.status = 'published' AND (d.public_since IS NULL OR d.public_since <> a.published_at))
                  OR (a.status <> 'published' AND d.public_since IS NOT NULL)"#,
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get("", "slug").unwrap())
        .collect()
}

/// PostgreSQL reads the ranking's bound from the documents alone, so each
/// carries its article's publication: every write that publishes, schedules,
/// takes down, archives or edits an article keeps it true in the same
/// transaction, and so do the demo load and a script writing SQL behind
/// the server's back.
#[tokio::test]
async fn postgresql_documents_carry_their_article_s_publication() {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    assert_eq!(
        stale_stamps(&app).await,
        Vec::<String>::new(),
        "the demo load"
    );
    let editor = app.token(Role::Editor).await;
    let article = app
        .graphql(
            r#"{ article(slug: "city-night-bus") { id version } }"#,
            json!({}),
        )
        .await["data"]["article"]
        .clone();
    let id = &article["id"];
    let steps = [
        (
            "unpublishArticle",
            "mutation($id: ID!) { unpublishArticle(id: $id) { article { status } } }",
        ),
        (
            "publishArticle later",
            r#"mutation($id: ID!) { publishArticle(id: $id, at: "2099-01-01T08:00:00Z") { article { status } } }"#,
        ),
        (
            "publishArticle earlier",
            r#"mutation($id: ID!) { publishArticle(id: $id, at: "2020-03-04T05:06:07Z") { article { status } } }"#,
        ),
        (
            "updateArticle",
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, version: $v, input: { title: \"杭州通宵巴士满月\" }) { article { version } } }",
        ),
        (
            "archiveArticle",
            "mutation($id: ID!) { archiveArticle(id: $id) { article { status } } }",
        ),
        (
            "publishArticle now",
            "mutation($id: ID!) { publishArticle(id: $id) { article { status } } }",
        ),
    ];
    for (label, mutation) in steps {
        let variables = if mutation.contains("$v") {
            json!({ "id": id, "v": article["version"] })
        } else {
            json!({ "id": id })
        };
        let response = app.graphql_as(&editor, mutation, variables).await;
        assert!(
            response["errors"].is_null(),
            "{label}: {:#}",
            response["errors"]
        );
        assert_eq!(
            stale_stamps(&app).await,
            Vec::<String>::new(),
            "after {label}"
        );
    }
    use sea_orm::ConnectionTrait;
    for (label, script) in [
        (
            "a script archiving",
            "UPDATE articles SET status = 'archived' WHERE slug = 'city-night-bus'",
        ),
        (
            "a script republishing",
            "UPDATE articles SET status = 'published', published_at = '2021-05-06T07:08:09Z' WHERE slug = 'city-night-bus'",
        ),
    ] {
        app.db.execute_unprepared(script).await.unwrap();
        assert_eq!(
            stale_stamps(&app).await,
            Vec::<String>::new(),
            "after {label}"
        );
    }
    let stamped = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM search_documents WHERE public_since IS NOT NULL",
        ))
        .await
        .unwrap()[0]
        .try_get::<i64>("", "n")
        .unwrap();
    assert!(
        stamped > 5,
        "the check compared too few documents: {stamped}"
    );
}

/// Searches that find the server's word statistics unread (or old) read
/// them once between them: the others wait for that read, not make their
/// own (two catalog statements each).
#[tokio::test]
async fn postgresql_s_word_statistics_are_read_once_for_concurrent_searches() {
    use newsroom::content::search::shares::SharesMemo;
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    let memo = SharesMemo::default();
    let (statements, shares) = app
        .statements_during(futures::future::join_all(
            (0..20).map(|_| memo.current(&app.db)),
        ))
        .await;
    assert_eq!(shares.len(), 20);
    assert!(
        shares
            .iter()
            .all(|each| std::sync::Arc::ptr_eq(each, &shares[0])),
        "every search got the one read"
    );
    assert!(statements <= 3, "{statements} statements");
}

/// PostgreSQL's statistics of the documents' words are read as the
/// planner keeps them: after `ANALYZE`, the demo's words with their
/// shares, a word every document holds at (almost) all of them, and the
/// choice of bound follows from them.
#[tokio::test]
async fn postgresql_s_word_statistics_are_read_for_the_choice_of_bound() {
    use newsroom::content::search::{query::SearchQuery, shares::WordShares};
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    let query = SearchQuery::parse("机器人").unwrap();
    // One word in every document makes the statistics' top word.
    app.db
        .execute_unprepared("UPDATE search_documents SET terms = terms || 'everywhere'::tsvector")
        .await
        .unwrap();
    app.db
        .execute_unprepared("ANALYZE search_documents")
        .await
        .unwrap();
    let documents = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*)::float8 AS n FROM search_documents",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<f64>("", "n")
        .unwrap();
    let shares = WordShares::read(&app.db).await.unwrap();
    let everywhere = shares
        .matches_at_most(&SearchQuery::parse("everywhere").unwrap())
        .unwrap();
    assert!(
        (everywhere - documents).abs() < 0.5,
        "{everywhere} of {documents} documents"
    );
    let robots = shares.matches_at_most(&query).unwrap();
    assert!(
        robots >= 1.0 && robots < documents,
        "{robots} of {documents}"
    );
    // Fewer documents than are ranked: any word is read from the index.
    assert!(shares.read_from_documents(&query, 1_000));
    // Ranking one match, a word in every document is walked to.
    assert!(!shares.read_from_documents(&SearchQuery::parse("everywhere").unwrap(), 1));
}

/// A PostgreSQL site indexed before documents carried their publication
/// gets it from the migration that adds it: every document, drafts and archived
/// articles left empty.
#[tokio::test]
async fn postgresql_documents_indexed_before_get_their_article_s_publication() {
    use migration::MigratorTrait;
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    // Back to before that migration, however many came after it.
    let names: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|step| step.name().to_owned())
        .collect();
    let adding_publication = names
        .iter()
        .position(|name| name == "m20261130_000015_search_documents_publication")
        .expect("the migration is listed");
    let steps = u32::try_from(names.len() - adding_publication).unwrap();
    migration::Migrator::down(&app.db, Some(steps))
        .await
        .unwrap();
    let has_publication = || async {
        use sea_orm::ConnectionTrait;
        app.db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT 1 FROM information_schema.columns WHERE table_name = 'search_documents' AND column_name = 'public_since'",
            ))
            .await
            .unwrap()
            .is_some()
    };
    assert!(!has_publication().await, "the migration was undone");
    migration::Migrator::up(&app.db, None).await.unwrap();
    assert_eq!(stale_stamps(&app).await, Vec::<String>::new());
    assert!(!found(&app, "机器人", json!({})).await.is_empty());
    // The full-text index, dropped while the rows were rewritten, is back
    // as it was: without a pending list.
    assert_eq!(
        storage_options(&app, "idx_search_documents_terms").await,
        "fastupdate=off"
    );
}

/// A PostgreSQL table's or index's storage options, as `pg_class` lists
/// them.
async fn storage_options(app: &TestApp, relation: &str) -> String {
    use sea_orm::ConnectionTrait;
    app.db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = $1",
            [relation.into()],
        ))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{relation} is there"))
        .try_get_by_index::<String>(0)
        .unwrap()
}

#[tokio::test]
async fn a_tag_s_new_name_is_found_and_a_deleted_tag_s_is_not() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateTag(id: $id, name: \"星辰大海\") { tag { name } } }",
        json!({ "id": tag_id(&app, "space").await }),
    )
    .await;
    let mut with_new_name = found(&app, "星辰大海", json!({})).await;
    with_new_name.sort();
    assert_eq!(
        with_new_name,
        ["satellite-weather-farmers", "space-station-experiments"]
    );
    app.data_as(
        &editor,
        "mutation($id: ID!) { deleteTag(id: $id) { deletedId } }",
        json!({ "id": tag_id(&app, "space").await }),
    )
    .await;
    assert!(found(&app, "星辰大海", json!({})).await.is_empty());
}

#[tokio::test]
async fn highlights_are_escaped_and_marks_fall_between_characters() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let technology = section_id(&app, "technology").await;
    create_published(
        &app,
        &editor,
        json!({
            "title": "<b>台风</b> & \"AI\" 预警 👨‍👩‍👧",
            "body": "<p>沿海城市发布台风预警：&lt;script&gt;alert(1)&lt;/script&gt; 请留意 👨‍👩‍👧 家人安全。</p>",
            "bodyFormat": "HTML",
            "categoryId": technology,
        }),
    )
    .await;
    let response = search(&app, "台风 预警", json!({})).await;
    let edge = &response["data"]["search"]["edges"][0];
    assert_eq!(
        edge["highlights"]["title"],
        "&lt;b&gt;<mark>台风</mark>&lt;/b&gt; &amp; \"AI\" <mark>预警</mark> 👨‍👩‍👧"
    );
    let excerpt = edge["highlights"]["excerpt"].as_str().unwrap();
    assert!(
        excerpt.contains("<mark>台风</mark><mark>预警</mark>")
            || excerpt.contains("<mark>台风预警</mark>"),
        "{excerpt}"
    );
    assert!(
        excerpt.contains("&lt;script&gt;") && !excerpt.contains("<script"),
        "{excerpt}"
    );
    assert!(excerpt.contains("👨‍👩‍👧"), "{excerpt}");
}

#[tokio::test]
async fn results_page_by_cursor_and_filters_narrow_them() {
    let app = TestApp::spawn().await;
    let first = search(&app, "机器人", json!({ "first": 1 })).await;
    let connection = &first["data"]["search"];
    assert_eq!(connection["totalCount"], 3);
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let mut seen = vec![connection["edges"][0]["node"]["slug"].clone()];
    let mut after = connection["pageInfo"]["endCursor"].clone();
    loop {
        let next = search(&app, "机器人", json!({ "first": 1, "after": after })).await;
        let page = &next["data"]["search"];
        seen.extend(
            page["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["slug"].clone()),
        );
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let all = found(&app, "机器人", json!({ "first": 10 })).await;
    assert_eq!(seen, all.iter().map(|s| json!(s)).collect::<Vec<_>>());

    let mut innovation = found(
        &app,
        "机器人",
        json!({ "filter": { "category": "innovation" } }),
    )
    .await;
    innovation.sort();
    assert_eq!(innovation, ["robot-elderly-care", "startup-tea-robot"]);
    assert_eq!(
        found(&app, "机器人", json!({ "filter": { "tag": "education" } })).await,
        ["kids-coding-classroom"]
    );
    assert!(
        found(
            &app,
            "机器人",
            json!({ "filter": { "publishedAfter": "2099-01-01T00:00:00Z" } })
        )
        .await
        .is_empty()
    );

    let bad = search(&app, "机器人", json!({ "after": "not-a-cursor" })).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}

#[tokio::test]
async fn hostile_queries_get_bad_user_input_or_a_normal_result() {
    let app = TestApp::spawn().await;
    let long = "台风".repeat(5_000);
    let refused = [
        "",
        "   ",
        long.as_str(),
        "\"unclosed",
        "-only -excluded",
        // NUL is refused by the API's input checks before search sees it.
        "\0\0台风\0",
    ];
    for query in refused {
        let response = search(&app, query, json!({})).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{query:.40}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], "query",
            "{response}"
        );
    }
    let answered = [
        "！？。…… ***",
        "NEAR(台风 路径)",
        "台风*",
        "^台风",
        "台风 AND OR NOT",
        "台风 & 路径 | !x",
        "台风:*",
        "'; DROP TABLE articles; --",
        "\"\"",
        "col:台风 {title}: 台风",
        "\\' \\\\ ''",
        // Letters the database's tokenizer reads as separators (a Thai
        // vowel sign alone), and circled numbers NFKC turns into digits.
        "\u{0e31}",
        "\u{0e31}\u{0e34} 台风",
        "①② ˇ",
    ];
    for query in answered {
        let response = search(&app, query, json!({})).await;
        assert!(response["errors"].is_null(), "{query:?}: {response:#}");
        assert!(response["data"]["search"]["edges"].is_array(), "{query:?}");
    }
    // The site is still whole.
    assert_eq!(
        found(&app, "台风", json!({})).await,
        ["ai-weather-forecast"]
    );
}

#[tokio::test]
async fn newsroom_reindex_rebuilds_what_the_index_lost() {
    let app = TestApp::spawn().await;
    let before = found(&app, "人工智能", json!({ "first": 10 })).await;
    wipe_index(&app).await;
    app.state.content_changed();
    assert!(found(&app, "人工智能", json!({})).await.is_empty());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .arg("reindex")
        .env("DATABASE_URL", &app.database_url)
        .env("NEWSROOM_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("indexed=25"), "{log}");
    // The rebuild told the change feed, which servers follow.
    app.state.catch_up().await.unwrap();
    assert_eq!(
        found(&app, "人工智能", json!({ "first": 10 })).await,
        before
    );
}

/// SQLite's planner, left to itself, starts from the visible articles and
/// runs the full-text match once per article (45 ms a search at 10,000
/// articles); the statement keeps the match as the outer loop, in the
/// page and in the bound of its ranked matches alike.
#[tokio::test]
async fn sqlite_runs_the_full_text_match_once_per_search() {
    use newsroom::content::{
        articles::ArticleFilter,
        search::{SearchCursor, query::SearchQuery},
        sql::search::{Ranking, page_on_sqlite},
    };
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn_with(Options {
        force_sqlite: true,
        ..Options::default()
    })
    .await;
    let plan_of = |mut statement: Statement| {
        let app = &app;
        async move {
            statement.sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
            app.db
                .query_all_raw(statement)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "detail").unwrap())
                .collect::<Vec<_>>()
        }
    };
    let now = chrono::Utc::now();
    let query = SearchQuery::parse("机器人").unwrap();
    let filter = || ArticleFilter::default().condition(now);
    let ranking = Ranking {
        as_of: now,
        ranked: 1_000,
        on_documents: None,
    };
    // Each part of a page starts from the match, which never runs per
    // article.
    let after = SearchCursor {
        as_of: now.timestamp_micros(),
        score: 0,
        published_at: now - chrono::TimeDelta::days(3),
        id: uuid::Uuid::now_v7(),
    };
    for after in [None, Some(&after)] {
        let plan = plan_of(page_on_sqlite(&query, filter(), ranking, after, 11)).await;
        let matches = plan
            .iter()
            .filter(|step| step.contains("search_terms"))
            .collect::<Vec<_>>();
        assert!(
            matches
                .iter()
                .all(|step| step.starts_with("SCAN search_terms VIRTUAL TABLE")),
            "{plan:#?}"
        );
        // The bound is walked once and read by each part; only the ranked
        // part, the unranked candidates and the page itself are sorted, so
        // neither the bound's walk nor the unranked walk sorts its matches:
        // both follow the index's order, newest first by key.
        let read_once = plan
            .iter()
            .filter(|step| step.starts_with("MATERIALIZE bound"))
            .count();
        assert_eq!(read_once, 1, "{plan:#?}");
        let sorts = plan
            .iter()
            .filter(|step| step.contains("TEMP B-TREE"))
            .count();
        assert_eq!(sorts, 3, "{plan:#?}");
        // The unranked part loops over the bound's row: with none (every
        // match ranked) its full-text scans never start.
        let unranked = plan
            .iter()
            .position(|step| step == "CO-ROUTINE unranked")
            .expect("an unranked part");
        assert_eq!(plan[unranked + 1], "SCAN bound", "{plan:#?}");
    }
}

#[tokio::test]
async fn a_repeated_search_is_answered_from_the_read_cache_until_a_change() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let ask = || search(&app, "机器人", json!({ "first": 2 }));
    let first = ask().await;
    let (statements, again) = app.statements_during(ask()).await;
    assert_eq!(again, first);
    assert_eq!(statements, 0, "a repeated search read the database");

    // A tag renamed: the next search reads again and finds its new name.
    let robotics = tag_id(&app, "robotics").await;
    app.data_as(
        &editor,
        "mutation($id: ID!) { updateTag(id: $id, name: \"仿生机械\") { tag { name } } }",
        json!({ "id": robotics }),
    )
    .await;
    let (statements, _) = app.statements_during(ask()).await;
    assert!(statements > 0);
    assert_eq!(found(&app, "仿生机械", json!({})).await.len(), 3);
}

/// A database whose index an older build made (or none: a site upgraded
/// from before search) is indexed again when a server starts on it.
#[tokio::test]
async fn a_server_starting_on_an_index_of_another_build_rebuilds_it() {
    let app = TestApp::spawn().await;
    let before = found(&app, "人工智能", json!({ "first": 10 })).await;
    wipe_index(&app).await;
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(
            "UPDATE shared_settings SET value = '0: an older build' WHERE name = 'search_index_version'",
        )
        .await
        .unwrap();
    let config = newsroom::config::Config::for_database(app.database_url.clone());
    let (_state, base) = common::serve_config(&config).await;
    let response = common::post_graphql(
        &reqwest::Client::new(),
        &format!("{base}/graphql"),
        &json!({ "query": SEARCH, "variables": { "query": "人工智能", "first": 10 } }),
    )
    .await;
    let slugs: Vec<String> = response["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{response:#}"))
        .iter()
        .map(|edge| edge["node"]["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, before);
}

/// A body as long as an editor may save (500,000 characters), of random
/// Chinese characters, so that its words are as many and as varied as a
/// body's can be, is saved and searchable: its `tsvector` stays under
/// PostgreSQL's 1 MB limit and no index limit turns a save into an error.
#[tokio::test]
async fn a_huge_body_of_distinct_words_is_saved_and_found() {
    let app = TestApp::spawn().await;
    let editor = app.token(Role::Editor).await;
    let technology = section_id(&app, "technology").await;
    let mut state = 0x2545_f491_u32;
    let body: String = (0..450_000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            char::from_u32(0x4e00 + (state >> 8) % 20_000).unwrap()
        })
        .collect();
    create_published(
        &app,
        &editor,
        json!({
            "title": "哈希值清单",
            "body": format!("开篇词语 {body}"),
            "bodyFormat": "MARKDOWN",
            "categoryId": technology,
        }),
    )
    .await;
    assert_eq!(found(&app, "哈希值", json!({})).await.len(), 1);
    assert_eq!(found(&app, "开篇", json!({})).await.len(), 1);
}

/// A word most articles hold would be ranked at every match; the server
/// ranks only the newest `NEWSROOM_SEARCH_RANKED_MATCHES` (here one of the
/// three articles about robots), and the older matches follow it by
/// recency, unscored, on every page alike.
#[tokio::test]
async fn only_the_newest_matches_are_ranked_and_older_ones_follow_by_recency() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.search_ranked_matches = 1,
        ..Options::default()
    })
    .await;
    const PAGE: &str = r#"query($after: String) { search(query: "机器人", first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { score node { slug publishedAt } } } }"#;
    let mut seen: Vec<(String, String, f64)> = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app.data(PAGE, json!({ "after": after })).await;
        let connection = &page["search"];
        assert_eq!(connection["totalCount"], 3);
        for edge in connection["edges"].as_array().unwrap() {
            seen.push((
                edge["node"]["slug"].as_str().unwrap().to_owned(),
                edge["node"]["publishedAt"].as_str().unwrap().to_owned(),
                edge["score"].as_f64().unwrap(),
            ));
        }
        if connection["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.1.cmp(&a.1));
    assert_eq!(seen, newest_first, "not in order of recency: {seen:#?}");
    assert!(seen[0].2 > 0.0, "the newest match is ranked: {seen:#?}");
    assert!(
        seen[1..].iter().all(|(_, _, score)| *score == 0.0),
        "older matches are not ranked: {seen:#?}"
    );
    let all = found(&app, "机器人", json!({ "first": 10 })).await;
    let slugs: Vec<String> = seen.into_iter().map(|(slug, _, _)| slug).collect();
    assert_eq!(all, slugs, "one page and many agree");
}

/// Articles published in the same microsecond follow one another by id,
/// page after page, and an article published again moves to its new
/// place at once. SQLite lists its matches by document key
/// (publication, then a place among articles published in the same
/// microsecond), so this checks its keys as well as the order.
#[tokio::test]
async fn articles_published_together_page_by_id_and_a_republished_one_moves() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.search_ranked_matches = 1,
        ..Options::default()
    })
    .await;
    let editor = app.token(Role::Editor).await;
    let technology = section_id(&app, "technology").await;
    let publish_at = |id: Value, at: &'static str| {
        let (app, editor) = (&app, &editor);
        async move {
            app.data_as(
                editor,
                "mutation($id: ID!, $at: DateTime) { publishArticle(id: $id, at: $at) { article { publishedAt } } }",
                json!({ "id": id, "at": at }),
            )
            .await;
        }
    };
    let mut ids = Vec::new();
    for (n, at) in [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2026-01-02T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2026-01-03T00:00:00Z",
        "2026-01-01T00:00:00Z",
        "2025-12-31T00:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        let id = create_published(
            &app,
            &editor,
            json!({
                "title": format!("同刻 simulcast 第{n}篇"),
                "body": "simulcast",
                "bodyFormat": "MARKDOWN",
                "categoryId": technology,
            }),
        )
        .await;
        ids.push((at, id.as_str().unwrap().to_owned()));
    }
    // Published at their moments in the reverse of their ids' order, so
    // that SQLite's keys among the four of one moment run against it.
    for (at, id) in ids.iter().rev() {
        publish_at(json!(id), at).await;
    }
    // Newest first, and among the four of the same moment the greatest
    // id first.
    let expected = |ids: &[(&str, String)]| {
        let mut sorted = ids.to_vec();
        sorted.sort_by(|a, b| b.cmp(a));
        sorted.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    const PAGE: &str = r#"query($after: String, $first: Int) { search(query: "simulcast", first: $first, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { id } } } }"#;
    let listed = |first: u64| {
        let app = &app;
        async move {
            let mut listed = Vec::new();
            let mut after = Value::Null;
            loop {
                let page = app
                    .data(PAGE, json!({ "after": after, "first": first }))
                    .await;
                let connection = &page["search"];
                for edge in connection["edges"].as_array().unwrap() {
                    listed.push(edge["node"]["id"].as_str().unwrap().to_owned());
                }
                if connection["pageInfo"]["hasNextPage"] == false {
                    return listed;
                }
                after = connection["pageInfo"]["endCursor"].clone();
            }
        }
    };
    for first in [1, 2, 3, 10] {
        assert_eq!(listed(first).await, expected(&ids), "pages of {first}");
    }

    // One of the four, published again later, leads; taken down, it is
    // gone; the rest keep their order.
    let moved = ids[3].1.clone();
    publish_at(json!(moved), "2026-01-04T00:00:00Z").await;
    ids[3].0 = "2026-01-04T00:00:00Z";
    for first in [1, 3] {
        assert_eq!(listed(first).await, expected(&ids), "pages of {first}");
    }
    assert_eq!(listed(2).await[0], moved);
    set_public(&app, &editor, &json!(moved), false).await;
    ids.remove(3);
    assert_eq!(listed(2).await, expected(&ids));

    if !app.is_postgres() {
        use newsroom::content::sql::search::{KEYS_PER_MICROSECOND, first_key_at};
        use sea_orm::ConnectionTrait;
        let key_of = |id: String| {
            let app = &app;
            async move {
                app.db
                    .query_one_raw(sea_orm::Statement::from_sql_and_values(
                        sea_orm::DbBackend::Sqlite,
                        r#"SELECT "search_documents"."id" FROM "search_documents" JOIN "search_terms" ON "search_terms"."rowid" = "search_documents"."id" WHERE "article_id" = ?"#,
                        [uuid::Uuid::parse_str(&id).unwrap().into()],
                    ))
                    .await
                    .unwrap()
                    .expect("a document with its full-text row")
                    .try_get_by_index::<i64>(0)
                    .unwrap()
            }
        };
        let moment = |at: &str| first_key_at(at.parse().unwrap());
        let mut together = Vec::new();
        for (at, id) in &ids {
            let key = key_of(id.clone()).await;
            assert!(
                (moment(at)..moment(at) + KEYS_PER_MICROSECOND).contains(&key),
                "{id} published {at} has key {key}"
            );
            if *at == "2026-01-01T00:00:00Z" {
                together.push(key);
            }
        }
        together.sort();
        together.dedup();
        assert_eq!(together.len(), 3, "each has a key of its own");
        assert!(key_of(moved).await < 0, "an unpublished article's key");
    }
}

/// A word most articles hold would be counted at every match; the server
/// counts up to `NEWSROOM_SEARCH_COUNTED_MATCHES` (here two of the three
/// articles about robots) and says the count stopped there, while the
/// results go on past it.
#[tokio::test]
async fn a_count_stops_at_the_counted_matches_and_says_so() {
    const COUNT: &str = r#"query($query: String!) { search(query: $query, first: 10) {
        totalCount totalCountIsExact edges { node { slug } } } }"#;
    let capped = TestApp::spawn_with(Options {
        tweak: |config| config.search_counted_matches = 2,
        ..Options::default()
    })
    .await;
    let page = capped.data(COUNT, json!({ "query": "机器人" })).await;
    assert_eq!(page["search"]["totalCount"], 2, "{page}");
    assert_eq!(page["search"]["totalCountIsExact"], false, "{page}");
    assert_eq!(
        page["search"]["edges"].as_array().unwrap().len(),
        3,
        "{page}"
    );
    // As many matches as it counts, or fewer: the count is exact.
    let page = capped.data(COUNT, json!({ "query": "CLUE-Next" })).await;
    let found = page["search"]["edges"].as_array().unwrap().len();
    assert!((1..=2).contains(&found), "{page}");
    assert_eq!(page["search"]["totalCount"], found, "{page}");
    assert_eq!(page["search"]["totalCountIsExact"], true, "{page}");

    let app = TestApp::spawn().await;
    let page = app.data(COUNT, json!({ "query": "机器人" })).await;
    assert_eq!(page["search"]["totalCount"], 3, "{page}");
    assert_eq!(page["search"]["totalCountIsExact"], true, "{page}");
}

/// A search whose filter is a time range (or none) is counted from the
/// documents alone: on PostgreSQL by the publication they carry, on
/// SQLite by their keys, from the full-text index alone unless a phrase
/// is quoted. Either way it counts what the matches joined to their
/// articles count: drafts, archived and scheduled articles left out.
#[tokio::test]
async fn a_count_read_from_the_documents_counts_what_the_articles_say() {
    use chrono::TimeDelta;
    use newsroom::content::{
        articles::ArticleFilter,
        search::query::SearchQuery,
        sql::search::{PublishedRange, count},
    };
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let backend = app.db.get_database_backend();
    let now = chrono::Utc::now();
    let counted = |statement| {
        let app = &app;
        async move {
            app.db
                .query_one_raw(statement)
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    let mut matched = 0;
    // The demo's drafts, scheduled and archived articles hold 草稿,
    // 定时发布 and 已归档.
    for text in [
        "机器人",
        "AI",
        "草稿",
        "定时发布",
        "已归档",
        "\"台风路径\"",
        "机器人 -奶茶",
        "的",
    ] {
        let query = SearchQuery::parse(text).unwrap();
        for (after, before) in [
            (None, None),
            (Some(now - TimeDelta::days(3)), None),
            (None, Some(now - TimeDelta::days(2))),
            (
                Some(now - TimeDelta::days(30)),
                Some(now - TimeDelta::hours(12)),
            ),
        ] {
            let filter = ArticleFilter {
                published_after: after,
                published_before: before,
                ..ArticleFilter::default()
            };
            let joined = counted(count(backend, &query, filter.condition(now), None, 10_001)).await;
            let from_documents = counted(count(
                backend,
                &query,
                filter.condition(now),
                Some((PublishedRange { after, before }, now)),
                10_001,
            ))
            .await;
            assert_eq!(
                joined, from_documents,
                "{text:?} from {after:?} to {before:?}"
            );
            matched += joined;
        }
    }
    assert!(matched > 20, "too few matches to compare: {matched}");
}

/// A search statement that runs past `NEWSROOM_SEARCH_TIMEOUT` is cancelled
/// by PostgreSQL: the reader is asked to narrow the search, and the pooled
/// connection is free again at once. Here the statement waits for a lock
/// another connection holds on the index; SQLite readers never wait for
/// locks (its limit is tested below).
#[tokio::test]
async fn a_search_past_its_time_limit_is_cancelled_on_postgresql() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.search_timeout = std::time::Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    if !app.is_postgres() {
        return;
    }
    let lock = app.db.begin().await.unwrap();
    lock.execute_unprepared("LOCK TABLE search_documents IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let refused = search(&app, "机器人", json!({})).await;
    assert_eq!(error_code(&refused), "SERVICE_UNAVAILABLE", "{refused:#}");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("add words or a filter"), "{message}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the statement was not cut at its limit"
    );
    lock.rollback().await.unwrap();
    assert_eq!(found(&app, "机器人", json!({})).await.len(), 3);
}

/// SQLite has no statement timeout of its own: a search statement runs on
/// a connection whose progress handler interrupts it at the search's time
/// limit. Past the limit the statement fails as timed out (which the reader
/// sees as a request to narrow the search); the limit goes with the
/// statement, so later statements on the same connections run as long as
/// they need; and a statement whose request went away is interrupted at
/// once and its connection closed, not left running.
#[tokio::test]
async fn a_sqlite_search_statement_is_interrupted_at_its_time_limit() {
    use newsroom::{database::query_all_by_index_within, fault::DbFault};
    use sea_orm::ConnectionTrait;
    use std::time::{Duration, Instant};
    let app = TestApp::spawn().await;
    if app.is_postgres() {
        return;
    }
    // Counting to `to` one row at a time: FOREVER takes many minutes,
    // 200,000 a few milliseconds.
    const FOREVER: u64 = 10_000_000_000;
    let counting = |to: u64| {
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {to}) \
                 SELECT count(*) FROM n"
            ),
        )
    };
    let count = |row: &sea_orm::QueryResult| row.try_get_by_index::<i64>(0).unwrap();
    let started = Instant::now();
    let error = query_all_by_index_within(&app.db, counting(FOREVER), Duration::from_millis(200))
        .await
        .expect_err("the statement runs far past its limit");
    assert_eq!(DbFault::of(&error), DbFault::TimedOut, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "interrupted after {:?}",
        started.elapsed()
    );

    // Statements that end within their limit; then, with every limit
    // passed, every pooled connection (the pool hands idle ones out in
    // turn) still runs a statement of many steps to its end.
    for _ in 0..3 {
        let limit = Duration::from_millis(300);
        let within = query_all_by_index_within(&app.db, counting(200_000), limit)
            .await
            .unwrap();
        assert_eq!(count(&within[0]), 200_000);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (open, _) = newsroom::database::pool_usage(&app.db);
    for _ in 0..=open {
        let row = app.db.query_one_raw(counting(200_000)).await.unwrap();
        assert_eq!(count(&row.unwrap()), 200_000);
    }

    // A statement abandoned mid-way, with a minute of its limit left, is
    // interrupted, and its connection closed.
    let (before, _) = newsroom::database::pool_usage(&app.db);
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        query_all_by_index_within(&app.db, counting(FOREVER), Duration::from_secs(60)),
    )
    .await;
    assert!(abandoned.is_err(), "the statement cannot have finished");
    let gone = Instant::now();
    while newsroom::database::pool_usage(&app.db).0 >= before {
        assert!(
            gone.elapsed() < Duration::from_secs(2),
            "the abandoned statement's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let row = app.db.query_one_raw(counting(200_000)).await.unwrap();
    assert_eq!(count(&row.unwrap()), 200_000);
}

/// A server rebuilding a large site's index in the background waits when
/// the writers' turn (SQLite) stays taken past a writer's patience, and goes
/// on with the same batch once it is free: given up, it had to start again
/// from the first article, an hour's work lost at a million. Where someone
/// waits for the answer (`newsroom reindex`), the rebuild fails instead.
#[tokio::test]
async fn a_rebuild_refused_the_writers_turn_waits_and_goes_on_on_sqlite() {
    use newsroom::{
        content::search::index::{WhenRefused, rebuild},
        error::AppError,
    };
    use std::time::Duration;
    let app = TestApp::spawn().await;
    if app.is_postgres() {
        return;
    }
    let articles = article_count(&app).await;
    let turn = newsroom::database::begin_write(&app.db).await.unwrap();

    let db = app.db.clone();
    let (reported, progress) = std::sync::mpsc::channel();
    let waiting = tokio::spawn(async move {
        rebuild(&db, WhenRefused::Wait, move |done| {
            reported.send(done).ok();
        })
        .await
    });
    let refused = rebuild(&app.db, WhenRefused::Fail, |_| {}).await;
    assert!(
        matches!(refused, Err(AppError::Unavailable { .. })),
        "{refused:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!waiting.is_finished(), "the rebuild waits for the turn");
    assert_eq!(progress.try_iter().count(), 0);

    drop(turn);
    let indexed = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the rebuild goes on once the turn is free")
        .unwrap()
        .unwrap();
    assert_eq!(indexed, articles);
    let reported: Vec<usize> = progress.try_iter().collect();
    assert_eq!(reported.last(), Some(&articles), "{reported:?}");
    assert!(
        reported.windows(2).all(|pair| pair[0] < pair[1]),
        "{reported:?}"
    );
    assert_eq!(found(&app, "机器人", json!({})).await.len(), 3);
}

/// FTS5 writes the words it holds as a new segment whenever a statement
/// of the transaction opens a savepoint, and merges segments as they pile
/// up. With
/// a statement per document, a rebuild of a 200,000-article file managed
/// five documents a second; a batch's full-text rows now go in one
/// statement.
#[tokio::test]
async fn a_sqlite_rebuild_writes_a_batch_s_full_text_rows_in_one_statement() {
    use newsroom::content::search::index::{WhenRefused, rebuild};
    let app = TestApp::spawn().await;
    if app.is_postgres() {
        return;
    }
    let articles = article_count(&app).await;
    assert!(articles >= 20, "{articles} articles");
    let (statements, indexed) = app
        .statements_during(rebuild(&app.db, WhenRefused::Fail, |_| {}))
        .await;
    assert_eq!(indexed.unwrap(), articles);
    // The batch's ids, articles and tags, the old documents forgotten (two
    // statements), a document row per article, the full-text rows, then
    // the end (a few more): a second statement per article would add
    // `articles` more.
    assert!(
        statements <= articles + 15,
        "{statements} statements for {articles} articles"
    );
    assert_eq!(found(&app, "机器人", json!({})).await.len(), 3);
}

/// PostgreSQL's planner prices reading every document below the full-text
/// index for a word most articles hold, not counting that each document's
/// `tsvector` must then be read back from TOAST and matched (at 100,000
/// articles it read and matched all of them). A search's statements run
/// with sequential scans off and the search's time limit, both for their
/// own transaction only.
#[tokio::test]
async fn postgresql_searches_run_with_their_own_planner_settings() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.search_timeout = std::time::Duration::from_millis(2500),
        ..Options::default()
    })
    .await;
    if !app.is_postgres() {
        return;
    }
    let settings = || {
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_setting('enable_seqscan') || ' ' || current_setting('statement_timeout') \
             || ' ' || current_setting('plan_cache_mode') || ' ' || current_setting('max_parallel_workers_per_gather')",
        )
    };
    use sea_orm::ConnectionTrait;
    let usual = app
        .db
        .query_one_raw(settings())
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    let timeout = app.state.search.statement_timeout;
    let within = newsroom::database::query_all_by_index_within(&app.db, settings(), timeout)
        .await
        .unwrap();
    assert_eq!(
        within[0].try_get_by_index::<String>(0).unwrap(),
        "off 2500ms force_custom_plan 0",
        "each search is planned for its own words, and runs without parallel workers"
    );
    // The documents' long values live out of line, so that the rows a
    // common word matches are read for their article ids alone; their
    // pages keep room for a publication's new version beside the old.
    assert_eq!(
        storage_options(&app, "search_documents").await,
        "toast_tuple_target=128,fillfactor=90"
    );
    // The full-text index takes each document's words at once: a pending
    // list would be read by every search until a vacuum merged it.
    assert_eq!(
        storage_options(&app, "idx_search_documents_terms").await,
        "fastupdate=off"
    );
    // Statements after it plan as usual, on every connection the pool
    // holds (it hands idle connections out in turn, so one more round
    // than it holds reaches the connection the search used).
    let (open, _) = newsroom::database::pool_usage(&app.db);
    for _ in 0..=open {
        let after = app.db.query_one_raw(settings()).await.unwrap().unwrap();
        assert_eq!(after.try_get_by_index::<String>(0).unwrap(), usual);
    }
}

/// Searches read a page's ranked and unranked matches apart: PostgreSQL
/// by publication time with the bound as a value (`page_split_at`),
/// SQLite by document key with its bound walked in the same statement
/// (`page_on_sqlite`). The single statement (`page`), which sorts every
/// match, is the reference: both must list the same hits with the same
/// scores, page after page, wherever the bound falls.
#[tokio::test]
async fn a_split_page_lists_what_the_single_statement_lists() {
    use newsroom::content::{
        articles::ArticleFilter,
        search::{SearchCursor, query::SearchQuery},
        sql::search::{PublishedRange, Ranking, page, page_on_sqlite, page_split_at},
    };
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    let backend = app.db.get_database_backend();
    let now = chrono::Utc::now();
    let read = |statement| async {
        let rows = app.db.query_all_raw(statement).await.unwrap();
        rows.iter()
            .map(|row| SearchCursor {
                as_of: now.timestamp_micros(),
                score: row.try_get("", "score").unwrap(),
                published_at: row.try_get("", "published_at").unwrap(),
                id: row.try_get("", "id").unwrap(),
            })
            .collect::<Vec<_>>()
    };
    // What a page lists: its hits and their scores.
    let listed = |hits: &[SearchCursor]| {
        hits.iter()
            .map(|hit| (hit.id, hit.score))
            .collect::<Vec<_>>()
    };
    // PostgreSQL's split pages, read from the articles and from the
    // documents' own publication.
    let read_from_documents: &[Option<PublishedRange>] = if app.is_postgres() {
        &[None, Some(PublishedRange::default())]
    } else {
        &[]
    };
    let mut compared = 0;
    let mut bounds = 0;
    for text in ["机器人", "开源", "AI", "大模型 开源", "-机器人 AI"] {
        let query = SearchQuery::parse(text).unwrap();
        let filter = || ArticleFilter::default().condition(now);
        for ranked in [1, 2, 3, 1_000] {
            let ranking = Ranking {
                as_of: now,
                ranked,
                on_documents: None,
            };
            let bound = bound_of(&app, &query, ranking, now).await;
            for on_documents in read_from_documents {
                // Read from the documents alone, the bound is the same.
                let read = Ranking {
                    on_documents: *on_documents,
                    ..ranking
                };
                assert_eq!(
                    bound,
                    bound_of(&app, &query, read, now).await,
                    "{text:?}, {ranked} ranked"
                );
            }
            bounds += usize::from(bound.is_some());
            let mut after: Option<SearchCursor> = None;
            loop {
                let one = read(page(backend, &query, filter(), ranking, after.as_ref(), 2)).await;
                if !app.is_postgres() {
                    // SQLite's page, cut by key, its bound walked in the
                    // same statement.
                    let other =
                        read(page_on_sqlite(&query, filter(), ranking, after.as_ref(), 2)).await;
                    assert_eq!(
                        listed(&one),
                        listed(&other),
                        "{text:?}, {ranked} ranked, after {after:?}"
                    );
                }
                // PostgreSQL's split, and split with the ranked part also
                // cut by the documents' own time.
                for on_documents in read_from_documents {
                    let other = read(page_split_at(
                        &query,
                        filter(),
                        Ranking {
                            on_documents: *on_documents,
                            ..ranking
                        },
                        bound,
                        after.as_ref(),
                        2,
                    ))
                    .await;
                    assert_eq!(
                        listed(&one),
                        listed(&other),
                        "{text:?}, {ranked} ranked, after {after:?}, {on_documents:?}"
                    );
                }
                compared += one.len();
                match one.last() {
                    Some(last) if one.len() == 2 => after = Some(*last),
                    _ => break,
                }
            }
        }
    }
    assert!(
        compared > 20,
        "the queries found too little to compare: {compared}"
    );
    assert!(bounds > 5, "too few searches had a bound: {bounds}");
}

/// The oldest ranked publication time, as [`oldest_ranked`] reads it.
///
/// [`oldest_ranked`]: newsroom::content::sql::search::oldest_ranked
async fn bound_of(
    app: &TestApp,
    query: &newsroom::content::search::query::SearchQuery,
    ranking: newsroom::content::sql::search::Ranking,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use sea_orm::ConnectionTrait;
    app.db
        .query_all_raw(newsroom::content::sql::search::oldest_ranked(
            app.db.get_database_backend(),
            query,
            newsroom::content::articles::ArticleFilter::default().condition(now),
            ranking,
        ))
        .await
        .unwrap()
        .first()
        .map(|row| {
            row.try_get::<chrono::DateTime<chrono::Utc>>("", "published_at")
                .unwrap()
        })
}

/// A search's statements on PostgreSQL share one transaction with its
/// settings (one `BEGIN`, one `set_config`, one `COMMIT` a page), not
/// one each: `now()` is the transaction's start, so it stays the same
/// across statements run apart in time.
#[tokio::test]
async fn postgresql_index_reads_share_one_transaction_and_its_settings() {
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    let started = || {
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT now()::text || ' ' || current_setting('enable_seqscan')",
        )
    };
    let reads = newsroom::database::IndexReads::begin(&app.db, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let first = reads.query_all(started()).await.unwrap()[0]
        .try_get_by_index::<String>(0)
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = reads.query_all(started()).await.unwrap()[0]
        .try_get_by_index::<String>(0)
        .unwrap();
    reads.finish().await.unwrap();
    assert!(first.ends_with(" off"), "{first}");
    assert_eq!(first, second, "both statements ran in one transaction");
}

/// A rebuilt index is analysed at once on PostgreSQL: the word shares
/// that choose how a search finds its ranking's bound come from that
/// `ANALYZE`, and autovacuum (off on some servers) may take its time.
#[tokio::test]
async fn postgresql_counts_the_words_of_a_rebuilt_index() {
    use newsroom::content::search::{
        index::{WhenRefused, rebuild},
        query::SearchQuery,
        shares::WordShares,
    };
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn().await;
    if !app.is_postgres() {
        return;
    }
    let last_analyzed = || async {
        app.db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'search_documents'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "last_analyze")
            .unwrap()
    };
    let before = last_analyzed().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    rebuild(&app.db, WhenRefused::Fail, |_| {}).await.unwrap();
    let after = last_analyzed().await;
    assert!(
        after.is_some() && after > before,
        "{before:?} then {after:?}"
    );
    let shares = WordShares::read(&app.db).await.unwrap();
    assert!(
        shares
            .matches_at_most(&SearchQuery::parse("机器人").unwrap())
            .is_some(),
        "{shares:?}"
    );
}
