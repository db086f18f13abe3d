//! The statements of view counting: adding a flush's views to the
//! articles' stored counts (one `UPDATE … FROM (VALUES …)` for many
//! articles, where sea-query would write one `UPDATE` per article),
//! announcing the totals a flush wrote on PostgreSQL, and reading stored
//! counts back on SQLite; each beside the reading of what it gives.

use chrono::{DateTime, Utc};
use entity::article;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, QuerySelect, QueryTrait,
    Statement, Value,
};
use uuid::Uuid;

use crate::content::articles::visible;

/// The PostgreSQL channel on which each flush announces the stored totals
/// of the articles it wrote, at its commit, so that every process's
/// answers count from them (see
/// [`crate::content::views::counter::ViewCounter::hear_totals`]).
pub const TOTALS_CHANNEL: &str = "newsroom_view_totals";

/// How many totals one announcement carries: PostgreSQL's payloads hold
/// under 8,000 bytes, and one total takes at most 57.
const TOTALS_PER_ANNOUNCEMENT: usize = 120;

/// The comment that starts the read-back statement, naming it in the
/// database's logs (and for tests that count a request's statements).
pub const REFRESH_LABEL: &str = "/* newsroom: refresh view totals */";

/// The statement that adds each `(article, views)` of `counts` to the
/// article's stored count. Additions commute, so processes flushing at
/// once stay exact. PostgreSQL names the values' columns and needs their
/// types; SQLite calls them `column1`, `column2`.
pub fn add_to_stored(backend: DbBackend, counts: &[(Uuid, i64)]) -> Statement {
    let mut rows = String::new();
    let mut values: Vec<Value> = Vec::with_capacity(counts.len() * 2);
    for (n, (article_id, count)) in counts.iter().enumerate() {
        if n > 0 {
            rows.push_str(", ");
        }
        rows.push_str(&match backend {
            DbBackend::Postgres => format!("(${}::uuid, ${}::bigint)", 2 * n + 1, 2 * n + 2),
            _ => "(?, ?)".to_owned(),
        });
        values.push((*article_id).into());
        values.push((*count).into());
    }
    let sql = match backend {
        DbBackend::Postgres => format!(
            "UPDATE articles SET view_count = articles.view_count + v.n \
             FROM (VALUES {rows}) AS v(id, n) WHERE articles.id = v.id"
        ),
        _ => format!(
            "UPDATE articles SET view_count = view_count + v.n \
             FROM (SELECT column1 AS id, column2 AS n FROM (VALUES {rows})) AS v \
             WHERE articles.id = v.id"
        ),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The `pg_notify` statements that announce `totals` on
/// [`TOTALS_CHANNEL`], as `id:total,…`; run in the flush's transaction,
/// they are delivered at its commit and never for a flush rolled back.
pub fn announcements(totals: &[(Uuid, i64)]) -> Vec<Statement> {
    totals
        .chunks(TOTALS_PER_ANNOUNCEMENT)
        .map(|chunk| {
            let payload = chunk
                .iter()
                .map(|(id, total)| format!("{id}:{total}"))
                .collect::<Vec<_>>()
                .join(",");
            Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [TOTALS_CHANNEL.into(), payload.into()],
            )
        })
        .collect()
}

/// The `(article, total)` pairs of an announcement; what does not parse is
/// passed over.
pub fn parse_announcement(announced: &str) -> impl Iterator<Item = (Uuid, i64)> + '_ {
    announced.split(',').filter_map(|pair| {
        let (id, total) = pair.split_once(':')?;
        Some((Uuid::try_parse(id).ok()?, total.parse().ok()?))
    })
}

/// The statement that reads again the stored counts of those of
/// `article_ids` that are public at `now`, labelled [`REFRESH_LABEL`];
/// read its rows with [`stored_of_row`].
pub fn stored_again(backend: DbBackend, article_ids: &[Uuid], now: DateTime<Utc>) -> Statement {
    let mut statement = article::Entity::find()
        .filter(article::Column::Id.is_in(article_ids.iter().copied()))
        .filter(visible(now))
        .select_only()
        .column(article::Column::Id)
        .column(article::Column::ViewCount)
        .build(backend);
    statement.sql = format!("{REFRESH_LABEL} {}", statement.sql);
    statement
}

/// One row of [`stored_again`]: an article and its stored count.
pub fn stored_of_row(row: &QueryResult) -> Result<(Uuid, i64), sea_orm::DbErr> {
    Ok((row.try_get("", "id")?, row.try_get("", "view_count")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_articles() -> Vec<(Uuid, i64)> {
        vec![(Uuid::now_v7(), 3), (Uuid::now_v7(), 1)]
    }

    #[test]
    fn postgresql_gets_typed_numbered_values() {
        let statement = add_to_stored(DbBackend::Postgres, &two_articles());
        assert!(
            statement
                .sql
                .contains("VALUES ($1::uuid, $2::bigint), ($3::uuid, $4::bigint)"),
            "{}",
            statement.sql
        );
        assert_eq!(statement.values.expect("values").0.len(), 4);
    }

    #[test]
    fn sqlite_gets_plain_placeholders_and_named_columns() {
        let statement = add_to_stored(DbBackend::Sqlite, &two_articles());
        assert!(
            statement.sql.contains("VALUES (?, ?), (?, ?)"),
            "{}",
            statement.sql
        );
        assert!(statement.sql.contains("column1 AS id, column2 AS n"));
        assert_eq!(statement.values.expect("values").0.len(), 4);
    }

    #[test]
    fn announced_totals_read_back_and_what_does_not_parse_is_passed_over() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let announced = format!("{a}:12,{b}:7,not-an-id:3,{a}:x");
        let totals: Vec<(Uuid, i64)> = parse_announcement(&announced).collect();
        assert_eq!(totals, vec![(a, 12), (b, 7)]);
        assert_eq!(parse_announcement("").count(), 0);
    }

    #[test]
    fn every_announcement_fits_postgresqls_payload_limit() {
        // The longest total there is: a uuid and the largest count.
        let totals = vec![(Uuid::now_v7(), i64::MAX); 250];
        let mut carried = Vec::new();
        for announcement in announcements(&totals) {
            let values = announcement.values.expect("values").0;
            let Value::String(Some(payload)) = &values[1] else {
                panic!("the payload is text");
            };
            assert!(payload.len() < 8_000, "{} bytes", payload.len());
            carried.push(parse_announcement(payload).count());
        }
        assert_eq!(carried, [120, 120, 10]);
    }

    #[test]
    fn the_read_back_is_labelled_for_the_statement_logs() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let statement = stored_again(backend, &[Uuid::now_v7()], Utc::now());
            assert!(
                statement.sql.starts_with(REFRESH_LABEL),
                "{}",
                statement.sql
            );
        }
    }
}
