//! The accept loop: what `axum::serve` does, plus the limits that keep slow
//! and idle clients from taking the server down.
//!
//! - A client has `header_read_timeout` from the first byte of a request
//!   to the end of its headers (slowloris sends a header a minute).
//! - A connection with no request in flight is closed after
//!   `idle_timeout` without a new request starting.
//! - At most `max_connections` are open. Past that, a new connection takes
//!   the place of the longest-waiting one with no request in flight (an
//!   idle or dribbling client, whose loss costs it a reconnect); when every
//!   one is busy the newcomer gets a bare `503` and is closed.
//!
//! One watchdog task checks every connection's clock; a connection it
//! condemns is dropped, which closes the socket. The request timeout,
//! body limit and the rest live in the router's layers.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, watch},
};
use tower::ServiceExt;

/// How long slow and idle clients may hold a connection, and how many
/// connections may be open.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From a request's first byte to the end of its headers.
    pub header_read_timeout: Duration,
    /// With no request in flight, until the next one starts.
    pub idle_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

/// Milliseconds since the process's first use of this module (never 0, so
/// 0 can mean "not set").
fn now_millis() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// One connection's clock, shared by its stream, its service and the
/// watchdog.
struct Activity {
    /// When the current request's first byte arrived; 0 when no request
    /// head is being read.
    head_started: AtomicU64,
    /// When the connection last had no request in flight.
    idle_since: AtomicU64,
    /// Requests being served.
    in_flight: AtomicUsize,
    /// Told when the watchdog or an eviction condemns the connection.
    condemned: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            head_started: AtomicU64::new(0),
            idle_since: AtomicU64::new(now_millis()),
            in_flight: AtomicUsize::new(0),
            condemned: Notify::new(),
        }
    }

    fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    /// When this connection stopped being useful: the start of a request
    /// head still unread, or of its idleness.
    fn waiting_since(&self) -> u64 {
        match self.head_started.load(Ordering::SeqCst) {
            0 => self.idle_since.load(Ordering::SeqCst),
            started => started,
        }
    }

    /// Whether it has overstayed either limit at `now`.
    fn overstayed(&self, limits: &ConnectionLimits, now: u64) -> bool {
        if self.is_busy() {
            return false;
        }
        let waited = |since: u64| Duration::from_millis(now.saturating_sub(since));
        match self.head_started.load(Ordering::SeqCst) {
            0 => waited(self.idle_since.load(Ordering::SeqCst)) > limits.idle_timeout,
            started => waited(started) > limits.header_read_timeout,
        }
    }
}

/// Marks a request in flight while it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        activity.head_started.store(0, Ordering::SeqCst);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.idle_since.store(now_millis(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP stream that starts its connection's header clock when a request's
/// first byte arrives.
struct WatchedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let activity = &self.activity;
            if !activity.is_busy() && activity.head_started.load(Ordering::SeqCst) == 0 {
                activity.head_started.store(now_millis(), Ordering::SeqCst);
            }
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Every open connection, by a number of its own.
#[derive(Default)]
struct Connections {
    live: Mutex<HashMap<u64, Arc<Activity>>>,
    next: AtomicU64,
    /// Told when the last connection closes.
    all_closed: Notify,
}

impl Connections {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Activity>>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new connection, making room past the cap by condemning
    /// the longest-waiting one without a request in flight; `None` when
    /// every open connection is busy.
    fn open(&self, limits: &ConnectionLimits) -> Option<(u64, Arc<Activity>)> {
        let mut live = self.live();
        if live.len() >= limits.max_connections {
            let victim = live
                .iter()
                .filter(|(_, activity)| !activity.is_busy())
                .min_by_key(|(_, activity)| activity.waiting_since())
                .map(|(id, _)| *id)?;
            if let Some(activity) = live.remove(&victim) {
                activity.condemned.notify_one();
            }
        }
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let activity = Arc::new(Activity::new());
        live.insert(id, Arc::clone(&activity));
        crate::metrics::open_connections(live.len());
        Some((id, activity))
    }

    fn close(&self, id: u64) {
        let mut live = self.live();
        live.remove(&id);
        crate::metrics::open_connections(live.len());
        if live.is_empty() {
            self.all_closed.notify_waiters();
        }
    }

    /// Condemns every connection that overstayed a limit.
    fn sweep(&self, limits: &ConnectionLimits) {
        let now = now_millis();
        for activity in self.live().values() {
            if activity.overstayed(limits, now) {
                activity.condemned.notify_one();
            }
        }
    }
}

/// The answer to a connection past the cap when no room can be made.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Completes once the server is told to stop.
async fn stopped(mut stopping: watch::Receiver<bool>) {
    loop {
        if *stopping.borrow_and_update() {
            return;
        }
        if stopping.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown`
/// completes, then lets requests in flight finish and closes idle
/// connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Connections::default());
    let (stop, stopping) = watch::channel(false);
    let watchdog = {
        let connections = Arc::clone(&connections);
        let tick = (limits.header_read_timeout.min(limits.idle_timeout) / 4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            loop {
                ticks.tick().await;
                connections.sweep(&limits);
            }
        })
    };
    let builder = Arc::new(auto::Builder::new(TokioExecutor::new()));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or the like: the connection was
                    // never taken; wait a moment rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some((id, activity)) = connections.open(&limits) else {
            crate::metrics::connection_refused();
            tokio::spawn(async move {
                let mut stream = stream;
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), stream.write_all(REFUSAL)).await;
            });
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let connections = Arc::clone(&connections);
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let service_activity = Arc::clone(&activity);
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let in_flight = InFlight::start(&service_activity);
                let router = router.clone();
                async move {
                    let _in_flight = in_flight;
                    let mut request = request.map(axum::body::Body::new);
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.oneshot(request).await
                }
            });
            let stream = WatchedStream {
                inner: stream,
                activity: Arc::clone(&activity),
            };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = activity.condemned.notified() => {}
                () = stopped(stopping) => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = activity.condemned.notified() => {}
                    }
                }
            }
            connections.close(id);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    loop {
        let closed = connections.all_closed.notified();
        if connections.live().is_empty() {
            break;
        }
        closed.await;
    }
    watchdog.abort();
    Ok(())
}
