//! Access control: a walk over every mutation and every token-only query in
//! the schema proves that anonymous callers get `UNAUTHENTICATED`, the wrong
//! role `FORBIDDEN`, and that neither changes anything. A new mutation that
//! is missing from the table below fails this test until someone decides
//! who may call it.

use crate::common;

use std::collections::HashMap;

use common::{TestApp, error_code};
use entity::api_token::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// Who may call each mutation. Readers' mutations are open to everyone.
const MUTATIONS: &[(&str, Access)] = &[
    ("recordView", Access::Public),
    ("addComment", Access::Public),
    ("createArticle", Access::Editor),
    ("updateArticle", Access::Editor),
    ("publishArticle", Access::Editor),
    ("unpublishArticle", Access::Editor),
    ("archiveArticle", Access::Editor),
    ("deleteArticle", Access::Editor),
    ("setArticleTags", Access::Editor),
    ("restoreArticleRevision", Access::Editor),
    ("createCategory", Access::Editor),
    ("updateCategory", Access::Editor),
    ("deleteCategory", Access::Editor),
    ("createTag", Access::Editor),
    ("updateTag", Access::Editor),
    ("mergeTags", Access::Editor),
    ("deleteTag", Access::Editor),
    ("moderateComments", Access::Moderator),
    ("setCommentsClosed", Access::Moderator),
    ("createApiToken", Access::Admin),
    ("revokeApiToken", Access::Admin),
    ("createWebhook", Access::Admin),
    ("updateWebhook", Access::Admin),
    ("deleteWebhook", Access::Admin),
    ("redeliverWebhook", Access::Admin),
];

/// Queries that need a token; every other query is public.
const GUARDED_QUERIES: &[(&str, Access)] = &[
    ("articleRevisions", Access::Editor),
    ("moderationQueue", Access::Moderator),
    ("apiTokens", Access::Admin),
    ("auditLog", Access::Admin),
    ("webhooks", Access::Admin),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Editor,
    Moderator,
    Admin,
}

impl Access {
    /// Whether a token with `role` may call it.
    fn allows(self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Editor => matches!(role, Role::Editor | Role::Admin),
            Access::Moderator => matches!(role, Role::Moderator | Role::Admin),
            Access::Admin => role == Role::Admin,
        }
    }
}

const TYPE_REF: &str = "name kind ofType { name kind ofType { name kind ofType { name kind } } }";

/// The schema's types by name, from introspection.
async fn schema_types(app: &TestApp) -> HashMap<String, Value> {
    let query = format!(
        "{{ __schema {{ types {{ name kind enumValues {{ name }}
            inputFields {{ name type {{ {TYPE_REF} }} }}
            fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }} }}"
    );
    let response = app.graphql(&query, json!({})).await;
    response["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

/// A literal of the given type that passes validation (its value need not
/// make sense: the guard must refuse before anything looks at it).
fn literal(types: &HashMap<String, Value>, type_ref: &Value) -> String {
    match type_ref["kind"].as_str().unwrap() {
        "NON_NULL" => literal(types, &type_ref["ofType"]),
        "LIST" => format!("[{}]", literal(types, &type_ref["ofType"])),
        "ENUM" => {
            let name = type_ref["name"].as_str().unwrap();
            types[name]["enumValues"][0]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        }
        "INPUT_OBJECT" => {
            let name = type_ref["name"].as_str().unwrap();
            let fields: Vec<String> = types[name]["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["type"]["kind"] == "NON_NULL")
                .map(|f| {
                    format!(
                        "{}: {}",
                        f["name"].as_str().unwrap(),
                        literal(types, &f["type"])
                    )
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        _ => match type_ref["name"].as_str().unwrap() {
            "Int" => "1".to_owned(),
            "Boolean" => "true".to_owned(),
            "DateTime" => "\"2030-01-01T00:00:00Z\"".to_owned(),
            "ID" => format!("\"{}\"", uuid::Uuid::now_v7()),
            _ => "\"x\"".to_owned(),
        },
    }
}

/// `operation { field(args) { __typename } }` for a field of the root type.
fn call(types: &HashMap<String, Value>, operation: &str, field: &Value) -> String {
    let args: Vec<String> = field["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"]["kind"] == "NON_NULL")
        .map(|a| {
            format!(
                "{}: {}",
                a["name"].as_str().unwrap(),
                literal(types, &a["type"])
            )
        })
        .collect();
    let args = if args.is_empty() {
        String::new()
    } else {
        format!("({})", args.join(", "))
    };
    format!(
        "{operation} {{ {}{args} {{ __typename }} }}",
        field["name"].as_str().unwrap()
    )
}

/// Row counts of every table, to prove a refused call changed nothing.
async fn row_counts(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "categories",
        "articles",
        "tags",
        "article_tags",
        "comments",
        "api_tokens",
        "article_revisions",
        "article_slug_history",
        "audit_log",
    ] {
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        counts.push(row.try_get::<i64>("", "n").unwrap());
    }
    counts
}

#[tokio::test]
async fn every_guarded_operation_refuses_anonymous_and_wrong_role_callers() {
    let app = TestApp::spawn().await;
    let types = schema_types(&app).await;
    let tokens = [
        (Role::Editor, app.token(Role::Editor).await),
        (Role::Moderator, app.token(Role::Moderator).await),
    ];
    let before = row_counts(&app).await;

    let mutations = types["Mutation"]["fields"].as_array().unwrap();
    let queries = types["Query"]["fields"].as_array().unwrap();
    let table: HashMap<&str, Access> = MUTATIONS.iter().chain(GUARDED_QUERIES).copied().collect();
    for field in mutations {
        let name = field["name"].as_str().unwrap();
        assert!(
            table.contains_key(name),
            "mutation {name} is not in tests/api/access.rs: decide who may call it"
        );
    }

    let mut checked = 0;
    for (operation, fields) in [("mutation", mutations), ("query", queries)] {
        for field in fields {
            let name = field["name"].as_str().unwrap();
            let access = table.get(name).copied().unwrap_or(Access::Public);
            if access == Access::Public {
                continue;
            }
            let document = call(&types, operation, field);

            let anonymous = app.graphql(&document, json!({})).await;
            assert_eq!(
                error_code(&anonymous),
                "UNAUTHENTICATED",
                "{document}: {anonymous}"
            );

            let forged = app
                .graphql_as(
                    "nr_00000000000000000000000000000000_nope",
                    &document,
                    json!({}),
                )
                .await;
            assert_eq!(
                error_code(&forged),
                "UNAUTHENTICATED",
                "{document}: {forged}"
            );

            for (role, token) in &tokens {
                if !access.allows(*role) {
                    let refused = app.graphql_as(token, &document, json!({})).await;
                    assert_eq!(
                        error_code(&refused),
                        "FORBIDDEN",
                        "{role:?} {document}: {refused}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, MUTATIONS.len() - 2 + GUARDED_QUERIES.len());
    // Only the tokens' last-used times changed; no row was added or removed.
    assert_eq!(row_counts(&app).await, before);
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let app = TestApp::spawn_empty().await;
    let admin = app.token(Role::Admin).await;
    let query = "{ apiTokens { name revokedAt lastUsedAt } }";
    let listed = app.data_as(&admin, query, json!({})).await;
    assert_eq!(listed["apiTokens"].as_array().unwrap().len(), 1);

    let created = app
        .data_as(
            &admin,
            r#"mutation { createApiToken(name: "short-lived", role: EDITOR, expiresAt: "2020-01-01T00:00:00Z") { secret apiToken { id } } }"#,
            json!({}),
        )
        .await;
    let expired = created["createApiToken"]["secret"].as_str().unwrap();
    let refused = app
        .graphql_as(
            expired,
            "{ articleRevisions(articleId: \"x\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED");

    let editor = app.token(Role::Editor).await;
    let ids = app
        .data_as(&admin, "{ apiTokens { id name } }", json!({}))
        .await;
    assert_eq!(ids["apiTokens"].as_array().unwrap().len(), 3);
    let editor_token_id = ids["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Editor for tests")
        .unwrap()["id"]
        .clone();
    app.data_as(
        &admin,
        "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }",
        json!({ "id": editor_token_id }),
    )
    .await;
    let after = app
        .graphql_as(
            &editor,
            r#"mutation { createTag(name: "x") { tag { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_cli_makes_a_token_that_works_once_shown() {
    let app = TestApp::spawn_empty().await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .args([
            "token",
            "create",
            "--name",
            "desk",
            "--role",
            "editor",
            "--expires-in",
            "90d",
        ])
        .env("DATABASE_URL", &app.database_url)
        .env("NEWSROOM_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let secret = stdout.lines().next().unwrap().trim();
    assert!(secret.starts_with("nr_") && secret.len() > 60, "{stdout}");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains(secret),
        "the secret reached the log"
    );

    let created = app
        .data_as(
            secret,
            r#"mutation { createTag(name: "CLI 标签") { tag { slug name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(created["createTag"]["tag"]["slug"], "cli-biao-qian");

    // Only a hash of the secret is stored.
    use sea_orm::EntityTrait;
    let stored = entity::api_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    // `nr_<id>_<secret>`: the secret itself may hold `_` (base64url).
    let random_part = secret.splitn(3, '_').nth(2).unwrap();
    assert_eq!(random_part.len(), 43);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].secret_hash.len(), 64);
    assert!(!stored[0].secret_hash.contains(random_part));
}

/// A token that is unknown, expired or revoked is refused on any request,
/// public reads included: read as anonymous, an editor's draft preview would
/// come back `null`, which a client takes for a missing article.
#[tokio::test]
async fn a_bad_token_is_unauthenticated_whatever_the_request_asks() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let created = app
        .data_as(
            &admin,
            r#"mutation { createApiToken(name: "lapsed", role: EDITOR, expiresAt: "2020-01-01T00:00:00Z") { secret } }"#,
            json!({}),
        )
        .await;
    let expired = created["createApiToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app.token(Role::Editor).await;
    let listed = app
        .data_as(&admin, "{ apiTokens { id name } }", json!({}))
        .await;
    let revoked_id = listed["apiTokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["name"] == "Editor for tests")
        .unwrap()["id"]
        .clone();
    app.data_as(
        &admin,
        "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
        json!({ "id": revoked_id }),
    )
    .await;
    let last = if admin.ends_with('x') { 'y' } else { 'x' };
    let unknown = format!("{}{last}", &admin[..admin.len() - 1]);

    let public_read = r#"{ article(slug: "city-night-bus") { title } }"#;
    for (token, message) in [
        (expired.as_str(), "The API token has expired"),
        (revoked.as_str(), "The API token was revoked"),
        (unknown.as_str(), "The API token is not valid"),
        ("not-a-token", "The API token is not valid"),
    ] {
        let response = app.graphql_as(token, public_read, json!({})).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{response}");
        assert_eq!(response["errors"][0]["message"], message);
        assert!(response["data"].is_null(), "{response}");

        // With the GraphQL response media type, the status says so too.
        let strict = app
            .client
            .post(app.graphql_url())
            .bearer_auth(token)
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": public_read }))
            .send()
            .await
            .unwrap();
        assert_eq!(strict.status(), 401);
    }

    // Without a token the same read is public, and a good token reads too.
    let anonymous = app.graphql(public_read, json!({})).await;
    assert!(anonymous["data"]["article"]["title"].is_string());
    let fine = app.data_as(&admin, public_read, json!({})).await;
    assert!(fine["article"]["title"].is_string());
}
