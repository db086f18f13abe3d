//! The GraphQL API: one file per domain (object, queries, mutations, inputs),
//! assembled into one schema here. It knows nothing about HTTP: the HTTP layer
//! hands it a request and the client's address.

mod article;
mod article_editing;
mod audit;
mod category;
mod category_editing;
mod comment;
mod connection;
mod context;
pub mod limits;
mod moderation;
mod scalars;
mod tag;
mod tag_editing;
mod token;
mod view;

use async_graphql::{EmptySubscription, MergedObject, Schema, dataloader::DataLoader};

pub use context::RequestContext;

use crate::{error::AppError, state::AppState};
use limits::QueryLimits;

/// Checks a request against the query limits before it is executed.
fn within_limits(limits: &QueryLimits, request: &async_graphql::Request) -> Result<(), AppError> {
    limits::check_text(limits, &request.query)?;
    if let Ok(document) = async_graphql::parser::parse_query(&request.query) {
        limits::check_document(
            limits,
            &document,
            request.operation_name.as_deref(),
            &request.variables,
        )?;
    }
    Ok(())
}

/// Every query of the API: public reads, then what editors, moderators and
/// admins read with their tokens.
#[derive(MergedObject, Default)]
pub struct Query(
    article::ArticleQuery,
    category::CategoryQuery,
    tag::TagQuery,
    article_editing::ArticleEditingQuery,
    moderation::ModerationQuery,
    token::TokenQuery,
    audit::AuditQuery,
);

/// Every mutation of the API: the readers' two (`recordView`,
/// `addComment`), then the editors', moderators' and admins', each of which
/// needs an API token with the right role.
#[derive(MergedObject, Default)]
pub struct Mutation(
    view::ViewMutation,
    comment::CommentMutation,
    article_editing::ArticleEditingMutation,
    category_editing::CategoryEditingMutation,
    tag_editing::TagEditingMutation,
    moderation::ModerationMutation,
    token::TokenMutation,
);

/// The assembled schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over the shared state; `introspection` false hides
/// the schema from clients.
pub fn build_schema(state: AppState, introspection: bool) -> AppSchema {
    let tags = DataLoader::new(tag::TagsByArticle::new(state.db.clone()), tokio::spawn);
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(tags)
        .data(state);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema without any state, for printing the SDL.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}

/// Runs one GraphQL request for a client. Errors raised before any resolver
/// ran (syntax, validation, variable types) get `BAD_USER_INPUT`, so every
/// error a client can cause carries a code.
pub async fn execute(
    schema: &AppSchema,
    request: async_graphql::Request,
    context: RequestContext,
    limits: &QueryLimits,
) -> async_graphql::Response {
    if let Err(refused) = within_limits(limits, &request) {
        let mut error = async_graphql::Error::from(refused).into_server_error(Default::default());
        error.locations.clear();
        return async_graphql::Response::from_errors(vec![error]);
    }
    let mut response = schema.execute(request.data(context)).await;
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response
}
