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
        match self {
            Self::GraphqlResponse => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
            Self::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// The media type to answer in, from the `Accept` header; `None` when the
/// client accepts neither (406).
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Some(MediaType::Json);
    }
    let ranges: Vec<String> = accept
        .split(',')
        .filter(|range| !range.replace(' ', "").contains(";q=0") || range.contains(";q=0."))
        .map(|range| {
            range
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let accepts = |media: &str| ranges.iter().any(|range| range == media);
    if accepts("application/graphql-response+json") {
        Some(MediaType::GraphqlResponse)
    } else if accepts("application/json") || accepts("application/*") || accepts("*/*") {
        Some(MediaType::Json)
    } else {
        None
    }
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
}
