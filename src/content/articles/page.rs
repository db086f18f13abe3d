//! An article's own page read in one statement: the article, its tags, the
//! section tree's version and, when the page shows them, the first page of
//! its approved comments and its related teasers (the statement itself is
//! [`crate::content::sql::article_page`]).
//!
//! Every statement costs more than its own work: the driver sends it, waits,
//! and hands the connection back with one more round trip, and the database
//! wakes up for each. A cold article page ran three statements (article,
//! related, comments); as one it runs one. Comments and teasers travel as
//! JSON arrays, since one row cannot hold lists otherwise. Related teasers
//! come from the article's kept ranking when it can be trusted
//! ([`crate::content::articles::kept_related`]), which the statement looks
//! up and, on PostgreSQL, reads along; when none is kept, or on SQLite,
//! they are read by id, or ranked, in a second statement (see
//! [`AlsoRead::on`]). The lists that are not read here still come from
//! [`crate::content::articles::related`] and
//! [`crate::content::comments::list_approved`], which rank and order them the same.

use chrono::{DateTime, Utc};
use entity::{article, comment};
use sea_orm::{DatabaseConnection, DbBackend};
use uuid::Uuid;

use std::sync::Arc;

use crate::content::{
    Page,
    articles::{
        Audience, Teaser,
        kept_related::{self, KeptLookup},
        loaded::LoadedArticle,
        top_up_related,
    },
    cache::{Cacheable, Cached, Lookup},
    reads::Reads,
    sql::article_page,
};
use crate::error::{AppError, AppResult};

/// Which article a page shows.
#[derive(Debug, Clone, Copy)]
pub enum ArticleKey<'a> {
    /// By id.
    Id(Uuid),
    /// By its current slug.
    Slug(&'a str),
}

/// What the page shows besides the article and its tags, so that it is
/// read in the same statement: the sizes of the first comments page and of
/// the related teasers, each when the page asks for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlsoRead {
    /// The body's whole plain text; else only its first
    /// [`crate::content::articles::TEASER_TEXT_CHARS`] characters, enough for the summary. (A page
    /// rarely shows both the HTML body and the plain text, and the text is
    /// as long as the body: reading it whole costs PostgreSQL throughput on
    /// every cold page.)
    pub whole_text: bool,
    /// The first page of approved comments, this many.
    pub comments: Option<u64>,
    /// This many related teasers (before any top-up, see
    /// [`crate::content::articles::related`]).
    pub related: Option<u64>,
}

/// An article read for its own page.
pub struct ArticleRead {
    /// The row; its plain text only starts unless [`AlsoRead::whole_text`].
    pub row: article::Model,
    /// Its tags, by name.
    pub tags: Vec<entity::tag::Model>,
    /// The section tree's version in the same snapshot (see
    /// [`crate::content::sections::SectionsMemo`]).
    pub sections_version: Option<i64>,
    /// The first page of approved comments, when asked for. Rows read for
    /// the public carry no email and no fingerprint: they are empty here.
    pub comments: Option<Page<comment::Model>>,
    /// The article's kept related teasers, when asked for and a trusted
    /// ranking was kept (PostgreSQL): at most as many as asked, perhaps
    /// fewer (see [`AlsoRead::related`]). Ranked by shared tags only:
    /// topped up by the caller, who ranks (and keeps) when this is `None`.
    pub related: Option<Vec<Teaser>>,
    /// When related teasers were asked for: the article's kept ranking, if
    /// it could be trusted, and the feed's number the statement read.
    pub kept_related: Option<KeptLookup>,
}

/// The article at `key` that `audience` may see, with what `also` asks
/// for. A slug the article used to have still finds it (its `slug` then
/// tells the current one, so a frontend can redirect); that takes two
/// statements more. Kept related rankings are trusted as `trusted` says.
pub async fn find(
    db: &DatabaseConnection,
    key: ArticleKey<'_>,
    audience: Audience,
    also: AlsoRead,
    now: DateTime<Utc>,
    trusted: kept_related::TrustedSince,
) -> AppResult<Option<ArticleRead>> {
    let found = article_page::read(db, key, audience, also, now, trusted).await?;
    if found.is_some() {
        return Ok(found);
    }
    let ArticleKey::Slug(slug) = key else {
        return Ok(None);
    };
    match crate::content::articles::retired_slug_owner(db, slug).await? {
        Some(id) => article_page::read(db, ArticleKey::Id(id), audience, also, now, trusted).await,
        None => Ok(None),
    }
}

impl AlsoRead {
    /// What of this can be read along on `backend`: on PostgreSQL a kept
    /// ranking's teasers. On SQLite the teasers are read in a statement of
    /// their own: the ranking had no good form inside the page's statement
    /// there (no LATERAL join), and reading a kept ranking along has not
    /// been tried.
    pub(crate) fn on(self, backend: DbBackend) -> Self {
        match backend {
            DbBackend::Postgres => self,
            _ => Self {
                related: None,
                ..self
            },
        }
    }
}

/// What an article page's statement read besides the article, for the
/// request's other fields: its comments page and related teasers (each
/// under the lookup its field asks by) and the section tree's version.
/// It serves that request only; the read cache keeps its own copy.
#[derive(Default)]
pub struct ReadAlong {
    /// The section tree's version in the statement's snapshot.
    pub sections_version: Option<i64>,
    /// The values read along, by the lookup their field makes.
    pub values: Vec<(Lookup, Cached)>,
}

impl Reads<'_> {
    /// The article page `lookup` names (by id or slug), as `audience` sees it,
    /// with what `also` says the page shows read in the same statement. Readers
    /// get it from the read cache, loaded once for all who ask at once; editors
    /// get it fresh (previews of drafts are not what readers see). A public
    /// article teaches the view counter its stored count. What the statement
    /// read along is handed to `hand_off` for the request's other fields, and
    /// kept in the read cache beside the article.
    pub async fn article_page(
        &self,
        lookup: Lookup,
        audience: Audience,
        also: AlsoRead,
        hand_off: &(dyn Fn(ReadAlong) + Sync),
    ) -> AppResult<Option<Arc<LoadedArticle>>> {
        let now = self.now;
        let load = |lookup: Lookup| async move {
            let key = match &lookup {
                Lookup::ArticleById(id) => ArticleKey::Id(*id),
                Lookup::ArticleBySlug(slug) => ArticleKey::Slug(slug),
                _ => return Ok((None, Vec::new())),
            };
            // Only public articles' counts may be learnt (see ViewCounter).
            let steady = match audience {
                Audience::Public(_) => self.views.steady(),
                Audience::Editors => None,
            };
            let trusted = self.cache.kept_rankings_trusted(now);
            let Some(found) = find(self.db, key, audience, also, now, trusted).await? else {
                return Ok::<_, AppError>((None, Vec::new()));
            };
            self.views
                .learn(steady, [(found.row.id, found.row.view_count)]);
            let ArticleRead {
                row,
                tags,
                sections_version,
                comments,
                related,
                kept_related,
            } = found;
            let related = Related {
                tag_ids: tags.iter().map(|tag| tag.id).collect(),
                read: related,
                kept: kept_related.unwrap_or_default(),
            };
            let along = along_values(self.db, &row, comments, related, also, now).await?;
            hand_off(ReadAlong {
                sections_version,
                values: along.clone(),
            });
            let article = Arc::new(LoadedArticle::for_page(row, tags, also.whole_text));
            Ok((Some(article), along))
        };
        match audience {
            Audience::Editors => Ok(load(lookup).await?.0),
            Audience::Public(now) => {
                self.cache
                    .get_or_load_along(self.db, now, lookup.clone(), load(lookup))
                    .await
            }
        }
    }
}

/// What the page's statement told of the article's related teasers.
struct Related {
    /// The article's tags.
    tag_ids: Vec<Uuid>,
    /// The kept ranking's teasers it read (PostgreSQL, when one was kept).
    read: Option<Vec<Teaser>>,
    /// The article's kept ranking, if trusted, and the feed's number.
    kept: KeptLookup,
}

/// The comments page and related teasers read along with `row`, under the
/// lookups their fields make, for those `also` asked for. Related teasers
/// the statement did not read (SQLite, or no trusted ranking kept) come
/// from the kept ranking or are ranked and kept here. They are topped up
/// when too few share a tag.
async fn along_values(
    db: &DatabaseConnection,
    row: &article::Model,
    comments: Option<Page<comment::Model>>,
    related: Related,
    also: AlsoRead,
    now: DateTime<Utc>,
) -> AppResult<Vec<(Lookup, Cached)>> {
    let mut along = Vec::new();
    let article = row.id;
    if let (Some(size), Some(page)) = (also.comments, comments) {
        let lookup = Lookup::Comments {
            article,
            window: crate::content::cursor::Window::first(size),
        };
        along.push((lookup, Arc::new(page).wrap()));
    }
    if let Some(size) = also.related {
        let Related {
            tag_ids,
            read,
            kept,
        } = related;
        let ranked = match read {
            Some(kept_teasers) => kept_teasers,
            None => kept_related::kept_or_ranked(db, row, &tag_ids, size, now, kept).await?,
        };
        let teasers = top_up_related(db, row, ranked, size, now).await?;
        let related: Arc<Vec<Arc<LoadedArticle>>> = Arc::new(
            teasers
                .into_iter()
                .map(|teaser| Arc::new(LoadedArticle::from(teaser)))
                .collect(),
        );
        along.push((Lookup::Related { article, size }, related.wrap()));
    }
    Ok(along)
}
