//! The ranking of the articles that share tags with an article, as one
//! statement that both databases run (see [`sharing_tags`]), and of many
//! articles at once ([`sharing_tags_of_many`]); their rows are teaser rows,
//! decoded by sea-orm, the latter's with their list and rank beside.

use chrono::{DateTime, Utc};
use entity::article::{self, ArticleStatus};
use sea_orm::DbBackend;
use uuid::Uuid;

use super::{Values, columns_with_text_cut, plan_constant};
use crate::content::articles::RELATED_CANDIDATES_PER_TAG;

/// The statement that ranks the articles sharing `tag_ids` with `article`
/// and returns the best `limit` of them as teaser rows, in rank order;
/// `None` when the article has no tags. Each tag's candidates are one
/// backward range of `idx_article_tags_recent`, whose copies of publication
/// time and section (kept by triggers) spare a visit to every candidate
/// article. The winners' text is their `teaser_text`, cut when written.
///
/// Written as SQL text, not built with sea-query: building and dropping
/// this statement's expression tree on every cold article page cost more
/// than keeping its text (BENCHMARKS.md). `$n` parameters mean the same on both databases (sqlx binds SQLite's
/// `$n` by number), so one text serves both, and a value used in every
/// window is bound once.
pub fn sharing_tags(
    backend: DbBackend,
    article: &article::Model,
    tag_ids: &[Uuid],
    limit: u64,
    now: DateTime<Utc>,
) -> Option<sea_orm::Statement> {
    use sea_orm::ActiveEnum;
    if tag_ids.is_empty() {
        return None;
    }
    // $1 section, $2 limit, $3 status, $4 now, $5 the article, $6 window,
    // then one per tag. SQLite allows no LIMIT on a member of a UNION, so
    // each window is wrapped.
    let windows: Vec<String> = (0..tag_ids.len())
        .map(|index| {
            format!(
                r#"SELECT * FROM (SELECT "article_id", "category_id", "public_since" FROM "article_tags" WHERE "tag_id" = ${} AND "public_since" <= $4 AND "article_id" <> $5 ORDER BY "public_since" DESC, "article_id" DESC LIMIT $6) AS "tag{index}""#,
                index + 7
            )
        })
        .collect();
    let sql = format!(
        r#"SELECT {columns} FROM "articles" INNER JOIN (SELECT "article_id", COUNT("article_id") AS "shared", MAX(CASE WHEN "category_id" = $1 THEN 1 ELSE 0 END) AS "same_section", MAX("public_since") AS "since" FROM ({candidates}) AS "candidates" GROUP BY "article_id" ORDER BY "shared" DESC, "same_section" DESC, "since" DESC, "article_id" DESC LIMIT $2) AS "ranked" ON "ranked"."article_id" = "articles"."id" WHERE "articles"."status" = $3 AND "articles"."published_at" <= $4 ORDER BY "ranked"."shared" DESC, "ranked"."same_section" DESC, "ranked"."since" DESC, "articles"."id" DESC"#,
        columns = columns_with_text_cut(false),
        candidates = windows.join(" UNION ALL "),
    );
    let mut values: Vec<sea_orm::Value> = vec![
        article.category_id.into(),
        limit.into(),
        ArticleStatus::Published.to_value().into(),
        now.into(),
        article.id.into(),
        RELATED_CANDIDATES_PER_TAG.into(),
    ];
    values.extend(tag_ids.iter().map(|&id| sea_orm::Value::from(id)));
    Some(sea_orm::Statement::from_sql_and_values(
        backend, sql, values,
    ))
}

/// The rankings of many articles at once, each as [`sharing_tags`] ranks
/// one: for each `(article, tag ids)` of `items` (those with tags), its
/// best `limit` teasers, tagged with the article's place in `items`
/// (`list`) and their rank in its list (`rank`, from 1). One `UNION ALL`
/// of the rankings; `None` when no article has tags.
pub fn sharing_tags_of_many(
    backend: DbBackend,
    items: &[(&article::Model, &[Uuid])],
    limit: u64,
    now: DateTime<Utc>,
) -> Option<sea_orm::Statement> {
    use sea_orm::ActiveEnum;
    let mut values = Values::default();
    let published = values.bind(ArticleStatus::Published.to_value());
    let now = values.bind(now);
    let window = plan_constant(RELATED_CANDIDATES_PER_TAG);
    let limit = plan_constant(limit);
    let columns = columns_with_text_cut(false);
    let mut members = Vec::new();
    for (list, (article, tag_ids)) in items.iter().enumerate() {
        if tag_ids.is_empty() {
            continue;
        }
        let section = values.bind(article.category_id);
        let own = values.bind(article.id);
        let candidates: Vec<String> = tag_ids
            .iter()
            .enumerate()
            .map(|(index, tag)| {
                let tag = values.bind(*tag);
                format!(
                    r#"SELECT * FROM (SELECT "article_id", "category_id", "public_since" FROM "article_tags" WHERE "tag_id" = {tag} AND "public_since" <= {now} AND "article_id" <> {own} ORDER BY "public_since" DESC, "article_id" DESC LIMIT {window}) AS "tag{index}""#
                )
            })
            .collect();
        members.push(format!(
            r#"SELECT CAST({list} AS BIGINT) AS "list", "ranked"."rank", {columns} FROM "articles" INNER JOIN (SELECT "article_id", ROW_NUMBER() OVER (ORDER BY COUNT("article_id") DESC, MAX(CASE WHEN "category_id" = {section} THEN 1 ELSE 0 END) DESC, MAX("public_since") DESC, "article_id" DESC) AS "rank" FROM ({candidates}) AS "candidates" GROUP BY "article_id" ORDER BY "rank" LIMIT {limit}) AS "ranked" ON "ranked"."article_id" = "articles"."id" WHERE "articles"."status" = {published} AND "articles"."published_at" <= {now}"#,
            candidates = candidates.join(" UNION ALL "),
        ));
    }
    if members.is_empty() {
        return None;
    }
    Some(sea_orm::Statement::from_sql_and_values(
        backend,
        members.join(" UNION ALL "),
        values.0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_related_statement_binds_one_value_per_placeholder() {
        let tags: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let statement = sharing_tags(
            DbBackend::Postgres,
            &crate::content::sample_article(),
            &tags,
            5,
            Utc::now(),
        )
        .expect("an article with tags has a ranking");
        let values = statement.values.expect("the statement has values").0;
        assert_eq!(values.len(), 6 + tags.len());
        assert!(statement.sql.contains("$9"));
        assert!(!statement.sql.contains("$10"));
        // Every window reads its own tag, and all share the other values.
        assert_eq!(statement.sql.matches(r#""tag_id" = $"#).count(), 3);
        assert_eq!(values[6], sea_orm::Value::from(tags[0]));
        assert!(
            sharing_tags(
                DbBackend::Sqlite,
                &crate::content::sample_article(),
                &[],
                5,
                Utc::now()
            )
            .is_none(),
            "no tags, no ranking"
        );
    }

    #[test]
    fn many_rankings_bind_the_shared_values_once_and_skip_untagged_articles() {
        let (first, second, untagged) = (
            crate::content::sample_article(),
            crate::content::sample_article(),
            crate::content::sample_article(),
        );
        let tags: Vec<Uuid> = (0..2).map(|_| Uuid::now_v7()).collect();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let statement = sharing_tags_of_many(
                backend,
                &[(&first, &tags), (&untagged, &[]), (&second, &tags[..1])],
                3,
                Utc::now(),
            )
            .expect("two articles have tags");
            // status and now, then section, article and tags per article.
            assert_eq!(statement.values.expect("values").0.len(), 2 + 4 + 3);
            assert_eq!(
                statement
                    .sql
                    .matches(" UNION ALL SELECT CAST(2 AS BIGINT) AS \"list\"")
                    .count(),
                1
            );
            assert!(
                !statement
                    .sql
                    .contains("SELECT CAST(1 AS BIGINT) AS \"list\"")
            );
        }
        assert!(
            sharing_tags_of_many(DbBackend::Sqlite, &[(&untagged, &[])], 3, Utc::now()).is_none()
        );
    }
}
