//! The newest public articles of many sections at once, as a home page asks
//! for them: each section's newest read on its own from the
//! `(category_id, status, published_at)` index, so that a list costs a few
//! index reads whatever the size of its sections. PostgreSQL runs one
//! subquery for each section (`LATERAL`), SQLite one `UNION ALL` branch.
//!
//! A list of a section with its sub-sections, read as one query with
//! `category_id IN (…)`, could not be planned once: PostgreSQL kept planning
//! the home page's lists for every execution (its generic plan, which cannot
//! see the sections' sizes, would have sorted every article of a section),
//! and the planning cost more than the reading.

use chrono::{DateTime, Utc};
use entity::article::ArticleStatus;
use sea_orm::{ActiveEnum, DbBackend, Statement};
use uuid::Uuid;

use super::{Values, columns_with_text_cut, plan_constant};

/// How many sections one statement reads at most: SQLite allows 500 terms
/// in a compound `SELECT`; a site with more sections on one page takes
/// more statements.
pub const SECTIONS_PER_STATEMENT: usize = 250;

/// The statement that reads, for each list named in `sections` (as
/// `(list, section)`, the list being a number of the caller's), the up to
/// `limit` newest articles public at `now` among its sections, as teaser
/// rows (see [`columns_with_text_cut`]) with the list's number in `list`.
/// Each section's newest are read on their own; the statement then keeps
/// each list's newest `limit` of them and reads only those articles' rows,
/// so a home page's lists cost one statement, not one for the ids and one
/// for the teasers.
pub fn newest(
    backend: DbBackend,
    sections: &[(usize, Uuid)],
    limit: u64,
    now: DateTime<Utc>,
) -> Statement {
    let mut values = Values::default();
    let published = values.bind(ArticleStatus::Published.to_value());
    let now = values.bind(now);
    let limit = plan_constant(limit);
    let order = r#"ORDER BY "articles"."published_at" DESC, "articles"."id" DESC"#;
    let newest_of = |section: &str| {
        format!(
            r#"SELECT "articles"."id", "articles"."published_at" FROM "articles" WHERE "articles"."category_id" = {section} AND "articles"."status" = {published} AND "articles"."published_at" <= {now} {order} LIMIT {limit}"#
        )
    };
    let found = match backend {
        // One subquery run for each section: its plan is made once, however
        // many sections there are.
        DbBackend::Postgres => {
            let rows: Vec<String> = sections
                .iter()
                .map(|(list, section)| {
                    format!("(CAST({list} AS BIGINT), {})", values.bind(*section))
                })
                .collect();
            format!(
                r#"SELECT "wanted"."list", "newest"."id", "newest"."published_at" FROM (VALUES {rows}) AS "wanted"("list", "category_id") CROSS JOIN LATERAL ({newest}) AS "newest""#,
                rows = rows.join(", "),
                newest = newest_of(r#""wanted"."category_id""#),
            )
        }
        // SQLite has no `LATERAL`: one branch per section.
        _ => sections
            .iter()
            .enumerate()
            .map(|(index, (list, section))| {
                let section = values.bind(*section);
                format!(
                    r#"SELECT CAST({list} AS BIGINT) AS "list", * FROM ({newest}) AS "section{index}""#,
                    newest = newest_of(&section),
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL "),
    };
    let sql = format!(
        r#"WITH "found" AS ({found}), "kept" AS (SELECT "list", "id", row_number() OVER (PARTITION BY "list" ORDER BY "published_at" DESC, "id" DESC) AS "place" FROM "found") SELECT "kept"."list", {columns} FROM "kept" JOIN "articles" ON "articles"."id" = "kept"."id" WHERE "kept"."place" <= {limit}"#,
        columns = columns_with_text_cut(false),
    );
    Statement::from_sql_and_values(backend, sql, values.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_section_is_read_on_its_own_with_the_limit_in_the_text() {
        let sections = [
            (0, Uuid::now_v7()),
            (0, Uuid::now_v7()),
            (1, Uuid::now_v7()),
        ];
        let postgres = newest(DbBackend::Postgres, &sections, 4, Utc::now());
        assert!(postgres.sql.contains(
            "(VALUES (CAST(0 AS BIGINT), $3), (CAST(0 AS BIGINT), $4), (CAST(1 AS BIGINT), $5))"
        ));
        assert!(
            postgres
                .sql
                .contains(r#""articles"."category_id" = "wanted"."category_id""#)
        );
        assert_eq!(postgres.sql.matches("LIMIT 4").count(), 1);
        assert!(postgres.sql.ends_with(r#""kept"."place" <= 4"#));
        let sqlite = newest(DbBackend::Sqlite, &sections, 4, Utc::now());
        assert_eq!(sqlite.sql.matches(" UNION ALL ").count(), 2);
        assert_eq!(sqlite.sql.matches("LIMIT 4)").count(), 3);
        assert!(sqlite.sql.contains(r#"CAST(1 AS BIGINT) AS "list""#));
        assert!(sqlite.sql.contains(r#""articles"."category_id" = $5"#));
        // The status and the moment are bound once and shared.
        for statement in [postgres, sqlite] {
            assert!(statement.sql.contains(r#"'' AS "body""#));
            assert_eq!(statement.values.expect("values").0.len(), 5);
        }
    }
}
