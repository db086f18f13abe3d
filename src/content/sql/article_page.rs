//! An article's own page as one statement: the article, its tags, the
//! section tree's version and, when the page shows them, the first page of
//! its approved comments and its related teasers, with the decoders of its
//! row. Comments, teasers and tags travel as JSON arrays, since one row
//! cannot hold lists otherwise; SQLite keeps ids as 16-byte blobs, which
//! travel as hex there. Related teasers are read along only from the
//! article's kept ranking, when it can be trusted (PostgreSQL); either way
//! the row says whether a kept one was found and the feed's number it read,
//! so the caller ranks and keeps when none was.

use chrono::{DateTime, Utc};
use entity::{
    article::{self, ArticleStatus},
    comment::{self, CommentStatus},
    tag,
};
use sea_orm::{ActiveEnum, DatabaseConnection, DbBackend, FromQueryResult, Statement};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{SECTIONS_VERSION, Values, columns_with_text_cut, json_id, json_rows, plan_constant};
use crate::content::{
    Page,
    articles::{
        Audience, Teaser,
        kept_related::{self, KeptLookup, TrustedSince},
        page::{AlsoRead, ArticleKey, ArticleRead},
    },
};
use crate::error::{AppError, AppResult};

/// Reads the article at `key` that `audience` may see, with what `also`
/// asks for, in one statement.
pub async fn read(
    db: &DatabaseConnection,
    key: ArticleKey<'_>,
    audience: Audience,
    also: AlsoRead,
    now: DateTime<Utc>,
    trusted: TrustedSince,
) -> AppResult<Option<ArticleRead>> {
    use sea_orm::ConnectionTrait;
    let backend = db.get_database_backend();
    let asked_related = also.related;
    let statement = statement(backend, key, audience, also, now, trusted);
    let also = also.on(backend);
    let Some(row) = db.query_one_raw(statement).await? else {
        return Ok(None);
    };
    let tags: String = row.try_get("", "tags")?;
    let comments = match also.comments {
        Some(size) => {
            let json: String = row.try_get("", "comments")?;
            let article_id: Uuid = row.try_get("", "id")?;
            Some(Page::from_overfetch(
                comments_from_json(&json, article_id)?,
                size,
            ))
        }
        None => None,
    };
    let related = match also.related {
        Some(_) => {
            let json: Option<String> = row.try_get("", "related")?;
            json.as_deref().map(teasers_from_json).transpose()?
        }
        None => None,
    };
    let kept_related = match asked_related {
        Some(_) => Some(KeptLookup {
            ids: row.try_get("", "kept_ids")?,
            feed_seq: row.try_get("", "feed_seq")?,
        }),
        None => None,
    };
    Ok(Some(ArticleRead {
        row: article::Model::from_query_result(&row, "")?,
        tags: from_aggregate(&tags)?,
        sections_version: row.try_get("", "sections_version")?,
        comments,
        related,
        kept_related,
    }))
}

/// The page's statement, as SQL text with `$n` parameters, which sqlx binds
/// by number on both databases (as for [`crate::content::articles::related`]'s
/// ranking). Only values the text uses are bound: SQLite refuses extras.
fn statement(
    backend: DbBackend,
    key: ArticleKey<'_>,
    audience: Audience,
    also: AlsoRead,
    now: DateTime<Utc>,
    trusted: TrustedSince,
) -> Statement {
    let mut values = Values::default();
    let key = match key {
        ArticleKey::Id(id) => format!(r#""articles"."id" = {}"#, values.bind(id)),
        ArticleKey::Slug(slug) => format!(r#""articles"."slug" = {}"#, values.bind(slug)),
    };
    let asked_related = also.related;
    let also = also.on(backend);
    let needs_clock = matches!(audience, Audience::Public(_)) || also.related.is_some();
    let (now, published) = if needs_clock {
        (
            values.bind(now),
            values.bind(ArticleStatus::Published.to_value()),
        )
    } else {
        (String::new(), String::new())
    };
    let mut sql = format!(
        r#"SELECT {columns}, {tags} AS "tags", {version} AS "sections_version""#,
        columns = if also.whole_text {
            r#""articles".*"#
        } else {
            columns_with_text_cut(true)
        },
        tags = aggregate_of_article_row(backend),
        version = SECTIONS_VERSION,
    );
    if let Some(size) = also.comments {
        let limit = plan_constant(size.saturating_add(1));
        let approved = values.bind(CommentStatus::Approved.to_value());
        sql.push_str(", ");
        sql.push_str(&comments_column(backend, &limit, &approved));
        sql.push_str(r#" AS "comments""#);
    }
    let mut kept_join = String::new();
    if let Some(size) = asked_related {
        let oldest = values.bind(trusted.0);
        kept_join = kept_related::trusted_join(&plan_constant(size), &oldest);
        sql.push_str(&format!(
            r#", "kept"."ids" AS "kept_ids", {} AS "feed_seq""#,
            kept_related::FEED_SEQ
        ));
    }
    if let Some(size) = also.related {
        // Only the kept ranking's teasers: ranking here too, for the reads
        // that find none kept, made every read set up the ranking's plan
        // nodes before running one branch (BENCHMARKS.md).
        sql.push_str(", CASE WHEN \"kept\".\"ids\" IS NOT NULL THEN ");
        sql.push_str(&kept_column(&now, &published, &plan_constant(size)));
        sql.push_str(r#" END AS "related""#);
    }
    sql.push_str(r#" FROM "articles""#);
    sql.push_str(&kept_join);
    sql.push_str(" WHERE ");
    sql.push_str(&key);
    if matches!(audience, Audience::Public(_)) {
        sql.push_str(&format!(
            r#" AND "articles"."status" = {published} AND "articles"."published_at" <= {now}"#
        ));
    }
    sql.push_str(" LIMIT 1");
    Statement::from_sql_and_values(backend, sql, values.0)
}

/// The first `limit` approved comments of the row's article, newest first,
/// as `[id, author_name, body, created_at]` (read by [`comments_from_json`]).
fn comments_column(backend: DbBackend, limit: &str, approved: &str) -> String {
    json_rows(
        backend,
        &[
            json_id(backend, "c.id"),
            "c.author_name".to_owned(),
            "c.body".to_owned(),
            "c.created_at".to_owned(),
        ],
        "c.created_at DESC, c.id DESC",
        &format!(
            r#"(SELECT "id", "author_name", "body", "created_at" FROM "comments" WHERE "article_id" = "articles"."id" AND "status" = {approved} ORDER BY "created_at" DESC, "id" DESC LIMIT {limit}) AS c"#
        ),
    )
}

/// The row's kept related teasers (see [`kept_related`]), the first
/// `limit` of those still public, in their kept order, each an array of
/// the columns of `articles` in [`TEASER_FIELDS`]'s order, its text cut
/// (read by [`teasers_from_json`]). PostgreSQL only.
fn kept_column(now: &str, published: &str, limit: &str) -> String {
    json_rows(
        DbBackend::Postgres,
        &teaser_fields(),
        "s.pos",
        &format!(
            r#"unnest(string_to_array("kept"."ids", ',')::uuid[]) WITH ORDINALITY AS s(id, pos) JOIN articles x ON x.id = s.id WHERE s.pos <= {limit} AND x.status = {published} AND x.published_at <= {now}"#
        ),
    )
}

/// [`TEASER_FIELDS`] as read from the teaser's row `x`.
fn teaser_fields() -> Vec<String> {
    TEASER_FIELDS
        .iter()
        .map(|field| match *field {
            "body_text" => "x.teaser_text".to_owned(),
            other => format!("x.{other}"),
        })
        .collect()
}

/// The columns of a related teaser in its JSON array, in order. The body
/// is left out: a teaser has none (see [`Teaser`]).
const TEASER_FIELDS: [&str; 18] = [
    "id",
    "slug",
    "title",
    "summary",
    "body_text",
    "cover_image_url",
    "cover_image_alt",
    "author",
    "source",
    "status",
    "published_at",
    "created_at",
    "updated_at",
    "category_id",
    "view_count",
    "comment_count",
    "version",
    "comments_closed",
];

/// Reads the fields of one JSON array row in order.
struct Fields<'a> {
    values: std::slice::Iter<'a, Json>,
}

/// A row's JSON did not have the shape the statement gives it.
fn unreadable(what: &str) -> AppError {
    AppError::Internal(format!(
        "unreadable {what} in a page read from the database"
    ))
}

impl<'a> Fields<'a> {
    fn of(row: &'a Json) -> AppResult<Self> {
        match row {
            Json::Array(values) => Ok(Self {
                values: values.iter(),
            }),
            _ => Err(unreadable("row")),
        }
    }

    fn next(&mut self) -> AppResult<&'a Json> {
        self.values.next().ok_or_else(|| unreadable("short row"))
    }

    fn text(&mut self) -> AppResult<String> {
        self.optional_text()?.ok_or_else(|| unreadable("text"))
    }

    fn optional_text(&mut self) -> AppResult<Option<String>> {
        match self.next()? {
            Json::Null => Ok(None),
            Json::String(text) => Ok(Some(text.clone())),
            _ => Err(unreadable("text")),
        }
    }

    fn id(&mut self) -> AppResult<Uuid> {
        match self.next()? {
            Json::String(text) => Uuid::try_parse(text).map_err(|_| unreadable("id")),
            _ => Err(unreadable("id")),
        }
    }

    fn time(&mut self) -> AppResult<DateTime<Utc>> {
        self.optional_time()?.ok_or_else(|| unreadable("time"))
    }

    fn optional_time(&mut self) -> AppResult<Option<DateTime<Utc>>> {
        self.optional_text()?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|time| time.with_timezone(&Utc))
                    .map_err(|_| unreadable("time"))
            })
            .transpose()
    }

    fn number(&mut self) -> AppResult<i64> {
        self.next()?.as_i64().ok_or_else(|| unreadable("number"))
    }

    fn small_number(&mut self) -> AppResult<i32> {
        i32::try_from(self.number()?).map_err(|_| unreadable("number"))
    }

    fn flag(&mut self) -> AppResult<bool> {
        self.next()?.as_bool().ok_or_else(|| unreadable("flag"))
    }
}

/// The rows of a JSON array of arrays.
fn rows(json: &str) -> AppResult<Vec<Json>> {
    serde_json::from_str(json).map_err(|_| unreadable("list"))
}

/// The comments made by [`comments_column`] for the article `article_id`.
fn comments_from_json(json: &str, article_id: Uuid) -> AppResult<Vec<comment::Model>> {
    rows(json)?
        .iter()
        .map(|row| {
            let mut fields = Fields::of(row)?;
            Ok(comment::Model {
                id: fields.id()?,
                article_id,
                author_name: fields.text()?,
                author_email: String::new(),
                body: fields.text()?,
                status: CommentStatus::Approved,
                created_at: fields.time()?,
                client_fingerprint: None,
            })
        })
        .collect()
}

/// The teasers made by [`kept_column`].
fn teasers_from_json(json: &str) -> AppResult<Vec<Teaser>> {
    rows(json)?
        .iter()
        .map(|row| {
            let mut fields = Fields::of(row)?;
            Ok(Teaser(article::Model {
                id: fields.id()?,
                slug: fields.text()?,
                title: fields.text()?,
                summary: fields.optional_text()?,
                body: String::new(),
                body_text: fields.text()?,
                cover_image_url: fields.optional_text()?,
                cover_image_alt: fields.optional_text()?,
                author: fields.text()?,
                source: fields.optional_text()?,
                status: ArticleStatus::try_from_value(&fields.text()?)
                    .map_err(|_| unreadable("status"))?,
                published_at: fields.optional_time()?,
                created_at: fields.time()?,
                updated_at: fields.time()?,
                category_id: fields.id()?,
                view_count: fields.number()?,
                comment_count: fields.small_number()?,
                version: fields.small_number()?,
                comments_closed: fields.flag()?,
            }))
        })
        .collect()
}

/// A column for a statement on `articles`, as SQL text: the row's tags, by
/// name, as a JSON array of `[id, slug, name, created_at]`. An article page
/// reads its article and tags in one statement with it, not two.
/// ([`from_aggregate`] reads it back.) SQLite keeps ids as 16-byte blobs,
/// which JSON cannot hold, so they travel as hex there.
pub fn aggregate_of_article_row(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            r#"(SELECT COALESCE(json_agg(json_build_array(t.id, t.slug, t.name, t.created_at) ORDER BY t.name, t.id), '[]')::text FROM article_tags l JOIN tags t ON t.id = l.tag_id WHERE l.article_id = "articles"."id")"#
        }
        _ => {
            r#"(SELECT json_group_array(json_array(hex(t.id), t.slug, t.name, t.created_at) ORDER BY t.name, t.id) FROM article_tags l JOIN tags t ON t.id = l.tag_id WHERE l.article_id = "articles"."id")"#
        }
    }
}

/// The tags in a JSON array made by [`aggregate_of_article_row`].
pub fn from_aggregate(json: &str) -> AppResult<Vec<tag::Model>> {
    let unreadable =
        |what: &str| AppError::Internal(format!("unreadable tag {what} from the database"));
    let rows: Vec<(String, String, String, String)> =
        serde_json::from_str(json).map_err(|_| unreadable("list"))?;
    rows.into_iter()
        .map(|(id, slug, name, created_at)| {
            Ok(tag::Model {
                id: Uuid::try_parse(&id).map_err(|_| unreadable("id"))?,
                slug,
                name,
                created_at: DateTime::parse_from_rfc3339(&created_at)
                    .map_err(|_| unreadable("time"))?
                    .with_timezone(&Utc),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_tags_read_back_from_either_database() {
        // PostgreSQL's `json_agg` of uuid and timestamptz, then SQLite's
        // hex blob and stored RFC 3339 text.
        let postgres = r#"[["01a22319-568a-76f8-a843-213d02f048e5", "ai", "人工智能", "2026-11-28T17:01:21.219094+00:00"]]"#;
        let sqlite = r#"[["01A22319568A76F8A843213D02F048E5","ai","人工智能","2026-11-28T17:01:21.219094+00:00"]]"#;
        let (from_postgres, from_sqlite) = (
            from_aggregate(postgres).expect("PostgreSQL's form reads"),
            from_aggregate(sqlite).expect("SQLite's form reads"),
        );
        assert_eq!(from_postgres, from_sqlite);
        assert_eq!(from_postgres[0].name, "人工智能");
        assert_eq!(
            from_postgres[0].created_at.timestamp_micros() % 1_000_000,
            219_094
        );
        assert!(from_aggregate("[]").expect("no tags").is_empty());
        assert!(from_aggregate(r#"[["not-an-id","a","b","2026-11-28T00:00:00Z"]]"#).is_err());
    }

    #[test]
    fn comments_read_back_from_either_database() {
        let article = Uuid::now_v7();
        let postgres = r#"[["01a22319-568a-76f8-a843-213d02f048e5", "读者", "好文章", "2026-11-28T17:01:21.219094+00:00"]]"#;
        let sqlite = r#"[["01A22319568A76F8A843213D02F048E5","读者","好文章","2026-11-28T17:01:21.219094+00:00"]]"#;
        let from_postgres = comments_from_json(postgres, article).expect("PostgreSQL's form");
        assert_eq!(
            from_postgres,
            comments_from_json(sqlite, article).expect("SQLite's form")
        );
        let comment = &from_postgres[0];
        assert_eq!(
            (comment.author_name.as_str(), comment.body.as_str()),
            ("读者", "好文章")
        );
        assert_eq!(comment.article_id, article);
        assert!(
            comment.author_email.is_empty(),
            "no email is read for the public"
        );
        assert!(comments_from_json("[]", article).expect("none").is_empty());
        assert!(comments_from_json(r#"[["x","a","b","2026-11-28T00:00:00Z"]]"#, article).is_err());
        assert!(
            comments_from_json(r#"[["01a22319-568a-76f8-a843-213d02f048e5"]]"#, article).is_err()
        );
    }

    #[test]
    fn teasers_read_back_from_either_database() {
        let postgres = r#"[["01a22319-568a-76f8-a843-213d02f048e5", "ai-chips", "AI 芯片", null, "正文", null, null, "编辑部", "新华社", "published", "2026-11-28T17:01:21.219094+00:00", "2026-11-28T17:01:21.219094+00:00", "2026-11-28T17:01:21.219094+00:00", "01a22319-568a-76f8-a843-213d02f048e6", 7, 2, 1, true]]"#;
        let sqlite = r#"[["01A22319568A76F8A843213D02F048E5","ai-chips","AI 芯片",null,"正文",null,null,"编辑部","新华社","published","2026-11-28T17:01:21.219094+00:00","2026-11-28T17:01:21.219094+00:00","2026-11-28T17:01:21.219094+00:00","01A22319568A76F8A843213D02F048E6",7,2,1,true]]"#;
        let from_postgres = teasers_from_json(postgres).expect("PostgreSQL's form");
        let from_sqlite = teasers_from_json(sqlite).expect("SQLite's form");
        assert_eq!(from_postgres[0].0, from_sqlite[0].0);
        let teaser = &from_postgres[0].0;
        assert_eq!(teaser.title, "AI 芯片");
        assert_eq!(teaser.summary, None);
        assert!(teaser.body.is_empty(), "a teaser carries no body");
        assert_eq!((teaser.view_count, teaser.comment_count), (7, 2));
        assert!(teaser.comments_closed);
        assert!(teasers_from_json(&postgres.replace("published", "gone")).is_err());
        assert!(teasers_from_json(&postgres.replace("true]", "1]")).is_err());
    }

    #[test]
    fn the_limits_are_written_into_the_text_so_one_plan_serves_every_page() {
        let also = AlsoRead {
            whole_text: false,
            comments: Some(20),
            related: Some(5),
        };
        let now = Utc::now();
        let statement = statement(
            DbBackend::Postgres,
            ArticleKey::Slug("a"),
            Audience::Public(now),
            also,
            now,
            TrustedSince::at(now, 0),
        );
        // Comments read one more than shown, to know whether more follow;
        // the kept ranking's first five, asked for at least five.
        for limit in [
            "LIMIT 21)",
            "s.pos <= 5 ",
            r#""kept"."asked" >= 5 "#,
            "LIMIT 1",
        ] {
            assert!(
                statement.sql.contains(limit),
                "{limit} in {}",
                statement.sql
            );
        }
        assert!(!statement.sql.contains("LIMIT $"), "{}", statement.sql);
        // The ranking itself is made in a statement of its own.
        assert!(!statement.sql.contains("LATERAL"), "{}", statement.sql);
    }

    #[test]
    fn the_statement_binds_exactly_the_values_it_uses() {
        let now = Utc::now();
        let count = |sql: &str| (1..20).filter(|n| sql.contains(&format!("${n}"))).count();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let everything = AlsoRead {
                whole_text: true,
                comments: Some(20),
                related: Some(5),
            };
            for (audience, also) in [
                (Audience::Public(now), everything),
                (Audience::Public(now), AlsoRead::default()),
                (Audience::Editors, everything),
                (Audience::Editors, AlsoRead::default()),
            ] {
                let statement = statement(
                    backend,
                    ArticleKey::Slug("a"),
                    audience,
                    also,
                    now,
                    TrustedSince::at(now, 0),
                );
                let values = statement.values.expect("the key is bound").0;
                assert_eq!(count(&statement.sql), values.len(), "{}", statement.sql);
                assert_eq!(
                    statement.sql.contains(r#"AS "comments""#),
                    also.comments.is_some()
                );
                assert_eq!(
                    statement.sql.contains(r#"AS "related""#),
                    also.related.is_some() && backend == DbBackend::Postgres,
                    "SQLite ranks related teasers on their own"
                );
                // Both look for a kept ranking, PostgreSQL to use it in place.
                assert_eq!(
                    statement.sql.contains(r#"LEFT JOIN "related_kept""#),
                    also.related.is_some()
                );
                assert_eq!(
                    statement
                        .sql
                        .contains(r#"CASE WHEN "kept"."ids" IS NOT NULL"#),
                    also.related.is_some() && backend == DbBackend::Postgres
                );
            }
            // An editor's page without teasers needs no clock at all.
            let preview = statement(
                backend,
                ArticleKey::Id(Uuid::now_v7()),
                Audience::Editors,
                AlsoRead::default(),
                now,
                TrustedSince::at(now, 0),
            );
            assert_eq!(preview.values.expect("the key is bound").0.len(), 1);
        }
    }

    #[test]
    fn teaser_fields_are_the_article_columns_but_the_body() {
        use sea_orm::{IdenStatic, Iterable};
        let columns: Vec<&str> = article::Column::iter()
            .map(|column| column.as_str())
            .filter(|name| *name != "body")
            .collect();
        assert_eq!(columns, TEASER_FIELDS);
    }
}
