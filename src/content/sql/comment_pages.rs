//! The first pages of many articles' approved comments in one statement:
//! each article's comments numbered newest first by a window function,
//! which both databases have, and the first of each kept.

use entity::comment::CommentStatus;
use sea_orm::{ActiveEnum, DbBackend, Statement};
use uuid::Uuid;

use super::{Values, plan_constant};

/// The statement that reads up to `limit` approved comments of each of
/// `article_ids`, newest first within each, as `comments` rows with their
/// place in the article's list (`place`, from 1). Decode the rows as
/// [`entity::comment::Model`]s.
pub fn first_approved(backend: DbBackend, article_ids: &[Uuid], limit: u64) -> Statement {
    let mut values = Values::default();
    let approved = values.bind(CommentStatus::Approved.to_value());
    let ids = values.bind_list(article_ids);
    let sql = format!(
        r#"SELECT * FROM (SELECT "comments".*, ROW_NUMBER() OVER (PARTITION BY "article_id" ORDER BY "created_at" DESC, "id" DESC) AS "place" FROM "comments" WHERE "status" = {approved} AND "article_id" IN ({ids})) AS "numbered" WHERE "place" <= {limit} ORDER BY "article_id", "place""#,
        limit = plan_constant(limit),
    );
    Statement::from_sql_and_values(backend, sql, values.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_article_is_bound_once_and_the_limit_is_in_the_text() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
            let statement = first_approved(backend, &ids, 21);
            assert!(statement.sql.contains(r#""article_id" IN ($2, $3, $4)"#));
            assert!(statement.sql.contains(r#""place" <= 21"#));
            assert_eq!(statement.values.expect("values").0.len(), 4);
        }
    }
}
