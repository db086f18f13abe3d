//! GraphiQL works in a real browser with no internet: headless Chromium,
//! driven through chromedriver's WebDriver API, opens /graphql with every
//! other host unreachable, runs a query and reads the result off the page,
//! then opens the Docs pane, which loads the schema by introspection, and
//! types in the editor until autocompletion offers a field.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test
//! says so and passes, unless `NEWSROOM_REQUIRE_BROWSER` is set (as `.ci/run`
//! does), where their absence fails it.

use crate::common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::TestApp;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver, stopped when dropped.
struct Driver {
    process: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Self {
            process,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                && response.status().is_success()
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        response["value"].clone()
    }
}

/// Runs `script` in the page and returns its result.
async fn run_script(driver: &Driver, session: &str, script: &str) -> Value {
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{session}/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await
}

/// Polls `script` until it returns a string containing `wanted`.
async fn wait_for_text(driver: &Driver, session: &str, script: &str, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = run_script(driver, session, script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if text.contains(wanted) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {wanted:?}; last saw {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the browser is here; without it the test passes, unless
/// `NEWSROOM_REQUIRE_BROWSER` is set.
fn browser_missing() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return false;
    }
    assert!(
        std::env::var_os("NEWSROOM_REQUIRE_BROWSER").is_none(),
        "NEWSROOM_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
    );
    eprintln!("skipping the browser test: apt-get install chromium chromium-driver");
    true
}

/// A headless Chromium session with its profile in `profile`, where every
/// host name fails to resolve: only the test server, reached by IP
/// address, can answer. Its id.
async fn open_session(driver: &Driver, profile: &Path) -> String {
    let session = driver
        .call(
            reqwest::Method::POST,
            "/session",
            Some(json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                ]
            }}}})),
        )
        .await;
    session["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {session}"))
        .to_owned()
}

/// Opens GraphiQL with `query` in its editor and waits until it can run.
async fn open_graphiql(driver: &Driver, session: &str, app: &TestApp, query: &str) {
    let page = reqwest::Url::parse_with_params(&app.graphql_url(), [("query", query)]).unwrap();
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{session}/url"),
            Some(json!({ "url": page.as_str() })),
        )
        .await;
    // GraphiQL renders its run button once React and GraphiQL have loaded.
    wait_for_text(
        driver,
        session,
        "const b = document.querySelector('.graphiql-execute-button'); return b ? 'ready' : '';",
        "ready",
    )
    .await;
}

/// What GraphiQL's result pane shows.
const RESULT_PANE: &str = "const r = document.querySelector('.graphiql-response') || document.querySelector('.result-window'); return r ? r.innerText : '';";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_in_headless_chromium_with_other_hosts_blocked() {
    if browser_missing() {
        return;
    }
    let app = TestApp::spawn().await;
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let session = open_session(&driver, profile.path()).await;

    let query = r#"{ article(slug: "open-source-llm-lab-shenzhen") { title viewCount } }"#;
    open_graphiql(&driver, &session, &app, query).await;
    run_script(
        &driver,
        &session,
        "document.querySelector('.graphiql-execute-button').click(); return null;",
    )
    .await;
    let result = wait_for_text(&driver, &session, RESULT_PANE, "深圳开源大模型实验室").await;
    assert!(result.contains("\"viewCount\": 56"), "{result}");

    // The Docs pane loads the schema through introspection with the
    // server's default limits, and finds the Article type from Query.
    run_script(
        &driver,
        &session,
        "const b = [...document.querySelectorAll('.graphiql-sidebar button')].find(b => (b.getAttribute('aria-label') || '').includes('Documentation')); if (b) b.click(); return null;",
    )
    .await;
    let docs_script =
        "const d = document.querySelector('.graphiql-doc-explorer'); return d ? d.innerText : '';";
    let root = wait_for_text(&driver, &session, docs_script, "Query").await;
    assert!(!root.contains("Error fetching schema"), "{root}");
    run_script(
        &driver,
        &session,
        "const a = [...document.querySelectorAll('.graphiql-doc-explorer .graphiql-doc-explorer-type-name')].find(a => a.innerText.trim() === 'Query'); if (a) a.click(); return null;",
    )
    .await;
    let fields = wait_for_text(&driver, &session, docs_script, "Article").await;
    assert!(fields.contains("node"), "{fields}");
    let errors = run_script(
        &driver,
        &session,
        "return document.querySelectorAll('.graphiql-doc-explorer-error').length;",
    )
    .await;
    assert_eq!(errors, json!(0));

    // Autocompletion: typing in the query editor lists Article's fields,
    // from the same introspected schema, and Enter takes the suggestion.
    run_script(
        &driver,
        &session,
        r#"const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
           cm.setValue('{ article(slug: "open-source-llm-lab-shenzhen") {  } }');
           cm.setCursor({ line: 0, ch: 50 }); cm.focus(); return null;"#,
    )
    .await;
    let editor = driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{session}/element"),
            Some(json!({ "using": "css selector", "value": ".graphiql-query-editor .CodeMirror textarea" })),
        )
        .await;
    let editor = editor
        .as_object()
        .and_then(|found| found.values().next())
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no query editor: {editor}"))
        .to_owned();
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{session}/element/{editor}/value"),
            Some(json!({ "text": "viewC" })),
        )
        .await;
    let hints = wait_for_text(
        &driver,
        &session,
        "const h = document.querySelector('.CodeMirror-hints'); return h ? h.innerText : '';",
        "viewCount",
    )
    .await;
    assert!(!hints.contains("title"), "only matching fields: {hints}");
    driver
        .call(
            reqwest::Method::POST,
            &format!("/session/{session}/element/{editor}/value"),
            Some(json!({ "text": "\u{E007}" })),
        )
        .await;
    let completed = run_script(
        &driver,
        &session,
        "return document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue();",
    )
    .await;
    assert_eq!(
        completed,
        json!(r#"{ article(slug: "open-source-llm-lab-shenzhen") { viewCount } }"#)
    );

    if let Some(path) = std::env::var_os("NEWSROOM_BROWSER_SCREENSHOT") {
        let shot = driver
            .call(
                reqwest::Method::GET,
                &format!("/session/{session}/screenshot"),
                None,
            )
            .await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    // Everything the page loaded came from the test server.
    let loaded = run_script(
        &driver,
        &session,
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);",
    )
    .await;
    let origin = format!("http://{}/", app.address);
    let loaded: Vec<&str> = loaded
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(loaded.len() >= 5, "{loaded:?}");
    for url in loaded {
        assert!(
            url.starts_with(&origin),
            "the page loaded {url} from elsewhere"
        );
    }

    driver
        .call(
            reqwest::Method::DELETE,
            &format!("/session/{session}"),
            None,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_watches_comments_arrive_live() {
    if browser_missing() {
        return;
    }
    let app = TestApp::spawn_with(common::Options {
        comment_policy: newsroom::config::CommentPolicy::Publish,
        ..common::Options::default()
    })
    .await;
    let article = app.article_id("city-night-bus").await;
    let driver = Driver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let session = open_session(&driver, profile.path()).await;
    let query =
        format!(r#"subscription {{ commentAdded(articleId: "{article}") {{ authorName body }} }}"#);
    open_graphiql(&driver, &session, &app, &query).await;
    run_script(
        &driver,
        &session,
        "document.querySelector('.graphiql-execute-button').click(); return null;",
    )
    .await;
    wait_for_text(
        &driver,
        &session,
        "return window.newsroomSubscribed ? 'subscribed' : '';",
        "subscribed",
    )
    .await;
    // The subscription starts a moment after it is sent: comment until one
    // shows (each comment is new; a few at most).
    let mut shown = String::new();
    for attempt in 0..5 {
        let body = format!("浏览器里看到的第 {attempt} 条评论");
        app.data(
            "mutation($id: ID!, $body: String!) { addComment(input: { articleId: $id, authorName: \"实时读者\", authorEmail: \"live@example.com\", body: $body }) { comment { id } } }",
            json!({ "id": article, "body": body }),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            shown = run_script(&driver, &session, RESULT_PANE)
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if shown.contains("浏览器里看到的") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if shown.contains("浏览器里看到的") {
            break;
        }
    }
    assert!(shown.contains("实时读者"), "the page showed {shown:?}");
    assert!(!shown.contains("live@example.com"), "{shown}");
}
