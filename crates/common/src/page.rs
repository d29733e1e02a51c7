//! Cursor pagination, the one convention of every list: `?limit=` (default 50, max 200) and
//! `?cursor=`; the answer is `{ "items": [...], "next_cursor": ... }`.
//!
//! A cursor is opaque to clients: base64url of the sort key of the last item returned.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{Code, Error, Result};

/// Unpadded base64url as the `cursor` pattern states it: trailing bits are not checked.
const CURSOR: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: u32 = 200;

/// The pagination query parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; omit for the first page.
    #[param(pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page size, validated.
    pub fn limit(&self) -> Result<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The sort key to continue after, decoded from the cursor.
    pub fn after(&self) -> Result<Option<String>> {
        let Some(c) = &self.cursor else {
            return Ok(None);
        };
        // Whatever the documented pattern admits is taken (a cursor not handed out by this API
        // merely starts somewhere); anything else is refused.
        CURSOR
            .decode(c)
            .ok()
            .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
            .ok_or_else(|| Error::new(Code::InvalidCursor, "The cursor is not valid."))
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row, if present, only
    /// proves that another page exists. `key` gives the sort key of an item.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// [`Page::from_rows`] for database rows: each kept row becomes its API representation.
    pub fn try_from_rows<R>(
        rows: Vec<R>,
        limit: u32,
        key: impl Fn(&R) -> String,
        to_api: impl Fn(&R) -> Result<T>,
    ) -> Result<Self> {
        let page = Page::from_rows(rows, limit, key);
        let items = page.items.iter().map(to_api).collect::<Result<Vec<_>>>()?;
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_cursor_points_after_the_last_item_and_only_when_more_exist() {
        let q = PageQuery {
            limit: Some(2),
            cursor: None,
        };
        let page = Page::from_rows(vec![1, 2, 3], q.limit().unwrap(), |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        let next = PageQuery {
            limit: Some(2),
            cursor: page.next_cursor,
        };
        assert_eq!(next.after().unwrap().as_deref(), Some("2"));
        let last = Page::from_rows(vec![1, 2], 2, |n| n.to_string());
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn bad_limit_and_cursor_are_refused() {
        assert!(
            PageQuery {
                limit: Some(0),
                cursor: None
            }
            .limit()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: Some(201),
                cursor: None
            }
            .limit()
            .is_err()
        );
        let bad = PageQuery {
            limit: None,
            cursor: Some("%%%".into()),
        };
        assert_eq!(bad.after().unwrap_err().code, Code::InvalidCursor);
    }
}
