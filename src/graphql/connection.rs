//! Pieces shared by the Relay cursor connections.

use async_graphql::{ID, SimpleObject};
use uuid::Uuid;

use crate::{
    content::{Page, cursor::Window},
    error::{AppError, AppResult},
};

/// Relay's paging arguments as a field received them.
#[derive(Debug, Default)]
pub struct PageArguments {
    /// How many items from the start, or after `after`.
    pub first: Option<i32>,
    /// The cursor a forward page starts after.
    pub after: Option<String>,
    /// How many items up to the end, or before `before`.
    pub last: Option<i32>,
    /// The cursor a backward page ends before.
    pub before: Option<String>,
}

impl PageArguments {
    /// The window they ask for on the list whose cursors are tagged `list`.
    pub fn window(&self, default_size: i32, list: char) -> AppResult<Window> {
        Window::from_arguments(
            self.first,
            self.after.as_deref(),
            self.last,
            self.before.as_deref(),
            default_size,
            list,
        )
    }
}

/// Where a page stands in its list.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page; pass `endCursor` as `after` to get them.
    pub has_next_page: bool,
    /// Whether items come before this page; pass `startCursor` as `before`
    /// with `last` to get them.
    pub has_previous_page: bool,
    /// The cursor of the first item on this page.
    pub start_cursor: Option<String>,
    /// The cursor of the last item on this page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// Page info for `page`, whose items have `cursors`.
    pub fn of_page<T>(cursors: &[String], page: &Page<T>) -> Self {
        Self {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        }
    }

    /// Page info for a forward page whose items have `cursors`.
    pub fn forward(cursors: &[String], has_next_page: bool) -> Self {
        Self {
            has_next_page,
            has_previous_page: false,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        }
    }
}

/// Reads an `ID` argument as a UUID.
pub fn parse_id(id: &ID, field: &'static str) -> Result<Uuid, AppError> {
    Uuid::try_parse(id.as_str())
        .map_err(|_| AppError::bad_input(field, format!("`{field}` is not a valid ID")))
}
