//! The real `newsroom` binary as a child process: started with settings in
//! its environment, read through its log, stopped with SIGTERM.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// A running server process and the lines it logs.
pub struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read from its log so far.
    pub log: Vec<String>,
    /// Where it serves GraphQL.
    pub graphql_url: String,
}

impl Server {
    /// Starts the binary on `database_url` without demo content, counting
    /// every view and buffering views for an hour (so only a shutdown
    /// writes them), with `extra` settings on top; waits until it serves.
    pub fn start(database_url: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_command(
            Command::new(env!("CARGO_BIN_EXE_newsroom")),
            database_url,
            extra,
        )
    }

    /// [`Self::start`] with at most `open_files` descriptors (soft and hard
    /// limit alike), as a small container would give it.
    pub fn start_with_open_files(
        database_url: &str,
        open_files: u32,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut command = Command::new("prlimit");
        command
            .arg(format!("--nofile={open_files}:{open_files}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_newsroom"));
        Self::start_command(command, database_url, extra)
    }

    fn start_command(mut command: Command, database_url: &str, extra: &[(&str, &str)]) -> Self {
        let mut child = command
            .env("DATABASE_URL", database_url)
            .env("NEWSROOM_LISTEN", "127.0.0.1:0")
            .env("NEWSROOM_LOG", "info")
            .env("NEWSROOM_NO_DEMO", "true")
            .env("NEWSROOM_VIEW_FLUSH_INTERVAL", "1h")
            .env("NEWSROOM_VIEW_WINDOW", "0s")
            .envs(extra.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            graphql_url: String::new(),
        };
        server.graphql_url = server.wait_for_url("/graphql");
        server
    }

    /// Waits for a logged `http://…` address ending in `path`.
    pub fn wait_for_url(&mut self, path: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| {
                    panic!("the server never logged {path}:\n{}", self.log.join("\n"))
                });
            self.log.push(line.clone());
            if let Some(at) = line.find("http://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                if url.ends_with(path) {
                    return url;
                }
            }
        }
    }

    /// Stops the server with SIGTERM and waits for it to exit cleanly; one
    /// still running after 30 s is killed and fails the test.
    pub async fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}");
                return;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within 30 s of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
