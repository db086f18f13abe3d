//! Adding a flush's views to the articles' stored counts: one
//! `UPDATE … FROM (VALUES …)` for many articles, where sea-query would
//! write one `UPDATE` per article.

use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

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
}
