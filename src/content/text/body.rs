//! Article bodies: HTML made safe on the way in, the plain text kept beside it,
//! and the excerpts cut from that text for teasers.

use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};

/// How many characters a teaser's excerpt holds at most, the ellipsis included.
pub const EXCERPT_LENGTH: usize = 120;

/// Makes an editor's HTML safe to render: no script, no event handler, no
/// `javascript:` link survives; links get `rel="noopener noreferrer"`.
pub fn sanitize_html(html: &str) -> String {
    ammonia::clean(html)
}

/// How an editor wrote a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// HTML, sanitised on the way in.
    Html,
    /// CommonMark Markdown, rendered to HTML and then sanitised.
    Markdown,
}

/// A body ready to store: safe HTML and its plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBody {
    /// Sanitised HTML.
    pub html: String,
    /// Its readable text, for excerpts and search.
    pub text: String,
}

/// Turns an editor's body into what is stored: Markdown rendered, HTML
/// sanitised, and the plain text kept beside it.
pub fn prepare(source: &str, format: BodyFormat) -> StoredBody {
    let html = match format {
        BodyFormat::Html => sanitize_html(source),
        BodyFormat::Markdown => {
            let mut rendered = String::with_capacity(source.len() * 3 / 2);
            pulldown_cmark::html::push_html(&mut rendered, pulldown_cmark::Parser::new(source));
            sanitize_html(&rendered)
        }
    };
    let text = plain_text(&html);
    StoredBody { html, text }
}

/// Elements after which text continues on a new line, so that words from two
/// paragraphs never run together in the plain text.
const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "figcaption",
    "hr",
];

/// The readable text of sanitised HTML: tags dropped, entities decoded, one
/// line per block, runs of spaces folded.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let tag_and_after = &rest[start..];
        let end = tag_end(tag_and_after);
        let tag = &tag_and_after[..end];
        if is_block_tag(tag) {
            text.push('\n');
        }
        rest = &tag_and_after[end..];
    }
    text.push_str(rest);
    let decoded = html_escape::decode_html_entities(&text);
    decoded
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The length of the tag that opens `html` (which starts with `<`), quotes
/// in attribute values respected; the whole rest when the tag never closes.
fn tag_end(html: &str) -> usize {
    let mut quote: Option<char> = None;
    for (index, character) in html.char_indices() {
        match (quote, character) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(character),
            (None, '>') => return index + 1,
            (None, _) => {}
        }
    }
    html.len()
}

fn is_block_tag(tag: &str) -> bool {
    let name: String = tag
        .trim_start_matches('<')
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    BLOCK_ELEMENTS.contains(&name.as_str())
}

/// How many characters past the excerpt's length are folded, so that the
/// last grapheme and the word the cut falls in are seen whole.
const EXCERPT_LOOKAHEAD: usize = 64;

/// The text with runs of whitespace folded into one space, trimmed, and cut
/// after about `chars` characters: an excerpt of a 10 KB body reads only
/// its start.
fn folded_prefix(text: &str, chars: usize) -> String {
    let mut folded = String::with_capacity(chars * 3);
    let mut taken = 0;
    let mut space_before = false;
    // Char by char: `split_whitespace` would scan a whole unspaced Chinese
    // body as one word before yielding it.
    for c in text.chars() {
        if taken >= chars {
            break;
        }
        if c.is_whitespace() {
            space_before = !folded.is_empty();
            continue;
        }
        if space_before {
            folded.push(' ');
            taken += 1;
            space_before = false;
        }
        folded.push(c);
        taken += 1;
    }
    folded
}

/// A teaser cut from plain text: at most `max_chars` characters including
/// the closing `…`, never splitting a grapheme; Latin words are not cut in
/// half when a space lies close enough before the cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    excerpt_of_start(text, max_chars, false)
}

/// [`excerpt`] of a text of which only `start` is at hand; `more_follows`
/// says whether the text goes on after it. The result is the same as from
/// the whole text whenever `start` holds `max_chars` + 64 characters once
/// runs of whitespace are folded; a shorter start that is cut short still
/// ends in `…`.
pub fn excerpt_of_start(start: &str, max_chars: usize, more_follows: bool) -> String {
    let folded = folded_prefix(start, max_chars + EXCERPT_LOOKAHEAD);
    if folded.chars().count() <= max_chars && !more_follows {
        return folded;
    }
    let cut = grapheme_cut(&folded, max_chars.saturating_sub(1));
    let mut head = &folded[..cut];
    let next = folded[cut..].chars().next();
    let ends_mid_word =
        head.chars().last().is_some_and(is_word_char) && next.is_some_and(is_word_char);
    if ends_mid_word
        && let Some(space) = head.rfind(' ')
        && head[space..].chars().count() <= 20
    {
        head = &head[..space];
    }
    let head = head.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；' | ':' | '：')
    });
    format!("{head}…")
}

/// Where to cut `text` to keep at most `chars` characters without splitting
/// a grapheme: the end of the last whole grapheme among them. The grapheme
/// rules run only where the cut falls; every teaser on a page is cut, and
/// walking each excerpt grapheme by grapheme was a visible share of a cold
/// page's time.
fn grapheme_cut(text: &str, chars: usize) -> usize {
    let Some((offset, _)) = text.char_indices().nth(chars) else {
        return text.len();
    };
    let mut cursor = GraphemeCursor::new(offset, text.len(), true);
    match cursor.is_boundary(text, 0) {
        Ok(true) => offset,
        Ok(false) => match cursor.prev_boundary(text, 0) {
            Ok(boundary) => boundary.unwrap_or(0),
            Err(_) => grapheme_cut_by_walking(text, chars),
        },
        // The cursor sees the whole text, so it never asks for more; were
        // it to, the walk gives the same cut.
        Err(_) => grapheme_cut_by_walking(text, chars),
    }
}

/// [`grapheme_cut`] by walking the text grapheme by grapheme.
fn grapheme_cut_by_walking(text: &str, chars: usize) -> usize {
    let mut cut = 0;
    let mut used = 0;
    for (index, grapheme) in text.grapheme_indices(true) {
        used += grapheme.chars().count();
        if used > chars {
            break;
        }
        cut = index + grapheme.len();
    }
    cut
}

/// Letters and digits of scripts that separate words with spaces.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_of_a_text_gives_the_whole_texts_excerpt() {
        let text = "市场观察：English words and 中文 mixed, one after another. ".repeat(100);
        let start: String = text.chars().take(1_000).collect();
        assert_eq!(
            excerpt_of_start(&start, EXCERPT_LENGTH, true),
            excerpt(&text, EXCERPT_LENGTH)
        );
        // A short text that is whole is not marked as cut.
        assert_eq!(excerpt_of_start("短讯。", EXCERPT_LENGTH, false), "短讯。");
    }

    #[test]
    fn a_start_that_is_mostly_blank_still_ends_in_an_ellipsis_when_cut() {
        let start = format!("开头{}", "\n".repeat(2_000));
        let cut = excerpt_of_start(&start, EXCERPT_LENGTH, true);
        assert_eq!(cut, "开头…");
        assert!(cut.chars().count() <= EXCERPT_LENGTH);
    }

    #[test]
    fn an_excerpt_folds_only_the_start_of_a_long_text() {
        let texts = [
            "市场 \n\n 观察。".repeat(2000),
            "word   after\tword ".repeat(3000),
            "长".repeat(20_000),
            "👩‍👩‍👧 家庭 ".repeat(500),
        ];
        for text in texts {
            let whole = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let prefix = folded_prefix(&text, 184);
            assert!(whole.starts_with(&prefix));
            assert!(prefix.chars().count() >= 184);
            assert!(prefix.chars().count() <= 185);
            assert!(excerpt(&text, EXCERPT_LENGTH).chars().count() <= EXCERPT_LENGTH);
        }
    }

    #[test]
    fn sanitising_removes_scripts_handlers_and_javascript_links() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)></p>"#;
        let clean = sanitize_html(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("onerror"), "{clean}");
        assert!(!clean.contains("javascript:"), "{clean}");
        assert!(clean.contains("Hi"));
    }

    #[test]
    fn markdown_is_rendered_then_sanitised() {
        let body = prepare(
            "# 标题\n\nSome *em* text.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <a href=\"javascript:alert(2)\">y</a>",
            BodyFormat::Markdown,
        );
        assert!(body.html.contains("<h1>标题</h1>"), "{}", body.html);
        assert!(body.html.contains("<em>em</em>"));
        assert!(
            !body.html.contains("<script") && !body.html.contains("href=\"javascript"),
            "{}",
            body.html
        );
        assert_eq!(body.text.lines().next(), Some("标题"));
    }

    #[test]
    fn plain_text_drops_tags_decodes_entities_and_keeps_paragraphs_apart() {
        let html = "<p>科技 &amp; <strong>AI</strong></p><p title=\"a>b\">第二段</p>";
        assert_eq!(plain_text(html), "科技 & AI\n第二段");
    }

    #[test]
    fn short_text_is_not_cut() {
        assert_eq!(excerpt("  短文本  only ", 120), "短文本 only");
    }

    #[test]
    fn chinese_text_is_cut_at_the_limit_with_an_ellipsis() {
        let text = "人工智能".repeat(50);
        let cut = excerpt(&text, 120);
        assert_eq!(cut.chars().count(), 120);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("人工智能人工智能"));
    }

    #[test]
    fn graphemes_are_never_split() {
        // Each family emoji is one grapheme of several chars.
        let text = "👨‍👩‍👧".repeat(60);
        let cut = excerpt(&text, 20);
        let body = cut.trim_end_matches('…');
        assert!(body.graphemes(true).all(|g| g == "👨‍👩‍👧"));
        assert!(cut.chars().count() <= 20);
    }

    #[test]
    fn the_cut_falls_where_walking_the_graphemes_puts_it() {
        let texts = [
            "👨‍👩‍👧".repeat(9),
            "e\u{301}".repeat(30),
            "🇨🇳🇬🇧中文 Text".repeat(7),
            "한국어 ᄀᄀᄀ각 नमस्ते ".repeat(6),
            "\r\n".repeat(20),
            String::new(),
        ];
        for text in &texts {
            for chars in 0..=text.chars().count() + 1 {
                assert_eq!(
                    grapheme_cut(text, chars),
                    grapheme_cut_by_walking(text, chars),
                    "{text:?} at {chars}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_texts_cut_falls_where_walking_puts_it(text in "\\PC{0,60}", chars in 0usize..70) {
            proptest::prop_assert_eq!(grapheme_cut(&text, chars), grapheme_cut_by_walking(&text, chars));
        }
    }

    #[test]
    fn english_words_are_not_cut_in_half() {
        let text = "The quick brown fox jumps over the lazy dog ".repeat(10);
        let cut = excerpt(&text, 30);
        assert_eq!(cut, "The quick brown fox jumps…");
    }
}
