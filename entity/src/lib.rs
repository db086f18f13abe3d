//! SeaORM entities: one module per table of newsroom's database.
//!
//! These types mirror the tables the migrations create and nothing more. They
//! know nothing about GraphQL or HTTP: the server wraps them in its own API
//! types, so the database's shape never becomes the API's shape by accident.

pub mod api_token;
pub mod article;
pub mod article_daily_view;
pub mod article_revision;
pub mod article_slug;
pub mod article_tag;
pub mod audit_entry;
pub mod category;
pub mod change;
pub mod comment;
pub mod related_kept;
pub mod related_tick;
pub mod tag;
pub mod webhook;
pub mod webhook_delivery;
