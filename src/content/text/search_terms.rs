//! The words full-text search indexes and matches: text normalised the same
//! way on both sides, then cut into words by the segmenter that reads slugs
//! (jieba, in its search mode, which also yields the shorter words inside
//! long ones: 中华人民共和国 is found by 共和国).
//!
//! Normalising folds what readers type differently for the same word:
//! Unicode NFKC (full-width ＣＬＵＥ and ５Ｇ become CLUE and 5G, the
//! ideographic space a space, ligatures letters), then lower case. Words of
//! Latin letters and digits stay whole, joined by `-`, `.` or `_` inside
//! them (`clue-next`, `5g`, `node.js`), so an English or mixed term is never
//! split into letters. Traditional characters are not folded to simplified
//! ones: jieba's dictionary is simplified, the site writes in simplified
//! Chinese, and a folding table would merge words that differ (乾 is both
//! 干 and 乾); a reader searching in traditional characters still matches
//! the characters that the two scripts share.

use unicode_normalization::UnicodeNormalization;

use super::reading::SEGMENTER;

/// The longest word indexed, in characters: a longer run of letters (a
/// hash, a pasted URL) is no word anyone searches for.
pub const MAX_TERM_CHARS: usize = 64;

/// `text` as search sees it: NFKC, then lower case.
pub fn normalize(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

/// `text` normalised, with every run of white space (and control
/// characters, which no one searches for) made one space: what a quoted
/// phrase is looked for in.
pub fn normalize_for_phrases(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in normalize(text).chars() {
        if c.is_whitespace() || c.is_control() {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(c);
            space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A word a reader searched for: an article matches when it holds the
/// word itself, or every shorter word the index keeps inside it (the
/// document may have read the long word differently in its context).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryWord {
    /// The word as the segmenter read the query.
    pub whole: String,
    /// The shorter dictionary words inside it that search mode indexes
    /// (共和 and 共和国 inside 中华人民共和国); empty for short words.
    pub inside: Vec<String>,
}

/// The words of a reader's `text`: Chinese cut by jieba's precise mode
/// (what the reader meant), each with the shorter words search mode
/// indexes inside it; Latin words and numbers whole.
pub fn query_words(text: &str) -> Vec<QueryWord> {
    let normalized = normalize(text);
    let mut words = Vec::new();
    for run in runs(&normalized) {
        match run {
            Run::Latin(word) => words.push(QueryWord {
                whole: word.to_owned(),
                inside: Vec::new(),
            }),
            Run::Other(text) => {
                for token in SEGMENTER.cut(text, true) {
                    let token = token.word;
                    if !token.chars().any(char::is_alphanumeric) {
                        continue;
                    }
                    let inside = covering_parts(token);
                    words.push(QueryWord {
                        whole: token.to_owned(),
                        inside,
                    });
                }
            }
        }
    }
    words.retain(|word| word.whole.chars().count() <= MAX_TERM_CHARS);
    words
}

/// The search words of `text`, in order, repeats kept (an index weighs
/// them): Chinese cut by jieba's search mode, Latin words and numbers whole,
/// punctuation and spaces dropped.
pub fn terms(text: &str) -> Vec<String> {
    let normalized = normalize(text);
    let mut terms = Vec::new();
    for run in runs(&normalized) {
        match run {
            Run::Latin(word) => terms.push(word.to_owned()),
            Run::Other(text) => terms.extend(
                SEGMENTER
                    .cut_for_search(text, true)
                    .into_iter()
                    .filter(|token| token.word.chars().any(char::is_alphanumeric))
                    .map(|token| token.word.to_owned()),
            ),
        }
    }
    terms.retain(|term| term.chars().count() <= MAX_TERM_CHARS);
    terms
}

/// The shorter words search mode indexes inside `word`, when together
/// they cover every character of it; otherwise none, since matching a part
/// alone would match another word (机器 alone is no 机器人).
fn covering_parts(word: &str) -> Vec<String> {
    let parts: Vec<&str> = SEGMENTER
        .cut_for_search(word, true)
        .into_iter()
        .map(|part| part.word)
        .filter(|part| *part != word && part.chars().any(char::is_alphanumeric))
        .collect();
    let mut covered = vec![false; word.len()];
    for part in &parts {
        for (at, _) in word.match_indices(part) {
            covered[at..at + part.len()].fill(true);
        }
    }
    if parts.is_empty() || covered.contains(&false) {
        return Vec::new();
    }
    parts.into_iter().map(str::to_owned).collect()
}

/// A stretch of normalised text: one Latin word, or anything else.
enum Run<'a> {
    Latin(&'a str),
    Other(&'a str),
}

/// Whether `c` belongs in a Latin word: ASCII letters and digits.
fn latin(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Splits `text` into Latin words (letters and digits, with `-`, `.` or `_`
/// between two of them kept inside) and the stretches between them.
fn runs(text: &str) -> Vec<Run<'_>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut runs = Vec::new();
    let mut other_start: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if !latin(c) {
            other_start.get_or_insert(at);
            i += 1;
            continue;
        }
        if let Some(start) = other_start.take() {
            runs.push(Run::Other(&text[start..at]));
        }
        let mut end = i + 1;
        while end < chars.len() {
            let c = chars[end].1;
            let joiner = matches!(c, '-' | '.' | '_')
                && chars.get(end + 1).is_some_and(|(_, next)| latin(*next));
            if latin(c) || joiner {
                end += 1;
            } else {
                break;
            }
        }
        let stop = chars.get(end).map_or(text.len(), |(at, _)| *at);
        runs.push(Run::Latin(&text[at..stop]));
        i = end;
    }
    if let Some(start) = other_start {
        runs.push(Run::Other(&text[start..]));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case_fold_to_one_form() {
        assert_eq!(normalize("ＣＬＵＥ－Ｎｅｘｔ　５Ｇ"), "clue-next 5g");
        assert_eq!(normalize("Node.JS"), "node.js");
        assert_eq!(terms("ＣＬＵＥ－Ｎｅｘｔ"), terms("clue-next"));
    }

    #[test]
    fn latin_words_and_mixed_tokens_stay_whole() {
        assert_eq!(
            terms("CLUE-Next 评测集支持 5G 和 Node.js。"),
            ["clue-next", "评测", "集", "支持", "5g", "和", "node.js"]
        );
        // A joiner at a word's edge is punctuation, not part of it.
        assert_eq!(terms("-rust- ai."), ["rust", "ai"]);
    }

    #[test]
    fn chinese_is_cut_into_words_and_the_words_inside_long_ones() {
        let found = terms("中华人民共和国成立");
        for word in ["中华", "人民", "共和", "共和国", "中华人民共和国", "成立"] {
            assert!(found.iter().any(|term| term == word), "{word} in {found:?}");
        }
        // 研究生命 reads as 研究 生命, which a bigram index would also
        // match for 究生.
        let found = terms("研究生命起源");
        assert!(found.contains(&"研究".to_owned()) && found.contains(&"生命".to_owned()));
        assert!(!found.contains(&"究生".to_owned()));
    }

    #[test]
    fn punctuation_and_spaces_are_no_terms() {
        assert!(terms("，。！？、 —— …… !!! ---").is_empty());
        assert!(terms("").is_empty());
    }

    #[test]
    fn a_query_word_carries_the_words_search_mode_indexes_inside_it() {
        let words = query_words("中华人民共和国 CLUE-Next");
        assert_eq!(words[0].whole, "中华人民共和国");
        for part in ["中华", "共和国"] {
            assert!(words[0].inside.iter().any(|p| p == part), "{part}");
        }
        assert_eq!(
            words[1],
            QueryWord {
                whole: "clue-next".to_owned(),
                inside: vec![]
            }
        );
        // 机器 does not cover 机器人, so it is no stand-in for it.
        assert!(query_words("机器人")[0].inside.is_empty());
        // 和服 (a kimono) is one word; in 和服务 the text reads 和 服务.
        assert_eq!(query_words("和服")[0].whole, "和服");
        assert!(!terms("和服务").contains(&"和服".to_owned()));
    }

    #[test]
    fn phrases_are_looked_for_in_text_with_one_space_between_words() {
        assert_eq!(
            normalize_for_phrases("  Ｍachine\n\t learning\u{0}　AI "),
            "machine learning ai"
        );
    }

    #[test]
    fn overlong_runs_of_letters_are_no_terms() {
        let hash = "a".repeat(MAX_TERM_CHARS + 1);
        assert_eq!(terms(&format!("{hash} ok")), ["ok"]);
        assert!(query_words(&hash).is_empty());
    }

    #[test]
    fn traditional_characters_are_kept_as_they_are() {
        assert_eq!(normalize("體育"), "體育");
    }
}
