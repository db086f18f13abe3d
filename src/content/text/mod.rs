//! Pure logic over text, with no database: sanitising bodies and cutting
//! excerpts, and making URL names (slugs), Chinese read by the word.

pub mod body;
pub mod reading;
pub mod search_terms;
pub mod slug;
