//! Running one subscription for a connection: checked like any request
//! (credentials, the query limits, strict input, full validation), probed
//! once for what it listens to, then run again as a fresh request for each
//! change of the feed it wants (and on its clock, for view counts), its
//! answers sent as they come. On the clock, the first run's answer is sent
//! (the client cannot know what changed between its own read and the
//! subscription's start), and after it only answers that differ.

use std::{
    collections::VecDeque,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::{
    ErrorExtensions, Request, Response, ServerError, Variables, parser::types::OperationType,
};
use futures_util::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{Interest, LiveEvent};
use crate::{
    content::writes::change::Change,
    error::AppError,
    graphql::{AppSchema, Prepared, RequestContext, execute, execution, in_scope, prepare},
    state::AppState,
};

/// How many shared answers are kept.
const SHARED_ANSWERS_HELD: u64 = 10_000;

/// How long a shared answer is kept: long past the moment every
/// subscriber of this process ran for its change.
const SHARED_ANSWERS_LIVE: Duration = Duration::from_secs(30);

/// What a shared answer is kept by: the change's number, and the
/// operation, its name and variables ([`Runnable::shared_key`]).
type SharedKey = (i64, Arc<str>);

/// An answer as shared: its data and errors, `None` when the run sent
/// nothing.
type SharedAnswer = Arc<Option<(async_graphql::Value, Vec<ServerError>)>>;

/// Answers of anonymous subscriptions to recent changes. An anonymous
/// subscriber's answer depends only on the operation, its variables and the
/// change (the moment differs by the time a run takes), so ten thousand
/// readers watching one article's comments cost one run, not ten thousand;
/// concurrent runs for one key wait for the first.
#[derive(Clone)]
pub struct SharedAnswers(moka::future::Cache<SharedKey, SharedAnswer>);

impl Default for SharedAnswers {
    fn default() -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(SHARED_ANSWERS_HELD)
                .time_to_live(SHARED_ANSWERS_LIVE)
                .build(),
        )
    }
}

/// How often subscriptions on the clock (view counts) look again, at least.
const SHORTEST_TICK: Duration = Duration::from_secs(1);

/// Who opened a connection: what each run of its subscriptions is scoped by.
#[derive(Debug, Clone, Default)]
pub struct LiveSession {
    /// The client's address.
    pub client: Option<IpAddr>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
    /// The API token from the `connection_init` payload, if any.
    pub credentials: Option<String>,
}

impl LiveSession {
    /// A new request scope for this session, at this moment.
    fn scope(&self) -> RequestContext {
        RequestContext::new(
            self.client,
            self.user_agent.clone(),
            self.credentials.clone(),
        )
    }

    /// Checks the session's token, if it sent one: an unknown, expired or
    /// revoked token is refused when the connection opens.
    pub async fn check(&self, state: &AppState) -> Result<(), AppError> {
        self.scope().check_credentials(state).await
    }
}

/// What a started subscription sends, until it ends.
pub type Answers = BoxStream<'static, Response>;

/// Starts `request` for `session`. `Err` holds why it cannot run (the
/// protocol's `error` message); `Ok` the answers to send. A query runs once,
/// as it would over HTTP; a mutation is refused: writes go over HTTP POST,
/// where their limits are.
pub async fn start(
    schema: &AppSchema,
    state: &AppState,
    session: &LiveSession,
    mut request: Request,
) -> Result<Answers, Vec<ServerError>> {
    let context = session.scope();
    context
        .check_credentials(state)
        .await
        .map_err(|refused| vec![server_error(refused)])?;
    let subscription = match prepare(schema, &mut request).map_err(|error| vec![error])? {
        Some(Prepared {
            document,
            kind: OperationType::Subscription,
            ..
        }) => document,
        _ => return once(schema, state, request, context).await,
    };
    one_root_field(&subscription, request.operation_name.as_deref())
        .map_err(|error| vec![error])?;
    let shared_key = session.credentials.is_none().then(|| {
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        let operation = request.operation_name.as_deref().unwrap_or_default();
        Arc::from(format!("{operation}\u{0}{variables}\u{0}{}", request.query))
    });
    let text = Arc::new(Runnable {
        query: request.query.clone(),
        operation_name: request.operation_name.clone(),
        variables: request.variables.clone(),
        document: subscription,
        shared_key,
    });
    // Listening from before the probe: no change between the two is lost.
    // Read before listening: every batch heard comes after it.
    let heard_up_to = state.listeners.told_up_to();
    let changes = state.listeners.listen();
    // The probe: every validation rule, the arguments and the caller's
    // rights; nothing is sent.
    let slot = Arc::new(Mutex::new(None));
    let probe = text.request().data(LiveEvent::Probe(Arc::clone(&slot)));
    let mut probed = schema.reads.execute_stream(in_scope(probe, state, context));
    if let Some(mut answer) = probed.next().await
        && !answer.errors.is_empty()
    {
        answer
            .errors
            .iter_mut()
            .for_each(execution::codes::classify);
        return Err(answer.errors);
    }
    let interest = slot.lock().ok().and_then(|mut slot| slot.take());
    let Some(interest) = interest else {
        return Err(vec![server_error(AppError::bad_input(
            "query",
            "This subscription listens to nothing",
        ))]);
    };
    let run = Run {
        schema: schema.clone(),
        state: state.clone(),
        session: session.clone(),
        text,
        changes,
        ticks: interest.on_ticks().then(|| ticks(state)),
        interest,
        waiting: VecDeque::new(),
        last_seen: heard_up_to,
        last_on_tick: None,
        ended: false,
    };
    Ok(futures_util::stream::unfold(run, |mut run| async move {
        let answer = run.next().await?;
        Some((answer, run))
    })
    .boxed())
}

/// Refuses a subscription that selects anything but one field at its root,
/// as the GraphQL specification's validation asks (each event answers one
/// field); async-graphql does not check it.
fn one_root_field(
    document: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<(), ServerError> {
    use async_graphql::parser::types::Selection;
    let Some(operation) = execution::limits::selected_operation(document, operation_name) else {
        return Ok(());
    };
    let items = &operation.selection_set.node.items;
    let one_field = match items.as_slice() {
        [only] => match &only.node {
            Selection::Field(field) => !field.node.name.node.starts_with("__"),
            _ => false,
        },
        _ => false,
    };
    if one_field {
        return Ok(());
    }
    let mut error = ServerError::new(
        "A subscription selects exactly one field at its root (no fragments, no `__typename`)",
        Some(operation.selection_set.pos),
    );
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", execution::codes::VALIDATION_FAILED);
    error.extensions = Some(extensions);
    Err(error)
}

/// Runs a query (or a document that names no subscription) once; refuses
/// a mutation.
async fn once(
    schema: &AppSchema,
    state: &AppState,
    request: Request,
    context: RequestContext,
) -> Result<Answers, Vec<ServerError>> {
    let Some(outcome) = execute(schema, state, request, context, false).await else {
        return Err(vec![server_error(AppError::bad_input(
            "query",
            "Send mutations over HTTP POST to /graphql; this WebSocket carries subscriptions and queries",
        ))]);
    };
    let response = outcome.response;
    if response.data == async_graphql::Value::Null && !response.errors.is_empty() {
        return Err(response.errors);
    }
    Ok(futures_util::stream::once(async move { response }).boxed())
}

/// The clock of a subscription that looks again on an interval: the view
/// flush interval, but not more often than [`SHORTEST_TICK`].
fn ticks(state: &AppState) -> tokio::time::Interval {
    let every = state.views.flush_interval().max(SHORTEST_TICK);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticks
}

/// A subscription's request, parsed and checked once, made again for each
/// run.
struct Runnable {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
    /// Shared with the document cache and every subscription of the same
    /// text.
    document: Arc<async_graphql::parser::types::ExecutableDocument>,
    /// For an anonymous subscriber, what its answers are shared by.
    shared_key: Option<Arc<str>>,
}

impl Runnable {
    /// A new request of the same operation.
    fn request(&self) -> Request {
        let mut request = Request::new(self.query.clone()).variables(self.variables.clone());
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name.clone());
        }
        request.set_parsed_query((*self.document).clone());
        request
    }
}

/// How many changes one read back from the feed takes.
const READ_BACK_AT_ONCE: u64 = 500;

/// A started subscription.
struct Run {
    schema: AppSchema,
    state: AppState,
    session: LiveSession,
    text: Arc<Runnable>,
    interest: Interest,
    changes: broadcast::Receiver<Arc<[Change]>>,
    ticks: Option<tokio::time::Interval>,
    /// Changes heard and not yet run for.
    waiting: VecDeque<Change>,
    /// The last change heard (at first, the last told before listening):
    /// after a lag, the feed is read back from it.
    last_seen: i64,
    /// The data last sent on the clock.
    last_on_tick: Option<async_graphql::Value>,
    /// Set after an answer with errors: it was the last.
    ended: bool,
}

impl Run {
    /// The next answer to send; `None` when the subscription is over.
    async fn next(&mut self) -> Option<Response> {
        loop {
            if self.ended {
                return None;
            }
            // Runs are boxed: a waiting subscription then holds a small
            // future, not one sized for a whole request.
            if let Some(change) = self.waiting.pop_front() {
                if let Some(answer) = Box::pin(self.answer_to(change)).await {
                    return Some(self.sent(answer));
                }
                continue;
            }
            let heard = tokio::select! {
                batch = self.changes.recv() => Some(batch),
                _ = tick(&mut self.ticks) => None,
            };
            match heard {
                Some(Ok(batch)) => self.heard(&batch),
                Some(Err(RecvError::Lagged(missed))) => {
                    crate::metrics::live_backlog_overflowed(missed);
                    Box::pin(self.read_back()).await;
                }
                Some(Err(RecvError::Closed)) => return None,
                None => {
                    let answer = Box::pin(self.answer(LiveEvent::Tick)).await?;
                    if self.last_on_tick.as_ref() != Some(&answer.data) || !answer.errors.is_empty()
                    {
                        self.last_on_tick = Some(answer.data.clone());
                        return Some(self.sent(answer));
                    }
                }
            }
        }
    }

    /// Queues the changes of `batch` this subscription wants and has not
    /// heard yet (a batch read back from the feed may overlap the next).
    fn heard(&mut self, batch: &[Change]) {
        let seen = self.last_seen;
        for change in batch.iter().filter(|change| change.seq > seen) {
            if self.interest.wants(change) {
                self.waiting.push_back(change.clone());
            }
            self.last_seen = change.seq;
        }
    }

    /// After falling further behind than the listeners' backlog: reads the
    /// changes missed back from the database's feed, up to the last one
    /// this process has applied, so none is lost.
    async fn read_back(&mut self) {
        let mut seen = self.last_seen;
        let applied = self.state.listeners.told_up_to();
        while seen < applied {
            let changes = match crate::content::writes::change::after(
                &self.state.db,
                seen,
                READ_BACK_AT_ONCE,
            )
            .await
            {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(
                        error = %error.log_message(),
                        "a subscription cannot read back the changes it missed"
                    );
                    return;
                }
            };
            let Some(last) = changes.last().map(|change| change.seq) else {
                break;
            };
            let applied_ones: Vec<Change> = changes
                .into_iter()
                .filter(|change| change.seq <= applied)
                .collect();
            self.heard(&applied_ones);
            seen = last.min(applied);
        }
    }

    /// Notes that `answer` is sent: one with errors ends the subscription
    /// (a token revoked, say).
    fn sent(&mut self, answer: Response) -> Response {
        if !answer.errors.is_empty() {
            self.ended = true;
        }
        answer
    }

    /// The answer to `change`: shared with the process's other anonymous
    /// subscribers of the same operation and variables, or this
    /// subscription's own.
    async fn answer_to(&self, change: Change) -> Option<Response> {
        let Some(key) = &self.text.shared_key else {
            return self.answer(LiveEvent::Change(change)).await;
        };
        let shared = self
            .schema
            .live_answers
            .0
            .get_with((change.seq, Arc::clone(key)), async {
                let answer = self.answer(LiveEvent::Change(change)).await;
                Arc::new(answer.map(|answer| (answer.data, answer.errors)))
            })
            .await;
        let (data, errors) = shared.as_ref().as_ref()?;
        let mut answer = Response::new(data.clone());
        answer.errors = errors.clone();
        Some(answer)
    }

    /// Runs the subscription for `event` as a new request at this moment;
    /// `None` when it sends nothing for it.
    async fn answer(&self, event: LiveEvent) -> Option<Response> {
        let request = self.text.request().data(event);
        let mut answers = self.schema.validated_reads.execute_stream(in_scope(
            request,
            &self.state,
            self.session.scope(),
        ));
        let mut answer = answers.next().await?;
        answer
            .errors
            .iter_mut()
            .for_each(execution::codes::classify);
        if let Some(selected) = execution::limits::selected_operation(
            &self.text.document,
            self.text.operation_name.as_deref(),
        ) {
            execution::field_order::follow_query(
                &mut answer.data,
                &self.text.document,
                &selected.selection_set.node,
            );
        }
        Some(answer)
    }
}

/// The next tick of `ticks`, or never.
async fn tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// A domain error as the protocol's error payload carries it.
fn server_error(error: AppError) -> ServerError {
    error.extend().into_server_error(Default::default())
}
