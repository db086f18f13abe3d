//! What the server writes to its log: a filter that does not parse stops
//! the start, JSON lines when asked, and no terminal colours in a file.

use crate::common;

use common::{TestApp, process::Server};

#[test]
fn a_log_filter_that_does_not_parse_stops_the_start() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_newsroom"))
        .arg("schema")
        .env("NEWSROOM_LOG", "newsroom=[oops")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not parse"), "{stderr}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_when_asked() {
    let app = TestApp::spawn().await;
    let server = Server::start(&app.database_url, &[("NEWSROOM_LOG_FORMAT", "json")]);

    let line = server.log.last().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(parsed["level"], "INFO", "{line}");
    assert!(
        parsed["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("/graphql")
    );
    server.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_pipe_carry_no_terminal_colours() {
    let app = TestApp::spawn().await;
    let server = Server::start(&app.database_url, &[]);

    assert!(
        server.log.iter().all(|line| !line.contains('\u{1b}')),
        "{:?}",
        server.log
    );
    assert!(!server.log.is_empty());
    server.stop().await;
}
