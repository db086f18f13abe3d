//! Fetches the pinned GraphiQL and React browser bundles through npm (with
//! the committed lockfile) into the build folder, so that the binary embeds
//! them and GraphiQL works with no internet and under a strict CSP. Nothing
//! third-party is committed to the repository, and nothing is fetched at run
//! time.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

/// The files the server embeds, relative to `node_modules`, and the names it
/// serves them under.
const ASSETS: &[(&str, &str)] = &[
    ("graphiql/graphiql.min.js", "graphiql.min.js"),
    ("graphiql/graphiql.min.css", "graphiql.min.css"),
    (
        "react/umd/react.production.min.js",
        "react.production.min.js",
    ),
    (
        "react-dom/umd/react-dom.production.min.js",
        "react-dom.production.min.js",
    ),
];

fn main() {
    println!("cargo:rerun-if-changed=graphiql/package.json");
    println!("cargo:rerun-if-changed=graphiql/package-lock.json");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let work = out_dir.join("graphiql-npm");
    let assets = out_dir.join("graphiql-assets");
    fs::create_dir_all(&work).expect("create the npm work folder");
    fs::create_dir_all(&assets).expect("create the assets folder");
    for file in ["package.json", "package-lock.json"] {
        fs::copy(manifest_dir.join("graphiql").join(file), work.join(file))
            .unwrap_or_else(|error| panic!("copy graphiql/{file}: {error}"));
    }

    npm_ci(&work);

    for (from, to) in ASSETS {
        let source = work.join("node_modules").join(from);
        fs::copy(&source, assets.join(to))
            .unwrap_or_else(|error| panic!("npm did not provide {}: {error}", source.display()));
    }
    println!("cargo:rustc-env=GRAPHIQL_ASSETS_DIR={}", assets.display());
}

/// Installs exactly what the lockfile pins, without running any package's
/// install scripts.
fn npm_ci(work: &Path) {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let status = Command::new(npm)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(work)
        .status()
        .unwrap_or_else(|error| {
            panic!(
                "newsroom embeds GraphiQL from npm at build time, but `npm` could not be run \
                 ({error}); install Node.js 18 or newer with npm"
            )
        });
    assert!(
        status.success(),
        "`npm ci` failed for the GraphiQL assets (exit {status}); check that the npm registry \
         is reachable"
    );
}
