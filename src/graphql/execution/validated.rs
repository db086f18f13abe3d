//! Validation remembered. async-graphql validates every request's document
//! against the schema, even one it did not have to parse; for a short
//! mutation like `recordView` that is about a sixth of the server's work.
//! A document, operation and set of variables that passed once pass again
//! (the schema does not change while the server runs), so the result is
//! kept, keyed by a SHA-256 of all three. Failures are never kept: a bad
//! request is validated, and refused, every time. Installed on the schema
//! mutations run on only (see [`crate::graphql::AppSchema`]).

use std::sync::Arc;

use async_graphql::{
    ServerError, ValidationResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
};
use sha2::{Digest, Sha256};

/// How many validated requests are remembered.
const CAPACITY: u64 = 20_000;

/// What a request is validated as: its document's hash, the operation it
/// runs and its variables, hashed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ValidationKey([u8; 32]);

impl ValidationKey {
    /// The key of `request`, whose document has the SHA-256 `document_hash`.
    pub fn of(document_hash: &str, request: &async_graphql::Request) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(document_hash.as_bytes());
        hasher.update([0]);
        if let Some(name) = &request.operation_name {
            hasher.update([1]);
            hasher.update(name.as_bytes());
        }
        hasher.update([0]);
        // Variables as JSON; one that cannot be written is simply not kept.
        match serde_json::to_vec(&request.variables) {
            Ok(variables) => hasher.update(&variables),
            Err(_) => hasher.update(uuid::Uuid::new_v4().as_bytes()),
        }
        Self(hasher.finalize().into())
    }
}

/// The schema extension that remembers successful validations; requests
/// carry their [`ValidationKey`] as request data.
#[derive(Clone)]
pub struct ValidatedRequests {
    passed: moka::sync::Cache<ValidationKey, ValidationResult>,
}

impl Default for ValidatedRequests {
    fn default() -> Self {
        Self {
            passed: moka::sync::Cache::new(CAPACITY),
        }
    }
}

impl ExtensionFactory for ValidatedRequests {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for ValidatedRequests {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let Some(key) = ctx.data_opt::<ValidationKey>().copied() else {
            return next.run(ctx).await;
        };
        if let Some(passed) = self.passed.get(&key) {
            return Ok(passed);
        }
        let result = next.run(ctx).await?;
        self.passed.insert(key, result);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn answer(&self) -> i32 {
            42
        }
    }

    #[tokio::test]
    async fn a_passed_validation_is_kept_and_a_failed_one_is_not() {
        let validated = ValidatedRequests::default();
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(validated.clone())
            .finish();
        let run = |text: &str| {
            let request = Request::new(text);
            let key = ValidationKey::of(&hex::encode(Sha256::digest(text)), &request);
            schema.execute(request.data(key))
        };

        for _ in 0..2 {
            assert!(run("{ answer }").await.errors.is_empty());
            assert!(!run("{ question }").await.errors.is_empty());
        }
        validated.passed.run_pending_tasks();
        assert_eq!(validated.passed.entry_count(), 1);
    }
}
