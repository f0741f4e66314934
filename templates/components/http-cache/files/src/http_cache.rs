//! HTTP caching for the API: `Cache-Control`, `ETag` and `304 Not Modified`.
//!
//! For `GET` and `HEAD` requests to routes under `/api/` answered `200 OK`,
//! [`middleware`]:
//!
//! - sets `Cache-Control: public, max-age=N` (N is `HTTP_CACHE_MAX_AGE_SECS`), so
//!   browsers, CDNs and proxies may reuse the answer for N seconds without asking
//!   again — or `private, max-age=N` when the request carried `Authorization`, so
//!   only the caller's own cache keeps what was answered to it;
//! - sets a strong `ETag`, a hash of the body, so that once the N seconds are over
//!   a client revalidates with `If-None-Match` and gets `304 Not Modified`, without
//!   a body, when nothing changed;
//! - answers `304` when `If-None-Match` already names that `ETag`.
//!
//! The handler still runs before a 304 (the ETag is a hash of what it answers): a
//! 304 saves bandwidth and the client's work, not the query. A handler that knows
//! better sets its own `Cache-Control` or `ETag`, and those are kept (the
//! products do: their `ETag` is the same hash of their uncompressed JSON, so
//! `If-Match` on writes can compare it), and may answer 304 itself.
//!
//! Nothing else is made cacheable. Errors on `/api/` routes get
//! `Cache-Control: no-store`, since a cached 404 or 503 would outlive the problem;
//! other methods pass through untouched; routes outside `/api/` keep their own
//! headers (health and metrics say `no-store`).
//!
//! The layer sits outside compression, so the ETag is computed over the bytes
//! actually sent: a gzip answer and an uncompressed one get different ETags, as
//! strong validators of different bytes must. A body larger than
//! [`MAX_HASHED_BYTES`] is sent on without an ETag rather than held in memory.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, response};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use sha2::{Digest, Sha256};

use crate::env::{Env, parse_at_least};
use crate::error::Error;

/// Requests whose path starts with this are cached.
pub const API_PREFIX: &str = "/api/";

/// Default `HTTP_CACHE_MAX_AGE_SECS`: five minutes.
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;

/// Reads `HTTP_CACHE_MAX_AGE_SECS`: how long clients and shared caches may reuse
/// a `GET` answer of an `/api/` route before revalidating it.
pub fn max_age_from_env<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Duration {
    env.parse(
        "HTTP_CACHE_MAX_AGE_SECS",
        Duration::from_secs(DEFAULT_MAX_AGE_SECS),
        |v| parse_at_least(v, 0, "seconds").map(Duration::from_secs),
    )
}

/// Largest body hashed for an ETag.
pub const MAX_HASHED_BYTES: usize = 1024 * 1024;

/// The `Cache-Control` values of cacheable answers, made once for the
/// middleware rather than for each answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheControl {
    public: HeaderValue,
    private: HeaderValue,
}

impl CacheControl {
    /// The values for answers clients may reuse for `max_age`
    /// (`HTTP_CACHE_MAX_AGE_SECS`).
    pub fn new(max_age: Duration) -> Self {
        Self {
            public: cache_control(false, max_age),
            private: cache_control(true, max_age),
        }
    }

    /// The value for an answer to a request with `Authorization` (`private`)
    /// or without.
    fn of(&self, private: bool) -> HeaderValue {
        if private {
            self.private.clone()
        } else {
            self.public.clone()
        }
    }
}

/// Middleware applying the caching rules above, with the `Cache-Control` of
/// `HTTP_CACHE_MAX_AGE_SECS`.
pub async fn middleware(
    State(cache_control): State<CacheControl>,
    request: Request,
    next: Next,
) -> Response {
    let cacheable = matches!(*request.method(), Method::GET | Method::HEAD)
        && request.uri().path().starts_with(API_PREFIX);
    if !cacheable {
        return next.run(request).await;
    }
    let private = request.headers().contains_key(header::AUTHORIZATION);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();

    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let (mut parts, body) = response.into_parts();
        parts
            .headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        return Response::from_parts(parts, body);
    }
    // A handler's own 304 (it answered `If-None-Match` itself) gets the same
    // `Cache-Control` as its 200 would, as RFC 9111 asks.
    if !matches!(status, StatusCode::OK | StatusCode::NOT_MODIFIED) {
        return response;
    }

    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert_with(|| cache_control.of(private));
    let body = match parts.headers.get(header::ETAG) {
        Some(_) => body,
        None => match read(body).await {
            Ok(Read::Whole(bytes)) => {
                parts.headers.insert(header::ETAG, etag(&bytes));
                Body::from(bytes)
            }
            Ok(Read::TooLarge(body)) => body,
            Err(err) => return Error::internal(err).into_response(),
        },
    };
    let unchanged = match (&if_none_match, parts.headers.get(header::ETAG)) {
        (Some(candidates), Some(current)) => matches_any(candidates, current),
        _ => false,
    };
    if unchanged {
        return not_modified(parts);
    }
    Response::from_parts(parts, body)
}

/// The `Cache-Control` of a cacheable answer.
pub fn cache_control(private: bool, max_age: Duration) -> HeaderValue {
    let scope = if private { "private" } else { "public" };
    HeaderValue::try_from(format!("{scope}, max-age={}", max_age.as_secs()))
        .expect("a number is a valid header value")
}

/// The strong `ETag` of `body`: the first 128 bits of its SHA-256, in hex.
pub fn etag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    HeaderValue::try_from(format!("\"{hex}\"")).expect("hex digits are a valid header value")
}

/// Whether `If-None-Match` (a list of entity tags, or `*`) names `current`.
/// The comparison is the weak one RFC 9110 prescribes for `If-None-Match`: a
/// `W/` prefix does not matter.
pub fn matches_any(if_none_match: &HeaderValue, current: &HeaderValue) -> bool {
    let (Ok(candidates), Ok(current)) = (if_none_match.to_str(), current.to_str()) else {
        return false;
    };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let current = opaque(current);
    candidates
        .split(',')
        .any(|candidate| candidate.trim() == "*" || opaque(candidate) == current)
}

/// `304 Not Modified` for an answer with head `parts`: the validators and
/// caching headers stay, the body and what describes it go.
fn not_modified(mut parts: response::Parts) -> Response {
    parts.status = StatusCode::NOT_MODIFIED;
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
    ] {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, Body::empty())
}

/// A body read into memory, or given back whole when it is too large to hold.
enum Read {
    Whole(Bytes),
    TooLarge(Body),
}

/// Reads `body` up to [`MAX_HASHED_BYTES`]. Past that, returns a body that
/// yields what was read, then the rest as it comes.
async fn read(body: Body) -> Result<Read, axum::Error> {
    let mut chunks = body.into_data_stream();
    let mut read = Vec::new();
    while let Some(chunk) = chunks.next().await {
        read.extend_from_slice(&chunk?);
        if read.len() > MAX_HASHED_BYTES {
            let head = stream::iter([Ok(Bytes::from(read))]);
            return Ok(Read::TooLarge(Body::from_stream(head.chain(chunks))));
        }
    }
    Ok(Read::Whole(Bytes::from(read)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_defaults_to_five_minutes() {
        fn read(vars: &[(&str, &str)]) -> Result<Duration, crate::env::ConfigError> {
            crate::env::read_vars(vars, max_age_from_env)
        }
        assert_eq!(read(&[]).unwrap(), Duration::from_secs(300));
        assert_eq!(
            read(&[("HTTP_CACHE_MAX_AGE_SECS", "0")]).unwrap(),
            Duration::ZERO
        );
        let err = read(&[("HTTP_CACHE_MAX_AGE_SECS", "5m")]).unwrap_err();
        assert_eq!(err.invalid[0].name, "HTTP_CACHE_MAX_AGE_SECS");
    }

    fn value(text: &str) -> HeaderValue {
        HeaderValue::from_str(text).unwrap()
    }

    #[test]
    fn etags_are_strong_quoted_and_follow_the_body() {
        let tag = etag(b"{\"id\":1}");
        let text = tag.to_str().unwrap();
        assert!(text.starts_with('"') && text.ends_with('"') && !text.starts_with("W/"));
        assert_eq!(text.len(), 34);
        assert_eq!(tag, etag(b"{\"id\":1}"));
        assert_ne!(tag, etag(b"{\"id\":2}"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let current = value("\"abc\"");
        for candidates in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            assert!(matches_any(&value(candidates), &current), "{candidates}");
        }
        for candidates in ["\"abd\"", "abc", ""] {
            assert!(!matches_any(&value(candidates), &current), "{candidates}");
        }
    }

    #[test]
    fn authorization_makes_answers_private() {
        let max_age = Duration::from_secs(300);
        assert_eq!(cache_control(false, max_age), "public, max-age=300");
        assert_eq!(cache_control(true, max_age), "private, max-age=300");
        let made_once = CacheControl::new(max_age);
        assert_eq!(made_once.of(false), "public, max-age=300");
        assert_eq!(made_once.of(true), "private, max-age=300");
    }

    #[tokio::test]
    async fn large_bodies_are_passed_on_whole_without_hashing() {
        let large = vec![b'a'; MAX_HASHED_BYTES + 10];
        let chunks = large
            .chunks(4096)
            .map(|c| Ok::<_, axum::Error>(Bytes::copy_from_slice(c)));
        let body = Body::from_stream(stream::iter(chunks.collect::<Vec<_>>()));
        let Ok(Read::TooLarge(body)) = read(body).await else {
            panic!("a body over the limit is not held");
        };
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), large.len());
    }
}
