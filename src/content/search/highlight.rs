//! Highlights for search results: the text HTML-escaped, with `<mark>`
//! around what the query matched, and an excerpt cut around the best
//! match. Matching runs on the normalised text (so ＡＩ in a body is
//! marked for `ai`) but marks and cuts fall between grapheme clusters of
//! the original, so no character (or emoji, or letter with its accent) is
//! ever split.

use unicode_segmentation::UnicodeSegmentation;

use crate::content::text::search_terms::normalize;

/// Characters of context an excerpt shows before its first match.
const LEAD: usize = 16;

/// `text` escaped, with every match of `marked` (normalised words and
/// phrases) wrapped in `<mark>`.
pub fn highlight(text: &str, marked: &[String]) -> String {
    let graphemes: Vec<&str> = text.graphemes(true).collect();
    let found = matches(&graphemes, marked);
    render(&graphemes, 0, graphemes.len(), &merged(found))
}

/// About `length` characters of `text` around its best match (the
/// stretch with the most matches), escaped and marked, with `…` where it
/// was cut; `None` when nothing in `text` matches.
pub fn excerpt(text: &str, marked: &[String], length: usize) -> Option<String> {
    let graphemes: Vec<&str> = text.graphemes(true).collect();
    let found = matches(&graphemes, marked);
    let best = found
        .iter()
        .map(|(start, _)| {
            let from = start.saturating_sub(LEAD);
            let inside = found
                .iter()
                .filter(|(s, e)| *s >= from && *e <= from + length)
                .count();
            (inside, std::cmp::Reverse(from))
        })
        .max()?;
    let mut from = best.1.0;
    let to = (from + length).min(graphemes.len());
    // A short text, or a match near its end: show the whole window's worth.
    from = from.min(to.saturating_sub(length));
    while from < to && graphemes[from].trim().is_empty() {
        from += 1;
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(render(&graphemes, from, to, &merged(found)).trim_end());
    if to < graphemes.len() {
        out.push('…');
    }
    Some(out)
}

/// The start of `text`, escaped, cut to about `length` characters.
pub fn start_of(text: &str, length: usize) -> String {
    let graphemes: Vec<&str> = text.graphemes(true).collect();
    let to = length.min(graphemes.len());
    let mut out = render(&graphemes, 0, to, &[]).trim().to_owned();
    if to < graphemes.len() {
        out.push('…');
    }
    out
}

/// Grapheme ranges `[start, end)` where `marked` match, one per match.
fn matches(graphemes: &[&str], marked: &[String]) -> Vec<(usize, usize)> {
    // The normalised text, white space runs as one space, and for each
    // grapheme that adds to it, where its part starts.
    let mut folded = String::new();
    let mut starts: Vec<(usize, usize)> = Vec::new();
    for (index, grapheme) in graphemes.iter().enumerate() {
        let part = if grapheme
            .chars()
            .all(|c| c.is_whitespace() || c.is_control())
        {
            if folded.is_empty() || folded.ends_with(' ') {
                continue;
            }
            " ".to_owned()
        } else {
            normalize(grapheme)
        };
        starts.push((folded.len(), index));
        folded.push_str(&part);
    }
    let owner = |byte: usize| {
        let at = starts.partition_point(|(start, _)| *start <= byte);
        starts[at.saturating_sub(1)].1
    };
    let mut ranges = Vec::new();
    for needle in marked.iter().filter(|needle| !needle.is_empty()) {
        let latin = needle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._ ".contains(c));
        for (at, _) in folded.match_indices(needle.as_str()) {
            let end = at + needle.len();
            if latin {
                let before = folded[..at].chars().next_back();
                let after = folded[end..].chars().next();
                if before.is_some_and(|c| c.is_ascii_alphanumeric())
                    || after.is_some_and(|c| c.is_ascii_alphanumeric())
                {
                    continue;
                }
            }
            ranges.push((owner(at), owner(end - 1) + 1));
        }
    }
    ranges
}

/// `ranges` in order, overlapping and touching ones made one.
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Graphemes `from..to` escaped, with the parts of `ranges` inside them
/// marked.
fn render(graphemes: &[&str], from: usize, to: usize, ranges: &[(usize, usize)]) -> String {
    let mut out = String::new();
    let mut open = false;
    for (index, grapheme) in graphemes.iter().enumerate().take(to).skip(from) {
        let inside = ranges.iter().any(|(s, e)| *s <= index && index < *e);
        if inside && !open {
            out.push_str("<mark>");
            open = true;
        } else if !inside && open {
            out.push_str("</mark>");
            open = false;
        }
        out.push_str(&html_escape::encode_text(grapheme));
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn matches_are_marked_and_html_escaped() {
        assert_eq!(
            highlight("<b>AI</b> 天气预报 & 台风", &marks(&["ai", "台风"])),
            "&lt;b&gt;<mark>AI</mark>&lt;/b&gt; 天气预报 &amp; <mark>台风</mark>"
        );
    }

    #[test]
    fn full_width_text_is_marked_for_its_plain_form() {
        assert_eq!(
            highlight("ＡＩ助手", &marks(&["ai"])),
            "<mark>ＡＩ</mark>助手"
        );
    }

    #[test]
    fn latin_words_are_marked_whole_only() {
        assert_eq!(
            highlight("said AI", &marks(&["ai"])),
            "said <mark>AI</mark>"
        );
    }

    #[test]
    fn overlapping_matches_make_one_mark() {
        assert_eq!(
            highlight(
                "中华人民共和国",
                &marks(&["中华人民共和国", "共和国", "中华"])
            ),
            "<mark>中华人民共和国</mark>"
        );
    }

    #[test]
    fn marks_never_split_a_grapheme() {
        // e + combining acute, and a family emoji of several code points.
        let text = "cafe\u{301} 👨‍👩‍👧 ai";
        let out = highlight(text, &marks(&["ai"]));
        assert!(out.contains("cafe\u{301}"));
        assert!(out.contains("👨‍👩‍👧"));
        let cut = excerpt(
            &format!("{}{}", "👨‍👩‍👧".repeat(40), " ai"),
            &marks(&["ai"]),
            10,
        )
        .unwrap();
        assert!(cut.starts_with('…'));
        assert!(cut.chars().filter(|c| *c == '\u{200d}').count() % 2 == 0);
    }

    #[test]
    fn phrases_match_across_line_breaks() {
        assert_eq!(
            highlight("machine\n  learning", &marks(&["machine learning"])),
            "<mark>machine\n  learning</mark>"
        );
    }

    #[test]
    fn an_excerpt_is_cut_around_the_most_matches() {
        let text = format!(
            "{}台风来了{}台风路径预测误差缩小{}",
            "甲".repeat(100),
            "乙".repeat(100),
            "丙".repeat(100)
        );
        let cut = excerpt(&text, &marks(&["台风", "路径"]), 30).unwrap();
        assert!(
            cut.contains("<mark>台风</mark><mark>路径</mark>")
                || cut.contains("<mark>台风路径</mark>"),
            "{cut}"
        );
        assert!(cut.starts_with('…') && cut.ends_with('…'));
        assert!(excerpt("没有匹配", &marks(&["台风"]), 30).is_none());
        assert_eq!(start_of("一二三四五", 3), "一二三…");
    }
}
