//! Keyset pagination of the list: `?limit=`, `?cursor=` and the page's
//! `next_cursor`.
//!
//! Products come in `(created_at, id)` order, and a page's cursor is the
//! position of its last product. Each page is one range scan of the index on
//! those columns however deep it is, and products written while a client pages
//! through never make it skip or repeat one (as `OFFSET` would). Cursors are
//! opaque to clients: base64url text they pass back unchanged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::{Error, FieldError, Result};

use super::Product;

/// Page size when `?limit=` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size; larger `?limit=` values are capped to it.
pub const MAX_LIMIT: u32 = 100;

/// The position after which a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// `created_at` of the last product of the previous page.
    pub created_at: OffsetDateTime,
    /// `id` of that product, which breaks ties.
    pub id: Uuid,
}

impl Cursor {
    /// The cursor of the page that follows `product`.
    pub fn after(product: &Product) -> Self {
        Self {
            created_at: product.created_at,
            id: product.id,
        }
    }

    /// The opaque text form given to clients.
    pub fn encode(&self) -> String {
        let created_at = self
            .created_at
            .format(&Rfc3339)
            .expect("a stored timestamp is within RFC 3339's range");
        URL_SAFE_NO_PAD.encode(format!("{created_at}|{}", self.id))
    }

    /// Reads a cursor made by [`Cursor::encode`].
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (created_at, id) = text.split_once('|')?;
        Some(Self {
            created_at: OffsetDateTime::parse(created_at, &Rfc3339).ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// `?limit=` and `?cursor=` of a list request, as sent.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    /// The page size and the position to start after, or 422 naming the
    /// parameter that is invalid.
    pub fn validate(&self) -> Result<(u32, Option<Cursor>)> {
        let limit = page_size(self.limit.as_deref())?;
        let after = match self.cursor.as_deref() {
            None => None,
            Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
                Error::Validation(vec![FieldError::new(
                    "cursor",
                    "is not a cursor this API returned",
                )])
            })?),
        };
        Ok((limit, after))
    }
}

/// The page size `?limit=` asks for: [`DEFAULT_LIMIT`] when absent, capped at
/// [`MAX_LIMIT`].
fn page_size(limit: Option<&str>) -> Result<u32> {
    let Some(limit) = limit else {
        return Ok(DEFAULT_LIMIT);
    };
    // Any size from 1 that fits in 64 bits is accepted and capped, as the
    // document says (`minimum: 1`, `int64`); a larger number is refused.
    match limit.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(u32::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT))),
        _ => Err(Error::Validation(vec![FieldError::new(
            "limit",
            format!("must be a whole number from 1 to {MAX_LIMIT}"),
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(err: Error) -> String {
        match err {
            Error::Validation(errors) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn limits_default_cap_and_reject_nonsense() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(page_size(Some("5")).unwrap(), 5);
        assert_eq!(page_size(Some("1000")).unwrap(), MAX_LIMIT);
        assert_eq!(page_size(Some("99999999999999")).unwrap(), MAX_LIMIT);
        for bad in ["0", "-3", "ten", ""] {
            assert_eq!(field(page_size(Some(bad)).unwrap_err()), "limit");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "not base64!", "bm90IGEgY3Vyc29y"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
