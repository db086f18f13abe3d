//! The GraphQL API, assembled into one schema here. It knows nothing about
//! HTTP: the HTTP layer hands it a request and the client's address.
//!
//! One folder per noun, as in the domain: `articles/` (the type, lists,
//! loaders, queries, editing, views), `sections/`, `tags/`, `comments/`
//! (with moderation), then `search` (full-text search with highlights),
//! `tokens`, `audit` and `node` (Relay's global ids). Beside them: [`execution`] (documents, limits, strict input, error
//! codes), `context` (one request's scope and caller), `errors` (the
//! domain's errors as GraphQL errors), `connection` and `scalars`.
//!
//! Resolvers that wait on the database or a loader run their work in
//! `Box::pin(async move { … })`, or await a helper that boxes its own
//! (`RequestContext::categories`). async-graphql builds each field of an
//! object as one future sized for the object's largest field, so one heavy
//! field made every `id` and `slug` future of its type kilobytes large, and
//! copying those was a visible share of a cold article page's CPU
//! (BENCHMARKS.md).

mod articles;
mod audit;
mod comments;
mod connection;
mod context;
mod errors;
pub mod execution;
pub mod live;
mod node;
mod scalars;
mod search;
mod sections;
pub mod shown;
mod tags;
mod tokens;
mod webhooks;

use async_graphql::{
    ErrorExtensions, MergedObject, Schema, ServerError, ValidationMode, dataloader::DataLoader,
};

pub use context::RequestContext;

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};

use crate::{error::AppError, state::AppState};

/// Every query of the API: public reads, then what editors, moderators and
/// admins read with their tokens.
#[derive(MergedObject, Default)]
pub struct Query(
    articles::ArticleQuery,
    node::NodeQuery,
    sections::CategoryQuery,
    tags::TagQuery,
    search::SearchQueryRoot,
    articles::editing::ArticleEditingQuery,
    comments::moderation::ModerationQuery,
    tokens::TokenQuery,
    webhooks::WebhookQuery,
    audit::AuditQuery,
);

/// Every mutation of the API: the readers' two (`recordView`,
/// `addComment`), then the editors', moderators' and admins', each of which
/// needs an API token with the right role.
#[derive(MergedObject, Default)]
pub struct Mutation(
    articles::views::ViewMutation,
    comments::CommentMutation,
    articles::editing::ArticleEditingMutation,
    sections::editing::CategoryEditingMutation,
    tags::editing::TagEditingMutation,
    comments::moderation::ModerationMutation,
    tokens::TokenMutation,
    webhooks::WebhookMutation,
);

/// One schema as async-graphql builds it.
type GraphqlSchema = Schema<Query, Mutation, live::LiveSubscription>;

/// The schema, built three times over the same types and state, because
/// what pays for one operation costs another. Remembering validations (an
/// extension) saves a small mutation like `recordView` its validation, but
/// once any extension is installed async-graphql passes every field through
/// the extension chain: on a page of forty teasers that cost more than
/// validating the page's query (BENCHMARKS.md has the figures). So queries
/// run without extensions, and
/// their validations are remembered here instead: a query is validated in
/// full until it once runs without any error, after which the same
/// document, operation and variables run on a schema that checks only what
/// execution relies on (no fragment cycles), sparing a cold ArticlePage its
/// full validation.
#[derive(Clone)]
pub struct AppSchema {
    /// For queries not yet known to be valid: every validation rule.
    reads: GraphqlSchema,
    /// For queries that passed every rule before: only the rules that keep
    /// execution safe.
    validated_reads: GraphqlSchema,
    /// Keys of the queries that ran once without any error.
    passed_reads: moka::sync::Cache<execution::validated::ValidationKey, ()>,
    /// For mutations: remembers successful validations.
    writes: GraphqlSchema,
    /// Whether clients may ask for the schema (`__schema`, `__type`).
    introspection: bool,
    /// What one operation may cost.
    limits: execution::limits::QueryLimits,
    /// Parsed documents and persisted queries.
    documents: std::sync::Arc<execution::documents::DocumentCache>,
    /// Answers of anonymous subscriptions to recent changes, shared.
    live_answers: live::delivery::SharedAnswers,
}

/// How many validated queries are remembered.
const PASSED_READS_HELD: u64 = 20_000;

impl AppSchema {
    /// The schema to run an operation of `kind` on (`None`: the document did
    /// not parse or names no operation, and the executor reports it); a
    /// query whose `key` passed validation before skips it.
    fn for_operation(
        &self,
        kind: Option<OperationType>,
        key: Option<&execution::validated::ValidationKey>,
    ) -> &GraphqlSchema {
        match kind {
            Some(OperationType::Mutation) => &self.writes,
            Some(OperationType::Query)
                if key.is_some_and(|key| self.passed_reads.contains_key(key)) =>
            {
                &self.validated_reads
            }
            _ => &self.reads,
        }
    }
}

/// Builds the schema over the shared state; `introspection` false hides
/// the schema from clients.
pub fn build_schema(
    state: AppState,
    introspection: bool,
    limits: execution::limits::QueryLimits,
) -> AppSchema {
    let build = |remember_validations: bool, mode: ValidationMode| {
        let tags = DataLoader::new(tags::TagsByArticle::new(state.clone()), tokio::spawn);
        let whole = DataLoader::new(articles::WholeArticles::new(state.clone()), tokio::spawn);
        let first_comments = DataLoader::new(
            comments::FirstCommentPages::new(state.clone()),
            tokio::spawn,
        );
        let related = DataLoader::new(articles::RelatedTeasers::new(state.clone()), tokio::spawn);
        let mut builder = Schema::build(
            Query::default(),
            Mutation::default(),
            live::LiveSubscription,
        )
        .data(tags)
        .data(whole)
        .data(first_comments)
        .data(related)
        .data(state.clone())
        .validation_mode(mode);
        if remember_validations {
            builder = builder.extension(execution::validated::ValidatedRequests::default());
        }
        if !introspection {
            // "Did you mean …" would name the fields introspection hides.
            builder = builder.disable_introspection().disable_suggestions();
        }
        builder.finish()
    };
    AppSchema {
        reads: build(false, ValidationMode::Strict),
        validated_reads: build(false, ValidationMode::Fast),
        passed_reads: moka::sync::Cache::new(PASSED_READS_HELD),
        writes: build(true, ValidationMode::Strict),
        introspection,
        limits,
        documents: std::sync::Arc::default(),
        live_answers: live::delivery::SharedAnswers::default(),
    }
}

/// The schema without any state, for printing the SDL; scalars carry their
/// `@specifiedBy`, so code generators type them from the file as well.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        live::LiveSubscription,
    )
    .finish()
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// What running a request gave.
pub struct Outcome {
    /// The GraphQL response.
    pub response: async_graphql::Response,
    /// Whether the operation run was a query: only those may be cached.
    pub read_only: bool,
    /// The name of the operation run, as the request or its document gave
    /// it; for metrics.
    pub operation_name: Option<String>,
    /// The cache tags of what an anonymous query's answer shows
    /// ([`shown`]); empty for any other.
    pub cache_keys: Vec<String>,
    /// Where an anonymous query's answer shows view counts.
    pub counts: Vec<shown::CountAt>,
    /// What in an anonymous query's answer written views move.
    pub moves_with_views: crate::content::cache::responses::MovesWithViews,
}

/// Runs one GraphQL request for a client: finds its document (cached, or by
/// a persisted query's hash), checks it against the query limits, and
/// executes it. `allow_mutations` is false over GET, where a mutation is
/// answered with `None` and nothing runs. Errors raised before any resolver
/// ran get their code here (see [`codes`]), so every error a client can
/// cause carries one.
pub async fn execute(
    schema: &AppSchema,
    state: &AppState,
    mut request: async_graphql::Request,
    context: RequestContext,
    allow_mutations: bool,
) -> Option<Outcome> {
    let mut operation = None;
    let mut validation_key = None;
    let mut operation_name = request.operation_name.clone();
    let requested_name = request.operation_name.clone();
    let mut parsed = None;
    if let Err(refused) = context.check_credentials(state).await {
        return Some(Outcome {
            response: async_graphql::Response::from_errors(vec![
                async_graphql::Error::from(refused).into_server_error(Default::default()),
            ]),
            read_only: false,
            operation_name,
            cache_keys: Vec::new(),
            counts: Vec::new(),
            moves_with_views: Default::default(),
        });
    }
    match prepare(schema, &mut request) {
        Err(error) => {
            return Some(Outcome {
                response: async_graphql::Response::from_errors(vec![error]),
                read_only: false,
                operation_name: request.operation_name.clone(),
                cache_keys: Vec::new(),
                counts: Vec::new(),
                moves_with_views: Default::default(),
            });
        }
        Ok(Some(Prepared {
            document,
            kind,
            key,
        })) => {
            if kind == OperationType::Mutation && !allow_mutations {
                return None;
            }
            operation = Some(kind);
            if operation_name.is_none()
                && let async_graphql::parser::types::DocumentOperations::Multiple(named) =
                    &document.operations
                && named.len() == 1
            {
                operation_name = named.keys().next().map(|name| name.to_string());
            }
            validation_key = Some(key);
            request.set_parsed_query((*document).clone());
            parsed = Some(document);
        }
        Ok(None) => {}
    }
    let shown = context.is_anonymous().then(Arc::<shown::Shown>::default);
    let mut request = in_scope(request, state, context);
    if let Some(shown) = &shown {
        request = request.data(Arc::clone(shown));
    }
    let mut response = schema
        .for_operation(operation, validation_key.as_ref())
        .execute(request)
        .await;
    if operation == Some(OperationType::Query)
        && response.errors.is_empty()
        && let Some(key) = validation_key
    {
        schema.passed_reads.insert(key, ());
    }
    if let Some(document) = &parsed
        && let Some(selected) =
            execution::limits::selected_operation(document, requested_name.as_deref())
    {
        execution::field_order::follow_query(
            &mut response.data,
            document,
            &selected.selection_set.node,
        );
    }
    if operation == Some(OperationType::Subscription) {
        // A valid subscription here: async-graphql says only that this
        // transport cannot carry it.
        for error in &mut response.errors {
            if error.message.starts_with("Subscriptions are not supported") {
                *error = AppError::bad_input(
                    "query",
                    "Subscriptions run over a WebSocket to /graphql (graphql-transport-ws)",
                )
                .extend()
                .into_server_error(Default::default());
            }
        }
    }
    response
        .errors
        .iter_mut()
        .for_each(execution::codes::classify);
    let read_only = operation == Some(OperationType::Query);
    let (cache_keys, counts, moves_with_views) = match &shown {
        Some(shown) if read_only => (
            shown.header_keys(),
            shown.counts(),
            shown.moves_with_views(),
        ),
        _ => (Vec::new(), Vec::new(), Default::default()),
    };
    Some(Outcome {
        response,
        read_only,
        operation_name,
        cache_keys,
        counts,
        moves_with_views,
    })
}

/// `request` with its scope and the loaders that cache per request (first
/// pages of lists and view counts, read at the scope's moment).
fn in_scope(
    request: async_graphql::Request,
    state: &AppState,
    context: RequestContext,
) -> async_graphql::Request {
    let first_pages: articles::FirstPageLoader = DataLoader::with_cache(
        articles::FirstPages::new(state.clone(), context.now),
        tokio::spawn,
        async_graphql::dataloader::HashMapCache::default(),
    );
    let view_counts: articles::ViewCountLoader = DataLoader::with_cache(
        articles::ViewCounts::new(state.clone(), context.now),
        tokio::spawn,
        async_graphql::dataloader::HashMapCache::default(),
    );
    request.data(context).data(first_pages).data(view_counts)
}

/// What [`prepare`] found.
struct Prepared {
    /// The parsed document.
    document: Arc<ExecutableDocument>,
    /// The kind of operation it runs.
    kind: OperationType,
    /// What its validation is remembered by.
    key: execution::validated::ValidationKey,
}

/// The request's document and the kind of operation it runs, checked
/// against the limits; `None` when the text does not parse or names no
/// runnable operation (the executor reports it).
fn prepare(
    schema: &AppSchema,
    request: &mut async_graphql::Request,
) -> Result<Option<Prepared>, ServerError> {
    let introspection = schema.introspection;
    let refused = |error: errors::Refusal| {
        let mut error = error.extend().into_server_error(Default::default());
        error.locations.clear();
        error
    };
    let limits = &schema.limits;
    if !request.query.is_empty() {
        execution::limits::check_text(limits, &request.query).map_err(refused)?;
    }
    let Some((document, hash)) = schema.documents.document_for(request).map_err(refused)? else {
        return match async_graphql::parser::parse_query(&request.query) {
            // Parsed again only to say why: text that does not parse is
            // never cached, and a failure costs no more than the first try.
            Err(error) if !request.query.is_empty() => Err(execution::codes::parse_failed(&error)),
            _ => Ok(None),
        };
    };
    let operation_name = request.operation_name.as_deref();
    let Some(kind) = execution::limits::selected_operation(&document, operation_name)
        .map(|operation| operation.ty)
    else {
        return Ok(None);
    };
    let cost =
        execution::limits::check_document(limits, &document, operation_name, &request.variables)
            .map_err(refused)?;
    execution::strict::check(&document, &request.variables)
        .map_err(|error| refused(error.into()))?;
    if !introspection && cost.introspection_fields > 0 {
        // async-graphql would answer `__schema` with a bare `null`, which
        // tools take for a broken server rather than a refusal.
        return Err(refused(
            AppError::bad_input("query", "Introspection is turned off on this server").into(),
        ));
    }
    let key = execution::validated::ValidationKey::of(&hash, request);
    // Mutations run where an extension remembers validations (see AppSchema).
    if kind == OperationType::Mutation {
        request.data.insert(key);
    }
    Ok(Some(Prepared {
        document,
        kind,
        key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema over a new SQLite file with the demo site.
    async fn schema_over_demo_site(folder: &std::path::Path) -> (AppSchema, AppState) {
        let url = format!("sqlite://{}", folder.join("validation.db").display());
        let config = crate::config::Config::for_database(url);
        let state = crate::prepare(&config).await.expect("a prepared state");
        (
            build_schema(state.clone(), true, config.query_limits()),
            state,
        )
    }

    /// Runs `query` with `$first`; how many errors the response has.
    async fn run(
        schema: &AppSchema,
        state: &AppState,
        query: &str,
        first: serde_json::Value,
    ) -> usize {
        let request = async_graphql::Request::new(query).variables(
            async_graphql::Variables::from_json(serde_json::json!({ "first": first })),
        );
        let context = RequestContext::new(None, None, None);
        let outcome = execute(schema, state, request, context, true).await;
        outcome.map_or(usize::MAX, |outcome| outcome.response.errors.len())
    }

    fn key_of(query: &str, first: serde_json::Value) -> execution::validated::ValidationKey {
        let request = async_graphql::Request::new(query).variables(
            async_graphql::Variables::from_json(serde_json::json!({ "first": first })),
        );
        execution::validated::ValidationKey::of(&execution::documents::sha256_hex(query), &request)
    }

    const LIST: &str =
        "query List($first: Int) { articles(first: $first) { edges { node { slug } } } }";

    #[tokio::test]
    async fn a_query_skips_full_validation_only_after_it_once_ran_without_errors() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let (schema, state) = schema_over_demo_site(folder.path()).await;
        let good = key_of(LIST, serde_json::json!(3));
        assert!(std::ptr::eq(
            schema.for_operation(Some(OperationType::Query), Some(&good)),
            &schema.reads
        ));

        assert_eq!(run(&schema, &state, LIST, serde_json::json!(3)).await, 0);
        assert!(schema.passed_reads.contains_key(&good));
        assert!(std::ptr::eq(
            schema.for_operation(Some(OperationType::Query), Some(&good)),
            &schema.validated_reads
        ));

        // Other variables are another request, validated in full; one that
        // fails is not remembered.
        assert_eq!(
            run(&schema, &state, LIST, serde_json::json!("three")).await,
            1
        );
        assert!(
            !schema
                .passed_reads
                .contains_key(&key_of(LIST, serde_json::json!("three")))
        );
        // A mutation never runs on the query schemas.
        assert!(std::ptr::eq(
            schema.for_operation(Some(OperationType::Mutation), Some(&good)),
            &schema.writes
        ));
    }
}
