//! The GraphiQL explorer, served entirely from this binary: the page, our
//! start-up script, and the GraphiQL and React bundles that build.rs fetched
//! through npm. A browser loads nothing from another host.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

/// The explorer's page.
pub fn page() -> Html<&'static str> {
    Html(include_str!("explorer/index.html"))
}

/// The files the page loads, by name: (name, media type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "start.js",
        "text/javascript; charset=utf-8",
        include_bytes!("explorer/start.js"),
    ),
    (
        "page.css",
        "text/css; charset=utf-8",
        include_bytes!("explorer/page.css"),
    ),
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("GRAPHIQL_ASSETS_DIR"), "/graphiql.min.js")),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!(concat!(env!("GRAPHIQL_ASSETS_DIR"), "/graphiql.min.css")),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(
            env!("GRAPHIQL_ASSETS_DIR"),
            "/react.production.min.js"
        )),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(
            env!("GRAPHIQL_ASSETS_DIR"),
            "/react-dom.production.min.js"
        )),
    ),
];

/// GET /graphiql/{file}: one of the explorer's files.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, media_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *media_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
