//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws`
//! protocol, the one the `graphql-ws` client library (and GraphiQL, Apollo
//! Client and urql through it) speaks.
//!
//! The protocol is spoken here rather than through async-graphql's own
//! WebSocket, which has no `connection_init` timeout, no limit on
//! subscriptions, and never sends the protocol's `error` message for a
//! subscription that cannot start. The limits: connections in all and per
//! client address, subscriptions per connection, message size, time to
//! `connection_init`, a ping every keepalive interval (a connection silent
//! for two is closed), a time limit on each write to a client that does not
//! read, and, for each subscription, the query limits and checks of HTTP
//! ([`crate::graphql::live::delivery::start`]).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{
    SinkExt, StreamExt,
    future::{AbortHandle, Abortable},
    stream::{self, BoxStream, SelectAll},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    config::Config,
    graphql::{
        AppSchema,
        live::delivery::{self, LiveSession},
    },
    state::AppState,
};

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The read buffer of a connection's socket, and how much is written at
/// once: a subscriber's messages are small.
const SOCKET_BUFFER_BYTES: usize = 2 * 1024;

/// The most a connection may have waiting to be written before it is
/// closed: a client that does not read does not hold memory without end.
const MOST_UNSENT_BYTES: usize = 1024 * 1024;

/// How long one write to a client may wait for it to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest interval between pings.
const SHORTEST_KEEPALIVE: Duration = Duration::from_millis(100);

/// How long a client has to answer the server's close frame.
const CLOSING_TIME: Duration = Duration::from_secs(2);

/// The longest subscription id a client may use.
const LONGEST_ID: usize = 128;

/// The limits on live connections, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct LiveLimits {
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub connections_per_client: usize,
    /// Subscriptions running on one connection.
    pub subscriptions_per_connection: usize,
    /// Time from opening to `connection_init`.
    pub init_timeout: Duration,
    /// How often a connection is pinged.
    pub keepalive: Duration,
    /// The largest message a client may send.
    pub max_message_bytes: usize,
}

impl From<&Config> for LiveLimits {
    fn from(config: &Config) -> Self {
        Self {
            max_connections: config.live_max_connections,
            connections_per_client: config.live_connections_per_client,
            subscriptions_per_connection: config.live_subscriptions_per_connection,
            init_timeout: config.live_init_timeout,
            keepalive: config.live_keepalive,
            max_message_bytes: config.live_max_message_bytes,
        }
    }
}

/// The live connections open in this process, counted per client address.
#[derive(Debug, Default)]
pub struct LiveConnections {
    per_client: Mutex<HashMap<IpAddr, usize>>,
    open: AtomicUsize,
    subscriptions: AtomicUsize,
}

/// A connection let in; dropping it lets another in.
struct Admitted {
    connections: Arc<LiveConnections>,
    client: IpAddr,
}

impl LiveConnections {
    /// Lets a connection from `client` in, or names the limit that refuses it.
    fn admit(self: &Arc<Self>, client: IpAddr, limits: &LiveLimits) -> Result<Admitted, Refused> {
        let mut per_client = self
            .per_client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.open.load(Ordering::SeqCst) >= limits.max_connections {
            return Err(Refused::Full);
        }
        let held = per_client.entry(client).or_insert(0);
        if *held >= limits.connections_per_client {
            return Err(Refused::PerClient);
        }
        *held += 1;
        self.open.fetch_add(1, Ordering::SeqCst);
        self.report();
        Ok(Admitted {
            connections: Arc::clone(self),
            client,
        })
    }

    /// A subscription started (`1`) or ended (`-1`).
    fn subscriptions_changed(&self, started: bool) {
        if started {
            self.subscriptions.fetch_add(1, Ordering::SeqCst);
        } else {
            self.subscriptions.fetch_sub(1, Ordering::SeqCst);
        }
        self.report();
    }

    fn report(&self) {
        crate::metrics::live(
            self.open.load(Ordering::SeqCst),
            self.subscriptions.load(Ordering::SeqCst),
        );
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut per_client = self
            .connections
            .per_client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = per_client.get_mut(&self.client) {
            *held -= 1;
            if *held == 0 {
                per_client.remove(&self.client);
            }
        }
        self.connections.open.fetch_sub(1, Ordering::SeqCst);
        drop(per_client);
        self.connections.report();
    }
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy)]
enum Refused {
    Full,
    PerClient,
}

/// What a live connection needs from the server.
#[derive(Clone)]
pub struct LiveService {
    /// The schema subscriptions run on.
    pub schema: AppSchema,
    /// The shared state.
    pub state: AppState,
    /// The limits.
    pub limits: LiveLimits,
    /// The connections open.
    pub connections: Arc<LiveConnections>,
}

/// Whether the client offered the protocol spoken here.
fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|offered| offered.trim().eq_ignore_ascii_case(PROTOCOL))
}

/// Answers a WebSocket upgrade on `/graphql` from `client`: refused with
/// 400 without the `graphql-transport-ws` subprotocol, with 429 or 503 past
/// the connection limits; otherwise the connection is served.
pub fn upgrade(
    service: LiveService,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    client: IpAddr,
) -> Response {
    if !offers_protocol(headers) {
        return (
            StatusCode::BAD_REQUEST,
            format!("Offer the `{PROTOCOL}` WebSocket subprotocol (the graphql-ws library's)"),
        )
            .into_response();
    }
    let admitted = match service.connections.admit(client, &service.limits) {
        Ok(admitted) => admitted,
        Err(Refused::PerClient) => {
            crate::metrics::live_refused("connections_per_client");
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many live connections from this address",
            )
                .into_response();
        }
        Err(Refused::Full) => {
            crate::metrics::live_refused("connections");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many live connections; try again later",
            )
                .into_response();
        }
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let session = LiveSession {
        client: Some(client),
        user_agent,
        credentials: None,
    };
    let limits = service.limits;
    upgrade
        .protocols([PROTOCOL])
        // Small buffers: a subscriber mostly waits, and ten thousand of
        // them with the default 128 KiB each would hold gigabytes.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_write_buffer_size(MOST_UNSENT_BYTES)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| async move {
            Connection::new(service, session).serve(socket).await;
            drop(admitted);
        })
}

/// A message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
}

/// Why a connection ends, as a close frame.
struct Close {
    code: u16,
    reason: String,
}

/// The longest reason a close frame carries, in bytes (RFC 6455: its
/// payload is at most 125 bytes, two of them the code).
const LONGEST_REASON: usize = 123;

impl Close {
    /// A close with `code` and `reason`, cut to fit a close frame.
    fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > LONGEST_REASON {
            let mut end = LONGEST_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        Self { code, reason }
    }
}

/// One connection's state.
struct Connection {
    service: LiveService,
    session: LiveSession,
    /// Whether `connection_init` came.
    initialised: bool,
    /// Whether it was acknowledged.
    acknowledged: bool,
    /// The subscriptions running, by the client's id.
    running: HashMap<String, AbortHandle>,
    /// What they say: an answer (`next`), or `None` when one is over
    /// (`complete`).
    said: SelectAll<BoxStream<'static, (String, Option<async_graphql::Response>)>>,
    /// When the client was last heard from.
    last_heard: Instant,
}

impl Connection {
    fn new(service: LiveService, session: LiveSession) -> Self {
        Self {
            service,
            session,
            initialised: false,
            acknowledged: false,
            running: HashMap::new(),
            said: SelectAll::new(),
            last_heard: Instant::now(),
        }
    }

    /// Serves the connection until either side ends it.
    async fn serve(mut self, socket: WebSocket) {
        let (mut sink, mut source) = socket.split();
        let limits = self.service.limits;
        let init_deadline = tokio::time::sleep(limits.init_timeout);
        tokio::pin!(init_deadline);
        // A zero interval (a setting) would make the clock panic.
        let keepalive = limits.keepalive.max(SHORTEST_KEEPALIVE);
        let mut pings = tokio::time::interval_at(Instant::now() + keepalive, keepalive);
        let stopping = Arc::clone(&self.service.state.stopping);
        let _held_open = stopping.hold_open();
        let goodbye = stopping.begun();
        tokio::pin!(goodbye);
        let close = loop {
            let outgoing = tokio::select! {
                incoming = source.next() => {
                    self.last_heard = Instant::now();
                    match incoming {
                        // Boxed: starting a subscription runs a whole
                        // request, and that future's size would otherwise
                        // be held by every idle connection.
                        Some(Ok(Message::Text(text))) => match Box::pin(self.hear(text.as_str())).await {
                            Ok(reply) => reply,
                            Err(close) => break Some(close),
                        },
                        Some(Ok(Message::Binary(_))) => {
                            break Some(Close::new(4400, "Send text messages"));
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                        Some(Ok(Message::Close(_))) | None => break None,
                        Some(Err(error)) => {
                            tracing::debug!(%error, "a live connection failed");
                            break Some(Close::new(1009, "Message too big or malformed"));
                        }
                    }
                }
                Some((id, said)) = self.said.next(), if !self.said.is_empty() => {
                    self.say(id, said)
                }
                () = &mut init_deadline, if !self.initialised => {
                    crate::metrics::live_refused("init_timeout");
                    break Some(Close::new(4408, "Connection initialisation timeout"));
                }
                () = &mut goodbye => {
                    break Some(Close::new(1001, "The server is shutting down"));
                }
                _ = pings.tick() => {
                    if self.last_heard.elapsed() > keepalive * 2 {
                        break Some(Close::new(1011, "No answer to pings"));
                    }
                    Some(Message::Ping(Vec::new().into()))
                }
            };
            if let Some(message) = outgoing
                && !matches!(
                    tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await,
                    Ok(Ok(()))
                )
            {
                break None;
            }
        };
        for (_, running) in self.running.drain() {
            running.abort();
            self.service.connections.subscriptions_changed(false);
        }
        if let Some(close) = close {
            let frame = CloseFrame {
                code: close.code,
                reason: close.reason.into(),
            };
            let sent =
                tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
            // The client answers with its own close; until it does, what it
            // still sends is read and dropped, so that closing the socket
            // early does not reset the connection and lose the close frame.
            if matches!(sent, Ok(Ok(()))) {
                let _ = tokio::time::timeout(CLOSING_TIME, async {
                    while let Some(Ok(message)) = source.next().await {
                        if matches!(message, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
        }
    }

    /// Acts on a client's message; what to answer, or why to close.
    async fn hear(&mut self, text: &str) -> Result<Option<Message>, Close> {
        let message: ClientMessage = serde_json::from_str(text)
            .map_err(|error| Close::new(4400, format!("Invalid message: {error}")))?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.initialised {
                    return Err(Close::new(4429, "Too many initialisation requests"));
                }
                self.initialised = true;
                self.session.credentials = payload.as_ref().and_then(token_in);
                if let Err(refused) = self.session.check(&self.service.state).await {
                    return Err(Close::new(4403, refused.client_message()));
                }
                self.acknowledged = true;
                Ok(Some(text_message(json!({ "type": "connection_ack" }))))
            }
            ClientMessage::Ping { payload } => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                Ok(Some(text_message(pong)))
            }
            ClientMessage::Pong {} => Ok(None),
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, *payload).await,
            ClientMessage::Complete { id } => {
                if let Some(running) = self.running.remove(&id) {
                    running.abort();
                    self.service.connections.subscriptions_changed(false);
                }
                Ok(None)
            }
        }
    }

    /// Starts a subscription, or says why not. It is started before the
    /// next message is read, so a client's later messages find it running
    /// (listening for changes).
    async fn subscribe(
        &mut self,
        id: String,
        request: async_graphql::Request,
    ) -> Result<Option<Message>, Close> {
        if !self.acknowledged {
            return Err(Close::new(4401, "Unauthorized"));
        }
        if id.is_empty() || id.len() > LONGEST_ID {
            return Err(Close::new(4400, "A subscription id is 1 to 128 bytes"));
        }
        if self.running.contains_key(&id) {
            return Err(Close::new(
                4409,
                format!("Subscriber for {id} already exists"),
            ));
        }
        let most = self.service.limits.subscriptions_per_connection;
        if self.running.len() >= most {
            crate::metrics::live_refused("subscriptions_per_connection");
            let refusal = json!({
                "id": id,
                "type": "error",
                "payload": [{
                    "message": format!("At most {most} subscriptions run on one connection; complete one first"),
                    "extensions": { "code": "RATE_LIMITED", "limit": most },
                }],
            });
            return Ok(Some(text_message(refusal)));
        }
        let LiveService { schema, state, .. } = &self.service;
        let answers = match delivery::start(schema, state, &self.session, request).await {
            Ok(answers) => answers,
            Err(errors) => {
                return Ok(Some(text_message(
                    json!({ "id": id, "type": "error", "payload": errors }),
                )));
            }
        };
        let said = answers.map(Some).chain(stream::once(async { None }));
        let (abort, registration) = AbortHandle::new_pair();
        let named = id.clone();
        self.said.push(
            Abortable::new(said, registration)
                .map(move |said| (named.clone(), said))
                .boxed(),
        );
        self.running.insert(id, abort);
        self.service.connections.subscriptions_changed(true);
        Ok(None)
    }

    /// The message for what subscription `id` said (an answer, or `None`
    /// when it is over); `None` when it was completed by the client
    /// meanwhile.
    fn say(&mut self, id: String, said: Option<async_graphql::Response>) -> Option<Message> {
        if !self.running.contains_key(&id) {
            return None;
        }
        match said {
            Some(answer) => {
                crate::metrics::live_answer_sent();
                Some(text_message(
                    json!({ "id": id, "type": "next", "payload": answer }),
                ))
            }
            None => {
                self.ended(&id);
                Some(text_message(json!({ "id": id, "type": "complete" })))
            }
        }
    }

    /// Forgets a subscription that ended by itself.
    fn ended(&mut self, id: &str) {
        if self.running.remove(id).is_some() {
            self.service.connections.subscriptions_changed(false);
        }
    }
}

/// The API token in a `connection_init` payload: `Authorization` (or
/// `authorization`) as `Bearer <token>`, or a bare `token`.
fn token_in(payload: &Value) -> Option<String> {
    let bearer = ["Authorization", "authorization"]
        .iter()
        .find_map(|name| payload.get(name)?.as_str())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        });
    bearer
        .or_else(|| payload.get("token")?.as_str())
        .map(|token| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// A JSON text message.
fn text_message(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_read_from_the_shapes_clients_send() {
        let bearer = json!({ "Authorization": "Bearer nr_abc" });
        assert_eq!(token_in(&bearer).as_deref(), Some("nr_abc"));
        let lower = json!({ "authorization": "bearer nr_abc" });
        assert_eq!(token_in(&lower).as_deref(), Some("nr_abc"));
        assert_eq!(
            token_in(&json!({ "token": " nr_abc " })).as_deref(),
            Some("nr_abc")
        );
        assert_eq!(token_in(&json!({ "token": "" })), None);
        assert_eq!(token_in(&json!({})), None);
        assert_eq!(token_in(&json!({ "Authorization": 3 })), None);
    }

    #[test]
    fn a_close_reason_is_cut_to_fit_between_characters() {
        let close = Close::new(4400, "无效".repeat(40));
        assert!(close.reason.len() <= LONGEST_REASON);
        assert!(close.reason.starts_with("无效"));
        assert_eq!(Close::new(4400, "short").reason, "short");
    }

    #[test]
    fn only_the_graphql_transport_ws_subprotocol_is_spoken() {
        let mut headers = HeaderMap::new();
        assert!(!offers_protocol(&headers));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "graphql-ws".parse().unwrap(),
        );
        assert!(!offers_protocol(&headers));
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            "graphql-ws, graphql-transport-ws".parse().unwrap(),
        );
        assert!(offers_protocol(&headers));
    }
}
