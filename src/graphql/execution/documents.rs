//! Parsed query documents, cached by the SHA-256 of their text: a hot query
//! is parsed once, not on every request. The same cache serves Apollo's
//! automatic persisted queries, where a client sends a query once and then
//! only its hash — which lets CDNs and mobile clients cache short GET URLs.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::graphql::errors::Refusal;

/// Recently used documents, bounded in number.
pub struct DocumentCache {
    documents: moka::sync::Cache<String, Arc<ExecutableDocument>>,
}

/// The `persistedQuery` request extension.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: u32,
    sha256_hash: String,
}

/// How many documents are kept.
const CAPACITY: u64 = 10_000;

impl Default for DocumentCache {
    fn default() -> Self {
        Self {
            documents: moka::sync::Cache::new(CAPACITY),
        }
    }
}

/// The SHA-256 of `text`, in lowercase hex: what documents are cached by.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl DocumentCache {
    /// The parsed document a request runs, from this cache when it can be:
    /// by the hash of its text, or by a persisted query's hash when the text
    /// is left out. `Ok(None)` when the text does not parse (the executor then
    /// reports the syntax error with its position). A hash this server does
    /// not know is `PERSISTED_QUERY_NOT_FOUND`, and the client sends the text.
    /// The document comes with the SHA-256 of its text, in hex.
    pub fn document_for(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<Option<(Arc<ExecutableDocument>, String)>, Refusal> {
        let persisted = match request.extensions.remove("persistedQuery") {
            Some(value) => Some(
                value
                    .into_json()
                    .ok()
                    .and_then(|json| serde_json::from_value::<PersistedQuery>(json).ok())
                    .filter(|persisted| persisted.version == 1)
                    .ok_or_else(|| {
                        AppError::bad_input(
                            "extensions",
                            "`persistedQuery` must be { version: 1, sha256Hash: \"…\" }",
                        )
                    })?,
            ),
            None => None,
        };
        if request.query.is_empty() {
            let Some(persisted) = persisted else {
                return Ok(None);
            };
            let hash = persisted.sha256_hash.to_ascii_lowercase();
            return self
                .documents
                .get(&hash)
                .map(|document| Some((document, hash)))
                .ok_or(Refusal::PersistedQueryNotFound);
        }
        let hash = sha256_hex(&request.query);
        if let Some(persisted) = &persisted
            && !persisted.sha256_hash.eq_ignore_ascii_case(&hash)
        {
            return Err(AppError::bad_input(
                "extensions",
                "`persistedQuery.sha256Hash` is not the SHA-256 of the query",
            )
            .into());
        }
        if let Some(document) = self.documents.get(&hash) {
            return Ok(Some((document, hash)));
        }
        match async_graphql::parser::parse_query(&request.query) {
            Ok(document) => {
                let document = Arc::new(document);
                self.documents.insert(hash.clone(), Arc::clone(&document));
                Ok(Some((document, hash)))
            }
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persisted(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        request.extensions.insert(
            "persistedQuery".to_owned(),
            async_graphql::Value::from_json(
                serde_json::json!({ "version": 1, "sha256Hash": hash }),
            )
            .unwrap_or_default(),
        );
        request
    }

    #[test]
    fn a_persisted_query_is_found_by_its_hash_once_sent() {
        let cache = DocumentCache::default();
        let query = "{ categories { slug } }";
        let hash = sha256_hex(query);

        let unknown = cache.document_for(&mut persisted("", &hash));
        assert!(matches!(unknown, Err(Refusal::PersistedQueryNotFound)));

        assert!(matches!(
            cache.document_for(&mut persisted(query, &hash)),
            Ok(Some(_))
        ));
        assert!(matches!(
            cache.document_for(&mut persisted("", &hash)),
            Ok(Some(_))
        ));
    }

    #[test]
    fn a_hash_that_does_not_match_the_text_is_refused() {
        let cache = DocumentCache::default();
        let wrong = cache.document_for(&mut persisted("{ a }", &"0".repeat(64)));
        assert!(matches!(
            wrong,
            Err(Refusal::Domain(AppError::BadInput { ref field, .. })) if field == "extensions"
        ));
    }

    #[test]
    fn text_that_does_not_parse_is_left_to_the_executor() {
        let cache = DocumentCache::default();
        let mut request = async_graphql::Request::new("{ broken");
        assert!(matches!(cache.document_for(&mut request), Ok(None)));
    }
}
