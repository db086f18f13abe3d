//! Opaque pagination cursors: the sort key and id of the last item a client
//! saw, so the next page starts strictly after it however many items arrive
//! in between (keyset pagination, never OFFSET).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, Condition, Value,
    sea_query::{Expr, ExprTrait},
};
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
    parse(text, list, "after")
}

/// Reads the cursor a client gave in argument `field` for `list`:
/// `BAD_USER_INPUT` naming the argument when it is not one this server made
/// for that list.
pub fn parse(text: &str, list: char, field: &'static str) -> AppResult<Cursor> {
    Cursor::decode(text, list).ok_or_else(|| {
        AppError::bad_input(field, format!("`{field}` is not a cursor of this list"))
    })
}

/// Which page of a list a client asks for, as Relay's connection arguments
/// say it: `size` items after a cursor (or from the start), or, paging
/// backward, `size` items before a cursor (or up to the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// How many items.
    pub size: u64,
    /// The cursor the page starts after (forward) or ends before (backward).
    pub cursor: Option<Cursor>,
    /// Whether the page is counted back from its end.
    pub backward: bool,
}

impl Window {
    /// The first `size` items of a list.
    pub fn first(size: u64) -> Self {
        Self {
            size,
            cursor: None,
            backward: false,
        }
    }

    /// The window that `first`/`after` or `last`/`before` ask for on
    /// `list`, `default_size` items when neither `first` nor `last` is
    /// given. Mixing the two directions is refused rather than guessed at.
    pub fn from_arguments(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        default_size: i32,
        list: char,
    ) -> AppResult<Self> {
        let backward = last.is_some() || before.is_some();
        if backward && (first.is_some() || after.is_some()) {
            return Err(AppError::bad_input(
                if first.is_some() { "first" } else { "after" },
                "Page forward with `first` and `after`, or backward with `last` and `before`, not both",
            ));
        }
        if backward {
            Ok(Self {
                size: super::page_size_of(last.unwrap_or(default_size), "last")?,
                cursor: before.map(|text| parse(text, list, "before")).transpose()?,
                backward: true,
            })
        } else {
            Ok(Self {
                size: super::page_size_of(first.unwrap_or(default_size), "first")?,
                cursor: after.map(|text| parse(text, list, "after")).transpose()?,
                backward: false,
            })
        }
    }

    /// Whether this is the first page of the list, read forward.
    pub fn is_first_page(&self) -> bool {
        !self.backward && self.cursor.is_none()
    }
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
    keyset_after_exprs(
        Expr::col((key.entity_name(), key)),
        key_value,
        Expr::col((id.entity_name(), id)),
        cursor_id,
        descending,
    )
}

/// [`keyset_after`] over any two expressions, for a list sorted by columns
/// no entity declares (a tag's links by their copy of the public time).
pub fn keyset_after_exprs(
    key: Expr,
    key_value: impl Into<Value> + Clone,
    id: Expr,
    cursor_id: Uuid,
    descending: bool,
) -> Condition {
    let (beyond, tie_beyond) = if descending {
        (key.clone().lt(key_value.clone()), id.lt(cursor_id))
    } else {
        (key.clone().gt(key_value.clone()), id.gt(cursor_id))
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
    fn a_window_reads_relays_arguments_and_refuses_mixed_directions() {
        let cursor = Cursor {
            list: 'n',
            key: 7,
            id: Uuid::now_v7(),
        };
        let text = cursor.encode();
        let forward = Window::from_arguments(None, Some(&text), None, None, 20, 'n');
        assert_eq!(
            forward.ok(),
            Some(Window {
                size: 20,
                cursor: Some(cursor),
                backward: false
            })
        );
        let backward = Window::from_arguments(None, None, Some(3), Some(&text), 20, 'n');
        assert_eq!(
            backward.ok(),
            Some(Window {
                size: 3,
                cursor: Some(cursor),
                backward: true
            })
        );
        let from_the_end = Window::from_arguments(None, None, Some(5), None, 20, 'n');
        assert!(from_the_end.is_ok_and(|window| window.backward && window.cursor.is_none()));
        for (first, after, last, before) in [
            (Some(1), None, Some(1), None),
            (None, Some(text.as_str()), None, Some(text.as_str())),
            (Some(1), None, None, Some(text.as_str())),
        ] {
            assert!(Window::from_arguments(first, after, last, before, 20, 'n').is_err());
        }
        let wrong_list = Window::from_arguments(None, None, None, Some(&text), 20, 'o');
        assert!(
            matches!(wrong_list, Err(AppError::BadInput { ref field, .. }) if field == "before")
        );
        let too_many = Window::from_arguments(None, None, Some(101), None, 20, 'n');
        assert!(matches!(too_many, Err(AppError::BadInput { ref field, .. }) if field == "last"));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for text in ["", "!!!", "bjo", "bjoxOjE", &"A".repeat(500), "8J+Ygw"] {
            assert_eq!(Cursor::decode(text, 'n'), None, "{text}");
        }
    }
}
