//! Every statement the domain writes by hand as SQL text, rather than
//! building with sea-query, in one place: one module per concern, each
//! statement beside the decoder of its rows, with its PostgreSQL and SQLite
//! forms side by side and a test for each. Statements are written by hand
//! where building them cost more than their text on a hot path, or where
//! sea-query cannot say them (JSON aggregates, `UPDATE … FROM (VALUES …)`).
//!
//! - [`article_page`]: an article's own page in one statement.
//! - [`comment_pages`]: many articles' first comments at once.
//! - [`newest_in_sections`]: the newest articles of many sections at once.
//! - [`related`]: the ranking of articles that share tags.
//! - [`search`]: full-text search, its index and its ranking.
//! - [`view_counts`]: adding a flush's views to the stored counts.

pub mod article_page;
pub mod comment_pages;
pub mod newest_in_sections;
pub mod related;
pub mod search;
pub mod view_counts;

use entity::article;
use sea_orm::{DbBackend, Iterable, Value};

/// The select-list item that reads the start of the plain text (the
/// `teaser_text` column) into the row's `body_text`.
pub const TEASER_TEXT_AS_BODY_TEXT: &str = r#""articles"."teaser_text" AS "body_text""#;

/// The section tree's version, as a subquery: read in the same snapshot as
/// what a statement reads with it (see
/// [`crate::content::sections::SectionsMemo`]).
pub const SECTIONS_VERSION: &str = "(SELECT version FROM content_versions WHERE name = 'sections')";

/// The values of a statement in the making, each named `$n` by its place.
#[derive(Default)]
pub(crate) struct Values(pub(crate) Vec<Value>);

impl Values {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }

    /// Binds each id and returns their placeholders as a list for `IN (…)`.
    pub(crate) fn bind_list(&mut self, ids: &[uuid::Uuid]) -> String {
        ids.iter()
            .map(|id| self.bind(*id))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A `LIMIT` written into the statement's text rather than bound. With a
/// bound limit, PostgreSQL cannot tell what a generic plan of the prepared
/// statement would cost, and on a large site it kept planning the page for
/// each execution's values, planning taking longer than running. With the
/// limits in the text it reuses one plan after five executions, at any
/// size (BENCHMARKS.md). Clients choose among few page sizes (1 to 100), so
/// the texts, and sqlx's per-connection statement cache, stay few.
pub(crate) fn plan_constant(limit: u64) -> String {
    limit.to_string()
}

/// An id as JSON can hold it: SQLite keeps uuids as 16-byte blobs, which
/// travel as hex.
pub(crate) fn json_id(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => column.to_owned(),
        _ => format!("hex({column})"),
    }
}

/// A JSON array of `rows`, one `[…]` of `fields` per row, in `order`; `[]`
/// when there are none.
pub(crate) fn json_rows(backend: DbBackend, fields: &[String], order: &str, rows: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "(SELECT COALESCE(json_agg(json_build_array({}) ORDER BY {order}), '[]')::text FROM {rows})",
            fields.join(", ")
        ),
        _ => format!(
            "(SELECT json_group_array(json_array({}) ORDER BY {order}) FROM {rows})",
            fields.join(", ")
        ),
    }
}

/// The select list of an `articles` row with its plain text cut to its
/// first [`crate::content::articles::TEASER_TEXT_CHARS`] characters, as SQL text, written once: with
/// the body for an article's own page, or without it for a teaser (see
/// [`crate::content::articles::Teaser`]).
pub fn columns_with_text_cut(with_body: bool) -> &'static str {
    use sea_orm::IdenStatic;
    use std::sync::OnceLock;
    static WITH_BODY: OnceLock<String> = OnceLock::new();
    static WITHOUT_BODY: OnceLock<String> = OnceLock::new();
    let (columns, body) = if with_body {
        (&WITH_BODY, r#""articles"."body""#)
    } else {
        (&WITHOUT_BODY, r#"'' AS "body""#)
    };
    columns.get_or_init(|| {
        article::Column::iter()
            .map(|column| match column {
                article::Column::Body => body.to_owned(),
                article::Column::BodyText => TEASER_TEXT_AS_BODY_TEXT.to_owned(),
                other => format!(r#""articles"."{}""#, other.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_row_keeps_its_body_and_a_teaser_row_does_not() {
        let (page, teaser) = (columns_with_text_cut(true), columns_with_text_cut(false));
        assert!(page.contains(r#""articles"."body","#));
        assert!(teaser.contains(r#"'' AS "body""#) && !teaser.contains(r#""articles"."body","#));
        for columns in [page, teaser] {
            assert!(columns.contains(TEASER_TEXT_AS_BODY_TEXT));
            for column in article::Column::iter() {
                use sea_orm::IdenStatic;
                let name = format!(r#""{}""#, column.as_str());
                assert!(columns.contains(&name), "{name} is selected");
            }
        }
    }
}
