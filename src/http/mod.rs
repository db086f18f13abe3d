//! The HTTP surface: the axum router that carries GraphQL over POST and GET,
//! serves the GraphiQL explorer with its own assets, answers health checks,
//! and wraps it all in the protections a public API needs: a body size
//! limit, a per-request timeout, a cap on concurrent requests, CORS, security
//! headers and a request id on every response and log line.

mod caching;
mod demo_media;
mod explorer;
mod kept_counts;
mod listener;
pub mod live;
mod negotiation;

pub use listener::ConnectionLimits;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_graphql_axum::{GraphQLRequest, rejection::GraphQLRejection};
use axum::{
    BoxError, Json, Router,
    error_handling::HandleErrorLayer,
    extract::FromRequest,
    extract::{
        ConnectInfo, State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{
    config::Config,
    graphql::{self, AppSchema, RequestContext},
    state::AppState,
};

/// The HTTP settings, from the configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// How many requests run at once before more are refused.
    pub max_concurrent_requests: usize,
    /// Origins allowed by CORS; `*` for any.
    pub cors_origins: Vec<String>,
    /// Further request headers CORS lets browsers send.
    pub cors_allow_headers: Vec<String>,
    /// The header a trusted proxy puts the client's address in.
    pub trusted_proxy_header: Option<String>,
    /// The networks whose proxies are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long anonymous reads may be cached.
    pub cache: caching::CachePolicy,
    /// The limits on live (WebSocket) connections.
    pub live: live::LiveLimits,
}

impl From<&Config> for HttpSettings {
    fn from(config: &Config) -> Self {
        Self {
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
            max_concurrent_requests: config.max_concurrent_requests,
            cors_origins: config.cors_origins.clone(),
            cors_allow_headers: config.cors_allow_headers.clone(),
            trusted_proxy_header: config.trusted_proxy_header.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
            cache: caching::CachePolicy {
                max_age: config.cache_max_age,
                stale_while_revalidate: config.cache_stale_while_revalidate,
                shared_max_age: config.cache_s_maxage,
            },
            live: live::LiveLimits::from(config),
        }
    }
}

impl From<&Config> for ConnectionLimits {
    fn from(config: &Config) -> Self {
        Self {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            max_connections: config.max_connections,
        }
    }
}

/// What the handlers share, behind one `Arc`: axum clones the router's
/// state for every request, and this holds the schema and the app state
/// twice (once for live connections), each many reference counts.
struct Api {
    schema: AppSchema,
    state: AppState,
    trusted_proxy_header: Option<HeaderName>,
    trusted_proxies: Vec<ipnet::IpNet>,
    cache: caching::CachePolicy,
    live: live::LiveService,
}

/// The Content Security Policy on every response. GraphiQL runs under it:
/// its scripts and styles come from this server; React sets inline styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Builds the router.
pub fn router(schema: AppSchema, state: AppState, settings: &HttpSettings) -> Router {
    let api = Api {
        live: live::LiveService {
            schema: schema.clone(),
            state: state.clone(),
            limits: settings.live,
            connections: Arc::default(),
        },
        schema,
        state,
        trusted_proxy_header: settings
            .trusted_proxy_header
            .as_deref()
            .and_then(|name| HeaderName::try_from(name).ok()),
        trusted_proxies: settings.trusted_proxies.clone(),
        cache: settings.cache,
    };
    let request_id = HeaderName::from_static("x-request-id");
    let protections = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("-");
                // The path only: a GET query string may hold anything.
                tracing::info_span!("request", id, method = %request.method(), path = request.uri().path())
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        .concurrency_limit(settings.max_concurrent_requests)
        // An error when the time is up, which `overloaded` turns into a
        // GraphQL error body with a code.
        .timeout(settings.request_timeout)
        .layer(CompressionLayer::new())
        .layer(cors(&settings.cors_origins, &settings.cors_allow_headers))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{file}", get(explorer::asset))
        .route("/media/demo/{file}", get(demo_media::cover))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(protections)
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(axum::middleware::map_response(one_vary))
        .with_state(Arc::new(api))
}

/// Request headers the GraphQL clients in use send from a browser: the
/// basics, Apollo Client's name and version (and its CSRF-prevention and
/// operation-name headers), and a request id a client may set.
const CORS_CLIENT_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "accept",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "x-request-id",
];

/// CORS for the configured origins; none configured means same-origin only.
fn cors(origins: &[String], extra_headers: &[String]) -> CorsLayer {
    let allowed = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin.trim()).ok()),
        )
    };
    let headers: Vec<HeaderName> = CORS_CLIENT_HEADERS
        .iter()
        .copied()
        .chain(extra_headers.iter().map(|name| name.trim()))
        .filter_map(|name| HeaderName::try_from(name).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(headers)
        .max_age(Duration::from_secs(600))
}

/// Merges every `Vary` header of a response into one, each name once: CORS,
/// compression and caching each add their own.
async fn one_vary(mut response: Response) -> Response {
    let mut names: Vec<String> = Vec::new();
    for value in response.headers().get_all(header::VARY) {
        for name in value.to_str().unwrap_or_default().split(',') {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        return response;
    }
    if let Ok(merged) = HeaderValue::from_str(&names.join(", ")) {
        response.headers_mut().insert(header::VARY, merged);
    }
    response
}

/// The answer when the server is at its limit of concurrent requests, a
/// request ran out of time, or a layer failed: a 503 with a GraphQL error
/// body, so that a client sees `errors` and a code.
async fn overloaded(error: BoxError) -> Response {
    let (message, code) = if error.is::<tower::load_shed::error::Overloaded>() {
        (
            "The server is busy; try again in a moment",
            "SERVICE_UNAVAILABLE",
        )
    } else if error.is::<tower::timeout::error::Elapsed>() {
        (
            "The request took longer than the server allows; try again, or ask for less",
            "REQUEST_TIMEOUT",
        )
    } else {
        ("The request could not be served", "SERVICE_UNAVAILABLE")
    };
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(body),
    )
        .into_response()
}

/// Serves `router` on `listener` with the default connection limits until
/// `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, router, ConnectionLimits::default(), shutdown).await
}

/// [`serve`] under `limits`.
pub async fn serve_with_limits(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, router, limits, shutdown).await
}

/// The metrics listener's router: `GET /metrics` in Prometheus' text
/// format. It is served on its own address (`--metrics-listen`), so the
/// public listener never shows it.
pub fn metrics_router(
    handle: metrics_exporter_prometheus::PrometheusHandle,
    state: AppState,
) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let (open, idle) = crate::database::pool_usage(&state.db);
            crate::metrics::pool(open, idle);
            crate::metrics::view_buffer(state.views.pending_total());
            let handle = handle.clone();
            let state = state.clone();
            async move {
                // How far this process is behind the feed, read now: the
                // one statement a scrape costs.
                if let Ok(latest) = crate::content::writes::change::latest(&state.db).await {
                    crate::metrics::change_feed(state.feed.applied(), latest);
                }
                let text = handle.render();
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    )
}

/// GET /readyz: 200 while the database answers, 503 while it does not.
async fn readyz(State(api): State<Arc<Api>>) -> Response {
    if api.state.is_ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer",
        )
            .into_response()
    }
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

/// The client's address. A connection from a trusted proxy network is
/// taken at the address its header names: the header's entries are read
/// from the right, skipping those of trusted proxies, and the first other
/// one is the client. Any other connection is taken at its own address.
fn client_address(api: &Api, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    let trusted = |address: &IpAddr| api.trusted_proxies.iter().any(|net| net.contains(address));
    let peer = peer.ip();
    if !trusted(&peer) {
        return peer;
    }
    let Some(list) = api
        .trusted_proxy_header
        .as_ref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
    else {
        return peer;
    };
    let mut client = peer;
    for entry in list.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(address) => {
                client = address;
                if !trusted(&address) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

fn request_context(api: &Api, headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    RequestContext::new(
        Some(client_address(api, headers, peer)),
        user_agent,
        bearer_token(headers),
    )
}

/// POST /graphql: a JSON request body (`query`, `variables`,
/// `operationName`, `extensions`), read by async-graphql-axum's extractor;
/// the media type and status code of the answer follow GraphQL over HTTP.
async fn graphql_post(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    raw: axum::extract::Request,
) -> Response {
    let headers = raw.headers().clone();
    let Some(media) = negotiation::negotiate(&headers) else {
        return negotiation::not_acceptable();
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return negotiation::error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "Send the request as Content-Type: application/json",
            "BAD_USER_INPUT",
        );
    }
    // The body is read whole first, so that one over the size limit is told
    // apart (413) from one that is not a GraphQL request (400), chunked or
    // not.
    let (parts, body) = raw.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let too_large =
                std::iter::successors(Some(&error as &dyn std::error::Error), |error| {
                    error.source()
                })
                .any(|error| error.is::<http_body_util::LengthLimitError>());
            let (status, message) = if too_large {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is over the server's size limit",
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "The request body could not be read",
                )
            };
            return negotiation::error_response(status, media, message, "BAD_USER_INPUT");
        }
    };
    let raw = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let request = match GraphQLRequest::<GraphQLRejection>::from_request(raw, &()).await {
        Ok(request) => request.into_inner(),
        Err(GraphQLRejection(error)) => {
            return negotiation::error_response(
                StatusCode::BAD_REQUEST,
                media,
                &format!("The body is not a GraphQL request: {error}"),
                "BAD_USER_INPUT",
            );
        }
    };
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return negotiation::error_response(
            StatusCode::BAD_REQUEST,
            media,
            "The request has no `query`",
            "BAD_USER_INPUT",
        );
    }
    run(&api, request, &headers, peer, media, true).await
}

/// Runs a request and encodes its answer, with caching headers.
async fn run(
    api: &Api,
    request: async_graphql::Request,
    headers: &HeaderMap,
    peer: SocketAddr,
    media: negotiation::MediaType,
    allow_mutations: bool,
) -> Response {
    let anonymous = !headers.contains_key(header::AUTHORIZATION);
    let started = std::time::Instant::now();
    let responses = &api.state.responses;
    let kept_as = (anonymous && responses.is_on()).then(|| kept_key(&request, media));
    if let Some(key) = &kept_as
        && let Some(kept) = responses.get(key)
    {
        if kept.counts.is_empty() {
            crate::metrics::request(kept.operation.as_deref(), "ok", started.elapsed());
            return caching::respond_kept(&kept, kept.body.clone(), &kept.tag, api.cache, headers);
        }
        // Otherwise worked out again below when an article in it is no
        // longer public or its count cannot be read.
        if let Some(filled) = kept_counts::with_current_counts(&api.state, &kept).await {
            crate::metrics::request(kept.operation.as_deref(), "ok", started.elapsed());
            return caching::respond_kept(&kept, filled.body, &filled.tag, api.cache, headers);
        }
    }
    let generation = responses.generation();
    // Worked out only for an answer that may be kept: it reads the text.
    let lives = kept_as
        .as_ref()
        .map(|_| responses.lives_for(&request.query));
    let context = request_context(api, headers, peer);
    let Some(outcome) =
        graphql::execute(&api.schema, &api.state, request, context, allow_mutations).await
    else {
        let mut refused = negotiation::error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "Mutations must be sent with POST",
            "BAD_USER_INPUT",
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return refused;
    };
    let outcome_code = outcome
        .response
        .errors
        .first()
        .and_then(|error| error.extensions.as_ref())
        .and_then(|extensions| match extensions.get("code") {
            Some(async_graphql::Value::String(code)) => Some(code.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "ok".to_owned());
    crate::metrics::request(
        outcome.operation_name.as_deref(),
        &outcome_code,
        started.elapsed(),
    );
    if outcome_code == "SERVICE_UNAVAILABLE" || outcome_code == "INTERNAL_SERVER_ERROR" {
        api.state.database_failed();
    }
    let cacheable = anonymous && outcome.read_only && outcome.response.errors.is_empty();
    let encoded = negotiation::encode(&outcome.response, media);
    // Worked out once, for the answer and for its kept copy.
    let tag = (cacheable && encoded.status == StatusCode::OK).then(|| caching::etag(&encoded.body));
    if let (Some(tag), Some(key), Some(lives)) = (&tag, kept_as, lives) {
        let (body, counts, lives) = match kept_counts::count_template(&outcome, media) {
            Some((template, slots)) => (template, slots, responses.longest()),
            None => (
                bytes::Bytes::copy_from_slice(&encoded.body),
                Vec::new(),
                lives,
            ),
        };
        let lives = responses.capped(lives, outcome.moves_with_views);
        let answer = crate::content::cache::responses::KeptResponse {
            body,
            media: media.as_str(),
            tag: tag.clone(),
            operation: outcome.operation_name.clone(),
            lives,
            keys: outcome.cache_keys.clone(),
            counts,
            filled: std::sync::Mutex::default(),
        };
        responses.keep(key, answer, generation);
    }
    caching::respond(encoded, tag, api.cache, headers, &outcome.cache_keys)
}

/// What an anonymous request's answer is kept by in the response cache:
/// everything that makes two answers differ. The document's text, or a
/// persisted query's hash (in the extensions), the operation, the
/// variables and the media type.
fn kept_key(request: &async_graphql::Request, media: negotiation::MediaType) -> String {
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    let extensions = serde_json::to_string(&request.extensions).unwrap_or_default();
    format!(
        "{}\u{0}{}\u{0}{variables}\u{0}{extensions}\u{0}{}",
        media.as_str(),
        request.operation_name.as_deref().unwrap_or_default(),
        request.query
    )
}

/// GET /graphql: live subscriptions for a WebSocket upgrade ([`live`]);
/// the explorer for a browser that asks for a page (a `query` parameter
/// then opens in its editor); for any other client, a query (never a
/// mutation) from the URL's parameters.
async fn graphql_get(
    State(api): State<Arc<Api>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Ok(upgrade) = upgrade {
        let client = client_address(&api, &headers, peer);
        return live::upgrade(api.live.clone(), upgrade, &headers, client);
    }
    if negotiation::wants_page(&headers) {
        return explorer::page().into_response();
    }
    let Some(media) = negotiation::negotiate(&headers) else {
        return negotiation::not_acceptable();
    };
    let request = match async_graphql::http::parse_query_string(uri.query().unwrap_or_default()) {
        Ok(request) => request,
        Err(error) => {
            return negotiation::error_response(
                StatusCode::BAD_REQUEST,
                media,
                &format!("The URL holds no GraphQL request: {error}"),
                "BAD_USER_INPUT",
            );
        }
    };
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return negotiation::error_response(
            StatusCode::BAD_REQUEST,
            media,
            "Give the query in the `query` parameter",
            "BAD_USER_INPUT",
        );
    }
    run(&api, request, &headers, peer, media, false).await
}
