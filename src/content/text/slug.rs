//! Slugs: the URL-safe names articles, sections and tags are routed by.
//! Derived from a title when an editor gives none — ASCII kebab-case for
//! Latin text, pinyin for Chinese — and checked when given.

use crate::content::text::reading;
use crate::error::{AppError, AppResult};

/// The longest slug, in bytes (all ASCII).
pub const MAX_SLUG_LEN: usize = 80;

/// A slug derived from `title`: Chinese becomes its pinyin, read by the word
/// (重庆银行行长 is `chong-qing-yin-hang-hang-zhang`), everything else is
/// transliterated to ASCII, and words are joined by hyphens. Falls back to
/// `fallback` when nothing usable remains.
pub fn from_title(title: &str, fallback: &str) -> String {
    // Titles with no CJK character (they start at U+2E80) skip the segmenter.
    let spelled = if title.chars().any(|c| c >= '\u{2e80}') {
        reading::spell(title)
    } else {
        title.to_owned()
    };
    let slug = truncate_at_word(&slug::slugify(spelled));
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug
    }
}

/// Cuts a slug to [`MAX_SLUG_LEN`] at a hyphen where one is near.
fn truncate_at_word(slug: &str) -> String {
    if slug.len() <= MAX_SLUG_LEN {
        return slug.to_owned();
    }
    let head = &slug[..MAX_SLUG_LEN];
    let cut = head.rfind('-').filter(|at| *at > MAX_SLUG_LEN / 2);
    head[..cut.unwrap_or(MAX_SLUG_LEN)]
        .trim_end_matches('-')
        .to_owned()
}

/// Checks a slug an editor gave: lowercase ASCII letters, digits and single
/// hyphens, 1 to [`MAX_SLUG_LEN`] long.
pub fn parse(field: &'static str, slug: &str) -> AppResult<String> {
    let slug = slug.trim();
    let valid = !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--");
    if valid {
        Ok(slug.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "A slug is 1 to {MAX_SLUG_LEN} lowercase letters, digits and single hyphens, like `ai-weekly-2026`"
            ),
        ))
    }
}

/// `base`, or `base-2`, `base-3`, … : the first that `taken` says is free.
pub fn first_free(base: &str, mut taken: impl FnMut(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let room = MAX_SLUG_LEN - suffix.len();
            let head = base.get(..room.min(base.len())).unwrap_or(base);
            format!("{}{suffix}", head.trim_end_matches('-'))
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_titles_become_kebab_case() {
        assert_eq!(
            from_title("Hello, World: Rust 2026!", "x"),
            "hello-world-rust-2026"
        );
        assert_eq!(from_title("Café déjà vu", "x"), "cafe-deja-vu");
    }

    #[test]
    fn chinese_titles_become_pinyin() {
        assert_eq!(
            from_title("深圳开源实验室", "x"),
            "shen-zhen-kai-yuan-shi-yan-shi"
        );
        assert_eq!(from_title("AI 芯片 2026", "x"), "ai-xin-pian-2026");
        assert_eq!(
            from_title("重庆银行行长", "x"),
            "chong-qing-yin-hang-hang-zhang"
        );
    }

    #[test]
    fn titles_with_nothing_usable_fall_back() {
        assert_eq!(from_title("！？…", "article"), "article");
        assert_eq!(from_title("", "article"), "article");
    }

    #[test]
    fn long_titles_are_cut_at_a_word() {
        let slug = from_title(&"word ".repeat(40), "x");
        assert!(slug.len() <= MAX_SLUG_LEN);
        assert!(slug.ends_with("word"));
    }

    #[test]
    fn given_slugs_are_checked() {
        assert_eq!(parse("slug", " ai-news ").ok().as_deref(), Some("ai-news"));
        for bad in [
            "",
            "Has-Caps",
            "two--hyphens",
            "-lead",
            "trail-",
            "空格",
            "a b",
            &"a".repeat(81),
        ] {
            assert!(parse("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn collisions_get_a_numbered_suffix() {
        let taken = ["news", "news-2"];
        assert_eq!(first_free("news", |s| taken.contains(&s)), "news-3");
        assert_eq!(first_free("fresh", |s| taken.contains(&s)), "fresh");
        let long = "a".repeat(MAX_SLUG_LEN);
        let free = first_free(&long, |s| s == long);
        assert!(free.len() <= MAX_SLUG_LEN && free.ends_with("-2"));
    }
}
