//! The source tree's own rules: comments say why, and leave measurements
//! (throughput, percentages, milliseconds) to BENCHMARKS.md, where they are
//! dated and tied to a machine and a command, so they do not go stale
//! silently in a doc comment.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Whether a comment's text cites a measurement: requests per second, a
/// percentage or a time in milliseconds or microseconds.
fn cites_a_figure(comment: &str) -> bool {
    if comment.contains("req/s") {
        return true;
    }
    let chars: Vec<char> = comment.chars().collect();
    chars.iter().enumerate().any(|(at, c)| {
        if !c.is_ascii_digit() {
            return false;
        }
        let rest: String = chars[at + 1..].iter().collect();
        let rest = rest.trim_start_matches(' ');
        rest.starts_with('%')
            || ["ms", "µs", "us"].iter().any(|unit| {
                rest.strip_prefix(unit)
                    .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric()))
            })
    })
}

#[test]
fn comments_in_src_leave_figures_to_benchmarks_md() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut offending = Vec::new();
    for dir in ["src", "entity/src", "migration/src"] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let Some(comment) = line.trim_start().strip_prefix("//") else {
                    continue;
                };
                if cites_a_figure(comment) {
                    offending.push(format!(
                        "{}:{}: {}",
                        file.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "say why and point to BENCHMARKS.md instead:\n{}",
        offending.join("\n")
    );
}

#[test]
fn the_figure_check_sees_what_it_should() {
    assert!(cites_a_figure(" warm HomePage 1,965 req/s"));
    assert!(cites_a_figure(" was 8% of a cold page"));
    assert!(cites_a_figure(" took 0.65 ms where"));
    assert!(!cites_a_figure(" 120 characters, then `…`"));
    assert!(!cites_a_figure(" at most 100 ids; see BENCHMARKS.md"));
}
