//! Property tests for everything that reads client input: whatever comes in,
//! nothing panics, and sanitising never lets a script through.

use async_graphql::Variables;
use newsroom::{
    content::{
        comments::NewComment,
        cursor::Cursor,
        text,
        text::body::{BodyFormat, excerpt, plain_text, prepare, sanitize_html},
    },
    graphql::execution::limits::{QueryLimits, check_document, check_text},
};
use proptest::prelude::*;

/// Fragments an attacker strings together to sneak a script past a sanitiser.
fn hostile_html() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<svg onload=alert(1)>",
        "<iframe src=\"data:text/html,<script>alert(1)</script>\">",
        "<p style=\"background:url(javascript:alert(1))\">",
        "<<script>script>",
        "<scr<script>ipt>",
        "<body onload=alert(1)>",
        "<math><mi xlink:href=\"javascript:alert(1)\">",
        "<p>正文 text</p>",
        "\"'><",
        "<!--",
        "-->",
        "]]>",
    ]);
    prop::collection::vec(
        prop_oneof![pieces.prop_map(str::to_owned), ".{0,12}"],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

/// Whether sanitised HTML holds a tag that can run code. Text is always
/// escaped in the output, so every literal `<` opens a real tag; words like
/// `onerror` in escaped text are harmless.
fn has_active_content(html: &str) -> bool {
    html.split('<').skip(1).any(|rest| {
        let tag = rest.split('>').next().unwrap_or(rest).to_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let dangerous_element = [
            "script", "iframe", "svg", "math", "object", "embed", "style", "body", "form", "base",
            "meta", "link",
        ]
        .contains(&name.as_str());
        let handler = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .skip(1)
            .any(|attribute| attribute.starts_with("on"));
        let script_url = tag.contains("javascript:") || tag.contains("data:text/html");
        dangerous_element || handler || script_url
    })
}

proptest! {
    #[test]
    fn sanitised_html_never_keeps_a_script(html in hostile_html()) {
        let clean = sanitize_html(&html);
        prop_assert!(!has_active_content(&clean), "{html:?} -> {clean:?}");
        let markdown = prepare(&html, BodyFormat::Markdown);
        prop_assert!(!has_active_content(&markdown.html), "{html:?} -> {:?}", markdown.html);
    }

    #[test]
    fn excerpts_never_split_and_never_exceed(text in "\\PC{0,400}", max in 1usize..200) {
        let cut = excerpt(&text, max);
        prop_assert!(cut.chars().count() <= max.max(1));
        let _ = plain_text(&text);
    }

    #[test]
    fn any_cursor_text_is_read_without_panicking(text in "\\PC{0,200}") {
        let _ = Cursor::decode(&text, 'n');
    }

    #[test]
    fn derived_slugs_are_always_valid(title in "\\PC{0,300}") {
        let derived = text::slug::from_title(&title, "article");
        prop_assert!(text::slug::parse("slug", &derived).is_ok(), "{title:?} -> {derived:?}");
    }

    #[test]
    fn comment_input_is_checked_without_panicking(
        id in "\\PC{0,40}", name in "\\PC{0,80}", email in "\\PC{0,80}", body in "\\PC{0,300}"
    ) {
        if let Ok(comment) = NewComment::parse(&id, &name, &email, &body) {
            prop_assert!(!comment.author_name.is_empty() && comment.author_name.chars().count() <= 64);
            prop_assert!(!comment.body.is_empty());
        }
    }

    #[test]
    fn any_query_text_is_measured_without_panicking(query in "[{}()\\[\\]a-z:$ ,.\"#\n0-9]{0,600}") {
        let limits = QueryLimits::default();
        if check_text(&limits, &query).is_ok()
            && let Ok(document) = async_graphql::parser::parse_query(&query)
        {
            let _ = check_document(&limits, &document, None, &Variables::default());
        }
    }
}
