//! Opaque pagination cursors: the sort key and id of the last item a client
//! saw, so the next page starts strictly after it however many items arrive
//! in between (keyset pagination, never OFFSET).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{ColumnTrait, Condition, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// A position in one kind of list: the value of the list's sort key and the
/// id that breaks ties between equal keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// Which list (and order) the cursor belongs to, so that a cursor from one
    /// list is refused by another.
    pub list: char,
    /// The sort key: microseconds since the epoch for times, else a count.
    pub key: i64,
    /// The item's id.
    pub id: Uuid,
}

impl Cursor {
    /// The opaque string a client sees.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", self.list, self.key, self.id.simple()))
    }

    /// Reads a cursor that must belong to `list`; `None` when the string is
    /// not one this server made for that list.
    pub fn decode(text: &str, list: char) -> Option<Self> {
        if text.len() > 128 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let plain = std::str::from_utf8(&bytes).ok()?;
        let mut parts = plain.splitn(3, ':');
        let mut tag = parts.next()?.chars();
        let found_list = tag.next()?;
        if tag.next().is_some() || found_list != list {
            return None;
        }
        let key = parts.next()?.parse().ok()?;
        let id = Uuid::try_parse(parts.next()?).ok()?;
        Some(Self { list, key, id })
    }
}

/// Reads a client's `after` for `list`: `BAD_USER_INPUT` naming `after` when
/// it is not a cursor this server made for that list.
pub fn parse_after(text: &str, list: char) -> AppResult<Cursor> {
    Cursor::decode(text, list)
        .ok_or_else(|| AppError::bad_input("after", "`after` is not a cursor of this list"))
}

/// Rows strictly after (`key_value`, `cursor_id`) in a list ordered by `key`
/// then `id`, descending or ascending: the keyset condition every list uses.
pub fn keyset_after<K, I>(
    key: K,
    key_value: impl Into<Value> + Clone,
    id: I,
    cursor_id: Uuid,
    descending: bool,
) -> Condition
where
    K: ColumnTrait,
    I: ColumnTrait,
{
    let (beyond, tie_beyond) = if descending {
        (key.lt(key_value.clone()), id.lt(cursor_id))
    } else {
        (key.gt(key_value.clone()), id.gt(cursor_id))
    };
    Condition::any()
        .add(beyond)
        .add(Condition::all().add(key.eq(key_value)).add(tie_beyond))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor = Cursor {
            list: 'n',
            key: -1_715_160_600_000_000,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode(), 'n'), Some(cursor));
    }

    #[test]
    fn a_cursor_of_another_list_is_refused() {
        let cursor = Cursor {
            list: 'n',
            key: 5,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode(), 'v'), None);
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for text in ["", "!!!", "bjo", "bjoxOjE", &"A".repeat(500), "8J+Ygw"] {
            assert_eq!(Cursor::decode(text, 'n'), None, "{text}");
        }
    }
}
