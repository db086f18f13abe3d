//! An article row as pages show it. The read cache hands the same loaded
//! article to every request until it is edited, so what pages derive from
//! the row — the teaser text cut from the body — is worked out once per
//! load, not once per request, where cutting it was a large share of a warm
//! HomePage's CPU (BENCHMARKS.md).
//! A row read for a teaser in a list lacks its body (see
//! [`crate::content::articles::Teaser`]); it says so, so that the body is fetched when
//! a client asks for it. An article read for its own page carries its tags,
//! read in the same statement.

use std::{
    ops::Deref,
    sync::{Arc, OnceLock},
};

use entity::{article, tag};

/// The longest summary `summary_of_length` cuts: what a teaser row's text
/// (400 characters, 64 of them to look ahead for a clean cut) always holds.
pub const MAX_SUMMARY_LENGTH: usize = 300;

use crate::content::{
    articles::{TEASER_TEXT_CHARS, Teaser},
    text::body::{EXCERPT_LENGTH, excerpt_of_start},
};

/// An article row with its derived teaser text, computed on first use.
pub struct LoadedArticle {
    row: article::Model,
    excerpt: OnceLock<String>,
    /// Whether the row holds the body (a teaser's does not).
    has_body: bool,
    /// Whether the row holds all of the body's text, not just its start.
    has_whole_text: bool,
    /// The article's tags by name, when they were read with it.
    tags: Option<Arc<Vec<tag::Model>>>,
}

impl LoadedArticle {
    /// Wraps a whole row just read from the database.
    pub fn new(row: article::Model) -> Self {
        Self {
            row,
            excerpt: OnceLock::new(),
            has_body: true,
            has_whole_text: true,
            tags: None,
        }
    }

    /// Wraps a row read for the article's own page, together with its
    /// tags: with its body, and with its whole text when `has_whole_text`,
    /// else the first [`TEASER_TEXT_CHARS`] characters of it.
    pub fn for_page(row: article::Model, tags: Vec<tag::Model>, has_whole_text: bool) -> Self {
        Self {
            tags: Some(Arc::new(tags)),
            has_whole_text,
            ..Self::new(row)
        }
    }

    /// The article's tags by name, when they were read with it.
    pub fn tags(&self) -> Option<&Arc<Vec<tag::Model>>> {
        self.tags.as_ref()
    }

    /// Whether the row holds the body; a teaser's does not.
    pub fn has_body(&self) -> bool {
        self.has_body
    }

    /// Whether the row holds all of the body's text; a teaser's, and an
    /// article page's that did not ask for it, hold only its start.
    pub fn has_whole_text(&self) -> bool {
        self.has_whole_text
    }

    /// The editor's summary, or else an excerpt of the body's text, cut once.
    pub fn summary(&self) -> &str {
        match &self.row.summary {
            Some(summary) if !summary.trim().is_empty() => summary,
            _ => self.excerpt.get_or_init(|| {
                // A teaser's text was cut by the database: when it is
                // exactly that long, more may follow.
                excerpt_of_start(&self.row.body_text, EXCERPT_LENGTH, self.text_goes_on())
            }),
        }
    }

    /// Whether the plain text at hand is only the start of the body: a
    /// teaser's text was cut by the database, and when it is exactly that
    /// long, more may follow.
    fn text_goes_on(&self) -> bool {
        !self.has_whole_text && self.row.body_text.chars().count() == TEASER_TEXT_CHARS as usize
    }

    /// The summary cut to at most `length` characters (the closing `…`
    /// included), for a teaser that has less room than the default: the
    /// editor's summary when there is one, else the body's start. Lengths
    /// up to [`MAX_SUMMARY_LENGTH`] are served from a teaser's row alone.
    pub fn summary_of_length(&self, length: usize) -> std::borrow::Cow<'_, str> {
        match &self.row.summary {
            Some(summary) if !summary.trim().is_empty() => {
                if summary.chars().count() <= length {
                    std::borrow::Cow::Borrowed(summary)
                } else {
                    std::borrow::Cow::Owned(crate::content::text::body::excerpt(summary, length))
                }
            }
            _ if length == EXCERPT_LENGTH => std::borrow::Cow::Borrowed(self.summary()),
            _ => std::borrow::Cow::Owned(excerpt_of_start(
                &self.row.body_text,
                length,
                self.text_goes_on(),
            )),
        }
    }
}

impl From<Teaser> for LoadedArticle {
    fn from(teaser: Teaser) -> Self {
        Self {
            row: teaser.0,
            excerpt: OnceLock::new(),
            has_body: false,
            has_whole_text: false,
            tags: None,
        }
    }
}

impl Deref for LoadedArticle {
    type Target = article::Model;

    fn deref(&self) -> &article::Model {
        &self.row
    }
}

impl From<article::Model> for LoadedArticle {
    fn from(row: article::Model) -> Self {
        Self::new(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::text::body::excerpt;

    fn row(summary: Option<&str>, body_text: &str) -> article::Model {
        article::Model {
            summary: summary.map(str::to_owned),
            body_text: body_text.into(),
            ..crate::content::sample_article()
        }
    }

    #[test]
    fn the_summary_is_the_editors_when_given_else_an_excerpt() {
        let text = "长".repeat(500);
        assert_eq!(
            LoadedArticle::new(row(Some("编辑摘要"), &text)).summary(),
            "编辑摘要"
        );
        let cut = LoadedArticle::new(row(Some("  "), &text));
        assert_eq!(cut.summary(), excerpt(&text, EXCERPT_LENGTH));
        assert_eq!(cut.summary().chars().count(), EXCERPT_LENGTH);
        // The second read is the same text, not a second cut.
        assert!(std::ptr::eq(cut.summary(), cut.summary()));
    }

    #[test]
    fn a_teaser_knows_it_lacks_its_body_and_summarises_like_the_whole() {
        let text = "今日要闻 and the English news in between. ".repeat(200);
        let whole = LoadedArticle::new(row(None, &text));
        let mut cut_row = row(None, &text);
        cut_row.body_text = text.chars().take(TEASER_TEXT_CHARS as usize).collect();
        let teaser = LoadedArticle::from(Teaser(cut_row));
        assert!(whole.has_body() && whole.has_whole_text());
        assert!(!teaser.has_body() && !teaser.has_whole_text());
        assert_eq!(teaser.summary(), whole.summary());
        assert!(teaser.summary().ends_with('…'));
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    #[test]
    fn a_summary_of_a_length_never_runs_over_it() {
        let mut row = crate::content::sample_article();
        row.body_text = "长江大桥今日通车。".repeat(40);
        let article = LoadedArticle::new(row.clone());
        let short = article.summary_of_length(20);
        assert_eq!(short.chars().count(), 20);
        assert!(short.ends_with('…'));
        assert_eq!(article.summary_of_length(EXCERPT_LENGTH), article.summary());

        row.summary = Some("编辑写的摘要，比二十个字还要长一些，需要截断。".to_owned());
        let edited = LoadedArticle::new(row);
        assert!(edited.summary_of_length(10).chars().count() <= 10);
        assert_eq!(edited.summary_of_length(100), edited.summary());
    }
}
