//! The domain: plain async functions over the database that the GraphQL layer
//! calls. Nothing here knows about GraphQL or HTTP. One folder per noun:
//!
//! - [`articles`]: what readers may see, lists in every order, related
//!   teasers, an article's own page ([`articles::page`]), the rows a page
//!   keeps ([`articles::loaded`]) and editing ([`articles::editor`]).
//! - [`sections`], [`tags`]: the section tree and labels, each with its
//!   editor.
//! - [`comments`]: readers' comments, validated and guarded against abuse on
//!   the way in, and moderation.
//! - [`views`]: counting page views exactly under concurrency, across
//!   processes and across shutdowns.
//! - [`tokens`]: API tokens and what each role may do.
//! - [`transfer`]: export, import and the bilingual demo site.
//! - [`writes`]: the one shape of every write: its audit entries and the
//!   change feed of what it changed, which every server process follows.
//! - [`reads`]: what readers' pages read, as use cases over the cache.
//! - [`search`]: full-text search in Chinese and English, and its index.
//! - [`cache`]: the read cache, and what each entry depends on.
//! - [`text`], [`cursor`]: pure logic for HTML, excerpts, slugs and cursors.
//! - [`shared_settings`]: values every process of a fleet shares.
//! - [`sql`]: every statement written by hand, beside the decoder of its
//!   rows.

pub mod articles;
pub mod cache;
pub mod comments;
pub mod cursor;
pub mod reads;
pub mod search;
pub mod sections;
pub mod shared_settings;
pub mod sql;
pub mod tags;
pub mod text;
pub mod tokens;
pub mod transfer;
pub mod views;
pub mod webhooks;
pub mod writes;

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::{AppError, AppResult};

/// The most items one page of any list may hold.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The current time cut to microseconds, the precision both databases keep,
/// so that a time read back equals the time written (cursors rely on it).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// One page of a list, plus whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Whether at least one more item follows the last.
    pub has_next_page: bool,
    /// Whether at least one item precedes the first.
    pub has_previous_page: bool,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }
}

impl<T> Page<T> {
    /// The same page with each item (or what it becomes, such as a
    /// [`articles::loaded::LoadedArticle`]) behind an `Arc`, to be shared
    /// between the read cache and responses.
    pub fn shared<U: From<T>>(self) -> Page<std::sync::Arc<U>> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|item| std::sync::Arc::new(U::from(item)))
                .collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }

    /// Builds a page from up to `size + 1` fetched rows: the extra row only
    /// tells that a next page exists.
    pub fn from_overfetch(rows: Vec<T>, size: u64) -> Self {
        Self::for_window(rows, &cursor::Window::first(size))
    }

    /// Builds the page `window` asks for from up to `size + 1` rows read in
    /// the window's direction (backward windows read the list in reverse).
    /// The extra row tells that more lie beyond; the cursor, that the item
    /// it points at lies on the other side.
    pub fn for_window(mut rows: Vec<T>, window: &cursor::Window) -> Self {
        let more = rows.len() as u64 > window.size;
        rows.truncate(window.size as usize);
        let before_cursor = window.cursor.is_some();
        if window.backward {
            rows.reverse();
            Self {
                items: rows,
                has_next_page: before_cursor,
                has_previous_page: more,
            }
        } else {
            Self {
                items: rows,
                has_next_page: more,
                has_previous_page: before_cursor,
            }
        }
    }
}

/// The sizes `keys` ask for, smallest first, each with the keys that ask
/// for it: batch reads whose statement takes one page size run once per
/// size (in practice once: a page asks every item for the same size).
pub fn by_size<K>(keys: &[K], size: impl Fn(&K) -> u64) -> Vec<(u64, Vec<&K>)> {
    let mut sizes: Vec<u64> = keys.iter().map(&size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
        .into_iter()
        .map(|wanted| {
            let group = keys.iter().filter(|key| size(key) == wanted).collect();
            (wanted, group)
        })
        .collect()
}

/// Checks a client's `first` argument: 0 to [`MAX_PAGE_SIZE`]; more is an
/// error rather than a silent cut.
pub fn page_size(first: i32) -> AppResult<u64> {
    page_size_of(first, "first")
}

/// Reads a page size given in argument `field` (`first` or `last`).
pub fn page_size_of(size: i32, field: &'static str) -> AppResult<u64> {
    if !(0..=MAX_PAGE_SIZE).contains(&size) {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` must be between 0 and {MAX_PAGE_SIZE}, got {size}"),
        ));
    }
    Ok(size as u64)
}

/// A time from the microseconds stored in a cursor.
pub fn time_from_micros(micros: i64) -> AppResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| AppError::bad_input("after", "the cursor is not valid for this list"))
}

/// An empty, migrated in-memory SQLite database for unit tests.
#[cfg(test)]
pub(crate) async fn test_database() -> sea_orm::DatabaseConnection {
    let db = sea_orm::Database::connect("sqlite::memory:")
        .await
        .expect("an in-memory SQLite");
    crate::database::migrate(&db).await.expect("migrations");
    db
}

/// A top-level section stored in `db`, for unit tests' articles to be
/// filed in; its id.
#[cfg(test)]
pub(crate) async fn insert_sample_section(db: &sea_orm::DatabaseConnection) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let now = Utc::now();
    sea_orm::ActiveModelTrait::insert(
        entity::category::ActiveModel {
            id: sea_orm::Set(id),
            slug: sea_orm::Set("s".to_owned()),
            name: sea_orm::Set("s".to_owned()),
            description: sea_orm::Set(String::new()),
            parent_id: sea_orm::Set(None),
            position: sea_orm::Set(0),
            created_at: sea_orm::Set(now),
            updated_at: sea_orm::Set(now),
        },
        db,
    )
    .await
    .expect("a section");
    id
}

/// A public article row for unit tests, to adjust with `..sample_article()`.
#[cfg(test)]
pub(crate) fn sample_article() -> entity::article::Model {
    let now = Utc::now();
    entity::article::Model {
        id: uuid::Uuid::now_v7(),
        slug: "s".into(),
        title: "t".into(),
        summary: None,
        body: String::new(),
        body_text: String::new(),
        cover_image_url: None,
        cover_image_alt: None,
        author: "a".into(),
        source: None,
        status: entity::article::ArticleStatus::Published,
        published_at: Some(now),
        created_at: now,
        updated_at: now,
        category_id: uuid::Uuid::now_v7(),
        view_count: 0,
        comment_count: 0,
        version: 1,
        comments_closed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_over_the_limit_or_negative_are_refused() {
        assert_eq!(page_size(0).ok(), Some(0));
        assert_eq!(page_size(100).ok(), Some(100));
        assert!(matches!(
            page_size(101),
            Err(AppError::BadInput { ref field, .. }) if field == "first"
        ));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn an_overfetched_row_means_a_next_page() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_next_page);
        let last = Page::from_overfetch(vec![1, 2], 2);
        assert!(!last.has_next_page);
    }
}
