//! How the domain's errors reach a GraphQL client: the message a client may
//! see, `extensions.code`, and the extensions each kind carries (the field,
//! the limit, when to retry). The domain's error type knows nothing of
//! GraphQL; this is where the GraphQL layer maps it, beside its own reasons
//! to refuse a request before it runs ([`Refusal`]).

use async_graphql::ErrorExtensions;

use crate::error::AppError;

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if matches!(self, AppError::Database(_) | AppError::Internal(_)) {
            tracing::error!(error = %self.log_message(), "request failed on a server fault");
        }
        async_graphql::Error::new(self.client_message()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            match self {
                AppError::BadInput { field, .. } => extensions.set("field", field.as_ref()),
                AppError::RateLimited { retry_after, .. }
                | AppError::Unavailable { retry_after, .. } => {
                    extensions.set("retryAfter", retry_after.as_secs_f64().ceil() as u64);
                }
                _ => {}
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        error.extend()
    }
}

/// Why the GraphQL layer refuses a request before running it: its own
/// reasons, which the domain knows nothing of, or the domain's error (bad
/// input in the request itself).
#[derive(Debug)]
pub enum Refusal {
    /// The query asks for more than the server allows → `QUERY_TOO_COMPLEX`,
    /// with the measure, what was found and the limit in `extensions`.
    TooComplex {
        /// What was measured: `bytes`, `depth`, `aliases` or `complexity`.
        measure: &'static str,
        /// What the query measured, as far as counting went.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// A persisted query's hash that this server does not know →
    /// `PERSISTED_QUERY_NOT_FOUND`, as Apollo's protocol expects: the client
    /// then sends the query text with the hash.
    PersistedQueryNotFound,
    /// An error of the domain's kinds, such as bad input.
    Domain(AppError),
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        Self::Domain(error)
    }
}

impl ErrorExtensions for Refusal {
    fn extend(&self) -> async_graphql::Error {
        match self {
            Refusal::Domain(error) => error.extend(),
            Refusal::PersistedQueryNotFound => async_graphql::Error::new("PersistedQueryNotFound")
                .extend_with(|_, extensions| extensions.set("code", "PERSISTED_QUERY_NOT_FOUND")),
            Refusal::TooComplex {
                measure,
                found,
                limit,
            } => async_graphql::Error::new(format!(
                "The query is over the server's {measure} limit: {found} (at least) against at most {limit}"
            ))
            .extend_with(|_, extensions| {
                extensions.set("code", "QUERY_TOO_COMPLEX");
                extensions.set("measure", *measure);
                extensions.set("found", *found as u64);
                extensions.set("limit", *limit as u64);
            }),
        }
    }
}
