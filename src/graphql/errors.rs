//! How the domain's errors reach a GraphQL client: the message a client may
//! see, `extensions.code`, and the extensions each kind carries (the field,
//! the limit, when to retry). The domain's error type knows nothing of
//! GraphQL; this is where the GraphQL layer maps it.

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
                AppError::QueryTooComplex {
                    measure,
                    found,
                    limit,
                } => {
                    extensions.set("measure", *measure);
                    extensions.set("found", *found as u64);
                    extensions.set("limit", *limit as u64);
                }
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
