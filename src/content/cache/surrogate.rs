//! Cache tags for a CDN or Varnish in front of newsroom: the keys of what a
//! response shows (`Surrogate-Key`, `Cache-Tag`) and the keys a change
//! purges. Both are the change feed's keys ([`Key`]), so a purge names every
//! cached response that showed what changed.
//!
//! A response showing more than a header may carry lists a coarse key in
//! place of its article keys (then of its tag and section keys): every
//! purge of an article also names the coarse key for articles, so such a
//! response is purged by any change to any article.

use std::collections::BTreeSet;

use crate::content::writes::change::Key;

/// The longest header value written, in bytes. Proxies limit one header
/// line (Varnish's `http_resp_hdr_len` is 8 KiB) and nginx's
/// `proxy_buffer_size` holds all headers of a response in one page, so two
/// headers this long leave room for the rest.
pub const HEADER_BUDGET: usize = 2048;

/// Named by every purge of an article, and by responses listing too many.
pub const ALL_ARTICLES: &str = "all-articles";
/// Named by every purge of a section, and by responses listing too many.
pub const ALL_SECTIONS: &str = "all-sections";
/// Named by every purge of a tag, and by responses listing too many.
pub const ALL_TAGS: &str = "all-tags";

/// The coarse key standing for every key of `key`'s kind, if it has one.
fn coarse(key: &Key) -> Option<&'static str> {
    match key {
        Key::Article(_) => Some(ALL_ARTICLES),
        Key::Section(_) => Some(ALL_SECTIONS),
        Key::Tag(_) => Some(ALL_TAGS),
        Key::Lists | Key::Token(_) => None,
    }
}

/// The keys a response showing `shown` is tagged with, at most
/// [`HEADER_BUDGET`] bytes once joined by a separator of one byte: each
/// key as it is while they fit, else articles, then tags, then sections
/// folded into their coarse key. `every_article` says a change to any
/// article may change the response: its articles are folded from the start.
pub fn response_keys(shown: &BTreeSet<Key>, every_article: bool) -> Vec<String> {
    let mut folded: Vec<&'static str> = Vec::new();
    if every_article {
        folded.push(ALL_ARTICLES);
    }
    let mut to_fold = [ALL_ARTICLES, ALL_TAGS, ALL_SECTIONS].into_iter();
    loop {
        let mut keys: Vec<String> = shown
            .iter()
            .filter(|key| !matches!(key, Key::Token(_)))
            .filter(|key| coarse(key).is_none_or(|kind| !folded.contains(&kind)))
            .map(ToString::to_string)
            .collect();
        keys.extend(folded.iter().map(|kind| (*kind).to_owned()));
        let length: usize = keys.iter().map(|key| key.len() + 1).sum();
        if length <= HEADER_BUDGET + 1 {
            return keys;
        }
        match to_fold.find(|kind| !folded.contains(kind)) {
            Some(kind) => folded.push(kind),
            None => return keys,
        }
    }
}

/// The keys a change with `keys` (as the feed stores them) purges: each of
/// them, and the coarse key of each kind among them.
pub fn purge_keys(keys: &[String]) -> Vec<String> {
    let mut purged: BTreeSet<String> = BTreeSet::new();
    for key in keys {
        let coarse = match key.split_once(':').map(|(kind, _)| kind) {
            Some("article") => Some(ALL_ARTICLES),
            Some("section") => Some(ALL_SECTIONS),
            Some("tag") => Some(ALL_TAGS),
            // Tokens are nobody's page.
            Some(_) => continue,
            None => None,
        };
        purged.insert(key.clone());
        purged.extend(coarse.map(str::to_owned));
    }
    purged.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_short_response_names_each_key() {
        let article = Uuid::now_v7();
        let section = Uuid::now_v7();
        let shown = BTreeSet::from([Key::Article(article), Key::Section(section), Key::Lists]);
        let keys = response_keys(&shown, false);
        assert_eq!(keys.len(), 3);
        assert!(keys.contains(&format!("article:{article}")));
        assert!(keys.contains(&format!("section:{section}")));
        assert!(keys.contains(&"lists".to_owned()));
    }

    #[test]
    fn a_long_response_folds_articles_first_and_stays_under_the_budget() {
        let section = Uuid::now_v7();
        let mut shown: BTreeSet<Key> = (0..200).map(|_| Key::Article(Uuid::now_v7())).collect();
        shown.insert(Key::Section(section));
        shown.insert(Key::Token(Uuid::now_v7()));
        let keys = response_keys(&shown, false);
        assert!(keys.contains(&ALL_ARTICLES.to_owned()));
        assert!(keys.contains(&format!("section:{section}")));
        assert!(!keys.iter().any(|key| key.starts_with("article:")));
        assert!(!keys.iter().any(|key| key.starts_with("token:")));
        assert!(keys.join(" ").len() <= HEADER_BUDGET);
    }

    #[test]
    fn a_response_any_article_may_change_names_the_coarse_key_only() {
        let shown = BTreeSet::from([Key::Article(Uuid::now_v7()), Key::Lists]);
        assert_eq!(response_keys(&shown, true), vec!["lists", ALL_ARTICLES]);
    }

    #[test]
    fn every_kind_folds_when_even_tags_and_sections_are_too_many() {
        let shown: BTreeSet<Key> = (0..300)
            .flat_map(|_| {
                [
                    Key::Article(Uuid::now_v7()),
                    Key::Tag(Uuid::now_v7()),
                    Key::Section(Uuid::now_v7()),
                ]
            })
            .collect();
        let keys = response_keys(&shown, false);
        assert_eq!(keys, vec![ALL_ARTICLES, ALL_TAGS, ALL_SECTIONS]);
    }

    #[test]
    fn a_purge_names_the_coarse_key_of_each_kind_it_touches() {
        let id = Uuid::now_v7();
        let keys = vec![
            format!("article:{id}"),
            format!("tag:{id}"),
            "lists".to_owned(),
            format!("token:{id}"),
        ];
        assert_eq!(
            purge_keys(&keys),
            vec![
                ALL_ARTICLES.to_owned(),
                ALL_TAGS.to_owned(),
                format!("article:{id}"),
                "lists".to_owned(),
                format!("tag:{id}"),
            ]
        );
    }
}
