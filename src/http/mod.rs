//! The HTTP surface: the axum router that carries GraphQL over POST and GET,
//! serves the GraphiQL explorer with its own assets, and answers health
//! checks. It knows the schema, never the database.

mod explorer;

use std::{future::Future, net::SocketAddr};

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::graphql::{self, AppSchema, RequestContext};

/// Builds the router over a schema.
pub fn router(schema: AppSchema) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{file}", get(explorer::asset))
        .route("/healthz", get(|| async { "ok" }))
        .layer(TraceLayer::new_for_http())
        .with_state(schema)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The bearer token in an `Authorization` header, if any.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

async fn graphql_post(
    State(schema): State<AppSchema>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let context = RequestContext::new(Some(client.ip()), bearer_token(&headers));
    graphql::execute(&schema, request.into_inner(), context)
        .await
        .into()
}

/// GET /graphql: the explorer for a browser that asks for a page (a `query`
/// parameter then opens in its editor); for any other client, a query (never
/// a mutation) from the URL's parameters.
async fn graphql_get(
    State(schema): State<AppSchema>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_page {
        return explorer::page().into_response();
    }
    let request = match async_graphql::http::parse_query_string(uri.query().unwrap_or_default()) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid GraphQL request in the URL: {error}"),
            )
                .into_response();
        }
    };
    if is_mutation(&request) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "mutations must be sent with POST",
        )
            .into_response();
    }
    let context = RequestContext::new(Some(client.ip()), bearer_token(&headers));
    GraphQLResponse::from(graphql::execute(&schema, request, context).await).into_response()
}

/// Whether the operation a request would run is a mutation. A document that
/// does not parse is left for the executor to report.
fn is_mutation(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let wanted = request.operation_name.as_deref();
    match document.operations {
        DocumentOperations::Single(operation) => operation.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(operations) => operations.iter().any(|(name, operation)| {
            wanted.is_none_or(|wanted| name.as_str() == wanted)
                && operation.node.ty == OperationType::Mutation
        }),
    }
}
