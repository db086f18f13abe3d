//! HTTP caching of GraphQL reads: an anonymous query that succeeded may be
//! kept by browsers and CDNs for a while (`Cache-Control: public, max-age,
//! stale-while-revalidate`) and carries an `ETag`; a request whose
//! `If-None-Match` matches gets `304 Not Modified`. Mutations, requests with a
//! token and responses with errors are never cacheable.

use std::time::Duration;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

use super::negotiation::Encoded;

/// How long responses may be reused.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// `max-age`.
    pub max_age: Duration,
    /// `stale-while-revalidate`.
    pub stale_while_revalidate: Duration,
    /// `s-maxage`, for shared caches that purge by cache tag.
    pub shared_max_age: Option<Duration>,
}

/// A strong validator for a response body.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` names `tag` (or is `*`).
fn matches(request_headers: &HeaderMap, tag: &str) -> bool {
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == tag || candidate == "*")
}

/// A kept answer ([`crate::content::cache::responses`]) as the response,
/// with the caching headers it had: its `body` and entity `tag` (the kept
/// ones, or those with the current view counts written in).
pub fn respond_kept(
    kept: &crate::content::cache::responses::KeptResponse,
    body: bytes::Bytes,
    tag: &str,
    policy: CachePolicy,
    request_headers: &HeaderMap,
) -> Response {
    let mut response = if matches(request_headers, tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (StatusCode::OK, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(kept.media));
        response
    };
    public_headers(response.headers_mut(), tag, policy, &kept.keys);
    response
        .headers_mut()
        .insert(KEPT, HeaderValue::from_static("hit"));
    response
}

/// The header that says whether an answer came from the response cache.
const KEPT: header::HeaderName = header::HeaderName::from_static("x-newsroom-cache");

/// `Surrogate-Key`: the keys a Fastly or Varnish (xkey) purge names,
/// separated by spaces.
const SURROGATE_KEY: header::HeaderName = header::HeaderName::from_static("surrogate-key");
/// `Cache-Tag`: the same keys for CDNs that purge by tag, separated by commas.
const CACHE_TAG: header::HeaderName = header::HeaderName::from_static("cache-tag");

/// The caching headers of an anonymous, successful query's answer, with
/// `keys`, the cache tags of what it shows.
fn public_headers(headers: &mut HeaderMap, tag: &str, policy: CachePolicy, keys: &[String]) {
    if !keys.is_empty() {
        let spaced = keys.join(" ");
        // Keys hold no spaces nor commas.
        if let Ok(value) = HeaderValue::from_str(&spaced.replace(' ', ",")) {
            headers.insert(CACHE_TAG, value);
        }
        if let Ok(value) = HeaderValue::try_from(spaced) {
            headers.insert(SURROGATE_KEY, value);
        }
    }
    let mut cache_control = if policy.max_age.is_zero() && policy.shared_max_age.is_none() {
        "no-cache".to_owned()
    } else {
        format!(
            "public, max-age={}, stale-while-revalidate={}",
            policy.max_age.as_secs(),
            policy.stale_while_revalidate.as_secs()
        )
    };
    if let Some(shared) = policy.shared_max_age {
        cache_control.push_str(&format!(", s-maxage={}", shared.as_secs()));
    }
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static("accept, accept-encoding, authorization, origin"),
    );
}

/// The response for `encoded`, with caching headers: `tag` is its entity
/// tag ([`etag`]) when it is an anonymous, successful query's answer, and
/// `None` for any other (then nobody may store it).
pub fn respond(
    encoded: Encoded,
    tag: Option<String>,
    policy: CachePolicy,
    request_headers: &HeaderMap,
    keys: &[String],
) -> Response {
    let Some(tag) = tag else {
        let mut response = encoded.into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    };
    let mut response = if matches(request_headers, &tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        encoded.into_response()
    };
    public_headers(response.headers_mut(), &tag, policy, keys);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag(b"{}");
        let mut headers = HeaderMap::new();
        let listed = format!("\"other\", W/{tag}");
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&listed).unwrap_or(HeaderValue::from_static("")),
        );
        assert!(matches(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"nope\""));
        assert!(!matches(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&headers, &tag));
    }
}
