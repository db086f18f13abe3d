//! The integration tests, one binary: each module tests one capability
//! against a real server over HTTP (see `common`), so the shared harness
//! and the server crate are compiled and linked once, not once per file.

#![allow(clippy::unwrap_used)] // a panic in a test is a failed test, which is what we want

mod common;

mod access;
mod browser;
mod cache_tags;
mod caching;
mod categories;
mod comments;
mod connection;
mod contract;
mod disk_faults;
mod editorial;
mod faults;
mod field_order;
mod fleet;
mod harness;
mod hostile;
mod http;
mod introspection;
mod live;
mod logging;
mod metrics;
mod moderation;
mod node;
mod pagination;
mod payloads;
mod properties;
mod read_cache;
mod related;
mod response_cache;
mod schema;
mod search;
mod seed_page;
mod shutdown;
mod slow_clients;
mod source;
mod spam;
mod statements;
mod strict_input;
mod teasers;
mod transfer;
mod views;
mod visibility;
mod webhooks;
mod writes;
