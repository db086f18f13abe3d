//! Related rankings kept between cold reads. Ranking an article's related
//! teasers reads the newest public articles of each of its tags and groups
//! them: most of a cold article page's database time. Its answer changes
//! only when some tag's articles change, and every such write names the
//! tag in the change feed, which marks the tag with the change's number
//! (`related_ticks`, see [`crate::content::writes::change::record`]). So a
//! ranking is kept with the feed's latest number as it read it, and trusted
//! while none of the article's tags has a later mark.
//!
//! Why that is exact: the feed's numbers become visible in order (its
//! writers take turns to commit), and a mark is written with its change.
//! A ranking that read the feed at `n` saw every change up to `n` and no
//! later one; a later change of one of its tags marks the tag above `n`.
//! A writer behind the server's back (SQL by hand) names nothing: its
//! change shows once the kept ranking is [`KEPT_FOR_MILLIS`] old, or at
//! once in a process told of it (whose read cache is cleared, see
//! [`crate::content::cache::ReadCache::invalidate`]).

use chrono::{DateTime, Utc};
use entity::article;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::{Teaser, teasers_by_id, visible};
use crate::error::AppResult;

/// How long a kept ranking is trusted at most, in milliseconds, whatever
/// the marks say (an hour): the bound on how long a write that bypassed the
/// change feed stays unseen in related teasers.
pub const KEPT_FOR_MILLIS: i64 = 3_600_000;

/// The oldest kept ranking a read trusts, as its `kept_at` (milliseconds
/// since the epoch): [`KEPT_FOR_MILLIS`] ago, or later when this process
/// was told of a write behind its back since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedSince(pub i64);

impl TrustedSince {
    /// Trusted at `now`, in a process last told of an unnamed write at
    /// `told_at` (milliseconds since the epoch; rankings kept in that same
    /// millisecond are not trusted).
    pub fn at(now: DateTime<Utc>, told_at: i64) -> Self {
        Self((now.timestamp_millis() - KEPT_FOR_MILLIS).max(told_at.saturating_add(1)))
    }
}

/// The change feed's latest number, as a subquery: read in the same
/// snapshot as the ranking beside it.
pub(crate) const FEED_SEQ: &str = r#"COALESCE((SELECT MAX("seq") FROM "changes"), 0)"#;

/// A `LEFT JOIN` of the `articles` row to its kept ranking (as `"kept"`)
/// when that can be trusted for `asked` teasers: it was asked for at least
/// as many, was kept at or after `oldest` (see [`TrustedSince`]), and read
/// the feed at or after every mark of the article's tags.
pub(crate) fn trusted_join(asked: &str, oldest: &str) -> String {
    format!(
        r#" LEFT JOIN "related_kept" AS "kept" ON "kept"."article_id" = "articles"."id" AND "kept"."asked" >= {asked} AND "kept"."kept_at" >= {oldest} AND "kept"."read_at_seq" >= COALESCE((SELECT MAX("ticks"."tick") FROM "article_tags" AS "mine" INNER JOIN "related_ticks" AS "ticks" ON "ticks"."tag_id" = "mine"."tag_id" WHERE "mine"."article_id" = "articles"."id"), 0)"#
    )
}

/// What a read learnt of an article's kept ranking: the kept ids when they
/// can be trusted, and the feed's number the read saw (for keeping a new
/// ranking when they cannot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptLookup {
    /// The kept ids as stored, best first, when trusted.
    pub ids: Option<String>,
    /// The change feed's latest number in the read's snapshot.
    pub feed_seq: i64,
}

/// Reads `article_id`'s kept ranking for `asked` teasers, if trusted.
async fn look_up(
    db: &DatabaseConnection,
    article_id: Uuid,
    asked: u64,
    trusted: TrustedSince,
) -> AppResult<KeptLookup> {
    let mut values = crate::content::sql::Values::default();
    let id = values.bind(article_id);
    let oldest = values.bind(trusted.0);
    let sql = format!(
        r#"SELECT "kept"."ids" AS "kept_ids", {FEED_SEQ} AS "feed_seq" FROM "articles"{join} WHERE "articles"."id" = {id}"#,
        join = trusted_join(&crate::content::sql::plan_constant(asked), &oldest),
    );
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values.0,
        ))
        .await?;
    Ok(match row {
        Some(row) => KeptLookup {
            ids: row.try_get("", "kept_ids")?,
            feed_seq: row.try_get("", "feed_seq")?,
        },
        None => KeptLookup::default(),
    })
}

/// The best `limit` teasers of `article` by shared tags (see
/// [`super::related`]): from its kept ranking when that can be trusted,
/// else ranked afresh and kept.
pub async fn sharing_tags(
    db: &DatabaseConnection,
    article: &article::Model,
    tag_ids: &[Uuid],
    limit: u64,
    now: DateTime<Utc>,
    trusted: TrustedSince,
) -> AppResult<Vec<Teaser>> {
    if tag_ids.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let lookup = look_up(db, article.id, limit, trusted).await?;
    kept_or_ranked(db, article, tag_ids, limit, now, lookup).await
}

/// [`sharing_tags`] when the lookup was made already (read along with the
/// article's page).
pub async fn kept_or_ranked(
    db: &DatabaseConnection,
    article: &article::Model,
    tag_ids: &[Uuid],
    limit: u64,
    now: DateTime<Utc>,
    lookup: KeptLookup,
) -> AppResult<Vec<Teaser>> {
    if tag_ids.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    if let Some(mut ids) = lookup.ids.as_deref().and_then(parse_ids) {
        ids.truncate(limit as usize);
        return in_order(db, &ids, now).await;
    }
    let backend = db.get_database_backend();
    let ranked: Vec<Teaser> =
        match crate::content::sql::related::sharing_tags(backend, article, tag_ids, limit, now) {
            Some(statement) => {
                use sea_orm::FromQueryResult;
                db.query_all_raw(statement)
                    .await?
                    .iter()
                    .map(|row| article::Model::from_query_result(row, "").map(Teaser))
                    .collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
    keep(db, article.id, lookup.feed_seq, limit, &ranked, now).await;
    Ok(ranked)
}

/// The public teasers among `ids`, in their order.
async fn in_order(
    db: &DatabaseConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<Vec<Teaser>> {
    let mut found = teasers_by_id(db, ids.to_vec(), visible(now)).await?;
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Keeps `ranked`, the ranking of `article_id` for `asked` teasers that
/// read the feed at `feed_seq`, unless a ranking that read a later number
/// is kept already. Best effort: a read never fails for it (a full disk,
/// say); the next read ranks again.
pub async fn keep(
    db: &DatabaseConnection,
    article_id: Uuid,
    feed_seq: i64,
    asked: u64,
    ranked: &[Teaser],
    now: DateTime<Utc>,
) {
    let ids = ids_text(ranked.iter().map(|teaser| teaser.0.id));
    let asked = i32::try_from(asked).unwrap_or(i32::MAX);
    let statement = sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        r#"INSERT INTO "related_kept" ("article_id", "read_at_seq", "kept_at", "asked", "ids") VALUES ($1, $2, $3, $4, $5) ON CONFLICT ("article_id") DO UPDATE SET "read_at_seq" = excluded."read_at_seq", "kept_at" = excluded."kept_at", "asked" = excluded."asked", "ids" = excluded."ids" WHERE "related_kept"."read_at_seq" <= excluded."read_at_seq""#,
        [
            article_id.into(),
            feed_seq.into(),
            now.timestamp_millis().into(),
            asked.into(),
            ids.into(),
        ],
    );
    match crate::database::execute_unless_busy(db, statement).await {
        Ok(true) => {}
        Ok(false) => tracing::debug!("a related ranking was not kept: writes are waiting"),
        Err(error) => {
            tracing::debug!(error = %error.log_message(), "a related ranking was not kept")
        }
    }
}

/// Ids as kept: hyphenated, separated by commas.
fn ids_text(ids: impl Iterator<Item = Uuid>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// The ids of a kept ranking; `None` when the text is not one (then the
/// article is ranked again).
fn parse_ids(text: &str) -> Option<Vec<Uuid>> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| Uuid::try_parse(part).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_ids_read_back_as_written_and_garbage_is_not_trusted() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let text = ids_text(ids.iter().copied());
        assert_eq!(parse_ids(&text), Some(ids));
        assert_eq!(parse_ids(""), Some(Vec::new()), "a ranking of nothing");
        assert_eq!(parse_ids("not-an-id"), None);
    }

    #[test]
    fn a_kept_ranking_is_trusted_only_when_young_and_after_its_tags_marks() {
        let now = Utc::now();
        let hour_ago = now.timestamp_millis() - KEPT_FOR_MILLIS;
        assert_eq!(TrustedSince::at(now, 0), TrustedSince(hour_ago));
        let told = now.timestamp_millis() - 5;
        assert_eq!(
            TrustedSince::at(now, told),
            TrustedSince(told + 1),
            "told of a write: nothing kept before it"
        );
        let join = trusted_join("5", "$2");
        assert!(join.contains(r#""kept"."asked" >= 5"#));
        assert!(join.contains(r#""kept"."kept_at" >= $2"#));
        assert!(join.contains(r#""mine"."article_id" = "articles"."id""#));
        assert!(join.contains(r#""kept"."read_at_seq" >= COALESCE((SELECT MAX("ticks"."tick")"#));
    }
}
