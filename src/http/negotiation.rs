//! GraphQL over HTTP, as its specification describes: which media type a
//! response uses (`application/graphql-response+json` when the client
//! accepts it, else `application/json`), and which status code it gets.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors get 400 and no `data`.
    GraphqlResponse,
    /// `application/json`: the legacy type; well-formed requests always get 200.
    Json,
}

impl MediaType {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }

    /// The `Content-Type` it is sent with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// Every `Accept` header of a request, as one list.
fn accept_header(headers: &HeaderMap) -> String {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
}

/// `application/json`, the legacy response type.
const JSON: mediatype::MediaType<'static> =
    mediatype::MediaType::new(mediatype::names::APPLICATION, mediatype::names::JSON);

/// `application/graphql-response+json`, GraphQL over HTTP's own type.
const GRAPHQL_RESPONSE: mediatype::MediaType<'static> = mediatype::MediaType::from_parts(
    mediatype::names::APPLICATION,
    mediatype::Name::new_unchecked("graphql-response"),
    Some(mediatype::names::JSON),
    &[],
);

/// The media type to answer in, from the `Accept` header with its
/// q-values (RFC 9110): the type the client prefers, `application/json`
/// when it likes both equally through a wildcard, and none when it accepts
/// neither or gives both q=0 (406). No header, or one that does not parse,
/// gets `application/json`, as GraphQL over HTTP asks for legacy clients.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept = accept_header(headers);
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let Ok(accept) = accept.parse::<headers_accept::Accept>() else {
        return Some(MediaType::Json);
    };
    // Listed first, JSON wins when the client ranks both alike (`*/*`).
    match accept.negotiate([&JSON, &GRAPHQL_RESPONSE]) {
        Some(chosen) if *chosen == GRAPHQL_RESPONSE => Some(MediaType::GraphqlResponse),
        Some(_) => Some(MediaType::Json),
        None => None,
    }
}

/// `text/html`, what a browser asks for when it opens a page.
const HTML: mediatype::MediaType<'static> =
    mediatype::MediaType::new(mediatype::names::TEXT, mediatype::names::HTML);

/// Whether a GET of /graphql is a browser asking for a page (the explorer)
/// rather than a client asking for a result: `text/html` preferred, by the
/// Accept header's q-values, over both JSON types. `*/*` alone is a client.
pub fn wants_page(headers: &HeaderMap) -> bool {
    let accept = accept_header(headers);
    accept
        .parse::<headers_accept::Accept>()
        .ok()
        .and_then(|accept| accept.negotiate([&JSON, &GRAPHQL_RESPONSE, &HTML]).cloned())
        .is_some_and(|chosen| chosen == HTML)
}

/// The answer for a client that accepts no type we can send.
pub fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "Accept application/graphql-response+json or application/json",
        "BAD_USER_INPUT",
    )
}

/// A request-level error: the request could not be run at all.
pub fn error_response(status: StatusCode, media: MediaType, message: &str, code: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// A GraphQL response ready to send.
pub struct Encoded {
    /// The status code.
    pub status: StatusCode,
    /// The media type.
    pub media: MediaType,
    /// The JSON body.
    pub body: Vec<u8>,
}

impl Encoded {
    /// Turns it into an HTTP response.
    pub fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, self.media.content_type());
        response
    }
}

/// Encodes a GraphQL response. With `application/graphql-response+json`, a
/// response that failed before execution (parse, validation, variables,
/// limits: errors without a path and no data) gets 400 (401 when its token
/// was refused) and no `data` entry.
pub fn encode(response: &async_graphql::Response, media: MediaType) -> Encoded {
    let request_failed = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    let unencodable = || json!({ "errors": [{ "message": "internal server error", "extensions": { "code": "INTERNAL_SERVER_ERROR" } }] });
    if media == MediaType::GraphqlResponse && request_failed {
        // The spec's answer to a request that never ran: no `data` at all.
        let mut body = serde_json::to_value(response).unwrap_or_else(|_| unencodable());
        if let Value::Object(map) = &mut body {
            map.remove("data");
        }
        let unauthenticated = response.errors.iter().all(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from("UNAUTHENTICATED"))
        });
        return Encoded {
            status: if unauthenticated {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            },
            media,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        };
    }
    // Straight to bytes: no intermediate JSON tree for a large page.
    let body = serde_json::to_vec(response)
        .or_else(|_| serde_json::to_vec(&unencodable()))
        .unwrap_or_default();
    Encoded {
        status: StatusCode::OK,
        media,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(header::ACCEPT, value);
        }
        headers
    }

    #[test]
    fn the_media_type_follows_accept() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("text/plain")), None);
        assert_eq!(negotiate(&accept("application/json;q=0")), None);
    }

    #[test]
    fn a_browser_gets_the_page_and_a_client_the_result() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(wants_page(&accept(browser)));
        assert!(!wants_page(&accept("*/*")));
        assert!(!wants_page(&accept("application/json")));
        assert!(!wants_page(&accept("text/html;q=0, application/json")));
        assert!(!wants_page(&accept(
            "text/html;q=0.5, application/graphql-response+json"
        )));
        assert!(!wants_page(&HeaderMap::new()));
    }

    #[test]
    fn q_values_decide_between_the_two_types() {
        // The case: JSON preferred, graphql-response+json a fallback.
        assert_eq!(
            negotiate(&accept(
                "application/json, application/graphql-response+json;q=0.1"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept(
                "application/json;q=0.5, application/graphql-response+json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        // Equal preference: the order the client gave.
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json"
            )),
            Some(MediaType::GraphqlResponse)
        );
        // q=0 means "not acceptable", in any spelling.
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept("application/graphql-response+json; q=0.0")),
            None
        );
        assert_eq!(negotiate(&accept("application/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("text/html, */*;q=0.8")),
            Some(MediaType::Json)
        );
        assert_eq!(
            negotiate(&accept("Application/GraphQL-Response+JSON")),
            Some(MediaType::GraphqlResponse)
        );
    }
}
