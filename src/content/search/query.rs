//! What a reader typed into the search box, read into what must match:
//! words (all of them), `"quoted phrases"` (the exact run of text) and
//! `-excluded` words. Everything else a search engine might read as
//! syntax (`*`, `^`, `NEAR(`, `&`, `|`, `!`, `:*`) is plain text here:
//! the words reach the database as quoted terms, never as its own query
//! language.

use crate::{
    content::text::search_terms::{self, QueryWord},
    error::{AppError, AppResult},
};

/// The longest query read, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// The most words a query may ask for: each is a look-up in the index.
pub const MAX_QUERY_WORDS: usize = 24;

/// A quoted phrase: its words must all be there, and its text in one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phrase {
    /// The phrase normalised, one space between words.
    pub text: String,
    /// Its words, which the index narrows the search by.
    pub words: Vec<QueryWord>,
}

/// A reader's query, read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    /// Words every match holds.
    pub words: Vec<QueryWord>,
    /// Phrases every match holds.
    pub phrases: Vec<Phrase>,
    /// Words (or phrases, by their words) no match holds; each entry is
    /// one excluded item, whose words must not all be there.
    pub excluded: Vec<Vec<QueryWord>>,
}

impl SearchQuery {
    /// Reads `text`; `BAD_USER_INPUT` naming `query` when it is empty,
    /// too long, has an unclosed quote, excludes without asking for
    /// anything, or asks for too many words. A query of punctuation only
    /// reads as asking for nothing ([`SearchQuery::is_empty`]).
    pub fn parse(text: &str) -> AppResult<Self> {
        if text.trim().is_empty() {
            return Err(invalid("Type at least one word to search for"));
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(format!(
                "A search query may be at most {MAX_QUERY_CHARS} characters long"
            )));
        }
        // Curly and corner quotes are quotes too; NFKC leaves them be.
        let text: String = text
            .chars()
            .map(|c| match c {
                '“' | '”' | '「' | '」' | '＂' => '"',
                '－' => '-',
                c if c.is_control() => ' ',
                c => c,
            })
            .collect();
        let mut query = Self::default();
        let mut rest = text.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (excluding, item) = match rest.strip_prefix('-') {
                Some(after) if after.starts_with(|c: char| !c.is_whitespace()) => (true, after),
                _ => (false, rest),
            };
            let (quoted, taken, remainder) = if let Some(inside) = item.strip_prefix('"') {
                let end = inside
                    .find('"')
                    .ok_or_else(|| invalid("A quoted phrase is missing its closing quote"))?;
                (true, &inside[..end], &inside[end + 1..])
            } else {
                let end = item
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(item.len());
                (false, &item[..end], &item[end..])
            };
            rest = remainder;
            let words = search_terms::query_words(taken);
            if words.is_empty() {
                continue;
            }
            if excluding {
                query.excluded.push(words);
            } else if quoted && words.len() > 1 {
                query.phrases.push(Phrase {
                    text: search_terms::normalize_for_phrases(taken),
                    words,
                });
            } else {
                query.words.extend(words);
            }
        }
        if query.words.is_empty() && query.phrases.is_empty() && !query.excluded.is_empty() {
            return Err(invalid(
                "A search needs at least one word to find, not only words to exclude",
            ));
        }
        if query.word_count() > MAX_QUERY_WORDS {
            return Err(invalid(format!(
                "A search query may hold at most {MAX_QUERY_WORDS} words"
            )));
        }
        Ok(query)
    }

    /// Whether the query asks for nothing (it held only punctuation).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }

    /// Every word asked for, excluded ones included.
    fn word_count(&self) -> usize {
        self.words.len()
            + self.phrases.iter().map(|p| p.words.len()).sum::<usize>()
            + self.excluded.iter().map(Vec::len).sum::<usize>()
    }

    /// What a match must hold, word by word: the words, then the phrases'.
    pub fn required(&self) -> impl Iterator<Item = &QueryWord> {
        self.words
            .iter()
            .chain(self.phrases.iter().flat_map(|phrase| phrase.words.iter()))
    }

    /// The text to mark in highlights: every word asked for with the words
    /// inside it, and each phrase; longest first, so a long match is
    /// marked whole.
    pub fn marked(&self) -> Vec<String> {
        let mut marked: Vec<String> = self
            .required()
            .flat_map(|word| std::iter::once(&word.whole).chain(word.inside.iter()))
            .cloned()
            .chain(self.phrases.iter().map(|phrase| phrase.text.clone()))
            .collect();
        marked.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        marked.dedup();
        marked
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::bad_input("query", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wholes(words: &[QueryWord]) -> Vec<&str> {
        words.iter().map(|w| w.whole.as_str()).collect()
    }

    #[test]
    fn words_phrases_and_exclusions_are_read_apart() {
        let query = SearchQuery::parse(r#"AI 天气 "台风路径" -芯片 -"open source""#).unwrap();
        assert_eq!(wholes(&query.words), ["ai", "天气"]);
        assert_eq!(query.phrases.len(), 1);
        assert_eq!(query.phrases[0].text, "台风路径");
        assert_eq!(wholes(&query.phrases[0].words), ["台风", "路径"]);
        assert_eq!(query.excluded.len(), 2);
        assert_eq!(wholes(&query.excluded[0]), ["芯片"]);
        assert_eq!(wholes(&query.excluded[1]), ["open", "source"]);
    }

    #[test]
    fn a_hyphen_inside_a_word_is_no_exclusion() {
        let query = SearchQuery::parse("CLUE-Next 5G").unwrap();
        assert_eq!(wholes(&query.words), ["clue-next", "5g"]);
        assert!(query.excluded.is_empty());
    }

    #[test]
    fn curly_quotes_make_phrases() {
        let query = SearchQuery::parse("“可维修性 评分”").unwrap();
        assert_eq!(query.phrases[0].text, "可维修性 评分");
    }

    #[test]
    fn bad_syntax_is_refused_with_the_field() {
        for text in [
            "",
            "   ",
            "\"unclosed phrase",
            "-only -excluded",
            &"字".repeat(MAX_QUERY_CHARS + 1),
        ] {
            let error = SearchQuery::parse(text).unwrap_err();
            assert!(
                matches!(&error, AppError::BadInput { field, .. } if field == "query"),
                "{text:?}: {error:?}"
            );
        }
        let many = (0..=MAX_QUERY_WORDS)
            .map(|n| format!("w{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(SearchQuery::parse(&many).is_err());
    }

    #[test]
    fn engine_syntax_is_plain_text() {
        for text in ["NEAR(a b)", "a* ^b", "a & b | !c", "rust:*", "\0\0ai\0"] {
            let query = SearchQuery::parse(text).unwrap();
            for word in query.required() {
                assert!(
                    word.whole
                        .chars()
                        .all(|c| c.is_alphanumeric() || "-._".contains(c))
                );
            }
        }
        assert!(SearchQuery::parse("！？。…… ***").unwrap().is_empty());
    }

    #[test]
    fn marks_are_longest_first() {
        let query = SearchQuery::parse("人工智能 ai").unwrap();
        let marked = query.marked();
        assert_eq!(marked[0], "人工智能");
        assert!(marked.contains(&"ai".to_owned()));
    }
}
