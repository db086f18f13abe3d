//! Pieces shared by the Relay cursor connections.

use async_graphql::{ID, SimpleObject};
use uuid::Uuid;

use crate::error::AppError;

/// Where a page stands in its list.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// Whether more items follow this page; pass `endCursor` as `after` to get them.
    pub has_next_page: bool,
    /// Always false: lists page forward only.
    pub has_previous_page: bool,
    /// The cursor of the first item on this page.
    pub start_cursor: Option<String>,
    /// The cursor of the last item on this page.
    pub end_cursor: Option<String>,
}

impl PageInfo {
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
