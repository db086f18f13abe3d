//! What an operator watches: counters and histograms kept with the
//! `metrics` crate and rendered in Prometheus' text format on the metrics
//! listener (`--metrics-listen`), never on the public one.
//!
//! The recorder is process-wide (one per process, however many servers a
//! test starts); names are `newsroom_*`. Recording before [`install`] is a
//! no-op, so the domain records freely.

use std::{
    collections::HashSet,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::fault::DbFault;

/// How many distinct operation names get a label of their own; later ones
/// are counted as `other`, so that clients cannot grow the series forever.
const MAX_OPERATION_NAMES: usize = 200;

/// Latency buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static OPERATION_NAMES: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// Installs the process's recorder (once) and returns what renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".to_owned()),
            LATENCY_BUCKETS,
        )
        .map_err(|error| format!("cannot set the latency buckets: {error}"))?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread installed one first; use that one's handle.
        return HANDLE
            .get()
            .cloned()
            .ok_or_else(|| "another metrics recorder is installed".to_owned());
    }
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// The label for a client's operation name: the name itself while few are
/// known, `other` past that, `anonymous` when there is none.
fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name.filter(|name| !name.is_empty()) else {
        return "anonymous".to_owned();
    };
    let mut known = OPERATION_NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if known.contains(name) {
        return name.to_owned();
    }
    if known.len() < MAX_OPERATION_NAMES && name.len() <= 100 {
        known.insert(name.to_owned());
        return name.to_owned();
    }
    "other".to_owned()
}

/// One GraphQL request served: its operation, its outcome (`ok` or the
/// first error's code) and how long it took.
pub fn request(operation: Option<&str>, outcome: &str, took: Duration) {
    let operation = operation_label(operation);
    let outcome = outcome.to_owned();
    counter!("newsroom_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome.clone())
        .increment(1);
    histogram!("newsroom_graphql_request_duration_seconds", "operation" => operation, "outcome" => outcome)
        .record(took.as_secs_f64());
}

/// A database error, by kind.
pub fn database_error(fault: DbFault) {
    counter!("newsroom_database_errors_total", "kind" => fault.name()).increment(1);
}

/// A view flush, and how it ended.
pub fn view_flush(succeeded: bool, views: i64) {
    let result = if succeeded { "ok" } else { "error" };
    counter!("newsroom_view_flushes_total", "result" => result).increment(1);
    if succeeded {
        counter!("newsroom_view_flushed_views_total").increment(views.max(0).unsigned_abs());
    }
}

/// The views counted in memory and not yet stored.
pub fn view_buffer(pending: i64) {
    gauge!("newsroom_view_buffer_pending").set(pending as f64);
}

/// `lookups` read cache lookups that were hits, or misses.
pub fn read_cache(hit: bool, lookups: usize) {
    let result = if hit { "hit" } else { "miss" };
    counter!("newsroom_read_cache_lookups_total", "result" => result)
        .increment(u64::try_from(lookups).unwrap_or(u64::MAX));
}

/// A reader's request refused by a rate limit (`client` or `article`).
pub fn rate_limited(limit: &'static str) {
    counter!("newsroom_rate_limited_total", "limit" => limit).increment(1);
}

/// This process's place in the change feed: the last change applied, and
/// how many committed changes it has not applied yet.
pub fn change_feed(applied: i64, latest: i64) {
    gauge!("newsroom_change_feed_applied").set(applied as f64);
    gauge!("newsroom_change_feed_lag").set((latest - applied).max(0) as f64);
}

/// The connection pool right now.
pub fn pool(size: u32, idle: usize) {
    gauge!("newsroom_db_pool_connections", "state" => "open").set(f64::from(size));
    gauge!("newsroom_db_pool_connections", "state" => "idle").set(idle as f64);
}

/// Connections the HTTP listener holds open, and refusals past its cap.
pub fn open_connections(open: usize) {
    gauge!("newsroom_http_open_connections").set(open as f64);
}

/// A connection refused because the cap on open connections was reached.
pub fn connection_refused() {
    counter!("newsroom_http_connections_refused_total").increment(1);
}

/// The WebSocket connections open for live subscriptions, and the
/// subscriptions running on them.
pub fn live(connections: usize, subscriptions: usize) {
    gauge!("newsroom_live_connections").set(connections as f64);
    gauge!("newsroom_live_subscriptions").set(subscriptions as f64);
}

/// An answer a live subscription sent.
pub fn live_answer_sent() {
    counter!("newsroom_live_answers_total").increment(1);
}

/// A WebSocket connection or subscription refused, by the limit it hit.
pub fn live_refused(limit: &'static str) {
    counter!("newsroom_live_refused_total", "limit" => limit).increment(1);
}

/// Batches of changes a busy subscription fell behind by; it read them
/// back from the database's feed.
pub fn live_backlog_overflowed(batches: u64) {
    counter!("newsroom_live_backlog_overflows_total").increment(batches);
}

/// A webhook delivery attempt, and whether it was answered with 2xx.
pub fn webhook_attempt(succeeded: bool) {
    let result = if succeeded { "ok" } else { "error" };
    counter!("newsroom_webhook_attempts_total", "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::operation_label;

    #[test]
    fn operation_names_are_labels_until_there_are_too_many() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("")), "anonymous");
        assert_eq!(operation_label(Some("ArticlePage")), "ArticlePage");
        for n in 0..300 {
            operation_label(Some(&format!("Generated{n}")));
        }
        assert_eq!(operation_label(Some("Generated299")), "other");
        assert_eq!(operation_label(Some("ArticlePage")), "ArticlePage");
        assert_eq!(operation_label(Some(&"x".repeat(101))), "other");
    }
}
