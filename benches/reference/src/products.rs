//! Products served from memory, with `ETag` and 304 as the generated API
//! answers them.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;

/// Page size when `?limit=` is not given.
const DEFAULT_LIMIT: usize = 20;
/// Largest page size.
const MAX_LIMIT: usize = 100;

/// A product, as the generated API answers it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct Product {
    id: Uuid,
    name: String,
    description: String,
    price_cents: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// One page of the list.
#[derive(Serialize)]
struct Page<'a> {
    items: &'a [Product],
    next_cursor: Option<Uuid>,
}

/// Every product, oldest first, and where each id is.
pub(crate) struct Catalog {
    products: Vec<Product>,
    index: HashMap<Uuid, usize>,
}

impl Catalog {
    /// The products of a JSON array.
    pub(crate) fn from_json(json: &str) -> serde_json::Result<Self> {
        Ok(Self::new(serde_json::from_str(json)?))
    }

    /// One product, when none is given.
    pub(crate) fn sample() -> Self {
        let now = OffsetDateTime::now_utc();
        Self::new(vec![Product {
            id: Uuid::now_v7(),
            name: "Lamp".into(),
            description: String::new(),
            price_cents: 4500,
            created_at: now,
            updated_at: now,
        }])
    }

    fn new(mut products: Vec<Product>) -> Self {
        products.sort_by_key(|product| (product.created_at, product.id));
        let index = products
            .iter()
            .enumerate()
            .map(|(position, product)| (product.id, position))
            .collect();
        Self { products, index }
    }
}

/// `?limit=` and `?cursor=` (the id of the previous page's last product).
#[derive(Deserialize)]
pub(crate) struct ListParams {
    limit: Option<usize>,
    cursor: Option<Uuid>,
}

/// `GET /api/v1/products`: a page, oldest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Response {
    let catalog = &state.catalog;
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let start = match params.cursor {
        None => 0,
        Some(after) => match catalog.index.get(&after) {
            Some(position) => position + 1,
            None => return StatusCode::UNPROCESSABLE_ENTITY.into_response(),
        },
    };
    let rest = &catalog.products[start..];
    let items = &rest[..limit.min(rest.len())];
    let next_cursor = (rest.len() > limit).then(|| items[items.len() - 1].id);
    let body = serde_json::to_string(&Page { items, next_cursor }).expect("a page serializes");
    with_etag(body, &headers)
}

/// `GET /api/v1/products/{id}`: the product, or 404.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Response {
    let Some(&position) = state.catalog.index.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let product = &state.catalog.products[position];
    let body = serde_json::to_string(product).expect("a product serializes");
    with_etag(body, &headers)
}

/// 200 with the JSON `body`, its strong `ETag` and `Cache-Control`; or 304
/// when `If-None-Match` names that `ETag`.
fn with_etag(body: String, headers: &HeaderMap) -> Response {
    let tag = etag(body.as_bytes());
    let cache_control = HeaderValue::from_static("public, max-age=300");
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|candidates| {
            candidates.split(',').any(|candidate| {
                let candidate = candidate.trim();
                candidate == "*" || candidate.trim_start_matches("W/") == tag
            })
        });
    let tag = HeaderValue::try_from(tag).expect("hex digits are a valid header value");
    if unchanged {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, tag), (header::CACHE_CONTROL, cache_control)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, tag),
            (header::CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response()
}

/// The first 128 bits of the SHA-256 of `body`, in hex, quoted.
fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        write!(tag, "{byte:02x}").expect("writing to a String succeeds");
    }
    tag.push('"');
    tag
}
